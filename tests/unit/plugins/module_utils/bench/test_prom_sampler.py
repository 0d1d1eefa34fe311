"""prom_sampler without a server: the adapter's query expansion, gaps kept as gaps, the HPA replay and its verdict.

The query oracle is prometheus-adapter's own builder, kubernetes-sigs/prometheus-adapter pkg/naming/metrics_query.go
(commit 0536a5d4), ``metricsQuery.Build``: the namespace matcher, then ``pod=<%q>`` for one pod or ``pod=~<%q>`` of the
names joined by ``|`` (pkg/client helpers ``LabelEq``/``LabelMatches``), GroupBy the pod label.
tests/integration/test_observe_local.py runs the expanded query against the real Prometheus.
"""

from __future__ import annotations

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.hpa_model import HpaPolicy
from ansible_collections.llmops.oke.plugins.module_utils.bench.prom_sampler import (
    expand_metrics_query,
    hpa_policy,
    per_pod_values,
    replay,
    scaling_verdict,
    slo_check,
    step_times,
)

TEMPLATE = 'sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>,model_name!=""})'
HPA = {"metadata": {"name": "vllm", "namespace": "llmops"},
       "spec": {"minReplicas": 1, "maxReplicas": 4,
                "metrics": [{"type": "Pods", "pods": {"metric": {"name": "vllm_num_requests_waiting"},
                                                      "target": {"type": "AverageValue", "averageValue": "4"}}}],
                "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0,
                                         "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]},
                             "scaleDown": {"stabilizationWindowSeconds": 900,
                                           "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]}}}}


def test_expansion_matches_the_adapter_builder() -> None:
    assert expand_metrics_query(TEMPLATE, "vllm:num_requests_waiting", "llmops", ["vllm-a"]) == (
        'sum by (pod) (vllm:num_requests_waiting{namespace="llmops",pod="vllm-a",model_name!=""})')
    assert expand_metrics_query(TEMPLATE, "vllm:num_requests_waiting", "llmops", ["vllm-a", "vllm-b"]) == (
        'sum by (pod) (vllm:num_requests_waiting{namespace="llmops",pod=~"vllm-a|vllm-b",model_name!=""})')
    # %q escapes quotes and backslashes.
    assert 'namespace="a\\"b"' in expand_metrics_query(TEMPLATE, "x", 'a"b', ["p"])
    with pytest.raises(ValueError, match="LabelValuesByName"):
        expand_metrics_query("<<.LabelValuesByName>>", "x", "ns", ["p"])
    with pytest.raises(ValueError, match="at least one pod"):
        expand_metrics_query(TEMPLATE, "x", "ns", [])


def test_a_missing_sample_stays_a_gap_and_the_hpa_changes_nothing_there() -> None:
    times = step_times(100.0, 104.0, 1.0)
    assert times == [100.0, 101.0, 102.0, 103.0, 104.0]
    result = [{"metric": {"pod": "a"}, "values": [[100, "0"], [101, "9"], [103, "12"], [104, "0"]]}]
    values = per_pod_values(result, times)
    assert values == {"a": [0.0, 9.0, None, 12.0, 0.0]}
    policy = hpa_policy(HPA)
    assert (policy.target_per_pod, policy.max_replicas, policy.scale_up_pods) == (4.0, 4, 2)
    # 9 waiting on 1 pod at target 4: ceil(2.25) = 3 replicas, within the 2-pods-per-minute policy from 1.
    # 12 waiting: ceil(3) = 3 too; no sample: None, never 1 (a zero would read as "no load").
    assert replay(times, values, policy, 100.0) == [1, 3, None, 3, 1]


def test_replay_takes_another_target_and_caps_at_max() -> None:
    times = step_times(0.0, 1.0, 1.0)
    policy = hpa_policy(HPA, target_per_pod=1)
    assert replay(times, {"a": [0.0, 40.0]}, policy, 0.0) == [1, 3]  # +2 pods per period from 1
    wide = HpaPolicy(target_per_pod=1, min_replicas=1, max_replicas=4)
    assert replay(times, {"a": [0.0, 40.0]}, wide, 0.0) == [1, 4]


def test_verdict_and_slo_check() -> None:
    timeline = [{"t_s": 0.0, "level": "c1", "desired_replicas": 1},
                {"t_s": 5.0, "level": "c16", "desired_replicas": None},
                {"t_s": 6.0, "level": "c16", "desired_replicas": 3}]
    verdict = scaling_verdict(timeline, 1)
    assert verdict["triggered"] and verdict["first_level"] == "c16" and verdict["peak_replicas"] == 3
    assert "+6s during level c16" in verdict["message"] and "1 samples without data" in verdict["message"]
    levels = [{"level": "c1", "slo_met": True, "desired_max": 1}, {"level": "c16", "slo_met": False, "desired_max": 3}]
    assert slo_check(verdict, levels, 1)["target_matches_slo"] is True
    # Scaling at a level that met the SLOs is a wrong target.
    levels[1]["slo_met"] = True
    checked = slo_check(verdict, levels, 1)
    assert checked["target_matches_slo"] is False and checked["mismatched_levels"] == ["c16"]
    assert "Nothing waited" not in checked["message"]
    assert not scaling_verdict(timeline[:1], 1)["triggered"]


def test_slo_check_names_a_queue_that_cannot_see_the_miss() -> None:
    # The demo's c8 on 8 slots: TTFT SLO missed, nothing deferred, so the queue-depth HPA held.
    verdict = scaling_verdict([{"t_s": 0.0, "level": "c8", "desired_replicas": 1}], 1)
    levels = [{"level": "c4", "slo_met": True, "desired_max": 1, "queue_max": 0},
              {"level": "c8", "slo_met": False, "desired_max": 1, "queue_max": 0}]
    checked = slo_check(verdict, levels, 1)
    assert checked["mismatched_levels"] == ["c8"]
    assert "Nothing waited at c8 though the SLOs were missed" in checked["message"]
    assert "--parallel" in checked["message"]
    # A queue that was there but too small for the target is a wrong target, not a blind metric.
    levels[1]["queue_max"] = 2
    assert "Nothing waited" not in slo_check(verdict, levels, 1)["message"]
