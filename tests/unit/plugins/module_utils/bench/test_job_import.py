"""Run folders from a Kubernetes Job: LLMPerf's files converted to ours, our own folder copied and re-reported."""

from __future__ import annotations

import base64
import csv
import io
import json
import tarfile
from pathlib import Path

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench import __main__ as cli
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.job_import import (
    LLMPERF_ERROR,
    STREAM_BEGIN,
    STREAM_END,
    extract_log_stream,
    import_job_results,
    llmperf_levels,
    records_from_llmperf,
)


def _config(results_dir: Path, **options: object) -> BenchmarkConfig:
    return BenchmarkConfig.from_dict({"base_url": "http://127.0.0.1:9/v1", "model": "org/model-7b",
                                      "preset": "chatbot", "results_dir": str(results_dir), **options})


def _upstream_entry(ttft: float, e2e: float, out: int, code: int | None = None) -> dict[str, object]:
    """An entry as upstream LLMPerf writes it: no start_time, ITL summed from the request start."""
    return {"error_code": code, "error_msg": "" if code is None else "Service Unavailable",
            "inter_token_latency_s": e2e / out if out else 0, "ttft_s": ttft, "end_to_end_latency_s": e2e,
            "request_output_throughput_token_per_s": out / e2e if e2e else 0,
            "number_total_tokens": 100 + out, "number_output_tokens": out, "number_input_tokens": 100}


def _write_level(source: Path, concurrency: int, individual: list[dict[str, object]],
                 summary: dict[str, object]) -> None:
    folder = source / f"c{concurrency}"
    folder.mkdir(parents=True)
    (folder / "org-model-7b_100_100_individual_responses.json").write_text(json.dumps(individual))
    (folder / "org-model-7b_100_100_summary.json").write_text(json.dumps(summary))


def test_records_from_handmade_llmperf_entries() -> None:
    records = records_from_llmperf([_upstream_entry(0.2, 1.2, 11), _upstream_entry(0.0, 0.0, 0, code=503),
                                    _upstream_entry(0.5, 2.5, 5, code=-1)])
    ok, http_error, other_error = records
    assert ok.ok and ok.ttft_s == pytest.approx(0.2) and ok.e2e_s == pytest.approx(1.2)
    # our stricter ITL: (E2E - TTFT) / (output tokens - 1)
    assert ok.itl_s == pytest.approx(0.1) and ok.output_tokens == 11 and ok.input_tokens == 100
    assert http_error.error_code == "http_503" and http_error.http_status == 503 and not http_error.ok
    assert other_error.error_code == LLMPERF_ERROR and other_error.http_status is None
    # entries without start_time are laid end to end
    assert http_error.start == pytest.approx(1.2) and other_error.start == pytest.approx(1.2)


def test_import_handmade_llmperf_levels(tmp_path) -> None:
    source = tmp_path / "job"
    _write_level(source, 4, [_upstream_entry(0.1, 1.1, 11), _upstream_entry(0.3, 1.3, 11),
                             _upstream_entry(0, 0, 0, code=429)],
                 {"results_num_completed_requests": 2, "results_num_completed_requests_per_min": 60.0})
    _write_level(source, 1, [_upstream_entry(0.1, 1.1, 11)],
                 {"results_num_completed_requests": 1, "results_num_completed_requests_per_min": 30.0})
    assert [level[0] for level in llmperf_levels(source)] == [1, 4]
    summary = import_job_results(source, _config(tmp_path / "results", run_id="imported", report=False))
    run_dir = tmp_path / "results" / "imported"
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary, default=str))
    assert on_disk["status"] == "complete" and on_disk["metadata"]["engine"] == "llmperf"
    c1, c4 = on_disk["levels"]
    assert (c1["label"], c4["label"]) == ("c1", "c4")
    # duration from LLMPerf's completed-per-minute: 2 requests at 60/min = 2 s
    assert c4["summary"]["duration_s"] == pytest.approx(2.0)
    assert c4["summary"]["output_throughput_token_per_s"] == pytest.approx(11.0)
    assert c4["summary"]["errors_by_code"] == {"http_429": 1}
    assert c4["summary"]["ttft_s"]["quantiles"]["p50"] == pytest.approx(0.2)
    assert c1["summary"]["duration_s"] == pytest.approx(2.0)
    rows = list(csv.DictReader((run_dir / "requests_c4.csv").open()))
    assert [r["error_code"] for r in rows] == ["", "", "http_429"]
    assert (run_dir / "org-model-7b_100_100_c4_summary.json").is_file()


def test_import_rejects_a_folder_without_results(tmp_path) -> None:
    (tmp_path / "c2").mkdir()
    with pytest.raises(ValueError, match="expected one"):
        import_job_results(tmp_path, _config(tmp_path / "results"))
    with pytest.raises(ValueError, match="no LLMPerf result folders"):
        import_job_results(tmp_path / "c2", _config(tmp_path / "results"))


def test_our_llmperf_files_import_to_the_same_summary(llm_server, tmp_path) -> None:
    """Files our engine writes in LLMPerf's format import back to the numbers our engine measured."""
    options = {"base_url": llm_server.base_url + "/v1", "concurrency": [1, 2], "max_requests": 4,
               "warmup_requests": 0, "mean_output_tokens": 6, "report": False}
    measured = run_benchmark(_config(tmp_path / "ours", run_id="ours", **options))
    source = tmp_path / "job"
    for level in measured["levels"]:
        folder = source / level["label"]
        folder.mkdir(parents=True)
        for kind in ("summary", "individual_responses"):
            path = Path(level["files"][kind])
            (folder / path.name).write_bytes(path.read_bytes())
    imported = import_job_results(source, _config(tmp_path / "results", run_id="back", **options))
    for ours, back in zip(measured["levels"], imported["levels"], strict=True):
        a, b = ours["summary"], back["summary"]
        assert b["num_completed_requests"] == a["num_completed_requests"] == 4
        assert b["output_tokens"]["mean"] == a["output_tokens"]["mean"]
        for metric in ("ttft_s", "e2e_s", "itl_s"):
            assert b[metric]["quantiles"]["p50"] == pytest.approx(a[metric]["quantiles"]["p50"], rel=1e-6)
        assert b["duration_s"] == pytest.approx(a["duration_s"], rel=1e-6)
    assert imported["capacity"]["max_concurrency_per_replica"] == measured["capacity"]["max_concurrency_per_replica"]


def test_our_run_folder_is_copied_and_reported(llm_server, tmp_path) -> None:
    job_results = tmp_path / "job"
    run_benchmark(_config(job_results, run_id="in-job", base_url=llm_server.base_url + "/v1", concurrency=[1],
                          max_requests=3, warmup_requests=0, mean_output_tokens=5, report=False))
    summary = import_job_results(job_results / "in-job", _config(
        tmp_path / "results", run_id="fetched", node_shape="VM.Standard.A1.Flex", ocpus=4, memory_gb=24,
        image="llama.cpp:b1"))
    run_dir = tmp_path / "results" / "fetched"
    assert summary["run_dir"] == str(run_dir) and summary["metadata"]["engine"] == "builtin"
    # the node the Job measured is known on the controller: cost comes out of the import
    assert summary["metadata"]["node_shape"] == "VM.Standard.A1.Flex" and summary["metadata"]["image"] == "llama.cpp:b1"
    assert summary["capacity"]["cost_per_million_output_tokens"] > 0
    assert all(Path(p).parent == run_dir for p in summary["levels"][0]["files"].values())
    assert (run_dir / "report.md").is_file() and (run_dir / "plots" / "ttft_distribution.png").is_file()
    assert json.loads((run_dir / "summary.json").read_text())["report"]["markdown"].endswith("report.md")


def test_log_stream_round_trip_through_the_cli(tmp_path, capsys) -> None:
    source = tmp_path / "job"
    _write_level(source, 2, [_upstream_entry(0.1, 1.1, 11)],
                 {"results_num_completed_requests": 1, "results_num_completed_requests_per_min": 60.0})
    assert cli.main(["stream", str(source)]) == 0
    log = tmp_path / "pod.log"
    log.write_text("Installing llmperf...\nlevel c2 done\n" + capsys.readouterr().out + "bye\n")
    summary = import_job_results(log, _config(tmp_path / "results", run_id="from-log", report=False))
    assert [level["label"] for level in summary["levels"]] == ["c2"]
    assert summary["levels"][0]["summary"]["num_completed_requests"] == 1


def test_log_stream_faults_are_named(tmp_path) -> None:
    with pytest.raises(ValueError, match="markers are missing"):
        extract_log_stream("Traceback: the Job failed\n", tmp_path)
    with pytest.raises(ValueError, match="corrupt"):
        extract_log_stream(f"{STREAM_BEGIN}\nnot base64 at all!\n{STREAM_END}\n", tmp_path)
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as archive:
        info = tarfile.TarInfo("../escape.txt")
        archive.addfile(info, io.BytesIO(b""))
    payload = base64.encodebytes(evil.getvalue()).decode()
    with pytest.raises(ValueError, match="corrupt"):
        extract_log_stream(f"{STREAM_BEGIN}\n{payload}{STREAM_END}\n", tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists()


def test_upstream_quirks_are_tolerated(tmp_path) -> None:
    """Upstream appends a dict's keys to its list and writes numpy numbers as strings; neither breaks the import."""
    source = tmp_path / "job"
    _write_level(source, 1, [_upstream_entry(0.1, 1.1, 11), "error_code", "ttft_s"],
                 {"results_num_completed_requests": "1", "results_num_completed_requests_per_min": "nan?"})
    summary = import_job_results(source, _config(tmp_path / "results", run_id="quirks", report=False))
    level = summary["levels"][0]["summary"]
    assert level["num_requests_started"] == 1 and level["num_completed_requests"] == 1
    # no usable per-minute figure: the records' own span (1.1 s)
    assert level["duration_s"] == pytest.approx(1.1)
