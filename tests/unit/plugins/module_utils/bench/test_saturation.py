"""The machine's share of a level: the event-loop lag sampler, /proc parsing, the verdict, and the run's record."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.saturation import (
    MachineSampler,
    cpu_count,
    local_server_port,
    read_load1,
    read_proc_stat,
    runnable_threads,
    server_pids,
    verdict,
)

STAT = """cpu  100 0 50 800 50 0 0 0 0 0
cpu0 50 0 25 400 25 0 0 0 0 0
intr 1 2 3
procs_running 3
procs_blocked 0
"""


def _sample(blocks: int, block_s: float, quiet_s: float = 0.0) -> dict:
    """Run the sampler while the loop is blocked ``blocks`` times for ``block_s`` (time.sleep in a coroutine)."""

    async def main() -> dict:
        sampler = MachineSampler(host_load_limit=1000.0, loop_lag_limit_ms=50.0)
        sampler.start()
        await asyncio.sleep(0.12)
        for _index in range(blocks):
            time.sleep(block_s)  # the injected blocking call: nothing else on the loop runs meanwhile
            await asyncio.sleep(0.12)
        await asyncio.sleep(quiet_s)
        return await sampler.stop()

    return asyncio.run(main())


def test_the_sampler_measures_an_injected_block_and_flags_the_client() -> None:
    figures = _sample(blocks=3, block_s=0.3)
    lag = figures["loop_lag_ms"]
    # each 300 ms block delays one wake by at least the block less the 50 ms sleep it interrupted
    assert lag["max"] >= 240, lag
    assert lag["p99"] >= 200, lag
    assert lag["samples"] >= 6
    assert figures["saturated"] and any(r.startswith("client: event-loop lag p99") for r in figures["reasons"])
    assert figures["cpus"] == cpu_count() >= 1


def test_a_free_loop_is_not_flagged() -> None:
    load = read_load1()
    if load is not None and load > cpu_count():
        pytest.skip(f"the machine is already loaded (1-minute load {load:.2f} on {cpu_count()} CPUs): a free loop's "
                    "lag is not asserted")
    figures = _sample(blocks=0, block_s=0.0, quiet_s=1.0)
    assert figures["loop_lag_ms"]["samples"] >= 10
    assert figures["loop_lag_ms"]["p50"] < 20, figures["loop_lag_ms"]
    assert not any(r.startswith("client") for r in figures["reasons"]), figures["reasons"]


# a listening "server" whose child spins: the sampler must find both from the port alone
SERVER = """
import socket, subprocess, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
child = subprocess.Popen([sys.executable, "-c", "import time\\nend = time.time() + 60\\nwhile time.time() < end: pass"])
print(listener.getsockname()[1], child.pid, flush=True)
time.sleep(60)
"""


def test_the_server_under_test_and_its_children_are_found_from_the_port_and_their_threads_counted() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port, child = (int(value) for value in server.stdout.readline().split())
        pids = server_pids(port)
        assert pids == {server.pid, child}, pids
        # the child spins: it is runnable in most samples (a loaded machine may preempt it now and then)
        assert max(runnable_threads(pids) for _index in range(50)) >= 1
    finally:
        server.kill()
        server.wait(10)
    assert runnable_threads({server.pid}) == 0  # gone


def test_only_a_server_on_this_host_is_looked_for() -> None:
    assert local_server_port("http://127.0.0.1:8080/v1") == 8080
    assert local_server_port("http://localhost/v1") == 80
    assert local_server_port("https://[::1]:8443") == 8443
    assert local_server_port("http://vllm.llm.svc.cluster.local:8000/v1") is None
    assert local_server_port("http://127.0.0.1:notaport/v1") is None
    assert server_pids(1) == set()  # nothing listens on port 1 here


def test_a_sampler_beside_a_local_server_counts_its_threads_apart() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split()[0])

        async def main() -> dict:
            sampler = MachineSampler(host_load_limit=1000.0, loop_lag_limit_ms=1000.0,
                                     server_url=f"http://127.0.0.1:{port}/v1")
            sampler.start()
            await asyncio.sleep(1.0)
            return await sampler.stop()

        figures = asyncio.run(main())
    finally:
        server.kill()
        server.wait(10)
    assert figures["server_processes"] == 2
    # the spinning child is the server's: about one runnable thread over the CPUs, not other work's
    assert figures["server_runnable_per_cpu_mean"] >= 0.5 / figures["cpus"], figures


def test_proc_files_parse(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(STAT)
    assert read_proc_stat(str(stat)) == {"total": 1000, "busy": 150, "procs_running": 3}
    assert read_proc_stat(str(tmp_path / "missing")) is None
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("2.50 1.00 0.50 3/200 12345\n")
    assert read_load1(str(loadavg)) == 2.5
    assert read_load1(str(tmp_path / "missing")) is None


def test_the_verdict_names_each_limit_crossed() -> None:
    figures = {"cpus": 2, "runnable_per_cpu_mean": 2.6, "loop_lag_ms": {"p99": 12.0}}
    judged = verdict(figures, host_load_limit=2.0, loop_lag_limit_ms=50.0)
    assert judged["saturated"]
    assert judged["reasons"] == ["host: 2.60 runnable tasks per CPU of other work (limit 2) over 2 CPUs"]
    both = verdict({**figures, "loop_lag_ms": {"p99": 80.0}}, 2.0, 50.0)
    assert len(both["reasons"]) == 2 and both["reasons"][1] == "client: event-loop lag p99 80 ms (limit 50 ms)"
    calm = verdict({"cpus": 2, "runnable_per_cpu_mean": 2.0, "loop_lag_ms": {"p99": 50.0}}, 2.0, 50.0)
    assert not calm["saturated"] and calm["reasons"] == []  # at the limit is within it
    unmeasured = verdict({"cpus": 2, "runnable_per_cpu_mean": None, "loop_lag_ms": {}}, 2.0, 50.0)
    assert not unmeasured["saturated"] and not unmeasured["host_measured"]


def test_a_flagged_level_is_in_summary_report_csv_and_marks_capacity_unreliable(llm_server, tmp_path: Path) -> None:
    # a lag limit of 1 µs: every wake of the sampler is later than that, so every level is flagged
    config = BenchmarkConfig.from_dict({
        "base_url": llm_server.base_url + "/v1", "model": "m", "preset": "chatbot", "concurrency": [1, 2],
        "max_requests": 4, "warmup_requests": 1, "mean_output_tokens": 8, "results_dir": str(tmp_path),
        "run_id": "flagged", "loop_lag_limit_ms": 0.001, "node_shape": "VM.GPU.A10.1",
    })
    summary = run_benchmark(config)
    for level in summary["levels"]:
        machine = level["summary"]["machine"]
        assert machine["saturated"] and machine["loop_lag_limit_ms"] == 0.001
        assert machine["loop_lag_ms"]["samples"] >= 1
        assert level["summary"]["cache_state"]["state"] == "warm"
        assert level["summary"]["cache_state"]["how"].startswith("warm: server prompt cache kept from earlier")
    assert summary["capacity"]["reliable"] is False and summary["capacity"]["saturated_levels"] == ["c1", "c2"]
    assert summary["capacity"]["max_concurrency_per_replica"] is not None  # kept, but marked
    on_disk = json.loads((tmp_path / "flagged" / "summary.json").read_text())
    assert on_disk["levels"][0]["summary"]["machine"]["saturated"]
    report = (tmp_path / "flagged" / "report.md").read_text()
    assert "| SATURATED | warm |" in report
    warning = next(line for line in report.splitlines() if line.startswith("WARNING: the machine"))
    # the host may be flagged too on a busy machine; the client's lag always is at this limit
    assert warning.startswith("WARNING: the machine, not only the server, limited these levels: c1 (")
    assert "client: event-loop lag p99" in warning and "), c2 (" in warning
    assert "NO: drawn from levels where the host or the client was saturated (c1, c2)" in report
    levels_csv = (tmp_path / "flagged" / "levels.csv").read_text().splitlines()
    assert levels_csv[0].endswith("cache_state,machine_saturated,runnable_per_cpu,loop_lag_p99_ms")
    assert all(",warm,1," in row for row in levels_csv[1:])


def test_within_the_limits_capacity_is_reliable(llm_server, tmp_path: Path) -> None:
    config = BenchmarkConfig.from_dict({
        "base_url": llm_server.base_url + "/v1", "model": "m", "preset": "chatbot", "concurrency": [1],
        "max_requests": 3, "warmup_requests": 0, "mean_output_tokens": 4, "results_dir": str(tmp_path),
        "run_id": "calm", "loop_lag_limit_ms": 100000.0, "host_load_limit": 100000.0, "report": False,
    })
    summary = run_benchmark(config)
    assert not summary["levels"][0]["summary"]["machine"]["saturated"]
    assert summary["capacity"]["reliable"] is True and "saturated_levels" not in summary["capacity"]
