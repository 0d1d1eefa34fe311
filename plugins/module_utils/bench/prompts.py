# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prompts generated LLMPerf's way, use-case presets, and the correctness prompts.

LLMPerf draws input and output lengths from normal distributions (fixed seed), then fills the
prompt with shuffled lines of Shakespeare's sonnets until the token budget is met. We do the same,
counting tokens with the server's own ``/tokenize`` where it has one; otherwise with the stated
estimate ``ceil(characters / 4)``. The method used is recorded in every result.

Unlike LLMPerf, no prompt text is sent twice in a run (:class:`PromptPool`): a replayed prompt is
answered from the server's prompt cache, which measures the cache instead of prefill. The shared
instruction head stays (it is part of LLMPerf's workload); the pool records how many leading tokens
each prompt shares with any prompt handed out before it, the most a prefix cache could reuse.
"""

from __future__ import annotations

import bisect
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
    # leading tokens shared with a prompt handed out earlier by the same pool (0 from build_prompts' first)
    shared_prefix_tokens: int = 0


def corpus_lines() -> list[str]:
    return [line + "\n" for line in SONNETS.splitlines() if line.strip()]


def texts_to_count(output_lengths: list[int]) -> list[str]:
    """Every text :func:`build_prompts` will count: the corpus lines and one head per output length."""
    return corpus_lines() + [PROMPT_HEAD.format(n=n) for n in sorted(set(output_lengths))]


def sample_output_lengths(count: int, mean_output_tokens: int, stddev_output_tokens: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [sample_random_positive_int(rng, mean_output_tokens, stddev_output_tokens) for _index in range(count)]


class PrefixIndex:
    """Texts seen so far, sorted: the longest prefix a new text shares with any of them is with a neighbour."""

    def __init__(self) -> None:
        self._sorted: list[str] = []

    def __contains__(self, text: str) -> bool:
        at = bisect.bisect_left(self._sorted, text)
        return at < len(self._sorted) and self._sorted[at] == text

    def add(self, text: str) -> int:
        """Insert ``text``; return the length (characters) of its longest common prefix with an earlier text."""
        at = bisect.bisect_left(self._sorted, text)
        shared = max((_common_prefix(text, self._sorted[i]) for i in (at - 1, at) if 0 <= i < len(self._sorted)),
                     default=0)
        self._sorted.insert(at, text)
        return shared


def _common_prefix(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    index = 0
    while index < limit and a[index] == b[index]:
        index += 1
    return index


class PromptPool:
    """LLMPerf-shaped prompts on demand, each text handed out once.

    Output lengths come from ``random.Random(seed)`` and line orders from ``random.Random(text_seed)``
    (``seed + 1`` unless given), as :func:`build_prompts` always drew them. A text equal to one handed
    out before is drawn again; prompts too short to differ raise ``ValueError`` instead of repeating.
    """

    MAX_REDRAWS = 200

    def __init__(self, mean_input_tokens: int, stddev_input_tokens: int, mean_output_tokens: int,
                 stddev_output_tokens: int, seed: int = 11111, token_count: Callable[[str], int] | None = None,
                 text_seed: int | str | None = None) -> None:
        self.mean_input_tokens = mean_input_tokens
        self.stddev_input_tokens = stddev_input_tokens
        self.mean_output_tokens = mean_output_tokens
        self.stddev_output_tokens = stddev_output_tokens
        self.counter = token_count or estimate_tokens
        self._output_rng = random.Random(seed)
        self._text_rng = random.Random(seed + 1 if text_seed is None else text_seed)
        self._lines = corpus_lines()
        self._line_tokens = {line: max(self.counter(line), 1) for line in self._lines}
        self._seen = PrefixIndex()
        self.handed_out = 0

    def take(self) -> Prompt:
        """The next prompt, never one handed out before by this pool."""
        max_tokens = sample_random_positive_int(self._output_rng, self.mean_output_tokens, self.stddev_output_tokens)
        for _attempt in range(self.MAX_REDRAWS):
            text, target, parts = self._draw(max_tokens)
            if text not in self._seen:
                shared_chars = self._seen.add(text)
                self.handed_out += 1
                return Prompt(text=text, input_tokens=target, max_tokens=max_tokens,
                              shared_prefix_tokens=_prefix_tokens(parts, shared_chars))
        raise ValueError(f"no prompt of about {self.mean_input_tokens} tokens differs from the {self.handed_out} "
                         "already sent: raise mean_input_tokens (or stddev_input_tokens) so prompts can differ")

    def _draw(self, max_tokens: int) -> tuple[str, int, list[tuple[str, int]]]:
        rng = self._text_rng
        head = PROMPT_HEAD.format(n=max_tokens)
        head_tokens = self.counter(head)
        target = sample_random_positive_int(rng, self.mean_input_tokens, self.stddev_input_tokens)
        attempts = 0
        while target < head_tokens and attempts < 1000:
            target = sample_random_positive_int(rng, self.mean_input_tokens, self.stddev_input_tokens)
            attempts += 1
        target = max(target, head_tokens)
        remaining = target - head_tokens
        order = self._lines[:]
        rng.shuffle(order)
        parts = [(head, head_tokens)]
        while remaining > 0:
            for line in order:
                tokens = self._line_tokens[line]
                if remaining - tokens < 0:
                    # cut the last line in proportion to the tokens left, as LLMPerf cuts mid-line
                    parts.append((line[: max(1, int(len(line) * remaining / tokens))], remaining))
                    remaining = 0
                    break
                parts.append((line, tokens))
                remaining -= tokens
        return "".join(text for text, _tokens in parts), target, parts


def _prefix_tokens(parts: list[tuple[str, int]], chars: int) -> int:
    """Tokens in the first ``chars`` characters: whole parts as counted, a cut part in proportion."""
    tokens = 0
    for text, count in parts:
        if chars <= 0:
            break
        if chars >= len(text):
            tokens += count
        else:
            tokens += int(count * chars / len(text))
        chars -= len(text)
    return tokens


def build_prompts(count: int, mean_input_tokens: int, stddev_input_tokens: int, mean_output_tokens: int,
                  stddev_output_tokens: int, seed: int = 11111,
                  token_count: Callable[[str], int] | None = None) -> list[Prompt]:
    """``count`` distinct prompts as LLMPerf builds them; ``token_count`` defaults to :func:`estimate_tokens`."""
    pool = PromptPool(mean_input_tokens, stddev_input_tokens, mean_output_tokens, stddev_output_tokens, seed,
                      token_count)
    return [pool.take() for _index in range(count)]


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
