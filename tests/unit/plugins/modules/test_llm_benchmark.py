"""llm_benchmark run in-process as Ansible would, against the synthetic server."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "fixtures"))

from synthetic_llm_server import ServerConfig, ServerThread

from ansible_collections.llmops.oke.plugins.module_utils.bench import report
from ansible_collections.llmops.oke.plugins.modules import llm_benchmark


def run(args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    stdout = io.StringIO()
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), contextlib.redirect_stdout(stdout), \
            contextlib.suppress(SystemExit):
        llm_benchmark.main()
    return json.loads(stdout.getvalue())


@pytest.fixture
def server():
    with ServerThread(ServerConfig(ttft_s=0.02, itl_s=0.004)) as srv:
        yield srv


def base_args(server, tmp_path) -> dict[str, Any]:
    return {"base_url": server.base_url, "model": "m", "preset": "chatbot", "concurrency": [1, 2], "max_requests": 4,
            "mean_output_tokens": 6, "results_dir": str(tmp_path), "run_id": "r1", "report": False,
            "api_key": "sekret-key"}


def test_check_mode_sends_nothing(server, tmp_path) -> None:
    result = run(base_args(server, tmp_path), check_mode=True)
    assert result["changed"] is True and result["status"] == "check_mode"
    assert server.server.arrivals == 0 and not (tmp_path / "r1").exists()


def test_run_then_idempotent_then_forced(server, tmp_path) -> None:
    first = run(base_args(server, tmp_path))
    assert first["changed"] is True and first["status"] == "complete" and first["slo_met"] is True
    assert [line["label"] for line in first["levels"]] == ["c1", "c2"]
    # the printed table is the report's level table (bench/report.py), not one of the module's own
    assert [line.split()[0] for line in first["table"]] == ["level", "c1", "c2"]
    assert all(column in first["table"][0] for column in report.LEVEL_HEADER)
    assert first["table"][1].split()[1] == str(first["summary"]["levels"][0]["summary"]["num_completed_requests"])
    assert (tmp_path / "r1" / "progress.log").read_text().count("done") >= 2
    assert "sekret-key" not in (tmp_path / "r1" / "summary.json").read_text()
    arrivals = server.server.arrivals
    again = run(base_args(server, tmp_path))
    assert again["changed"] is False and server.server.arrivals == arrivals
    forced = run({**base_args(server, tmp_path), "force": True})
    assert forced["changed"] is True and server.server.arrivals > arrivals


def test_slo_gate_fails_with_the_numbers(server, tmp_path) -> None:
    result = run({**base_args(server, tmp_path), "slo_ttft_s": 0.001, "fail_on_slo": True})
    assert result["failed"] is True
    assert "SLOs missed" in result["msg"] and "c1: p95 TTFT 0.0" in result["msg"] and "ttft_s" in result["msg"]
    assert result["slo_met"] is False


def test_invalid_options_name_the_option(server, tmp_path) -> None:
    # the whole table of refused inputs is in tests/unit/plugins/module_utils/bench/test_option_refusals.py
    result = run({**base_args(server, tmp_path), "concurrency": [0]})
    assert result["failed"] is True and result["msg"].startswith("llm_benchmark: concurrency ")
    assert server.server.arrivals == 0 and not (tmp_path / "r1").exists()


def test_a_tokenizer_folder_without_tokenizer_json_is_refused_before_anything(server, tmp_path) -> None:
    args = {**base_args(server, tmp_path), "engine": "crosscheck", "llmperf_tokenizer_dir": str(tmp_path),
            "variable_prefix": "benchmark_", "validate_only": True}
    result = run(args)
    assert result["failed"] is True
    assert result["msg"] == (f"llm_benchmark: benchmark_llmperf_tokenizer_dir={tmp_path}: no tokenizer.json there; "
                             "nothing was sent or written")
    assert server.server.arrivals == 0 and not (tmp_path / "r1").exists()
    (tmp_path / "tokenizer.json").write_text("{}")
    assert run(args)["status"] == "valid"


def test_import_from_a_job_sends_no_load(server, tmp_path) -> None:
    job = run({**base_args(server, tmp_path / "job"), "run_id": "in-job"})
    arrivals = server.server.arrivals
    imported = run({**base_args(server, tmp_path / "results"), "import_from": job["run_dir"]})
    assert imported["changed"] is True and imported["status"] == "complete"
    assert server.server.arrivals == arrivals
    assert [line["label"] for line in imported["levels"]] == ["c1", "c2"]
    assert imported["run_dir"] == str(tmp_path / "results" / "r1")
    assert imported["summary"]["metadata"]["engine"] == "builtin"
    missing = run({**base_args(server, tmp_path / "other"), "import_from": str(tmp_path / "nothing")})
    assert missing["failed"] is True and server.base_url in missing["msg"]
