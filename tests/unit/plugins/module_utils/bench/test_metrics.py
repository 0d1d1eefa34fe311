"""Aggregates, SLOs and LLMPerf's formats, against hand-worked numbers."""

from __future__ import annotations

import math

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.client import RequestRecord
from ansible_collections.llmops.oke.plugins.module_utils.bench.metrics import (
    SLO,
    cache_counters,
    describe,
    llmperf_individual,
    llmperf_name,
    llmperf_summary,
    prompt_cache_summary,
    quantile,
    summarize,
)

# LLMPerf's token_benchmark_ray.py metrics_summary + LLMPerfResults.to_dict produce these keys.
LLMPERF_RESULT_KEYS = [
    f"results_{metric}_{stat}"
    for metric in ("inter_token_latency_s", "ttft_s", "end_to_end_latency_s", "request_output_throughput_token_per_s",
                   "number_input_tokens", "number_output_tokens")
    for stat in ("quantiles_p25", "quantiles_p50", "quantiles_p75", "quantiles_p90", "quantiles_p95",
                 "quantiles_p99", "mean", "min", "max", "stddev")
] + ["results_num_requests_started", "results_error_rate", "results_number_errors", "results_error_code_frequency",
     "results_mean_output_throughput_token_per_s", "results_num_completed_requests",
     "results_num_completed_requests_per_min", "version", "name", "timestamp", "model", "mean_input_tokens",
     "num_concurrent_requests"]
LLMPERF_INDIVIDUAL_KEYS = {"error_code", "error_msg", "inter_token_latency_s", "ttft_s", "end_to_end_latency_s",
                           "request_output_throughput_token_per_s", "number_total_tokens", "number_output_tokens",
                           "number_input_tokens"}


def record(start: float, first: float, times: list[float], end: float, out: int | None = None, prompt: int = 10,
           error: str | None = None, warmup: bool = False) -> RequestRecord:
    rec = RequestRecord(request_id="r", start=start, first_content_at=first, content_times=times, end=end,
                        http_status=200, warmup=warmup, input_tokens_requested=prompt)
    if out is not None:
        rec.usage = {"prompt_tokens": prompt, "completion_tokens": out}
    if error:
        rec.error_code = error
        rec.http_status = 500 if error.startswith("http_") else None
    return rec


def test_quantile_is_linear_interpolation_like_pandas() -> None:
    data = [1.0, 2.0, 3.0, 4.0]
    assert quantile(data, 0.5) == 2.5
    assert quantile(data, 0.25) == 1.75
    assert quantile(data, 0.99) == pytest.approx(3.97)
    assert quantile([7.0], 0.9) == 7.0


def test_describe_uses_sample_stddev_and_skips_missing() -> None:
    stats = describe([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, None])
    assert stats["mean"] == 5.0 and stats["min"] == 2.0 and stats["max"] == 9.0 and stats["count"] == 8
    assert stats["stddev"] == pytest.approx(math.sqrt(32 / 7))
    assert describe([])["quantiles"]["p50"] is None


def test_per_request_definitions() -> None:
    # request at t=10: first content at 10.5, 5 chunks 0.1 s apart, end at 10.92; usage says 5 tokens
    rec = record(10.0, 10.5, [10.5, 10.6, 10.7, 10.8, 10.9], 10.92, out=5)
    assert rec.ttft_s == pytest.approx(0.5)
    assert rec.e2e_s == pytest.approx(0.92)
    assert rec.itl_s == pytest.approx((0.92 - 0.5) / 4)
    assert rec.chunk_gaps_s == pytest.approx([0.1] * 4)
    # without usage the output count falls back to content chunks, and says so
    bare = record(10.0, 10.5, [10.5, 10.6], 10.7)
    assert bare.output_tokens == 2 and bare.token_source == "chunks"
    assert record(0, 0.1, [0.1], 0.2, out=1).itl_s is None


def test_summary_throughput_goodput_and_error_rate() -> None:
    ok_fast = record(0.0, 0.2, [0.2, 0.3, 0.4], 0.4, out=3)  # ttft 0.2, itl 0.1
    ok_slow = record(0.0, 1.5, [1.5, 1.6, 1.7], 1.7, out=3)  # ttft 1.5 misses the TTFT SLO
    failed = record(0.5, None, [], 0.6, error="http_500")
    warm = record(-5.0, -4.0, [-4.0, -3.9], -3.8, out=2, warmup=True)
    summary = summarize([ok_fast, ok_slow, failed, warm], start=0.0, end=2.0, slo=SLO(ttft_s=1.0, itl_s=0.2))
    assert summary["num_requests_started"] == 3  # the warm-up request is excluded
    assert summary["num_completed_requests"] == 2
    assert summary["error_rate"] == pytest.approx(1 / 3)
    assert summary["errors_by_code"] == {"http_500": 1}
    assert summary["output_throughput_token_per_s"] == pytest.approx(6 / 2.0)
    assert summary["total_token_throughput_token_per_s"] == pytest.approx((6 + 20) / 2.0)
    assert summary["request_throughput_per_s"] == pytest.approx(1.0)
    assert summary["goodput_requests_per_s"] == pytest.approx(0.5)
    assert summary["goodput_fraction"] == pytest.approx(1 / 3)
    # p95 TTFT = 0.2 + 0.95 * 1.3 = 1.435 > 1.0
    assert summary["ttft_s"]["quantiles"]["p95"] == pytest.approx(1.435)
    assert summary["slo_met"] is False
    assert summarize([ok_fast], 0.0, 1.0, SLO(ttft_s=1.0, itl_s=0.2, error_rate=0.0))["slo_met"] is True


def test_llmperf_individual_follows_llmperf_definitions() -> None:
    rec = record(10.0, 10.5, [10.5, 10.6, 10.7, 10.8, 10.9], 10.92, out=5)
    rec.stream_events = 7  # role chunk, 5 content chunks, usage chunk ([DONE] is not counted)
    entry = llmperf_individual(rec, run_start=9.0)
    assert set(entry) >= LLMPERF_INDIVIDUAL_KEYS
    assert entry["error_code"] is None
    # LLMPerf (token_benchmark_ray.py): sum of time-to-next-token from the request start (0.9 s) divided by
    # the client's tokens_received, one per SSE data line but [DONE]; not by the usage tokens (5)
    assert entry["inter_token_latency_s"] == pytest.approx(0.9 / 7)
    assert entry["request_output_throughput_token_per_s"] == pytest.approx(5 / 0.92)
    assert entry["number_total_tokens"] == 15 and entry["start_time"] == pytest.approx(1.0)
    http = llmperf_individual(record(0, None, [], 0.1, error="http_500"), 0)
    assert http["error_code"] == 500
    reset = record(0, None, [], 0.1, error="connection_reset")
    assert llmperf_individual(reset, 0)["error_code"] == -1


def test_llmperf_summary_has_llmperfs_flattened_keys() -> None:
    recs = [record(0.0, 0.2, [0.2, 0.3], 0.3, out=2), record(0.0, 0.4, [0.4, 0.5], 0.5, out=2),
            record(0.1, None, [], 0.2, error="http_429")]
    recs[2].http_status = 429
    individual = [llmperf_individual(r, 0.0) for r in recs]
    summary = llmperf_summary(individual, 0.0, 2.0, "m_100_100_summary",
                              {"model": "m", "mean_input_tokens": 100, "num_concurrent_requests": 2}, 1700000000)
    missing = [k for k in LLMPERF_RESULT_KEYS if k not in summary]
    assert not missing
    assert summary["results_ttft_s_quantiles_p50"] == pytest.approx(0.3)
    assert summary["results_num_completed_requests"] == 2
    assert summary["results_number_errors"] == 1
    assert summary["results_error_code_frequency"] == "{429: 1}"
    assert summary["results_mean_output_throughput_token_per_s"] == pytest.approx(4 / 2.0)
    assert summary["results_num_completed_requests_per_min"] == pytest.approx(60.0)
    assert summary["version"] == "2023-08-31"


def test_llmperf_file_name() -> None:
    assert llmperf_name("meta-llama/Llama-2-7b-chat-hf", 550, 150) == "meta-llama-Llama-2-7b-chat-hf_550_150"


def test_mostly_failed_level_meets_no_slo_whatever_slos_are_set() -> None:
    ok = [record(0.0, 0.1, [0.1, 0.2], 0.2, out=2)]
    failed = [record(0.0, None, [], 0.1, error="connection_reset") for _index in range(7)]
    # 7 of 8 failed and no SLO set at all: the old verdict was slo_met True
    summary = summarize(ok + failed, 0.0, 1.0, SLO())
    assert summary["mostly_failed"] is True and summary["slo_met"] is False
    assert summary["error_examples"] == {"connection_reset": ""}
    half = summarize(ok + failed[:1], 0.0, 1.0, SLO())
    assert half["mostly_failed"] is False and half["slo_met"] is True


def test_connect_time_is_reported_apart_from_ttft() -> None:
    fresh = record(0.0, 0.3, [0.3], 0.4, out=1)
    fresh.new_connection, fresh.connected = True, 0.02
    reused = record(1.0, 1.2, [1.2], 1.3, out=1)
    reused.connected = 1.0
    summary = summarize([fresh, reused], 0.0, 2.0, SLO())
    assert summary["connect_s"]["count"] == 1 and summary["connect_s"]["mean"] == pytest.approx(0.02)


# The real llama-server's /metrics (build 2e28c00f8bb16e58 in ~/.cache/llmops-oke, started with --metrics),
# trimmed to the cache counters and one neighbour; values changed to a level's worth.
LLAMA_METRICS = """# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total {processed}
# HELP llamacpp:prompt_tokens_cached_total Number of prompt tokens reused from the cache
# TYPE llamacpp:prompt_tokens_cached_total counter
llamacpp:prompt_tokens_cached_total {cached}
# HELP llamacpp:prompt_tokens_seconds Average prompt throughput in tokens/s
# TYPE llamacpp:prompt_tokens_seconds gauge
llamacpp:prompt_tokens_seconds 0
"""


def test_cache_share_from_llama_cpp_counters() -> None:
    before = cache_counters(LLAMA_METRICS.format(processed=1000, cached=0))
    after = cache_counters(LLAMA_METRICS.format(processed=1800, cached=200))
    # the level looked up 800 + 200 tokens and reused 200: 20 %, above a 10 % shared prefix by more than the slack
    result = prompt_cache_summary(before, after, 0.10)
    assert result["share"] == pytest.approx(0.2) and result["prompt_tokens"] == 1000
    assert result["above_shared_prefix"] is True
    assert prompt_cache_summary(before, after, 0.18)["above_shared_prefix"] is False


def test_cache_share_from_vllm_counters_summed_over_engines() -> None:
    text = ('vllm:prefix_cache_queries_total{engine="0",model_name="m"} 300.0\n'
            'vllm:prefix_cache_queries_total{engine="1",model_name="m"} 100.0\n'
            'vllm:prefix_cache_hits_total{engine="0",model_name="m"} 40.0\n'
            'vllm:prefix_cache_hits_total{engine="1",model_name="m"} 10.0\n')
    counters = cache_counters(text)
    assert counters["prompt_tokens"] == 400 and counters["cached_tokens"] == 50
    zero = {"source": "s", "prompt_tokens": 0.0, "cached_tokens": 0.0}
    assert prompt_cache_summary(zero, counters, None)["share"] == pytest.approx(0.125)


def test_cache_share_not_measured_without_counters() -> None:
    assert cache_counters("# nothing\nprocess_cpu_seconds_total 3\n") is None
    result = prompt_cache_summary(None, None, 0.1, "/metrics unreachable (HTTP 404)")
    assert result["share"] is None and result["not_measured"] == "/metrics unreachable (HTTP 404)"
