"""The benchmark role through ansible-playbook, against the synthetic server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

from synthetic_llm_server import ServerConfig, ServerThread  # noqa: E402

pytestmark = pytest.mark.slow


def play(tmp_path: Path, base_url: str, extra: dict) -> subprocess.CompletedProcess:
    variables = {"benchmark_base_url": base_url, "benchmark_model": "m", "benchmark_preset": "chatbot",
                 "benchmark_concurrency": "1,2", "benchmark_max_requests": 4, "benchmark_mean_output_tokens": 5,
                 "benchmark_results_dir": str(tmp_path / "results"), "benchmark_report": False, **extra}
    playbook = tmp_path / "bench.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: llmops.oke.benchmark\n")
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_STDOUT_CALLBACK": "default"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", json.dumps(variables)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_role_runs_writes_the_folder_and_prints_the_table(tmp_path: Path) -> None:
    with ServerThread(ServerConfig(ttft_s=0.01, itl_s=0.002)) as server:
        result = play(tmp_path, server.base_url, {"benchmark_run_id": "role-run"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TTFT p50 ms" in result.stdout and "c2 " in result.stdout
    summary = json.loads((tmp_path / "results" / "role-run" / "summary.json").read_text())
    assert summary["status"] == "complete" and [lv["label"] for lv in summary["levels"]] == ["c1", "c2"]
    assert summary["metadata"]["backend"] == "llama_cpp"
    # the role reads the version from galaxy.yml (a checkout) or MANIFEST.json (an installed collection)
    galaxy = (REPO / "galaxy.yml").read_text()
    assert f"version: {summary['metadata']['collection_version']}\n" in galaxy


def test_slo_gate_fails_the_play_with_numbers(tmp_path: Path) -> None:
    with ServerThread(ServerConfig(ttft_s=0.05, itl_s=0.002)) as server:
        result = play(tmp_path, server.base_url, {"benchmark_slo_ttft_s": 0.01, "benchmark_slo_gate": True})
    assert result.returncode != 0
    assert "SLOs missed" in result.stdout and "p95 TTFT 0.05" in result.stdout


# (role variable the failure must name, what the user set); each is refused by the preflight before any change
BAD_ROLE_INPUTS = [
    ("benchmark_max_requests", {"benchmark_max_requests": 0}),
    ("benchmark_concurrency", {"benchmark_concurrency": "4,0"}),
    ("benchmark_concurrency", {"benchmark_concurrency": "1;4"}),
    ("benchmark_base_url", {"benchmark_base_url": "127.0.0.1:8080"}),
    ("benchmark_request_timeout_s", {"benchmark_request_timeout_s": -1}),
    ("benchmark_slo_ttft_s", {"benchmark_slo_ttft_s": -0.5}),
    ("benchmark_rates_rps", {"benchmark_mode": "open", "benchmark_rates_rps": ""}),
]


@pytest.mark.parametrize(("variable", "bad"), BAD_ROLE_INPUTS, ids=[case[0] for case in BAD_ROLE_INPUTS])
@pytest.mark.parametrize("runner", ["controller", "kubernetes"])
def test_preflight_refuses_naming_the_role_variable(variable: str, bad: dict, runner: str, tmp_path: Path) -> None:
    with ServerThread(ServerConfig(ttft_s=0.01, itl_s=0.002)) as server:
        # the kubernetes runner has no cluster here: a failure after the preflight would name the API, not the variable
        result = play(tmp_path, server.base_url, {"benchmark_runner": runner, **bad})
        arrivals = server.server.arrivals
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if line.startswith(("fatal:", "failed:"))]
    assert len(failed) == 1 and f"{variable} " in failed[0], result.stdout
    assert arrivals == 0 and not (tmp_path / "results").exists()
