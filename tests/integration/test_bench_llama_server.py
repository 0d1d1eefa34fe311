"""The benchmark engine against a real llama.cpp server (the cached build and demo model), end to end."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_http import free_port, serving_process

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import ensure_model
from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import ensure_llama_server

pytestmark = [pytest.mark.slow, pytest.mark.llama_server]
CACHE = os.environ.get("LLMOPS_CACHE") or os.path.expanduser("~/.cache/llmops-oke")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The same cached build and demo model as the role's defaults (built here when the cache lacks them).
    binary = ensure_llama_server(CACHE)["path"]
    model = ensure_model(os.path.join(CACHE, "models"))["path"]
    port = free_port()
    command = [binary, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-np", "2", "-c", "2048", "-a", "demo",
               "--metrics"]
    with serving_process(command, port, tmp_path_factory.mktemp("llama") / "server.log") as url:
        yield url


def test_run_against_llama_cpp_produces_the_whole_folder(llama_server: str, tmp_path: Path) -> None:
    config = BenchmarkConfig.from_dict({
        "base_url": llama_server, "model": "demo", "preset": "chatbot", "concurrency": [1, 2], "max_requests": 2,
        "warmup_requests": 1, "mean_output_tokens": 8, "results_dir": str(tmp_path), "run_id": "llama",
        "node_shape": "VM.Standard.A1.Flex", "ocpus": 2, "memory_gb": 8, "server_slots": 2,
        "correctness_requests": 1, "determinism_prompts": 1,
    })
    summary = run_benchmark(config)
    run_dir = tmp_path / "llama"
    assert summary["status"] == "complete"
    assert summary["metadata"]["token_count_method"] == "server:/tokenize"
    for level in summary["levels"]:
        s = level["summary"]
        # llama.cpp closes kept-alive connections after streams: the engine must not turn that into errors
        assert s["errors_by_code"] == {} and s["num_completed_requests"] == 2
        assert s["token_source"] == {"usage": 2}
        assert s["output_tokens"]["min"] == s["output_tokens"]["max"] == 8  # ignore_eos + max_tokens honoured
        assert s["ttft_s"]["mean"] > 0 and s["itl_s"]["mean"] > 0
        # the server's own counters, read around the level: fresh prompts reuse no more than their shared prefix
        cache = s["prompt_cache"]
        assert (cache["source"] or "").startswith("llama.cpp /metrics"), cache.get("not_measured")
        assert cache["prompt_tokens"] > 0, cache
        assert cache["above_shared_prefix"] is False, cache
    # a random-weights demo model cannot do the arithmetic, but it answers, and deterministically at temperature 0
    assert summary["correctness"]["number_errors"] == 0
    assert summary["determinism"]["deterministic"] is True
    names = {p.name for p in run_dir.iterdir()}
    assert {"demo_100_8_c1_summary.json", "demo_100_8_c2_individual_responses.json", "requests_c2.csv",
            "summary.json", "report.md", "report.html"} <= names
    llmperf = json.loads((run_dir / "demo_100_8_c2_summary.json").read_text())
    assert llmperf["results_num_completed_requests"] == 2 and llmperf["results_ttft_s_quantiles_p50"] > 0
