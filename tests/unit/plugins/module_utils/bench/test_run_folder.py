"""The whole run folder: LLMPerf files, summary, CSV, report; partial results on SIGINT/SIGTERM."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_metrics import LLMPERF_INDIVIDUAL_KEYS, LLMPERF_RESULT_KEYS

from ansible_collections.llmops.oke.plugins.module_utils.bench import __main__ as cli
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.client import OpenAIClient

COLLECTIONS = Path(__file__).resolve().parents[5] / "build" / "collections"


def test_sweep_writes_the_whole_folder(llm_server, tmp_path) -> None:
    config = BenchmarkConfig.from_dict({
        "base_url": llm_server.base_url + "/v1", "model": "org/model-7b", "preset": "chatbot", "concurrency": [1, 3],
        "max_requests": 6, "warmup_requests": 1, "mean_output_tokens": 8, "results_dir": str(tmp_path),
        "run_id": "sweep", "node_shape": "VM.Standard.A1.Flex", "ocpus": 8, "memory_gb": 48, "target_rps": 20,
        "image": "llama.cpp:b1", "collection_version": "0.1.0", "correctness_requests": 4, "determinism_prompts": 1,
    })
    summary = run_benchmark(config)
    run_dir = tmp_path / "sweep"
    names = sorted(p.name for p in run_dir.iterdir())
    stem = "org-model-7b_100_8"
    for label in ("c1", "c3"):
        assert f"{stem}_{label}_summary.json" in names and f"{stem}_{label}_individual_responses.json" in names
        assert f"requests_{label}.csv" in names
        llmperf = json.loads((run_dir / f"{stem}_{label}_summary.json").read_text())
        assert not [k for k in LLMPERF_RESULT_KEYS if k not in llmperf]
        assert llmperf["results_num_completed_requests"] == 6
        individual = json.loads((run_dir / f"{stem}_{label}_individual_responses.json").read_text())
        assert len(individual) == 6 and all(set(e) >= LLMPERF_INDIVIDUAL_KEYS for e in individual)
        rows = list(csv.DictReader((run_dir / f"requests_{label}.csv").open()))
        assert len(rows) == 7 and sum(r["warmup"] == "1" for r in rows) == 1
    assert {"summary.json", "report.md", "report.html", "plots"} <= set(names)
    assert not [n for n in names if n.endswith(".tmp")]
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["status"] == "complete" and on_disk["metadata"]["image"] == "llama.cpp:b1"
    assert on_disk["metadata"]["token_count_method"] == "server:/tokenize"
    assert on_disk["levels"][1]["summary"]["output_tokens"]["mean"] == 8
    assert on_disk["capacity"]["max_concurrency_per_replica"] == 3
    assert on_disk["capacity"]["cost_per_million_output_tokens"] > 0
    assert on_disk["correctness"]["mismatch_rate"] == 0 and on_disk["determinism"]["deterministic"]
    for png in ("ttft_distribution", "itl_distribution", "throughput_vs_concurrency", "p95_latency_vs_concurrency"):
        assert (run_dir / "plots" / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (run_dir / "report.md").read_text()
    assert "| c3 | 6 | 0.0% |" in markdown and "cost per 1M output tokens" in markdown
    assert "plots/ttft_distribution.png" in (run_dir / "report.html").read_text()
    assert summary["report"]["markdown"].endswith("report.md")


def test_no_prompt_is_sent_twice_in_a_run(llm_server, tmp_path, monkeypatch) -> None:
    sent: list[tuple[str, str]] = []
    original = OpenAIClient.send

    async def spy(self, spec, record=None, **kwargs):
        sent.append((spec.request_id, spec.prompt))
        return await original(self, spec, record, **kwargs)

    monkeypatch.setattr(OpenAIClient, "send", spy)
    config = BenchmarkConfig.from_dict({
        "base_url": llm_server.base_url, "model": "m", "concurrency": [1, 2, 4], "max_requests": 8,
        "warmup_requests": 2, "mean_input_tokens": 60, "stddev_input_tokens": 10, "mean_output_tokens": 4,
        "results_dir": str(tmp_path), "run_id": "fresh", "determinism_prompts": 2, "correctness_requests": 5,
        "report": False,
    })
    summary = run_benchmark(config)
    assert summary["status"] == "complete" and summary["metadata"]["collection_version"] == "0.1.0"
    benchmark = [prompt for request_id, prompt in sent if request_id.startswith("fresh-")]
    correctness = [prompt for request_id, prompt in sent if request_id.startswith("correctness-")]
    assert len(benchmark) == 3 * (8 + 2) and len(correctness) == 5
    # every measured and warm-up request, across the three levels, has its own prompt; so do the correctness ones
    assert len(set(benchmark)) == len(benchmark) and len(set(correctness)) == len(correctness)
    determinism = [prompt for request_id, prompt in sent if not request_id.startswith(("fresh-", "correctness-"))]
    # the determinism test repeats its prompts by design, but never one the levels sent
    assert len(set(determinism)) == 2 and not set(determinism) & set(benchmark)
    # LLMPerf's shape kept: the instruction head is shared, so prefixes overlap; the synthetic server has no /metrics
    for level in summary["levels"]:
        cache = level["summary"]["prompt_cache"]
        assert 0 < cache["shared_prefix_share"] < 0.5 and cache["share"] is None
        assert cache["not_measured"] == "/metrics unreachable (HTTP 404)"
    rows = list(csv.DictReader((tmp_path / "fresh" / "levels.csv").open()))
    assert [r["level"] for r in rows] == ["c1", "c2", "c4"] and rows[0]["prompt_cache_share"] == "not measured"
    # a second run against the same server (same seed) does not replay the first one either
    sent_before = set(benchmark)
    run_benchmark(BenchmarkConfig.from_dict({**config.public_dict(), "api_key": None, "run_id": "fresh2",
                                             "headers": {}}))
    again = {prompt for request_id, prompt in sent if request_id.startswith("fresh2-")}
    assert again and not again & sent_before


def test_a_run_with_no_successful_request_fails_naming_the_error(tmp_path, capsys) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["run", "--base-url", f"http://127.0.0.1:{port}", "--model", "m", "--concurrency", "2",
            "--max-requests", "3", "--results-dir", str(tmp_path), "--run-id", "dead", "--tokenizer", "estimate",
            "--no-report"]
    assert cli.main(argv) == 1
    summary = json.loads((tmp_path / "dead" / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert "no request succeeded" in summary["error"] and "connection_refused (3 of 3)" in summary["error"]
    assert summary["levels"][0]["summary"]["slo_met"] is False
    assert summary["capacity"]["max_concurrency_per_replica"] is None
    assert "connection_refused" in capsys.readouterr().err


def test_cli_report_and_compare(llm_server, tmp_path, capsys) -> None:
    for shape, run_id in (("VM.GPU.A10.1", "gpu"), ("VM.Standard.A1.Flex", "cpu")):
        argv = ["run", "--base-url", llm_server.base_url, "--model", "m", "--concurrency", "2", "--max-requests", "4",
                "--mean-output-tokens", "4", "--results-dir", str(tmp_path), "--run-id", run_id, "--node-shape",
                shape, "--backend", run_id, "--ocpus", "4", "--memory-gb", "24", "--tokenizer", "estimate",
                "--no-report"]
        assert cli.main(argv) == 0
    assert cli.main(["report", str(tmp_path / "cpu")]) == 0
    assert (tmp_path / "cpu" / "report.html").exists()
    capsys.readouterr()
    assert cli.main(["compare", str(tmp_path / "gpu"), str(tmp_path / "cpu")]) == 0
    decision = json.loads(capsys.readouterr().out)
    # same synthetic server behind both: the cheaper node wins ($0.076/h vs $2.00/h)
    assert decision["choice"] == "cpu"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_partial_results(make_server, tmp_path, sig: signal.Signals) -> None:
    server = make_server(ttft_s=0.01, itl_s=0.02)
    env = {**os.environ, "PYTHONPATH": str(COLLECTIONS)}
    cmd = [sys.executable, "-m", "ansible_collections.llmops.oke.plugins.module_utils.bench", "run", "--base-url",
           server.base_url, "--model", "m", "--concurrency", "4", "--max-requests", "400", "--mean-output-tokens",
           "20", "--stddev-output-tokens", "0", "--results-dir", str(tmp_path), "--run-id", "partial", "--tokenizer",
           "estimate", "--warmup-requests", "0"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while sum(len(t.chunk_sent) == 20 for t in list(server.server.truth.values())) < 8:
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    run_dir = tmp_path / "partial"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and json.loads(out)["status"] == "interrupted"
    level = summary["levels"][0]
    assert level["interrupted"] is True
    assert 4 <= level["summary"]["num_completed_requests"] < 400
    assert level["summary"]["num_errors"] == 0  # interrupted requests are not counted as server errors
    assert level["summary"]["num_interrupted"] >= 1
    individual = json.loads((run_dir / "m_550_20_c4_individual_responses.json").read_text())
    assert len(individual) == level["summary"]["num_completed_requests"]
    assert (run_dir / "report.md").exists()
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
