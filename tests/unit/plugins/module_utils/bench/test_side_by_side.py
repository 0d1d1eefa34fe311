"""The side-by-side table of the local path's two backends: the picked level, its machine verdict and cache state."""

from __future__ import annotations

from ansible_collections.llmops.oke.plugins.module_utils.bench.side_by_side import markdown, row


def _level(label: str, slo_met: bool, saturated: bool | None, state: str = "warm") -> dict:
    summary = {"num_completed_requests": 12, "slo_met": slo_met, "output_throughput_token_per_s": 100.0,
               "ttft_s": {"quantiles": {"p50": 0.5}}, "itl_s": {"quantiles": {"p50": 0.02}},
               "prompt_cache": {"share": 0.25}, "cache_state": {"state": state, "how": f"{state}: ..."}}
    if saturated is not None:
        summary["machine"] = {"saturated": saturated}
    return {"label": label, "summary": summary}


def test_the_picked_levels_machine_verdict_and_cache_state_are_in_the_table() -> None:
    saturated = row("llama.cpp", {"levels": [_level("c1", True, False), _level("c2", True, True, "cold")]}, "chat")
    assert saturated["level"] == "c2" and saturated["machine"] == "SATURATED" and saturated["cache_state"] == "cold"
    old = row("vllm", {"levels": [_level("c1", False, None)]}, "rag")  # a run from before the machine was measured
    assert old["machine"] == "not measured" and old["cache_state"] == "warm"
    empty = row("vllm", {"levels": []}, "rag")
    assert empty["machine"] == "-" and empty["cache_state"] == "-"
    table = markdown([saturated, old])
    assert "| machine | cache |" in table.splitlines()[0]
    assert table.splitlines()[2].endswith("| SATURATED | cold |")
    assert "Machine: SATURATED where" in table
