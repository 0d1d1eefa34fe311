"""Every PromQL expression the observe stage ships parses with promtool and names only metrics real exporters emit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from observe_support import (
    PROMTOOL,
    chart_values,
    dashboards,
    known_metrics,
    metric_names,
    promql_expressions,
    promtool_check_rules,
    rendered,
    unparsable_expressions,
)

pytestmark = pytest.mark.slow
VARIANTS = ["adapter", "keda"]


def _allowed_metrics() -> set[str]:
    return {name for group in known_metrics().values() for name in group["metrics"]}


def test_promtool_is_installed() -> None:
    assert Path(PROMTOOL).exists(), "promtool missing: run hack/system-deps.sh (Debian package prometheus)"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_expression_parses_with_promtool(variant: str, tmp_path: Path) -> None:
    expressions = promql_expressions(rendered(variant))
    origins = " ".join(origin for origin, _expression in expressions)
    # All four kinds are collected (else the check would pass on nothing).
    for kind in ("prometheus recording_rules.yml", "alerting_rules.yml", "llm-serving.json", "llm-cost.json"):
        assert kind in origins
    assert ("adapter metricsQuery" if variant == "adapter" else "keda ") in origins
    assert unparsable_expressions(expressions, tmp_path) == []


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    broken = [("broken", "sum by (pod (rate(vllm:generation_tokens_total[1m]))")]
    assert len(unparsable_expressions(broken, tmp_path)) == 1


def test_the_shipped_rule_files_pass_promtool(tmp_path: Path) -> None:
    server_files = chart_values(rendered("adapter"))["prometheus"]["serverFiles"]
    for name in ("recording_rules.yml", "alerting_rules.yml"):
        result = promtool_check_rules(server_files[name]["groups"], tmp_path)
        assert result.returncode == 0, f"{name}: {result.stdout} {result.stderr}"


def test_the_scrape_jobs_pass_promtool_check_config(tmp_path: Path) -> None:
    values = chart_values(rendered("adapter"))["prometheus"]
    jobs = yaml.safe_load(values["extraScrapeConfigs"])
    assert {job["job_name"] for job in jobs} == {"llm-model-servers", "opencost"}
    model_job = next(job for job in jobs if job["job_name"] == "llm-model-servers")
    # Debian's promtool is built without Kubernetes discovery: check that block by structure, the rest with promtool.
    (discovery,) = model_job.pop("kubernetes_sd_configs")
    assert discovery["role"] == "pod" and discovery["namespaces"]["names"] == ["llmops"]
    assert set(discovery) == {"role", "namespaces"}
    model_job["static_configs"] = [{"targets": ["vllm-0.llmops.svc:8000"]}]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": values["server"]["global"], "scrape_configs": jobs}))
    result = subprocess.run([PROMTOOL, "check", "config", str(config)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # The adapter maps series to pods through these two labels.
    targets = {rule.get("target_label") for rule in model_job["relabel_configs"]}
    assert {"namespace", "pod", "backend"} <= targets


@pytest.mark.parametrize("variant", VARIANTS)
def test_expressions_name_only_known_metrics(variant: str) -> None:
    allowed = _allowed_metrics()
    unknown = []
    for origin, expression in promql_expressions(rendered(variant)):
        names = metric_names(expression)
        assert names, f"{origin}: no metric found in {expression!r}"
        unknown += [f"{origin}: {name}" for name in sorted(names - allowed)]
    assert not unknown, "metrics not in tests/data/known_metrics.yml:\n" + "\n".join(unknown)


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_removed_vllm_metric_is_used(variant: str) -> None:
    removed = {name for group in known_metrics().values() for name in group.get("removed", [])}
    used = {name for _origin, expression in promql_expressions(rendered(variant)) for name in metric_names(expression)}
    assert used & removed == set()
    assert "vllm:kv_cache_usage_perc" in used and "vllm:inter_token_latency_seconds_bucket" in used


def test_metric_name_extraction() -> None:
    expression = ('histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket'
                  '{namespace=~"$namespace",model_name!=""}[5m]))) + on (node) group_left () node_cpu_hourly_cost'
                  ' * 1073741824 or vector(0) and up{job="x"} > 0.5')
    assert metric_names(expression) == {"vllm:time_to_first_token_seconds_bucket", "node_cpu_hourly_cost", "up"}


def test_oci_panels_name_only_known_api_gateway_metrics() -> None:
    allowed = set(known_metrics()["oci_apigateway"]["metrics"])
    targets = [target for dashboard in dashboards(rendered("keda")).values() for panel in dashboard["panels"]
               for target in panel.get("targets", []) if target.get("namespace") == "oci_apigateway"]
    assert targets
    for target in targets:
        assert target["metric"] in allowed
        assert target["queryText"].startswith(target["metric"] + "[1m]")
        # The gateway filter of the variant is applied to every query.
        assert 'resourceId = "ocid1.apigateway.oc1.iad.example"' in target["queryText"]


_MQL_FILTER_DIMENSION = re.compile(r"([A-Za-z]+)\s*=~?\s*\"")
_MQL_GROUP_BY = re.compile(r"\.groupBy\(([^)]*)\)")


def _mql_dimensions(query: str) -> set[str]:
    """The dimensions an MQL query filters ({name = "v"} / {name =~ "v*"}) or groups (.groupBy(a, b)) by."""
    names = set(_MQL_FILTER_DIMENSION.findall(query))
    for group in _MQL_GROUP_BY.findall(query):
        names |= {name.strip() for name in group.split(",") if name.strip()}
    return names


def test_oci_panels_use_only_the_dimensions_oracle_lists_for_each_metric() -> None:
    """Each OCI panel filters and groups only by dimensions that Oracle's "API Gateway Metrics" page lists for its
    metric (tests/data/known_metrics.yml, copied from that page's table, cited there)."""
    listed = known_metrics()["oci_apigateway"]["dimensions"]
    targets = [target for dashboard in dashboards(rendered("keda")).values() for panel in dashboard["panels"]
               for target in panel.get("targets", []) if target.get("namespace") == "oci_apigateway"]
    for target in targets:
        used = _mql_dimensions(target["queryText"])
        assert used, target["queryText"]
        assert used <= set(listed[target["metric"]]), (target["queryText"], used - set(listed[target["metric"]]))
    # The dimension check bites: a subscriber dimension on the subscriber metrics is not one Oracle lists.
    assert not {"subscriberName"} <= set(listed["SubscriberQuotaProportionUsed"])


def test_tenant_panels_chart_one_series_per_tenant() -> None:
    """The tenant row groups by the subscriber (requests) or its usage plan (quota, rate limit), both named
    <api_gateway_name>-tenant-<name>, and its legends name that dimension."""
    panels = {panel["title"]: panel for dashboard in dashboards(rendered("keda")).values()
              for panel in dashboard["panels"]}
    row = [title for title, panel in panels.items() if panel["type"] == "row" and "tenants" in title]
    assert row == ["API Gateway tenants (OCI Monitoring, usage plans)"]
    expected = {
        "Requests per tenant per minute": ("UsagePlanRequests", "subscriberName"),
        "Quota used per tenant (share of the period quota)": ("SubscriberQuotaProportionUsed", "usagePlanName"),
        "Rate limit used per tenant (peak share)": ("SubscriberRateLimitProportionUsed", "usagePlanName"),
    }
    for title, (metric, dimension) in expected.items():
        (target,) = panels[title]["targets"]
        assert target["metric"] == metric
        assert f".groupBy({dimension})." in target["queryText"]
        assert target["legendFormat"] == "{{" + dimension + "}}"


def _alert_summary(rules: list[dict], alertname: str, labels: dict[str, str]) -> str:
    summary = next(rule for rule in rules if rule.get("alert") == alertname)["annotations"]["summary"]
    for key, value in labels.items():
        summary = summary.replace("{{ $labels." + key + " }}", value)
    return summary


def test_slo_alerts_fire_on_breaches_and_stay_quiet_otherwise_in_promtool(tmp_path: Path) -> None:
    """The SLO alerts as shipped (oke inventory thresholds), judged by Prometheus's own rule engine (promtool test
    rules): each fires on a breach held past its `for`, and not on the same series below the threshold."""
    server_files = chart_values(rendered("adapter"))["prometheus"]["serverFiles"]
    for name in ("recording_rules.yml", "alerting_rules.yml"):
        (tmp_path / name).write_text(yaml.safe_dump(server_files[name], sort_keys=False))
    rules = [rule for group in server_files["alerting_rules.yml"]["groups"] for rule in group["rules"]]
    vllm = 'namespace="llmops",pod="vllm-0",model_name="m"'
    fired = {"namespace": "llmops"}

    def expect(alertname: str, labels: dict[str, str], slo: str, severity: str) -> dict:
        return {"exp_labels": {**labels, "severity": severity, "slo": slo},
                "exp_annotations": {"summary": _alert_summary(rules, alertname, labels)}}

    restart = {"namespace": "llmops", "pod": "vllm-0", "container": "vllm"}
    tests = [
        # Queue: 10 waiting (> 8) for 20 minutes fires after the 10 minutes of `for`; 5 waiting never does.
        {"interval": "1m", "input_series": [
            {"series": f"vllm:num_requests_waiting{{{vllm}}}", "values": "10x30"},
            {"series": 'vllm:num_requests_waiting{namespace="quiet",pod="vllm-0",model_name="m"}', "values": "5x30"}],
         "alert_rule_test": [
            {"eval_time": "5m", "alertname": "VllmQueueDepthHigh", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "VllmQueueDepthHigh",
             "exp_alerts": [expect("VllmQueueDepthHigh", fired, "queue_depth", "warning")]}]},
        # TTFT: every request between 3 and 5 s (p95 about 4.9 s > 2 s) in llmops; all under 0.5 s in quiet.
        {"interval": "1m", "input_series": [
            {"series": f'vllm:time_to_first_token_seconds_bucket{{{vllm},le="0.5"}}', "values": "0x40"},
            {"series": f'vllm:time_to_first_token_seconds_bucket{{{vllm},le="3"}}', "values": "0x40"},
            {"series": f'vllm:time_to_first_token_seconds_bucket{{{vllm},le="5"}}', "values": "0+10x40"},
            {"series": f'vllm:time_to_first_token_seconds_bucket{{{vllm},le="+Inf"}}', "values": "0+10x40"},
            {"series": 'vllm:time_to_first_token_seconds_bucket{namespace="quiet",pod="v",model_name="m",le="0.5"}',
             "values": "0+10x40"},
            {"series": 'vllm:time_to_first_token_seconds_bucket{namespace="quiet",pod="v",model_name="m",le="+Inf"}',
             "values": "0+10x40"}],
         "alert_rule_test": [
            {"eval_time": "25m", "alertname": "VllmTtftP95High",
             "exp_alerts": [expect("VllmTtftP95High", fired, "ttft_p95", "warning")]}]},
        # Errors: 1 of 10 requests ends in error (0.1 > 0.05) in llmops; 1 of 100 in quiet.
        {"interval": "1m", "input_series": [
            {"series": f'vllm:request_success_total{{{vllm},finished_reason="stop"}}', "values": "0+9x40"},
            {"series": f'vllm:request_success_total{{{vllm},finished_reason="error"}}', "values": "0+1x40"},
            {"series": 'vllm:request_success_total{namespace="quiet",pod="v",model_name="m",finished_reason="stop"}',
             "values": "0+99x40"},
            {"series": 'vllm:request_success_total{namespace="quiet",pod="v",model_name="m",finished_reason="error"}',
             "values": "0+1x40"}],
         "alert_rule_test": [
            {"eval_time": "25m", "alertname": "VllmErrorRatioHigh",
             "exp_alerts": [expect("VllmErrorRatioHigh", fired, "error_rate", "critical")]}]},
        # Restarts: a model-server container restarting every 10 minutes (6 an hour > 3) fires; the same count on
        # a container that is not a model server (another namespace) does not.
        {"interval": "10m", "input_series": [
            {"series": 'kube_pod_container_status_restarts_total{namespace="llmops",pod="vllm-0",container="vllm"}',
             "values": "0+1x12"},
            {"series": 'kube_pod_container_status_restarts_total{namespace="monitoring",pod="p",container="vllm"}',
             "values": "0+1x12"},
            {"series": 'kube_pod_container_status_restarts_total{namespace="llmops",pod="vllm-1",container="vllm"}',
             "values": "0x12"}],
         "alert_rule_test": [
            {"eval_time": "2h", "alertname": "ModelServerRestarting",
             "exp_alerts": [expect("ModelServerRestarting", restart, "restarts", "critical")]}]},
    ]
    spec = tmp_path / "slo_alerts_test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": ["recording_rules.yml", "alerting_rules.yml"],
                                    "evaluation_interval": "1m", "tests": tests}, sort_keys=False))
    result = subprocess.run([PROMTOOL, "test", "rules", str(spec)], capture_output=True, text=True, timeout=120,
                            check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The engine can tell: a threshold the series never cross makes the same test fail.
    broken = yaml.safe_load(spec.read_text())
    broken["tests"][0]["input_series"][0]["values"] = "7x30"
    spec.write_text(yaml.safe_dump(broken, sort_keys=False))
    failed = subprocess.run([PROMTOOL, "test", "rules", str(spec)], capture_output=True, text=True, timeout=120,
                            check=False, cwd=tmp_path)
    assert failed.returncode != 0 and "VllmQueueDepthHigh" in failed.stdout + failed.stderr
