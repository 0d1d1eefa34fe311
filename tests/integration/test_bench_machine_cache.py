"""A real llama-server benchmarked (1) with the host saturated by a bounded CPU burner: the level is flagged;
(2) warm and cold: after a cold reset (the server's own slot erase) the next requests reuse nothing, warm ones do."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_http import free_port, serving_process

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.saturation import cpu_count, read_load1
from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import ensure_model
from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import ensure_llama_server
from ansible_collections.llmops.oke.plugins.module_utils.server.llama_cpp_args import build_server_args

pytestmark = [pytest.mark.slow, pytest.mark.llama_server]
CACHE = os.environ.get("LLMOPS_CACHE") or os.path.expanduser("~/.cache/llmops-oke")
# a busy loop that ends by itself: the burner is bounded even if the test is killed before its cleanup
BURN = "import time\nend = time.monotonic() + float({seconds})\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The role's argument builder as llama_cpp_cache_reset sets it (slot actions on, no host-memory prompt cache).
    binary = ensure_llama_server(CACHE)["path"]
    model = ensure_model(os.path.join(CACHE, "models"))["path"]
    folder = tmp_path_factory.mktemp("llama")
    slots = folder / "slots"
    slots.mkdir()
    port = free_port()
    args = build_server_args({"model": model, "alias": "demo", "host": "127.0.0.1", "port": port, "parallel": 2,
                              "ctx_size_per_slot": 1024, "metrics": True, "slot_save_path": str(slots),
                              "cache_ram_mib": 0})
    with serving_process([binary, *args], port, folder / "server.log") as url:
        yield url


def _config(url: str, tmp_path: Path, run_id: str, **options: object) -> BenchmarkConfig:
    return BenchmarkConfig.from_dict({"base_url": url, "model": "demo", "preset": "chatbot", "mean_output_tokens": 8,
                                      "stddev_output_tokens": 0, "results_dir": str(tmp_path), "run_id": run_id,
                                      "report": True, **options})


# first in the file: after the burner the 1-minute load stays high for a minute
def test_a_level_on_a_quiet_host_is_not_flagged(llama_server: str, tmp_path: Path) -> None:
    load, cpus = read_load1(), cpu_count()
    if load is None or load > 0.75 * cpus:
        pytest.skip(f"the host is not quiet (1-minute load {load} on {cpus} CPUs): an unflagged level is not asserted")
    summary = run_benchmark(_config(llama_server, tmp_path, "quiet", concurrency=[1], max_requests=6,
                                    warmup_requests=1))
    machine = summary["levels"][0]["summary"]["machine"]
    assert not machine["saturated"], machine


def test_a_level_on_a_saturated_host_is_flagged(llama_server: str, tmp_path: Path) -> None:
    cpus = cpu_count()
    # 2 busy processes per CPU and one more: without the server or the client, 2.5 runnable tasks per CPU on 2 CPUs,
    # well above the default limit of 1.5 whatever else runs; each ends by itself after 90 s
    burners = [subprocess.Popen([sys.executable, "-c", BURN.format(seconds=90)]) for _index in range(2 * cpus + 1)]
    try:
        time.sleep(1.0)
        summary = run_benchmark(_config(llama_server, tmp_path, "burn", concurrency=[2], max_requests=1000,
                                        duration_s=8.0, warmup_requests=1))
    finally:
        for burner in burners:
            burner.kill()
            burner.wait(10)
    machine = summary["levels"][0]["summary"]["machine"]
    assert machine["saturated"], machine
    assert machine["host_load_limit"] == 0.5 and machine["runnable_per_cpu_mean"] > 2.0, machine
    # the llama-server under test listens on this host: its threads are found and not counted as other work
    assert machine["server_processes"] >= 1 and machine["server_runnable_per_cpu_mean"] is not None, machine
    assert any(reason.startswith("host: ") for reason in machine["reasons"]), machine["reasons"]
    assert summary["capacity"]["reliable"] is False and summary["capacity"]["saturated_levels"] == ["c2"]
    report = (tmp_path / "burn" / "report.md").read_text()
    assert "| SATURATED |" in report and "WARNING: the machine, not only the server, limited these levels: c2" in report


def _first_measured_cached(run_dir: Path, label: str, count: int) -> list[int]:
    """The server's cached prompt tokens (usage.prompt_tokens_details) of a level's first measured requests."""
    rows = [r for r in csv.DictReader((run_dir / f"requests_{label}.csv").open()) if r["warmup"] == "0"]
    rows.sort(key=lambda r: float(r["start_s"]))
    return [int(r["cached_tokens"]) for r in rows[:count]]


def test_cold_empties_the_prompt_cache_before_each_level_and_warm_keeps_it(
        llama_server: str, tmp_path: Path) -> None:
    levels = {"concurrency": [1, 2], "max_requests": 4, "warmup_requests": 1}
    warm = run_benchmark(_config(llama_server, tmp_path, "warm", **levels))
    cold = run_benchmark(_config(llama_server, tmp_path, "cold", cache_state="cold", **levels))
    for level in cold["levels"]:
        state = level["summary"]["cache_state"]
        assert state["state"] == "cold"
        assert state["how"] == ("cold: emptied before the level's measured requests by POST /slots/<id>?action=erase "
                                "for slots 0,1 (llama-server)")
    for level in warm["levels"]:
        assert level["summary"]["cache_state"]["how"].startswith("warm: server prompt cache kept")
    for label, users in (("c1", 1), ("c2", 2)):
        # the first requests after the reset (one per user) reuse nothing; warm, the shared head is reused
        assert _first_measured_cached(tmp_path / "cold", label, users) == [0] * users, label
        assert sum(_first_measured_cached(tmp_path / "warm", label, users)) > 0, label
    # and the server's own counters over each level agree: less reused cold than warm
    for warm_level, cold_level in zip(warm["levels"], cold["levels"], strict=True):
        assert cold_level["summary"]["prompt_cache"]["share"] < warm_level["summary"]["prompt_cache"]["share"]
    report = (tmp_path / "cold" / "report.md").read_text()
    assert "cold: emptied before the level's measured requests by POST /slots/<id>?action=erase" in report
