# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity and cost from a concurrency sweep: what one replica sustains within the SLOs, how many
replicas a target rate needs, the HPA target, cost per million output tokens, and how close decode
runs to the memory-bandwidth bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# OCI public pay-as-you-go list prices in USD (oracle.com/cloud/compute/pricing): Ampere A1 $0.01 per
# OCPU-hour and $0.0015 per GB-hour, NVIDIA A10 $2.00 per GPU-hour (VM.GPU.A10.1/.2 and BM.GPU.A10.4 alike, billed
# per GPU). Checked on PRICES_DATE; override
# them with the price table option, as contracts and regions differ.
PRICES_DATE = "2026-11-25"
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "VM.GPU.A10.1": {"gpu_hour": 2.00, "gpus": 1},
    "VM.GPU.A10.2": {"gpu_hour": 2.00, "gpus": 2},
    "BM.GPU.A10.4": {"gpu_hour": 2.00, "gpus": 4},
    "VM.Standard.A1.Flex": {"ocpu_hour": 0.01, "gb_hour": 0.0015},
}

# Peak memory bandwidth per shape in bytes/s (configurable): A10 GDDR6 600 GB/s per GPU; an Ampere
# Altra socket has 8 DDR4-3200 channels (204.8 GB/s), of which a VM gets a share.
DEFAULT_BANDWIDTH_BPS: dict[str, float] = {
    "VM.GPU.A10.1": 600e9,
    "VM.GPU.A10.2": 600e9,
    "BM.GPU.A10.4": 600e9,
    "VM.Standard.A1.Flex": 204.8e9,
}


def node_cost_per_hour(shape: str, prices: dict[str, dict[str, float]] | None = None, ocpus: float = 0,
                       memory_gb: float = 0) -> float:
    """Hourly price of one node: GPUs x GPU-hour for GPU shapes, OCPUs and GB for flexible shapes."""
    table = prices or DEFAULT_PRICES
    if shape not in table:
        raise KeyError(f"no price for shape {shape!r}; known shapes: {', '.join(sorted(table))}")
    price = table[shape]
    if "gpu_hour" in price:
        return float(price["gpu_hour"]) * float(price.get("gpus", 1))
    if "node_hour" in price:
        return float(price["node_hour"])
    if not ocpus or not memory_gb:
        raise ValueError(f"shape {shape!r} is priced per OCPU and GB: give ocpus and memory_gb")
    return float(price["ocpu_hour"]) * ocpus + float(price["gb_hour"]) * memory_gb


def cost_per_million_output_tokens(cost_per_hour: float, output_tokens_per_s: float) -> float | None:
    """USD per 1M output tokens at a sustained output throughput; None if nothing was produced."""
    if output_tokens_per_s <= 0:
        return None
    return cost_per_hour / (output_tokens_per_s * 3600.0) * 1e6


def max_load_meeting_slo(levels: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The level with the highest concurrency whose summary has ``slo_met``; None if none does.

    Levels are per replica (the sweep ran against one replica), sorted by concurrency.
    """
    passing = [lv for lv in levels if lv["summary"].get("slo_met")]
    if not passing:
        return None
    return max(passing, key=lambda lv: lv["concurrency"])


def replicas_for_rate(target_rps: float, per_replica_rps: float, headroom: float = 0.0) -> int | None:
    """Replicas needed for ``target_rps`` when one sustains ``per_replica_rps`` within the SLOs.

    ``headroom`` (0..1) keeps that fraction of each replica spare for bursts and rollouts.
    """
    if per_replica_rps <= 0:
        return None
    usable = per_replica_rps * (1.0 - headroom)
    # a hair of tolerance so 10/2.5 is 4 and not 5 through float error
    return max(1, math.ceil(target_rps / usable - 1e-9))


def recommended_hpa_target(max_concurrency: int, server_slots: int | None = None,
                           utilization: float = 0.8) -> dict[str, Any]:
    """HPA average-value targets per pod from the SLO-meeting concurrency.

    In-flight requests per pod target = floor(max_concurrency x utilization) (at least 1). For a
    queue-depth metric (waiting requests only: vLLM's ``num_requests_waiting``, llama.cpp's
    ``requests_deferred``) the target is the queue one pod holds at that concurrency,
    ``max_concurrency - server_slots``, at least 1 so the HPA still reacts: the HPA then leaves a
    pod alone at every load that met the SLOs (ratio <= 1, inside its 10% tolerance) and adds pods
    at the first load that did not. Scaling the in-flight count down by ``utilization`` before
    subtracting the slots (the earlier derivation) put the target below the queue the pod served
    within its SLOs, so the HPA added replicas the SLOs did not need; the local demo's replay
    against the real server and Prometheus checks this (tests/integration/test_observe_local.py).
    """
    in_flight = max(1, math.floor(max_concurrency * utilization))
    queue = max(1, max_concurrency - server_slots) if server_slots else in_flight
    target = {
        "in_flight_per_pod": in_flight,
        "queue_depth_per_pod": queue,
        "utilization": utilization,
        "server_slots": server_slots,
        "basis_concurrency": max_concurrency,
    }
    if server_slots and server_slots > max_concurrency:
        # Nothing waits until every slot is busy, so between max_concurrency + 1 and server_slots users the SLOs
        # fail with an empty queue: no queue-depth target can see that. Slots capped at the SLO-meeting
        # concurrency make the first load past it queue (the local demo's replay showed c8 on 8 slots
        # missing its TTFT SLO with llamacpp:requests_deferred at 0).
        target["slots_for_queue_metric"] = max_concurrency
    return target


def bandwidth_fraction(itl_s: float | None, weights_bytes: float | None, bandwidth_bps: float | None) -> float | None:
    """Single-stream decode throughput as a fraction of the memory-bandwidth bound.

    Each decoded token reads every weight once, so the bound is bandwidth / weight bytes tokens/s;
    the measured rate is 1 / ITL (best taken at concurrency 1).
    """
    if not itl_s or not weights_bytes or not bandwidth_bps:
        return None
    return (1.0 / itl_s) / (bandwidth_bps / weights_bytes)


def backend_economics(name: str, levels: Sequence[dict[str, Any]], cost_per_hour: float, replicas_per_node: int = 1,
                      target_rps: float | None = None, headroom: float = 0.0, server_slots: int | None = None,
                      weights_bytes: float | None = None, bandwidth_bps: float | None = None) -> dict[str, Any]:
    """Everything the report says about one backend, from its concurrency sweep (one replica)."""
    best = max_load_meeting_slo(levels)
    result: dict[str, Any] = {"backend": name, "cost_per_node_hour": cost_per_hour,
                              "replicas_per_node": replicas_per_node, "meets_slo": best is not None}
    lowest = min(levels, key=lambda lv: lv["concurrency"]) if levels else None
    if lowest is not None:
        itl = lowest["summary"]["itl_s"]["mean"]
        result["decode_bandwidth_fraction"] = bandwidth_fraction(itl, weights_bytes, bandwidth_bps)
        # the price at the best throughput seen, SLOs or not: what the hardware costs flat out
        peak = max(levels, key=lambda lv: lv["summary"]["output_throughput_token_per_s"])
        result["peak_output_tokens_per_s_per_replica"] = peak["summary"]["output_throughput_token_per_s"]
        result["cost_per_million_output_tokens_at_peak"] = cost_per_million_output_tokens(
            cost_per_hour / max(replicas_per_node, 1), peak["summary"]["output_throughput_token_per_s"])
    if best is None:
        result.update({"max_concurrency_per_replica": 0, "cost_per_million_output_tokens": None})
        return result
    summary = best["summary"]
    replica_cost = cost_per_hour / max(replicas_per_node, 1)
    rps = summary["request_throughput_per_s"]
    result.update({
        "max_concurrency_per_replica": best["concurrency"],
        "requests_per_s_per_replica": rps,
        "output_tokens_per_s_per_replica": summary["output_throughput_token_per_s"],
        "cost_per_million_output_tokens": cost_per_million_output_tokens(
            replica_cost, summary["output_throughput_token_per_s"]),
        "hpa": recommended_hpa_target(best["concurrency"], server_slots),
    })
    if target_rps:
        replicas = replicas_for_rate(target_rps, rps, headroom)
        result["target_rps"] = target_rps
        result["replicas_for_target"] = replicas
        if replicas is not None:
            result["nodes_for_target"] = math.ceil(replicas / max(replicas_per_node, 1))
            result["cost_per_hour_for_target"] = result["nodes_for_target"] * cost_per_hour
    return result


def compare_backends(economics: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pick the cheapest backend per million output tokens among those meeting the SLOs, with a sentence."""
    meeting = [e for e in economics if e["meets_slo"] and e.get("cost_per_million_output_tokens") is not None]
    failing = [e["backend"] for e in economics if not e["meets_slo"]]
    if not meeting:
        return {"choice": None, "failing": failing,
                "sentence": "No backend met the SLOs at any tested concurrency; relax the SLOs or add capacity."}
    ranked = sorted(meeting, key=lambda e: e["cost_per_million_output_tokens"])
    best = ranked[0]
    sentence = (f"{best['backend']} is the cheaper choice for this use case: "
                f"${best['cost_per_million_output_tokens']:.2f} per 1M output tokens within the SLOs")
    if len(ranked) > 1:
        other = ranked[1]
        ratio = other["cost_per_million_output_tokens"] / best["cost_per_million_output_tokens"]
        sentence += f", {ratio:.1f}x less than {other['backend']} (${other['cost_per_million_output_tokens']:.2f})"
    if failing:
        sentence += f"; {', '.join(failing)} did not meet the SLOs at any tested concurrency"
    return {"choice": best["backend"], "failing": failing, "ranking": [e["backend"] for e in ranked],
            "sentence": sentence + "."}
