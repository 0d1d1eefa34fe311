"""The cross-check's split of each difference into what the definitions explain and the rest (issue 17)."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.crosscheck import (
    compare_level,
    crosscheck_tables,
    token_counting,
)


def _ours(ttft_p50: float, itl_p50: float, tokens: float, tput: float) -> dict:
    return {"ttft_s": {"quantiles": {"p50": ttft_p50, "p95": ttft_p50 * 2}}, "itl_s": {"quantiles": {"p50": itl_p50},
            "mean": itl_p50}, "output_tokens": {"mean": tokens}, "output_throughput_token_per_s": tput,
            "num_completed_requests": 4}


def test_itl_and_throughput_split_into_explained_and_unexplained() -> None:
    ours = _ours(ttft_p50=0.100, itl_p50=0.050, tokens=10.0, tput=20.0)
    # our requests in LLMPerf's definition (TTFT folded into ITL): 0.060; LLMPerf measured 0.062
    ours_llmperf = {"results_inter_token_latency_s_quantiles_p50": "0.060"}
    theirs = {"results_ttft_s_quantiles_p50": "0.104", "results_ttft_s_quantiles_p95": 0.3,
              "results_inter_token_latency_s_quantiles_p50": 0.062, "results_number_output_tokens_mean": 11.0,
              "results_mean_output_throughput_token_per_s": 23.1, "results_num_completed_requests": 4}
    d = compare_level(ours, ours_llmperf, theirs)["differences"]
    assert d["ttft_p50_s"]["unexplained"] == pytest.approx(0.004)
    assert d["itl_p50_s"]["explained"] == pytest.approx(0.010)
    assert d["itl_p50_s"]["unexplained"] == pytest.approx(0.002)
    assert d["output_tokens_mean"]["explained_ratio"] == pytest.approx(1.1)
    # 20 tok/s x 1.1 = 22 expected from the token count alone; 23.1 measured: +1.1 (+5%) unexplained
    assert d["output_throughput_token_per_s"]["explained"] == pytest.approx(2.0)
    assert d["output_throughput_token_per_s"]["unexplained"] == pytest.approx(1.1)
    assert d["output_throughput_token_per_s"]["unexplained_fraction"] == pytest.approx(0.05)


def test_tables_show_a_dash_where_llmperf_lacks_a_figure() -> None:
    row = compare_level(_ours(0.1, 0.05, 10, 20), {}, {})
    check = {"levels": [{"label": "c1", **row}]}
    figures, diffs = crosscheck_tables(check)
    assert figures[1][1][1] == "llmperf" and figures[1][1][2] == "—"
    assert diffs[1][0] == ["c1", "—", "—", "—", "—", "—"]


def test_each_engines_prompt_cache_share_is_shown_beside_its_ttft() -> None:
    ours = _ours(0.9, 0.05, 48, 9) | {"prompt_cache": {"share": 0.36, "prompt_tokens": 700, "cached_tokens": 252}}
    # LLMPerf's second level on the same server: its replayed prompts come from the cache
    # (llmperf_runner.level_cache around its script; 7 requests sent for 6 counted)
    theirs_cache = {"share": 0.99, "prompt_tokens": 811, "cached_tokens": 804}
    row = compare_level(ours, {}, {"results_ttft_s_quantiles_p50": 0.08}, theirs_cache)
    assert row["builtin"]["prompt_cache_share"] == pytest.approx(0.36)
    assert row["llmperf"]["prompt_cache_share"] == pytest.approx(0.99)
    assert row["builtin"]["server_prompt_tokens"] == 700 and row["llmperf"]["server_prompt_tokens"] == 811
    figures, _diffs = crosscheck_tables({"levels": [{"label": "c2", **row}]})
    assert [line[-1] for line in figures[1]] == ["36%", "99%"]
    # without counters (a Job's import, a server without /metrics) the column says so
    assert compare_level(_ours(0.1, 0.05, 10, 20), {}, {})["llmperf"]["prompt_cache_share"] is None


def test_the_note_says_which_tokenizer_counted_what() -> None:
    counting = token_counting("server:/tokenize", "LLMPerf: the demo model's own vocabulary (8192 pieces)")
    # ours: prompts sized with the server's tokenizer, output = what the server generated (usage)
    assert counting["builtin"].startswith("input: prompts built to their target length with server:/tokenize")
    assert "output: the server's usage (completion_tokens)" in counting["builtin"]
    # LLMPerf: its tokenizer for both, the output by re-tokenizing the generated text
    assert counting["llmperf"].startswith("LLMPerf: the demo model's own vocabulary")
    assert "output: the generated text re-tokenized with len(tokenizer.encode(text)), BOS included" in \
        counting["llmperf"]
