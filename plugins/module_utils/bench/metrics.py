# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-request metrics, aggregates, and LLMPerf's two file formats.

Our definitions (``summary.json``): TTFT at the first chunk with non-empty content; E2E from just
before the request is written (connect included on a new connection) to the end of the response;
output/input tokens from the server's ``usage``; ITL = (E2E - TTFT) / (output tokens - 1); every
gap between content chunks; goodput = completed requests meeting every SLO, per second.

LLMPerf's definitions (``*_summary.json``, ``*_individual_responses.json``) are kept as LLMPerf
computes them so its readers compare like with like: its per-request ``inter_token_latency_s`` is
the sum of time-to-next-token (TTFT included) divided by output tokens, and its throughput is
output tokens over E2E. Output tokens come from the server's usage instead of re-tokenizing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .client import RequestRecord

QUANTILES = (0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
LLMPERF_RESULTS_VERSION = "2023-08-31"


@dataclass
class SLO:
    """Service-level objectives a request (TTFT, ITL) or a run (error rate) must meet; None = no limit."""

    ttft_s: float | None = None
    itl_s: float | None = None
    e2e_s: float | None = None
    error_rate: float | None = None

    def request_ok(self, record: RequestRecord) -> bool:
        if not record.ok:
            return False
        checks = ((self.ttft_s, record.ttft_s), (self.itl_s, record.itl_s), (self.e2e_s, record.e2e_s))
        return all(limit is None or (value is not None and value <= limit) for limit, value in checks)

    def as_dict(self) -> dict[str, float | None]:
        return {"ttft_s": self.ttft_s, "itl_s": self.itl_s, "e2e_s": self.e2e_s, "error_rate": self.error_rate}


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (numpy/pandas default), on already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def describe(values: Iterable[float | None]) -> dict[str, Any]:
    """LLMPerf's statistics block: quantiles p25..p99, mean, min, max, sample stddev (None when empty)."""
    data = sorted(v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)))
    if not data:
        return {"quantiles": {f"p{int(q * 100)}": None for q in QUANTILES}, "mean": None, "min": None,
                "max": None, "stddev": None, "count": 0}
    mean = math.fsum(data) / len(data)
    stddev = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (len(data) - 1)) if len(data) > 1 else None
    return {
        "quantiles": {f"p{int(q * 100)}": quantile(data, q) for q in QUANTILES},
        "mean": mean,
        "min": data[0],
        "max": data[-1],
        "stddev": stddev,
        "count": len(data),
    }


def measured(records: Iterable[RequestRecord]) -> list[RequestRecord]:
    """Records that count: warm-up and interrupted requests are excluded."""
    return [r for r in records if not r.warmup and r.error_code != "interrupted"]


def summarize(records: Sequence[RequestRecord], start: float, end: float, slo: SLO | None = None) -> dict[str, Any]:
    """Our stricter summary of one load level."""
    slo = slo or SLO()
    counted = measured(records)
    done = [r for r in counted if r.ok]
    errors = Counter(r.error_code for r in counted if not r.ok)
    duration = max(end - start, 1e-9)
    out_tokens = sum(r.output_tokens for r in done)
    in_tokens = sum(r.input_tokens for r in done)
    good = [r for r in done if slo.request_ok(r)]
    error_rate = (len(counted) - len(done)) / len(counted) if counted else 0.0
    gaps = [g for r in done for g in r.chunk_gaps_s]
    summary = {
        "duration_s": duration,
        "num_requests_started": len(counted),
        "num_completed_requests": len(done),
        "num_errors": len(counted) - len(done),
        "num_interrupted": sum(1 for r in records if r.error_code == "interrupted"),
        "num_warmup_requests": sum(1 for r in records if r.warmup),
        "error_rate": error_rate,
        "errors_by_code": dict(sorted(errors.items())),
        "ttft_s": describe(r.ttft_s for r in done),
        "itl_s": describe(r.itl_s for r in done),
        "e2e_s": describe(r.e2e_s for r in done),
        "chunk_gap_s": describe(gaps),
        "output_tokens": describe(r.output_tokens for r in done),
        "input_tokens": describe(r.input_tokens for r in done),
        "request_output_throughput_token_per_s": describe(
            r.output_tokens / r.e2e_s for r in done if r.e2e_s),
        "output_throughput_token_per_s": out_tokens / duration,
        "total_token_throughput_token_per_s": (out_tokens + in_tokens) / duration,
        "request_throughput_per_s": len(done) / duration,
        "goodput_requests_per_s": len(good) / duration,
        "goodput_fraction": len(good) / len(counted) if counted else 0.0,
        "slo": slo.as_dict(),
        "token_source": dict(Counter(r.token_source for r in done)),
        "new_connections": sum(1 for r in counted if r.new_connection),
    }
    summary["slo_met"] = slo_met(summary, slo)
    return summary


def slo_met(summary: dict[str, Any], slo: SLO) -> bool:
    """A level meets the SLOs when p95 TTFT, p95 ITL, p95 E2E and the error rate are within limits."""
    if summary["num_completed_requests"] == 0:
        return False
    checks = (("ttft_s", slo.ttft_s), ("itl_s", slo.itl_s), ("e2e_s", slo.e2e_s))
    for key, limit in checks:
        if limit is None:
            continue
        p95 = summary[key]["quantiles"]["p95"]
        if p95 is None or p95 > limit:
            return False
    return slo.error_rate is None or summary["error_rate"] <= slo.error_rate


def llmperf_code(record: RequestRecord) -> int | None:
    """LLMPerf's ``error_code``: None on success, the HTTP status on HTTP errors, -1 otherwise."""
    if record.ok:
        return None
    if record.http_status and record.http_status != 200:
        return record.http_status
    return -1


def llmperf_individual(record: RequestRecord, run_start: float) -> dict[str, Any]:
    """One entry of ``*_individual_responses.json`` with LLMPerf's keys and definitions."""
    ttft = record.ttft_s or 0
    e2e = record.e2e_s if record.ok and record.e2e_s is not None else 0
    out = record.output_tokens if record.ok else len(record.content_times)
    # LLMPerf sums time-to-next-token from the request start (so TTFT is included) and divides by tokens
    itl_sum = (record.content_times[-1] - record.start) if record.content_times else 0.0
    return {
        "error_code": llmperf_code(record),
        "error_msg": "" if record.ok else f"{record.error_code}: {record.error_msg}",
        "inter_token_latency_s": itl_sum / out if out else 0,
        "ttft_s": ttft,
        "end_to_end_latency_s": e2e,
        "request_output_throughput_token_per_s": out / e2e if e2e else 0,
        "number_total_tokens": record.input_tokens + out,
        "number_output_tokens": out,
        "number_input_tokens": record.input_tokens,
        "start_time": record.start - run_start,
    }


def flatten_dict(data: dict[str, Any], parent: str = "", sep: str = "_") -> dict[str, Any]:
    """LLMPerf's flatten: nested keys joined with ``_``."""
    items: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{parent}{sep}{key}" if parent else key
        if isinstance(value, dict):
            items.update(flatten_dict(value, name, sep))
        else:
            items[name] = value
    return items


def llmperf_summary(individual: Sequence[dict[str, Any]], start: float, end: float, name: str,
                    metadata: dict[str, Any], timestamp: int) -> dict[str, Any]:
    """``*_summary.json`` exactly as LLMPerf's ``metrics_summary`` + ``LLMPerfResults.to_dict`` shape it."""
    ok = [r for r in individual if r["error_code"] is None]
    results: dict[str, Any] = {}
    for key in ("inter_token_latency_s", "ttft_s", "end_to_end_latency_s", "request_output_throughput_token_per_s",
                "number_input_tokens", "number_output_tokens"):
        stats = describe(r[key] for r in ok)
        stats.pop("count")
        results[key] = stats
    errors = [r["error_code"] for r in individual if r["error_code"] is not None]
    duration = max(end - start, 1e-9)
    results["num_requests_started"] = len(individual)
    results["error_rate"] = len(errors) / len(individual) if individual else 0
    results["number_errors"] = len(errors)
    results["error_code_frequency"] = str(dict(Counter(errors)))
    results["mean_output_throughput_token_per_s"] = sum(r["number_output_tokens"] for r in ok) / duration
    results["num_completed_requests"] = len(ok)
    results["num_completed_requests_per_min"] = len(ok) / duration * 60
    data = {"version": LLMPERF_RESULTS_VERSION, "name": name}
    data.update(metadata)
    data["results"] = results
    data["timestamp"] = timestamp
    return flatten_dict(data)


def llmperf_name(model: str, mean_input_tokens: int, mean_output_tokens: int) -> str:
    """LLMPerf's file stem: ``{model}_{in}_{out}`` with non-word runs turned into single dashes."""
    stem = re.sub(r"[^\w\d-]+", "-", f"{model}_{mean_input_tokens}_{mean_output_tokens}")
    return re.sub(r"-{2,}", "-", stem)
