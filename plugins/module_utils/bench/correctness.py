# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Correctness checks: LLMPerf's numbers-as-words test and a determinism check for any model.

LLMPerf's method (``llm_correctness.py``): a random integer in [0, 10000] written as words, prompt
"Convert the following sequence of words into a number: <words>.\\nPrint the number first.",
temperature 0; a response matches when, after removing commas between digits, the number is
among the digit runs of the text. Determinism: at temperature 0 the streamed answer must equal
the non-streamed one, and repeated requests (which may land on different replicas) must agree.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from typing import Any

from .client import OpenAIClient, RequestSpec
from .prompts import MAX_RANDOM_NUMBER, correctness_prompt

_COMMAS_BETWEEN_DIGITS = re.compile(r"(\d+),(?=\d)")


def number_matches(generated_text: str, expected: int) -> bool:
    """LLMPerf's match rule: the expected number is one of the digit runs once 1,234 becomes 1234."""
    text = _COMMAS_BETWEEN_DIGITS.sub(r"\1", generated_text)
    return str(expected) in re.findall(r"\d+", text)


async def numbers_test(client: OpenAIClient, requests: int = 50, concurrency: int = 10, seed: int = 11111,
                       max_tokens: int = 32) -> dict[str, Any]:
    """Run LLMPerf's correctness test; returns counts, rates and the mismatches."""
    rng = random.Random(seed)
    # distinct numbers, so no prompt is sent twice (LLMPerf draws randint per request and may repeat one)
    numbers = rng.sample(range(MAX_RANDOM_NUMBER + 1), min(requests, MAX_RANDOM_NUMBER + 1))
    sem = asyncio.Semaphore(concurrency)
    watchdog = asyncio.ensure_future(client.watchdog())

    async def ask(i: int, number: int) -> dict[str, Any]:
        spec = RequestSpec(prompt=correctness_prompt(number), max_tokens=max_tokens, temperature=0.0,
                           request_id=f"correctness-{i}", extra_body={"ignore_eos": False, "min_tokens": 0})
        async with sem:
            record = await client.send(spec)
        return {"number": number, "text": record.text, "error_code": record.error_code,
                "match": record.ok and number_matches(record.text, number)}

    try:
        answers = await asyncio.gather(*(ask(i, n) for i, n in enumerate(numbers)))
    finally:
        watchdog.cancel()
    errored = [a for a in answers if a["error_code"]]
    mismatched = [a for a in answers if not a["error_code"] and not a["match"]]
    total = len(answers)
    return {
        "num_completed_requests": total,
        "number_errors": len(errored),
        "num_mismatched_requests": len(mismatched),
        "num_non_errored_requests": total - len(errored),
        "error_rate": len(errored) / total if total else 0.0,
        "mismatch_rate": len(mismatched) / total if total else 0.0,
        "errors_by_code": dict(Counter(a["error_code"] for a in errored)),
        "mismatches": mismatched[:20],
    }


async def determinism_test(client: OpenAIClient, prompts: list[str], repeats: int = 3,
                           max_tokens: int = 32) -> dict[str, Any]:
    """Temperature 0: streamed == non-streamed, and ``repeats`` streamed requests identical per prompt."""
    watchdog = asyncio.ensure_future(client.watchdog())
    cases = []
    try:
        for i, prompt in enumerate(prompts):
            base = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, "seed": 0}
            # The prompts are fresh (never sent before in the run): the first request prefills the whole prompt,
            # later ones reuse the server's prompt cache, whose other batch shapes change float sums; on near-tie
            # logits (llama.cpp, random-weights demo model) that alone changes the text. One priming request puts
            # every compared request in the same cache state; whether it agreed is recorded, not judged.
            first = await client.send(RequestSpec(stream=False, request_id=f"determinism-{i}-prime", **base))
            whole = await client.send(RequestSpec(stream=False, request_id=f"determinism-{i}-whole", **base))
            streamed = [await client.send(RequestSpec(stream=True, request_id=f"determinism-{i}-s{k}", **base))
                        for k in range(repeats)]
            errors = [r.error_code for r in [whole, *streamed] if r.error_code]
            texts = [r.text for r in streamed]
            cases.append({
                "prompt_index": i,
                "errors": errors,
                "stream_equals_whole": not errors and texts[0] == whole.text,
                "repeats_identical": not errors and len(set(texts)) == 1,
                "first_prefill_equals_whole": first.ok and first.text == whole.text,
                "whole_text": whole.text[:200],
                "streamed_texts": [t[:200] for t in texts],
            })
    finally:
        watchdog.cancel()
    checked = [c for c in cases if not c["errors"]]
    return {
        "num_prompts": len(cases),
        "num_errored": len(cases) - len(checked),
        "stream_mismatches": sum(1 for c in checked if not c["stream_equals_whole"]),
        "repeat_mismatches": sum(1 for c in checked if not c["repeats_identical"]),
        "first_prefill_mismatches": sum(1 for c in checked if not c["first_prefill_equals_whole"]),
        "deterministic": bool(checked) and all(c["stream_equals_whole"] and c["repeats_identical"] for c in checked),
        "cases": cases,
    }
