# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-request metrics, aggregates, and LLMPerf's two file formats.

Our definitions (``summary.json``): TTFT at the first chunk with non-empty content; E2E from just
before the request is written (connect included on a new connection) to the end of the response;
output/input tokens from the server's ``usage``; ITL = (E2E - TTFT) / (output tokens - 1); every
gap between content chunks; goodput = completed requests meeting every SLO, per second.

LLMPerf's definitions (``*_summary.json``, ``*_individual_responses.json``) are kept as LLMPerf
computes them so its readers compare like with like: its per-request ``inter_token_latency_s`` is
the sum of time-to-next-token (TTFT included) divided by the stream events received (every SSE data
line but ``[DONE]``: role, content, final and usage chunks), and its throughput is output tokens over
E2E. Output tokens come from the server's usage instead of re-tokenizing with a Llama tokenizer.

A level whose requests mostly failed (more than :data:`MOSTLY_FAILED` of them) meets no SLO, whatever
SLOs are set, and feeds no capacity figure. The prompt-cache share of a level comes from the server's
own counters (:func:`cache_counters`), read before and after the measured requests.
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
# More than this share of a level's requests failing makes its latencies unrepresentative: no verdict from it.
MOSTLY_FAILED = 0.5
# Measured cache share above the shared-prefix share by more than this is reported as unexplained reuse
# (the prefix token counts are per prompt part, so a few tokens of slack at a cut line are expected).
CACHE_SHARE_SLACK = 0.05


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
    examples: dict[str, str] = {}
    for r in counted:
        if not r.ok and r.error_code not in examples:
            examples[r.error_code or ""] = r.error_msg[:200]
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
        "connect_s": describe(r.connect_s for r in counted),
        "error_examples": dict(sorted(examples.items())),
        "mostly_failed": mostly_failed(len(counted), len(done)),
    }
    summary["slo_met"] = slo_met(summary, slo)
    return summary


def mostly_failed(started: int, completed: int) -> bool:
    """True when no request completed or more than :data:`MOSTLY_FAILED` of those started failed."""
    return completed == 0 or (started - completed) / started > MOSTLY_FAILED


def slo_met(summary: dict[str, Any], slo: SLO) -> bool:
    """A level meets the SLOs when p95 TTFT, p95 ITL, p95 E2E and the error rate are within limits.

    A level whose requests mostly failed never does, with or without an error-rate SLO.
    """
    if mostly_failed(summary["num_requests_started"], summary["num_completed_requests"]):
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
    # LLMPerf (openai_chat_completions_client.py + token_benchmark_ray.py) sums time-to-next-token from the
    # request start (TTFT included) and divides by tokens_received: every SSE data line but [DONE]
    itl_sum = (record.content_times[-1] - record.start) if record.content_times else 0.0
    return {
        "error_code": llmperf_code(record),
        "error_msg": "" if record.ok else f"{record.error_code}: {record.error_msg}",
        "inter_token_latency_s": itl_sum / record.stream_events if record.content_times and record.stream_events
        else 0,
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


# -- the server's prompt-cache counters --------------------------------------------------------------
# llama.cpp's server: checked against the real llama-server /metrics (the build in ~/.cache/llmops-oke,
# 2e28c00f8bb16e58): "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached
# tokens" and "# HELP llamacpp:prompt_tokens_cached_total Number of prompt tokens reused from the cache".
LLAMACPP_PROCESSED = "llamacpp:prompt_tokens_total"
LLAMACPP_CACHED = "llamacpp:prompt_tokens_cached_total"
# vLLM v1 as pinned by the vllm role (v0.34.0's sdist, vllm/v1/metrics/loggers.py, PrometheusStatLogger; the
# same in v0.11.0): Counters "vllm:prefix_cache_queries" ("in terms of number of queried tokens") and
# "vllm:prefix_cache_hits" ("number of cached tokens"); prometheus_client exposes counters with a _total
# suffix, one series per engine and model name (summed here). The external (KV connector) pair is not counted.
VLLM_QUERIES = "vllm:prefix_cache_queries_total"
VLLM_HITS = "vllm:prefix_cache_hits_total"


def parse_prometheus_text(text: str) -> dict[str, float]:
    """Samples of a Prometheus text exposition, summed over label sets, by metric name."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name_end = min((i for i in (line.find("{"), line.find(" ")) if i >= 0), default=-1)
        if name_end <= 0:
            continue
        name = line[:name_end]
        rest = line[line.index("}") + 1:] if line[name_end] == "{" and "}" in line else line[name_end:]
        fields = rest.split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        samples[name] = samples.get(name, 0.0) + value
    return samples


def cache_counters(text: str) -> dict[str, Any] | None:
    """Prompt tokens looked up and reused so far, from a llama.cpp or vLLM ``/metrics`` page; None for others."""
    samples = parse_prometheus_text(text)
    if LLAMACPP_PROCESSED in samples and LLAMACPP_CACHED in samples:
        cached = samples[LLAMACPP_CACHED]
        return {"source": f"llama.cpp /metrics ({LLAMACPP_PROCESSED} + {LLAMACPP_CACHED})",
                "prompt_tokens": samples[LLAMACPP_PROCESSED] + cached, "cached_tokens": cached}
    if VLLM_QUERIES in samples and VLLM_HITS in samples:
        return {"source": f"vLLM /metrics ({VLLM_QUERIES}, {VLLM_HITS})", "prompt_tokens": samples[VLLM_QUERIES],
                "cached_tokens": samples[VLLM_HITS]}
    return None


def shared_prefix_share(sent: Sequence[tuple[RequestRecord, int, int]]) -> float | None:
    """The most of a level's prompt tokens a prefix cache could reuse, from the prompts actually sent.

    ``sent`` holds (record, text tokens, tokens shared with an earlier prompt of the run). The server's
    prompt count (usage) may exceed the text's by its chat template, whose leading part every prompt
    shares: that excess counts as shareable too, so this is an upper bound.
    """
    total = explained = 0
    for record, text_tokens, shared in sent:
        prompt_tokens = record.input_tokens or text_tokens
        total += prompt_tokens
        explained += min(prompt_tokens, shared + max(0, prompt_tokens - text_tokens))
    return explained / total if total else None


def prompt_cache_summary(before: dict[str, Any] | None, after: dict[str, Any] | None, prefix_share: float | None,
                         not_measured: str = "") -> dict[str, Any]:
    """A level's prompt-cache share from counters read around its measured requests, beside the prefix share."""
    result: dict[str, Any] = {"share": None, "prompt_tokens": None, "cached_tokens": None, "source": None,
                              "shared_prefix_share": prefix_share, "above_shared_prefix": None}
    if not_measured:
        result["not_measured"] = not_measured
        return result
    if before is None or after is None:
        result["not_measured"] = "the endpoint's /metrics has no llama.cpp or vLLM prompt-cache counters"
        return result
    looked_up = after["prompt_tokens"] - before["prompt_tokens"]
    reused = after["cached_tokens"] - before["cached_tokens"]
    if looked_up <= 0:
        result["not_measured"] = "the server counted no prompt tokens during the level"
        return result
    share = reused / looked_up
    result.update({"share": share, "prompt_tokens": int(looked_up), "cached_tokens": int(reused),
                   "source": after["source"]})
    if prefix_share is not None:
        result["above_shared_prefix"] = share > prefix_share + CACHE_SHARE_SLACK
    return result
