"""Prompt generation (LLMPerf's way), presets, and the correctness checks against the synthetic server."""

from __future__ import annotations

import asyncio

import pytest
from synthetic_llm_server import count_tokens

from ansible_collections.llmops.oke.plugins.module_utils.bench.client import Endpoint, OpenAIClient
from ansible_collections.llmops.oke.plugins.module_utils.bench.correctness import (
    determinism_test,
    number_matches,
    numbers_test,
)
from ansible_collections.llmops.oke.plugins.module_utils.bench.prompts import (
    PRESETS,
    build_prompts,
    correctness_prompt,
    estimate_tokens,
    number_to_words,
)


def test_prompts_hit_their_token_targets_with_the_given_counter() -> None:
    prompts = build_prompts(50, 300, 30, 100, 10, seed=7, token_count=count_tokens)
    assert len(prompts) == 50
    for prompt in prompts:
        assert prompt.text.startswith(f"Randomly stream lines from the following text with {prompt.max_tokens} ")
        # lines are whole except the last, cut in proportion: within a line's worth of the target
        assert abs(count_tokens(prompt.text) - prompt.input_tokens) <= 15
    mean_in = sum(p.input_tokens for p in prompts) / 50
    assert 285 <= mean_in <= 315
    assert build_prompts(5, 300, 30, 100, 10, seed=7, token_count=count_tokens)[0] == prompts[0]  # fixed seed
    assert build_prompts(5, 300, 30, 100, 10, seed=8, token_count=count_tokens)[0] != prompts[0]


def test_estimate_fallback_and_presets() -> None:
    assert estimate_tokens("abcdefgh") == 2 and estimate_tokens("abcdefghi") == 3
    assert PRESETS["chatbot"]["mean_input_tokens"] == 100 and PRESETS["chatbot"]["mean_output_tokens"] == 100
    assert PRESETS["rag"]["mean_input_tokens"] == 2000 and PRESETS["rag"]["mean_output_tokens"] == 200


@pytest.mark.parametrize(("number", "words"), [
    (0, "zero"), (13, "thirteen"), (40, "forty"), (99, "ninety-nine"), (100, "one hundred"),
    (101, "one hundred and one"), (1000, "one thousand"), (1005, "one thousand and five"),
    (1234, "one thousand, two hundred and thirty-four"), (10000, "ten thousand"),
])
def test_number_words_like_num2words(number: int, words: str) -> None:
    assert number_to_words(number) == words


def test_llmperf_match_rule() -> None:
    assert number_matches("The number is 1,234.", 1234)
    assert number_matches("1234\nThat is it", 1234)
    assert not number_matches("12345", 1234)
    assert not number_matches("one thousand", 1000)
    assert "Print the number first." in correctness_prompt(5)


def test_correctness_and_determinism_against_the_fixture(llm_server) -> None:
    async def main() -> tuple:
        client = OpenAIClient(Endpoint(base_url=llm_server.base_url, model="m"))
        try:
            numbers = await numbers_test(client, requests=12, concurrency=4)
            stable = await determinism_test(client, ["alpha beta", "gamma"], repeats=2, max_tokens=6)
            return numbers, stable
        finally:
            await client.close()

    numbers, stable = asyncio.run(main())
    assert numbers["num_completed_requests"] == 12 and numbers["mismatch_rate"] == 0.0 and numbers["error_rate"] == 0
    assert stable["deterministic"] is True and stable["stream_mismatches"] == 0


def test_determinism_check_catches_a_non_deterministic_server(make_server) -> None:
    server = make_server(ttft_s=0.01, itl_s=0.001, fault_cycle=["random"])

    async def main() -> dict:
        client = OpenAIClient(Endpoint(base_url=server.base_url, model="m"))
        try:
            return await determinism_test(client, ["alpha beta"], repeats=2, max_tokens=12)
        finally:
            await client.close()

    result = asyncio.run(main())
    assert result["deterministic"] is False
    assert result["stream_mismatches"] + result["repeat_mismatches"] >= 1
