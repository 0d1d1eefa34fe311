"""Verify the local end-to-end path: a healthy llama-server and a complete results folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

GROUP_VARS = Path(__file__).resolve().parents[3] / "inventories" / "local" / "group_vars" / "all" / "local.yml"
PORT = yaml.safe_load(GROUP_VARS.read_text())["llama_cpp_port"]
RESULTS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "results" / "molecule"


FETCH = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())"


def _get(host, path: str) -> str:
    return host.check_output(f"python3 -c '{FETCH}' %s", f"http://127.0.0.1:{PORT}{path}")


def test_llama_server_runs_and_listens(host) -> None:
    assert host.process.filter(comm="llama-server"), "no llama-server process"
    assert host.socket(f"tcp://127.0.0.1:{PORT}").is_listening


def test_health_is_ok(host) -> None:
    assert json.loads(_get(host, "/health"))["status"] == "ok"


def test_metrics_expose_llamacpp_series(host) -> None:
    metrics = _get(host, "/metrics")
    assert "llamacpp:prompt_tokens_total" in metrics
    assert "llamacpp:requests_processing" in metrics


def test_results_folder_is_complete() -> None:
    names = {p.name for p in RESULTS.iterdir()}
    assert {"summary.json", "report.md", "report.html"} <= names, names
    assert any(n.endswith("_summary.json") for n in names), names
    assert any(n.endswith("_individual_responses.json") for n in names), names
    assert any(n.endswith(".csv") for n in names), names
    assert len(list((RESULTS / "plots").glob("*.png"))) >= 4, "the report's plots are missing"


def test_summary_has_measurements_and_no_errors() -> None:
    summary = json.loads((RESULTS / "summary.json").read_text())
    assert summary["status"] == "complete"
    assert summary["levels"], "no load level was measured"
    for level in summary["levels"]:
        measured = level["summary"]
        assert measured["num_completed_requests"] > 0 and measured["error_rate"] == 0, level["label"]
        assert measured["ttft_s"]["quantiles"]["p50"] > 0 and measured["itl_s"]["mean"] > 0, level["label"]
        assert measured["output_throughput_token_per_s"] > 0, level["label"]
    assert summary["determinism"]["deterministic"], summary["determinism"]
    llmperf = [json.loads(p.read_text()) for p in RESULTS.glob("*_summary.json")]
    assert len(llmperf) == len(summary["levels"])
    for level_summary in llmperf:
        assert level_summary["results_num_completed_requests"] > 0
        assert level_summary["results_ttft_s_quantiles_p50"] > 0
        assert level_summary["results_mean_output_throughput_token_per_s"] > 0
