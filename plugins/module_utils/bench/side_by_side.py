# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One table comparing benchmark runs of different backends side by side (the local path's two servers).

Per backend: the highest level that met the SLOs (else the highest measured), its TTFT and ITL p50, output
throughput, prompt-cache share, and the cost per 1M output tokens *if that throughput ran on* the OCI shape the
backend would run on (prices from capacity.DEFAULT_PRICES). The throughput is this machine's: the cost column says
what a node-hour of that shape buys at it, not what the shape would deliver.
"""

from __future__ import annotations

from typing import Any

from .capacity import PRICES_DATE, cost_per_million_output_tokens, node_cost_per_hour
from .saturation import short_text

# The shape each backend runs on in this collection (the seed's node pools).
SHAPES: dict[str, dict[str, Any]] = {
    "vllm": {"shape": "VM.GPU.A10.1"},
    "llama.cpp": {"shape": "VM.Standard.A1.Flex", "ocpus": 4, "memory_gb": 24},
}


def _pick(levels: list[dict[str, Any]]) -> dict[str, Any] | None:
    measured = [lv for lv in levels if lv.get("summary", {}).get("num_completed_requests")]
    meeting = [lv for lv in measured if lv["summary"].get("slo_met")]
    return (meeting or measured or [None])[-1]


def _q(stat: dict[str, Any] | None, name: str = "p50") -> float | None:
    return ((stat or {}).get("quantiles") or {}).get(name)


def row(backend: str, summary: dict[str, Any], workload: str) -> dict[str, Any]:
    level = _pick(summary.get("levels") or [])
    body = (level or {}).get("summary") or {}
    shape = SHAPES.get(backend, {})
    tps = body.get("output_throughput_token_per_s") or 0.0
    cost = None
    if shape:
        hourly = node_cost_per_hour(shape["shape"], ocpus=shape.get("ocpus", 0), memory_gb=shape.get("memory_gb", 0))
        cost = cost_per_million_output_tokens(hourly, tps)
    cache = body.get("prompt_cache") or {}
    return {"backend": backend, "workload": workload, "level": (level or {}).get("label"),
            "slo_met": bool(body.get("slo_met")), "ttft_p50_s": _q(body.get("ttft_s")),
            "itl_p50_s": _q(body.get("itl_s")),
            "output_tokens_per_s": tps, "prompt_cache_share": cache.get("share"), "shape": shape.get("shape"),
            "cost_per_million_output_tokens": cost, "run_dir": summary.get("run_dir"),
            # was the machine the bottleneck at that level, and which prompt cache did it start from
            "machine": short_text(body.get("machine")) if level else "-",
            "cache_state": (body.get("cache_state") or {}).get("state", "warm") if level else "-"}


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| backend | workload | level | SLOs | TTFT p50 | ITL p50 | output tok/s | prompt-cache share | "
             "OCI shape | $ per 1M output tokens at this throughput | machine | cache |", "|" + "---|" * 12]
    for item in rows:
        lines.append(
            f"| {item['backend']} | {item['workload']} | {item['level'] or '-'} | "
            f"{'met' if item['slo_met'] else 'missed'} | {_fmt(item['ttft_p50_s'], '{:.3f} s')} | "
            f"{_fmt(item['itl_p50_s'], '{:.4f} s')} | {_fmt(item['output_tokens_per_s'], '{:.0f}')} | "
            f"{_fmt(item['prompt_cache_share'], '{:.0%}')} | {item['shape'] or '-'} | "
            f"{_fmt(item['cost_per_million_output_tokens'], '${:.3f}')} | {item['machine']} | {item['cache_state']} |")
    lines.append("")
    lines.append(f"Throughput measured on this machine, not on the shapes; prices of {PRICES_DATE} "
                 "(plugins/module_utils/bench/capacity.py). Level: the highest that met the SLOs, else the highest. "
                 "Machine: SATURATED where the host's runnable tasks per CPU or the benchmark client's event-loop lag "
                 "passed their limits during that level (see each run's report): its figures then measure the "
                 "machine as much as the server.")
    return "\n".join(lines) + "\n"
