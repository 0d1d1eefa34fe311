"""The cold option's reset through each server's own route, and its refusals naming what to set.

The routes and answers follow the servers' sources: llama-server b11434 tools/server/server-context.cpp
(``post_slots``: 501 "This server does not support slots action. Start it with `--slot-save-path`" without the
flag; ``{"id_slot": N, "n_erased": M}`` on erase) and vLLM 0.32 vllm/entrypoints/serve/dev/cache/api_router.py
(``POST /reset_prefix_cache`` -> ``{"success": bool}``, registered only with VLLM_SERVER_DEV_MODE=1). The real
servers are exercised in tests/integration/test_bench_machine_cache.py.
"""

from __future__ import annotations

import asyncio
import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from local_http import serving

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.cache_state import (
    CacheResetError,
    reset_prompt_cache,
)
from ansible_collections.llmops.oke.plugins.module_utils.bench.client import Endpoint, OpenAIClient


def handler(routes: dict[tuple[str, str], tuple[int, object]], seen: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            seen.append(f"{method} {self.path}")
            answers = routes.get((method, self.path), (404, {"error": "not found"}))
            status, body = answers if not isinstance(answers, list) else answers.pop(0)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer("POST")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def reset(routes: dict, source: str = "") -> tuple[str, list[str]]:
    seen: list[str] = []
    with serving(handler(routes, seen)) as url:

        async def main() -> str:
            client = OpenAIClient(Endpoint(base_url=url + "/v1", model="m"))
            try:
                return await reset_prompt_cache(client, source, attempts=3, pause_s=0.01)
            finally:
                await client.close()

        return asyncio.run(main()), seen


def test_vllm_reset_prefix_cache_retried_until_success() -> None:
    routes = {("POST", "/reset_prefix_cache"): [(200, {"success": False}), (200, {"success": True})]}
    how, seen = reset(routes)
    assert how == "cold: emptied before the level's measured requests by POST /reset_prefix_cache (vLLM)"
    assert seen == ["POST /reset_prefix_cache", "POST /reset_prefix_cache"]


def test_vllm_that_never_frees_its_blocks_is_refused() -> None:
    routes = {("POST", "/reset_prefix_cache"): [(200, {"success": False})] * 4}
    with pytest.raises(CacheResetError, match="kept answering success=false after 3 tries"):
        reset(routes)


def test_llama_server_slots_are_each_erased() -> None:
    routes = {("GET", "/slots"): (200, [{"id": 0}, {"id": 1}]),
              ("POST", "/slots/0?action=erase"): (200, {"id_slot": 0, "n_erased": 61}),
              ("POST", "/slots/1?action=erase"): (200, {"id_slot": 1, "n_erased": 0})}
    how, seen = reset(routes)
    assert how.endswith("by POST /slots/<id>?action=erase for slots 0,1 (llama-server)")
    assert seen == ["POST /reset_prefix_cache", "GET /slots", "POST /slots/0?action=erase",
                    "POST /slots/1?action=erase"]


def test_llama_server_without_slot_save_path_names_the_role_variable() -> None:
    routes = {("GET", "/slots"): (200, [{"id": 0}]),
              ("POST", "/slots/0?action=erase"): (501, {"error": {"message": "Start it with `--slot-save-path`"}})}
    with pytest.raises(CacheResetError, match=r"HTTP 501: start llama-server with --slot-save-path and --cache-ram 0 .*"
                                              r"llama_cpp_cache_reset is true"):
        reset(routes)


@pytest.mark.parametrize(("source", "names"), [("vLLM /metrics (...)", ["vllm_dev_mode"]),
                                               ("llama.cpp /metrics (...)", ["llama_cpp_cache_reset"]),
                                               ("", ["vllm_dev_mode", "llama_cpp_cache_reset"])])
def test_a_server_with_no_reset_route_is_refused_with_the_fix(source: str, names: list[str]) -> None:
    with pytest.raises(CacheResetError, match="the server offers no prompt-cache reset") as caught:
        reset({}, source)
    assert all(name in str(caught.value) for name in names)
    assert "VLLM_SERVER_DEV_MODE" in str(caught.value) or "vllm_dev_mode" not in names


def test_cold_against_a_server_that_cannot_reset_fails_before_any_level(llm_server, tmp_path: Path) -> None:
    config = BenchmarkConfig.from_dict({
        "base_url": llm_server.base_url + "/v1", "model": "m", "preset": "chatbot", "concurrency": [1],
        "max_requests": 2, "warmup_requests": 0, "results_dir": str(tmp_path), "run_id": "cold",
        "cache_state": "cold", "report": False})
    with pytest.raises(CacheResetError, match="offers no prompt-cache reset"):
        run_benchmark(config)
    summary = json.loads((tmp_path / "cold" / "summary.json").read_text())
    assert summary["levels"] == []
