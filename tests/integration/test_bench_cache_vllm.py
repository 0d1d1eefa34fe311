"""The cold option against the real vLLM (CPU build, the vllm role's process runtime with vllm_dev_mode): its prefix
cache reused by a repeated prompt, emptied by POST /reset_prefix_cache, then reused by nothing, by vLLM's own
counters (vllm:prefix_cache_queries / vllm:prefix_cache_hits); and a cold benchmark run through the engine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_http import get_url, post_json
from vllm_support import RolePlay

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.cache_state import reset_prompt_cache
from ansible_collections.llmops.oke.plugins.module_utils.bench.client import Endpoint, OpenAIClient
from ansible_collections.llmops.oke.plugins.module_utils.bench.metrics import cache_counters
from ansible_collections.llmops.oke.plugins.module_utils.local.process import running_record

pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.timeout(3600)]
# ~600 tokens (the demo tokenizer is byte-level: about a token a character): several of the CPU backend's
# 128-token blocks, so a repeat can hit the prefix cache
PROMPT = " ".join(f"word{i % 97} of the shared document, line {i}." for i in range(15))


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RolePlay]:
    play = RolePlay(tmp_path_factory.mktemp("vllm-dev"))
    play.base["vllm_dev_mode"] = True
    try:
        play()
        yield play
    finally:
        play.run(vllm_state="absent")
        assert running_record(str(play.run_dir / "itest.pid")) is None


def _counters(play: RolePlay) -> dict[str, Any]:
    status, body = get_url(play.url("/metrics"))
    assert status == 200
    counters = cache_counters(body.decode())
    assert counters is not None and counters["source"].startswith("vLLM")
    return counters


def _ask(play: RolePlay) -> None:
    status, body = post_json(play.url("/v1/chat/completions"), {
        "model": "llama-3.2-1b-instruct", "max_tokens": 2, "messages": [{"role": "user", "content": PROMPT}]})
    assert status == 200, body[:300]


def test_reset_prefix_cache_leaves_the_next_request_nothing_to_reuse(dev_server: RolePlay) -> None:
    _ask(dev_server)
    before = _counters(dev_server)
    _ask(dev_server)  # warm: the same prompt again reuses its full blocks
    warm = _counters(dev_server)
    assert warm["cached_tokens"] - before["cached_tokens"] >= 128, (before, warm)

    async def reset() -> str:
        client = OpenAIClient(Endpoint(base_url=dev_server.url("/v1"), model="m"))
        try:
            return await reset_prompt_cache(client, warm["source"])
        finally:
            await client.close()

    assert asyncio.run(reset()) == ("cold: emptied before the level's measured requests by POST /reset_prefix_cache "
                                    "(vLLM)")
    _ask(dev_server)  # cold: the same prompt after the reset reuses nothing
    cold = _counters(dev_server)
    assert cold["prompt_tokens"] > warm["prompt_tokens"] and cold["cached_tokens"] == warm["cached_tokens"], (
        warm, cold)


def test_a_cold_run_records_its_reset_per_level(dev_server: RolePlay, tmp_path: Path) -> None:
    config = BenchmarkConfig.from_dict({
        "base_url": dev_server.url("/v1"), "model": "llama-3.2-1b-instruct", "concurrency": [1, 2],
        "mean_input_tokens": 200, "stddev_input_tokens": 0, "mean_output_tokens": 8, "stddev_output_tokens": 0,
        "max_requests": 2, "warmup_requests": 1, "results_dir": str(tmp_path), "run_id": "cold",
        "cache_state": "cold", "report": False})
    summary = run_benchmark(config)
    assert summary["status"] == "complete"
    for level in summary["levels"]:
        how = "cold: emptied before the level's measured requests by POST /reset_prefix_cache (vLLM)"
        assert level["summary"]["cache_state"] == {"state": "cold", "how": how}
        assert level["summary"]["prompt_cache"]["source"].startswith("vLLM")
    on_disk = json.loads((tmp_path / "cold" / "summary.json").read_text())
    assert on_disk["levels"][1]["summary"]["cache_state"]["state"] == "cold"
