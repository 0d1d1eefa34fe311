"""The collection version recorded in every run's metadata is galaxy.yml's, whichever runner made the run."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ansible_collections.llmops.oke.plugins.module_utils.bench import COLLECTION_VERSION
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.job_import import import_job_results

GALAXY_VERSION = yaml.safe_load((Path(__file__).resolve().parents[5] / "galaxy.yml").read_text())["version"]


def _config(results_dir: Path, **options: object) -> BenchmarkConfig:
    # no collection_version: what the CLI (the Job) and a direct module call pass
    return BenchmarkConfig.from_dict({"base_url": "http://127.0.0.1:9/v1", "model": "m", "concurrency": [1],
                                      "max_requests": 2, "warmup_requests": 0, "mean_output_tokens": 4,
                                      "results_dir": str(results_dir), "report": False, **options})


def test_collection_version_matches_galaxy_yml() -> None:
    assert GALAXY_VERSION and COLLECTION_VERSION == GALAXY_VERSION


def test_every_runner_records_the_version(llm_server, tmp_path: Path) -> None:
    # the controller runner, and the Job's own run (the CLI passes no version)
    ran = run_benchmark(_config(tmp_path / "job", run_id="in-job", base_url=llm_server.base_url + "/v1"))
    assert ran["metadata"]["collection_version"] == GALAXY_VERSION
    # the kubernetes runner's import of that folder on the controller (builtin engine)
    imported = import_job_results(tmp_path / "job" / "in-job", _config(tmp_path / "results", run_id="fetched"))
    assert imported["metadata"]["collection_version"] == GALAXY_VERSION
    on_disk = json.loads((tmp_path / "results" / "fetched" / "summary.json").read_text())
    assert on_disk["metadata"]["collection_version"] == GALAXY_VERSION
    # the kubernetes runner's import of LLMPerf's folders (llmperf engine)
    source = tmp_path / "llmperf" / "c1"
    source.mkdir(parents=True)
    for kind in ("summary", "individual_responses"):
        path = Path(ran["levels"][0]["files"][kind])
        (source / path.name).write_bytes(path.read_bytes())
    llmperf = import_job_results(tmp_path / "llmperf", _config(tmp_path / "results", run_id="lp"))
    assert llmperf["metadata"]["engine"] == "llmperf" and llmperf["metadata"]["collection_version"] == GALAXY_VERSION
