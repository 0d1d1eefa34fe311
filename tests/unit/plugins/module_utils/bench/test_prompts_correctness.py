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
    PROMPT_HEAD,
    PromptPool,
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


def test_pool_never_hands_out_a_text_twice_and_counts_the_shared_head() -> None:
    pool = PromptPool(60, 0, 20, 0, seed=7, token_count=count_tokens, text_seed="run-a")
    prompts = [pool.take() for _index in range(300)]
    assert len({p.text for p in prompts}) == 300
    head_tokens = count_tokens(PROMPT_HEAD.format(n=20))
    # the first shares nothing with an earlier prompt; every later one at least LLMPerf's instruction head
    assert prompts[0].shared_prefix_tokens == 0
    assert all(head_tokens <= p.shared_prefix_tokens < p.input_tokens for p in prompts[1:])
    # another run (text seed) draws other texts, with the same output lengths
    other = PromptPool(60, 0, 20, 0, seed=7, token_count=count_tokens, text_seed="run-b")
    assert other.take().text != prompts[0].text


def test_pool_refuses_to_repeat_when_prompts_cannot_differ() -> None:
    head_tokens = count_tokens(PROMPT_HEAD.format(n=20))
    pool = PromptPool(head_tokens, 0, 20, 0, seed=7, token_count=count_tokens)  # nothing but the head fits
    pool.take()
    with pytest.raises(ValueError, match="raise mean_input_tokens"):
        pool.take()


def test_numbers_test_asks_distinct_numbers(make_server, monkeypatch) -> None:
    server = make_server(ttft_s=0.001, itl_s=0.001)
    prompts: list[str] = []
    original = OpenAIClient.send

    async def spy(self, spec, record=None, **kwargs):
        prompts.append(spec.prompt)
        return await original(self, spec, record, **kwargs)

    monkeypatch.setattr(OpenAIClient, "send", spy)

    async def main():
        client = OpenAIClient(Endpoint(base_url=server.base_url, model="m"))
        try:
            # seed 3: LLMPerf's randint per request draws two repeats among 150
            return await numbers_test(client, requests=150, concurrency=10, seed=3, max_tokens=4)
        finally:
            await client.close()

    assert asyncio.run(main())["num_completed_requests"] == 150
    assert len(prompts) == 150 and len(set(prompts)) == 150


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
