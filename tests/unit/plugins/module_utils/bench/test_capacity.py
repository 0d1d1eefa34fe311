"""Capacity and cost arithmetic on hand-worked cases."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.capacity import (
    PRICES_DATE,
    backend_economics,
    bandwidth_fraction,
    compare_backends,
    cost_per_million_output_tokens,
    max_load_meeting_slo,
    node_cost_per_hour,
    recommended_hpa_target,
    replicas_for_rate,
)


def level(concurrency: int, slo_met: bool, rps: float, tok_s: float, itl: float = 0.05) -> dict:
    return {"concurrency": concurrency, "summary": {"slo_met": slo_met, "request_throughput_per_s": rps,
                                                    "output_throughput_token_per_s": tok_s,
                                                    "itl_s": {"mean": itl}}}


def test_node_prices() -> None:
    assert PRICES_DATE
    assert node_cost_per_hour("VM.GPU.A10.1") == pytest.approx(2.00)
    # 16 OCPU x $0.01 + 64 GB x $0.0015 = 0.16 + 0.096
    assert node_cost_per_hour("VM.Standard.A1.Flex", ocpus=16, memory_gb=64) == pytest.approx(0.256)
    with pytest.raises(ValueError, match="ocpus and memory_gb"):
        node_cost_per_hour("VM.Standard.A1.Flex")
    with pytest.raises(KeyError, match="no price"):
        node_cost_per_hour("BM.Nothing")
    assert node_cost_per_hour("X", prices={"X": {"node_hour": 1.5}}) == 1.5


def test_cost_per_million_tokens() -> None:
    # $2/h at 500 tok/s: 1.8M tokens an hour -> $1.111 per million
    assert cost_per_million_output_tokens(2.0, 500.0) == pytest.approx(2.0 / 1.8)
    assert cost_per_million_output_tokens(2.0, 0.0) is None


def test_max_load_and_replicas() -> None:
    levels = [level(1, True, 1.0, 100), level(4, True, 3.5, 350), level(8, False, 5.0, 500),
              level(16, False, 5.2, 520)]
    assert max_load_meeting_slo(levels)["concurrency"] == 4
    assert max_load_meeting_slo([level(1, False, 1, 1)]) is None
    assert replicas_for_rate(10.0, 2.5) == 4
    assert replicas_for_rate(10.0, 2.5, headroom=0.2) == 5  # 10 / 2.0
    assert replicas_for_rate(0.1, 2.5) == 1
    assert replicas_for_rate(1.0, 0.0) is None


def test_hpa_target() -> None:
    assert recommended_hpa_target(10)["in_flight_per_pod"] == 8
    # The queue one pod holds at the SLO-meeting concurrency: 10 users on 4 slots leave 6 waiting. The earlier
    # floor(10 x 0.8) - 4 = 4 made the HPA scale (ratio 1.5) at a load that met the SLOs.
    assert recommended_hpa_target(10, server_slots=4)["queue_depth_per_pod"] == 6
    assert recommended_hpa_target(1)["in_flight_per_pod"] == 1
    assert recommended_hpa_target(4, server_slots=8)["queue_depth_per_pod"] == 1
    # 8 slots but the SLOs held only up to 4 users: from 5 to 8 they fail with nothing queued, so the queue metric
    # needs the slots capped at 4; with slots at or below the SLO-meeting concurrency there is nothing to advise.
    assert recommended_hpa_target(4, server_slots=8)["slots_for_queue_metric"] == 4
    assert "slots_for_queue_metric" not in recommended_hpa_target(10, server_slots=4)
    assert "slots_for_queue_metric" not in recommended_hpa_target(4, server_slots=4)
    assert "slots_for_queue_metric" not in recommended_hpa_target(4)


def test_bandwidth_fraction() -> None:
    # 4 GB of weights at 200 GB/s bounds decode at 50 tok/s; ITL 40 ms = 25 tok/s = 50%
    assert bandwidth_fraction(0.04, 4e9, 200e9) == pytest.approx(0.5)
    assert bandwidth_fraction(None, 4e9, 200e9) is None


def test_a10_or_a1() -> None:
    gpu = backend_economics("vllm-a10", [level(1, True, 1, 40), level(16, True, 10, 2000), level(32, False, 11, 2100)],
                            cost_per_hour=2.0, target_rps=25, weights_bytes=4e9, bandwidth_bps=600e9, server_slots=8)
    # $2/h / (2000 tok/s * 3600) * 1e6 = $0.2778 per 1M
    assert gpu["cost_per_million_output_tokens"] == pytest.approx(0.27778, rel=1e-4)
    assert gpu["replicas_for_target"] == 3 and gpu["cost_per_hour_for_target"] == pytest.approx(6.0)
    # c16 met the SLOs on 8 slots: 8 wait there, and the HPA must hold at 8 per pod (not 12 - 8 = 4, which scales).
    assert gpu["hpa"]["in_flight_per_pod"] == 12 and gpu["hpa"]["queue_depth_per_pod"] == 8
    assert gpu["decode_bandwidth_fraction"] == pytest.approx((1 / 0.05) / (600e9 / 4e9))
    cpu = backend_economics("llama-cpp-a1", [level(1, True, 0.5, 20), level(2, True, 0.9, 36)], cost_per_hour=0.256,
                            replicas_per_node=2)
    # per replica $0.128/h at 36 tok/s -> 0.128 / 129600 * 1e6 = $0.98765
    assert cpu["cost_per_million_output_tokens"] == pytest.approx(0.98765, rel=1e-4)
    decision = compare_backends([cpu, gpu])
    assert decision["choice"] == "vllm-a10" and decision["ranking"] == ["vllm-a10", "llama-cpp-a1"]
    assert "3.6x" in decision["sentence"]
    none = backend_economics("slow", [level(1, False, 0.1, 1)], cost_per_hour=1.0)
    assert none["meets_slo"] is False and none["cost_per_million_output_tokens"] is None
    # $1/h at 1 tok/s flat out: 1 / 3600 * 1e6
    assert none["cost_per_million_output_tokens_at_peak"] == pytest.approx(277.7778, rel=1e-6)
    assert gpu["cost_per_million_output_tokens_at_peak"] == pytest.approx(2.0 / (2100 * 3600) * 1e6)
    assert compare_backends([none])["choice"] is None
    assert "slow did not meet" in compare_backends([cpu, none])["sentence"]


def test_report_advises_the_slots_a_queue_metric_needs() -> None:
    from ansible_collections.llmops.oke.plugins.module_utils.bench.report import _sections, to_markdown

    summary = {"run_id": "r", "status": "complete", "levels": [],
               "capacity": {"meets_slo": True, "max_concurrency_per_replica": 4,
                            "hpa": recommended_hpa_target(4, server_slots=8)}}
    text = to_markdown(_sections(summary))
    assert "| server slots for a queue-depth HPA | 4 (this server ran 8: past 4 users" in text
    summary["capacity"]["hpa"] = recommended_hpa_target(4, server_slots=4)
    assert "server slots for a queue-depth HPA" not in to_markdown(_sections(summary))
