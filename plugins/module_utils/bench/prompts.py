# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prompts generated LLMPerf's way, use-case presets, and the correctness prompts.

LLMPerf draws input and output lengths from normal distributions (fixed seed), then fills the
prompt with shuffled lines of Shakespeare's sonnets until the token budget is met. We do the same,
counting tokens with the server's own ``/tokenize`` where it has one; otherwise with the stated
estimate ``ceil(characters / 4)``. The method used is recorded in every result.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from .corpus import SONNETS

ESTIMATE_METHOD = "estimate:ceil(chars/4)"
SERVER_METHOD = "server:/tokenize"

# Use-case presets, as data the role and the module share.
PRESETS: dict[str, dict[str, object]] = {
    "chatbot": {
        "description": "interactive chat on llama.cpp (Ampere A1): short prompts, short answers",
        "backend": "llama_cpp",
        "mean_input_tokens": 100,
        "stddev_input_tokens": 10,
        "mean_output_tokens": 100,
        "stddev_output_tokens": 0,
        "concurrency": [1, 2, 4, 8],
        "slo_ttft_s": 2.0,
        "slo_itl_s": 0.1,
        "slo_error_rate": 0.01,
    },
    "rag": {
        "description": "retrieval-augmented answers on vLLM (A10 GPU): long prompts, medium answers",
        "backend": "vllm",
        "mean_input_tokens": 2000,
        "stddev_input_tokens": 200,
        "mean_output_tokens": 200,
        "stddev_output_tokens": 0,
        "concurrency": [1, 4, 16, 32],
        "slo_ttft_s": 3.0,
        "slo_itl_s": 0.05,
        "slo_error_rate": 0.01,
    },
}

PROMPT_HEAD = "Randomly stream lines from the following text with {n} output tokens. Don't generate eos tokens:\n\n"


def estimate_tokens(text: str) -> int:
    """The fallback token count: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


def sample_random_positive_int(rng: random.Random, mean: float, stddev: float) -> int:
    """LLMPerf's sampler: draw from N(mean, stddev) until the integer part is positive."""
    value = -1
    while value <= 0:
        value = int(rng.gauss(mean, stddev))
    return value


@dataclass
class Prompt:
    text: str
    input_tokens: int  # the target token count the text was built to
    max_tokens: int


def corpus_lines() -> list[str]:
    return [line + "\n" for line in SONNETS.splitlines() if line.strip()]


def texts_to_count(output_lengths: list[int]) -> list[str]:
    """Every text :func:`build_prompts` will count: the corpus lines and one head per output length."""
    return corpus_lines() + [PROMPT_HEAD.format(n=n) for n in sorted(set(output_lengths))]


def sample_output_lengths(count: int, mean_output_tokens: int, stddev_output_tokens: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [sample_random_positive_int(rng, mean_output_tokens, stddev_output_tokens) for _index in range(count)]


def build_prompts(count: int, mean_input_tokens: int, stddev_input_tokens: int, mean_output_tokens: int,
                  stddev_output_tokens: int, seed: int = 11111,
                  token_count: Callable[[str], int] | None = None) -> list[Prompt]:
    """``count`` prompts as LLMPerf builds them; ``token_count`` defaults to :func:`estimate_tokens`."""
    counter = token_count or estimate_tokens
    outputs = sample_output_lengths(count, mean_output_tokens, stddev_output_tokens, seed)
    rng = random.Random(seed + 1)
    lines = corpus_lines()
    line_tokens = {line: max(counter(line), 1) for line in lines}
    prompts = []
    for max_tokens in outputs:
        head = PROMPT_HEAD.format(n=max_tokens)
        head_tokens = counter(head)
        target = sample_random_positive_int(rng, mean_input_tokens, stddev_input_tokens)
        attempts = 0
        while target < head_tokens and attempts < 1000:
            target = sample_random_positive_int(rng, mean_input_tokens, stddev_input_tokens)
            attempts += 1
        target = max(target, head_tokens)
        remaining = target - head_tokens
        order = lines[:]
        rng.shuffle(order)
        parts = [head]
        while remaining > 0:
            for line in order:
                tokens = line_tokens[line]
                if remaining - tokens < 0:
                    # cut the last line in proportion to the tokens left, as LLMPerf cuts mid-line
                    parts.append(line[: max(1, int(len(line) * remaining / tokens))])
                    remaining = 0
                    break
                parts.append(line)
                remaining -= tokens
        prompts.append(Prompt(text="".join(parts), input_tokens=target, max_tokens=max_tokens))
    return prompts


# -- correctness (LLMPerf's llm_correctness.py: numbers written as words) --------------------
_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
MAX_RANDOM_NUMBER = 10000


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("-" + _ONES[ones] if ones else "")


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _below_hundred(rest)
    words = _ONES[hundreds] + " hundred"
    return words + (" and " + _below_hundred(rest) if rest else "")


def number_to_words(n: int) -> str:
    """English words for 0 <= n < 1,000,000 in num2words' style (``one thousand, two hundred and five``)."""
    if n < 0 or n >= 1_000_000:
        raise ValueError(f"number out of range: {n}")
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _below_thousand(rest)
    words = _below_thousand(thousands) + " thousand"
    if not rest:
        return words
    if rest < 100:
        return words + " and " + _below_hundred(rest)
    return words + ", " + _below_thousand(rest)


def correctness_prompt(number: int) -> str:
    """LLMPerf's correctness prompt for ``number``."""
    return (f"Convert the following sequence of words into a number: {number_to_words(number)}.\n"
            "Print the number first.")
