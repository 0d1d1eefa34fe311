# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our engine beside upstream LLMPerf on the same endpoint and workload, per concurrency level.

Each metric is split into what the definitions explain and what they do not:

- TTFT: the same definition in both (request start to the first chunk with non-empty content,
  LLMPerf's openai_chat_completions_client.py), so the whole difference is unexplained.
- ITL: LLMPerf's per request is the sum of time-to-next-token, TTFT included, over the number of
  stream events (token_benchmark_ray.py divides by the client's ``tokens_received``); ours is
  (E2E - TTFT) / (output tokens - 1). Our run also writes its requests in LLMPerf's definition
  (``*_summary.json``, metrics.llmperf_individual): ours-in-LLMPerf's-definition minus ours is
  explained; LLMPerf's minus ours-in-its-definition is not.
- Output tokens: LLMPerf re-tokenizes the text with its tokenizer (``len(tokenizer.encode(text))``,
  BOS included); ours are the server's usage. The ratio of the two means is explained.
- Output tok/s: throughput scales with tokens counted, so ours x that ratio is what LLMPerf would report
  from the same timings; the rest (wall time, request rate) is unexplained.

Beside them, each engine's prompt-cache share per level (the server's own counters, read around the level):
LLMPerf seeds its prompt sampler identically at every level, so after its first level it replays prompts the
server has cached, and its TTFT there is mostly not prefill. Ours never sends a prompt twice in a run. A TTFT
difference with unequal cache shares is a workload difference, not a measurement one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADER = ["level", "engine", "TTFT p50 ms", "TTFT p95 ms", "ITL p50 ms", "out tokens/req", "out tok/s",
          "prompt cache share"]
DIFF_HEADER = ["level", "TTFT p50 unexplained ms", "ITL p50 explained ms", "ITL p50 unexplained ms",
               "out tokens ratio (explained)", "out tok/s unexplained"]


def _load(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _f(value: Any) -> float | None:
    try:
        return None if value is None else float(value)  # LLMPerf writes numpy numbers as strings
    except (TypeError, ValueError):
        return None


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _rel(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _share(cache: dict[str, Any] | None) -> float | None:
    return _f((cache or {}).get("share"))


def _tokens(cache: dict[str, Any] | None) -> float | None:
    """Prompt tokens the server counted during the level: every request sent, LLMPerf's uncounted ones too."""
    return _f((cache or {}).get("prompt_tokens"))


def compare_level(ours: dict[str, Any], ours_llmperf: dict[str, Any], theirs: dict[str, Any],
                  theirs_cache: dict[str, Any] | None = None) -> dict[str, Any]:
    """One level: ``ours`` is our summary, ``ours_llmperf`` our ``*_summary.json``, ``theirs`` LLMPerf's;
    ``theirs_cache`` the prompt-cache share read around LLMPerf's level (llmperf_runner.level_cache)."""
    q = "results_{}_quantiles_{}"
    builtin = {
        "ttft_p50_s": ours["ttft_s"]["quantiles"]["p50"], "ttft_p95_s": ours["ttft_s"]["quantiles"]["p95"],
        "itl_p50_s": ours["itl_s"]["quantiles"]["p50"], "itl_mean_s": ours["itl_s"]["mean"],
        "itl_p50_llmperf_definition_s": _f(ours_llmperf.get(q.format("inter_token_latency_s", "p50"))),
        "output_tokens_mean": ours["output_tokens"]["mean"],
        "output_throughput_token_per_s": ours["output_throughput_token_per_s"],
        "completed": ours["num_completed_requests"],
        "prompt_cache_share": _share(ours.get("prompt_cache")),
        "server_prompt_tokens": _tokens(ours.get("prompt_cache")),
    }
    llmperf = {
        "ttft_p50_s": _f(theirs.get(q.format("ttft_s", "p50"))),
        "ttft_p95_s": _f(theirs.get(q.format("ttft_s", "p95"))),
        "itl_p50_s": _f(theirs.get(q.format("inter_token_latency_s", "p50"))),
        "output_tokens_mean": _f(theirs.get("results_number_output_tokens_mean")),
        "output_throughput_token_per_s": _f(theirs.get("results_mean_output_throughput_token_per_s")),
        "completed": _f(theirs.get("results_num_completed_requests")),
        "prompt_cache_share": _share(theirs_cache),
        "server_prompt_tokens": _tokens(theirs_cache),
    }
    token_ratio = _rel(llmperf["output_tokens_mean"], builtin["output_tokens_mean"])
    expected_tput = None if token_ratio is None else builtin["output_throughput_token_per_s"] * token_ratio
    unexplained_tput = _sub(llmperf["output_throughput_token_per_s"], expected_tput)
    differences = {
        "ttft_p50_s": {"total": _sub(llmperf["ttft_p50_s"], builtin["ttft_p50_s"]), "explained": 0.0,
                       "unexplained": _sub(llmperf["ttft_p50_s"], builtin["ttft_p50_s"])},
        "ttft_p95_s": {"total": _sub(llmperf["ttft_p95_s"], builtin["ttft_p95_s"]), "explained": 0.0,
                       "unexplained": _sub(llmperf["ttft_p95_s"], builtin["ttft_p95_s"])},
        "itl_p50_s": {"total": _sub(llmperf["itl_p50_s"], builtin["itl_p50_s"]),
                      "explained": _sub(builtin["itl_p50_llmperf_definition_s"], builtin["itl_p50_s"]),
                      "unexplained": _sub(llmperf["itl_p50_s"], builtin["itl_p50_llmperf_definition_s"])},
        "output_tokens_mean": {"total": _sub(llmperf["output_tokens_mean"], builtin["output_tokens_mean"]),
                               "explained_ratio": token_ratio},
        "output_throughput_token_per_s": {
            "total": _sub(llmperf["output_throughput_token_per_s"], builtin["output_throughput_token_per_s"]),
            "explained": _sub(expected_tput, builtin["output_throughput_token_per_s"]),
            "unexplained": unexplained_tput,
            "unexplained_fraction": _rel(unexplained_tput, expected_tput)},
    }
    return {"builtin": builtin, "llmperf": llmperf, "differences": differences}


def token_counting(ours_method: str, llmperf_method: str) -> dict[str, str]:
    """Which tokenizer counted what, per engine (token_benchmark_ray.py, llmperf/utils.py for LLMPerf's side)."""
    return {
        "builtin": f"input: prompts built to their target length with {ours_method or 'an unrecorded method'}; "
                   "output: the server's usage (completion_tokens), the tokens it generated; no re-tokenizing",
        "llmperf": f"{llmperf_method or 'LLMPerf: hf-internal-testing/llama-tokenizer'}; input: its prompt "
                   "builder's target (each sonnet line counted with its own BOS, so the prompt sent is shorter "
                   "than the number reported); output: the generated text re-tokenized with len(tokenizer.encode("
                   "text)), BOS included, not the tokens the server generated",
    }


def compare_runs(ours: dict[str, Any], theirs: dict[str, Any], steps: list[dict[str, Any]],
                 run_dir: str | Path, llmperf_run_dir: str | Path) -> dict[str, Any]:
    """Compare a builtin run (its summary) with an LLMPerf run of the same workload, level by level.

    ``steps`` are the LLMPerf runner's records (``llmperf_run.json``: each level's prompt-cache counters).
    """
    by_concurrency = {level.get("concurrency"): level for level in theirs["levels"]}
    cache_by_concurrency = {step.get("concurrency"): step.get("prompt_cache") for step in steps}
    levels = []
    for level in ours["levels"]:
        other = by_concurrency.get(level.get("concurrency"))
        if other is None or level.get("mode") != "closed":
            continue
        row = compare_level(level["summary"], _load(level["files"]["summary"]), _load(other["files"]["summary"]),
                            cache_by_concurrency.get(level.get("concurrency")))
        levels.append({"label": level["label"], "concurrency": level["concurrency"], **row})
    if not levels:
        raise ValueError(f"{run_dir} and {llmperf_run_dir} share no closed-loop concurrency level to compare")
    return {
        "llmperf_run_dir": str(llmperf_run_dir),
        "tokenizers": token_counting(ours.get("metadata", {}).get("token_count_method", ""),
                                     theirs.get("metadata", {}).get("token_count_method", "")),
        "definitions": {
            "ttft": "same in both: request start to the first non-empty content chunk; difference unexplained",
            "itl": "LLMPerf: sum of time-to-next-token (TTFT included) / stream events; ours: (E2E - TTFT) / "
                   "(output tokens - 1); explained = ours in LLMPerf's definition - ours",
            "output_tokens": "LLMPerf: len(tokenizer.encode(generated text)), BOS included; ours: the server's "
                             "usage (tokens generated); the ratio of the means is explained",
            "output_throughput": "explained = ours x the output-token ratio; the rest is wall time / request rate",
            "prompt_cache_share": "prompt tokens the server reused from its cache / prompt tokens, from its /metrics "
                                  "around the level; LLMPerf replays the same prompts at every level, ours never",
        },
        "levels": levels,
    }


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f}"


def _n(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def crosscheck_tables(check: dict[str, Any]) -> list[tuple[list[str], list[list[str]]]]:
    """The two report tables: both engines' figures, then the differences split."""
    rows, diffs = [], []
    for level in check["levels"]:
        for engine in ("builtin", "llmperf"):
            m = level[engine]
            share = m.get("prompt_cache_share")
            rows.append([level["label"], engine, _ms(m["ttft_p50_s"]), _ms(m["ttft_p95_s"]), _ms(m["itl_p50_s"]),
                         _n(m["output_tokens_mean"]), _n(m["output_throughput_token_per_s"]),
                         "—" if share is None else f"{share * 100:.0f}%"])
        d = level["differences"]
        fraction = d["output_throughput_token_per_s"]["unexplained_fraction"]
        diffs.append([level["label"], _ms(d["ttft_p50_s"]["unexplained"]), _ms(d["itl_p50_s"]["explained"]),
                      _ms(d["itl_p50_s"]["unexplained"]), _n(d["output_tokens_mean"]["explained_ratio"], 3),
                      "—" if fraction is None else f"{fraction * 100:+.1f}%"])
    return [(HEADER, rows), (DIFF_HEADER, diffs)]


def crosscheck_markdown(check: dict[str, Any]) -> str:
    out = ["## Cross-check: builtin engine vs LLMPerf\n",
           f"Token counts: builtin — {check['tokenizers']['builtin']}; LLMPerf — {check['tokenizers']['llmperf']}.\n"]
    for header, rows in crosscheck_tables(check):
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _cell in header) + "|")
        out.extend("| " + " | ".join(row) + " |" for row in rows)
        out.append("")
    out.extend(f"- {name}: {text}" for name, text in check["definitions"].items())
    return "\n".join(out) + "\n"
