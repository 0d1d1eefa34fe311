"""Upstream LLMPerf, for real, through the benchmark role against the local llama-server (issue 17).

``benchmark_engine: crosscheck`` runs our engine, then LLMPerf's token_benchmark_ray.py per level and its
llm_correctness.py on the same endpoint and workload, and compares them. LLMPerf's environment (ray,
pandas, transformers, pydantic<2.5) is cached under ${LLMOPS_CACHE:-~/.cache/llmops-oke}/llmperf/<key>/:
the first run on a machine installs it (minutes, see benchmarks/results/llmperf_crosscheck.md), later
runs reuse it. The source is the pinned commit's archive from ../shared/llmperf (no code host here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_bench_llama_server import llama_server  # noqa: F401  # pylint: disable=unused-import

pytestmark = [pytest.mark.slow, pytest.mark.llama_server, pytest.mark.timeout(2400)]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARCHIVE_NAME = "llmperf-f1d6bed47e4501b0e371082b41601b59ab55269f.tar.gz"


def _archive() -> Path:
    """The pinned archive: $LLMOPS_LLMPERF_ARCHIVE, else shared/llmperf/ beside the checkout or a parent of it."""
    if os.environ.get("LLMOPS_LLMPERF_ARCHIVE"):
        return Path(os.environ["LLMOPS_LLMPERF_ARCHIVE"])
    for parent in REPO_ROOT.parents:
        candidate = parent / "shared" / "llmperf" / ARCHIVE_NAME
        if candidate.is_file():
            return candidate
    pytest.fail(f"no {ARCHIVE_NAME} under a shared/llmperf/ above {REPO_ROOT}; set LLMOPS_LLMPERF_ARCHIVE")


def test_role_runs_llmperf_and_crosschecks_it(llama_server: str, tmp_path: Path) -> None:  # noqa: F811
    playbook = tmp_path / "bench.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n")
    variables = {
        "benchmark_base_url": llama_server, "benchmark_model": "demo", "benchmark_api_key": "demo",
        "benchmark_engine": "crosscheck", "benchmark_llmperf_archive": str(_archive()),
        "benchmark_llmperf_tokenizer": "demo", "benchmark_concurrency": "1,2", "benchmark_max_requests": 2,
        "benchmark_warmup_requests": 1, "benchmark_mean_input_tokens": 60, "benchmark_mean_output_tokens": 8,
        "benchmark_correctness_requests": 2, "benchmark_results_dir": str(tmp_path / "results"),
        "benchmark_run_id": "xc", "benchmark_node_shape": "local",
    }
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", json.dumps(variables)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=2000,
        check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]

    ours_dir, theirs_dir = tmp_path / "results" / "xc", tmp_path / "results" / "xc-llmperf"
    # LLMPerf's own files, as its scripts wrote them, per level and for the correctness script
    raw = theirs_dir / "llmperf"
    for level in ("c1", "c2"):
        assert len(list((raw / level).glob("*_individual_responses.json"))) == 1
        upstream = json.loads(next((raw / level).glob("*_summary.json")).read_text())
        assert int(upstream["num_concurrent_requests"]) == int(level[1:])
        assert int(float(upstream["results_num_completed_requests"])) == 2
        assert float(upstream["results_ttft_s_quantiles_p50"]) > 0
    assert list((raw / "correctness").glob("*_summary.json"))
    record = json.loads((raw / "llmperf_run.json").read_text())
    assert [s["script"] for s in record["steps"]] == ["token_benchmark_ray.py"] * 2 + ["llm_correctness.py"]
    assert "demo model's own vocabulary" in record["tokenizer"]

    # ... imported into a run folder with our summary and report
    theirs = json.loads((theirs_dir / "summary.json").read_text())
    assert theirs["metadata"]["engine"] == "llmperf" and theirs["status"] == "complete"
    assert [level["label"] for level in theirs["levels"]] == ["c1", "c2"]
    assert theirs["correctness"]["num_completed_requests"] == 2 and theirs["correctness"]["number_errors"] == 0
    assert (theirs_dir / "report.md").is_file()

    # ... and the cross-check in our run folder: both engines per level, the difference split
    ours = json.loads((ours_dir / "summary.json").read_text())
    check = ours["crosscheck"]
    assert [level["label"] for level in check["levels"]] == ["c1", "c2"]
    for level in check["levels"]:
        for engine in ("builtin", "llmperf"):
            assert level[engine]["ttft_p50_s"] > 0 and level[engine]["output_throughput_token_per_s"] > 0
        # both sent max_tokens=8 to a server that honours it: LLMPerf's re-tokenized count is near 8 too
        assert 0.5 < level["differences"]["output_tokens_mean"]["explained_ratio"] < 2.5
        assert level["differences"]["itl_p50_s"]["unexplained"] is not None
    report = (ours_dir / "report.md").read_text()
    assert "Cross-check: builtin engine vs LLMPerf" in report
    assert (ours_dir / "crosscheck.md").is_file()
