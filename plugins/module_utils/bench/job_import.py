# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the files a benchmark Kubernetes Job wrote (fetched back to the controller) into a run folder.

Two sources: our own engine's run folder (``summary.json`` present: copied as is), or upstream LLMPerf's
result folders, one per concurrency level (``c<N>/<name>_individual_responses.json`` and
``c<N>/<name>_summary.json``), converted into our per-request records so ``summary.json``, the CSV files
and the report come out as for a run of our own engine.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import json
import re
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from . import COLLECTION_VERSION, run_folder
from .benchmark import SCHEMA, BenchmarkConfig, _capacity, _metadata
from .client import RequestRecord, http_error_code
from .fileio import atomic_write_text
from .metrics import llmperf_name, summarize
from .results import records_csv

# The Job prints its result folder as a base64 tar.gz between these lines; the controller reads the pod's log
STREAM_BEGIN = "==== llmops.oke benchmark results begin ===="
STREAM_END = "==== llmops.oke benchmark results end ===="
LLMPERF_TOKEN_METHOD = "llmperf: input and output tokens counted with hf-internal-testing/llama-tokenizer"
LLMPERF_ERROR = "llmperf_error"
_LEVEL_DIR = re.compile(r"^c(\d+)$")


def records_from_llmperf(individual: Sequence[dict[str, Any]], request_prefix: str = "llmperf") -> list[RequestRecord]:
    """Our records from LLMPerf's ``*_individual_responses.json`` entries (times relative to the level start).

    LLMPerf keeps no chunk times, so chunk gaps stay empty; TTFT, E2E and token counts are LLMPerf's, and
    ITL is recomputed with our stricter definition from them. Entries without ``start_time`` (upstream
    LLMPerf writes none) are laid end to end, which only matters for the CSV's ``start_s`` column.
    """
    records = []
    clock = 0.0
    # upstream's last-chance collection extends the list with a dict's keys (strings): only dicts are requests
    entries = [entry for entry in individual if isinstance(entry, dict)]
    for index, entry in enumerate(entries):
        start = float(entry["start_time"]) if entry.get("start_time") is not None else clock
        ttft = float(entry.get("ttft_s") or 0.0)
        e2e = float(entry.get("end_to_end_latency_s") or 0.0)
        output_tokens = int(entry.get("number_output_tokens") or 0)
        record = RequestRecord(request_id=f"{request_prefix}-{index}", index=index, scheduled=start, start=start,
                               usage={"prompt_tokens": int(entry.get("number_input_tokens") or 0),
                                      "completion_tokens": output_tokens})
        code = entry.get("error_code")
        if code is None:
            record.first_content_at = start + ttft
            record.end = start + e2e
            record.finish_reason = "length"
        else:
            record.first_content_at = start + ttft if ttft else None
            record.end = start + e2e
            status = int(code)
            record.http_status = status if status >= 100 else None
            record.error_code = http_error_code(status) if status >= 100 else LLMPERF_ERROR
            record.error_msg = str(entry.get("error_msg") or "")[:500]
        clock = max(clock, start + e2e)
        records.append(record)
    return records


def _level_duration(summary: dict[str, Any], records: Sequence[RequestRecord]) -> float:
    """LLMPerf's level wall time, from its completed-per-minute figure; the records' span otherwise."""
    try:
        # LLMPerf writes numpy numbers with default=str, so a count may arrive as a string
        completed = float(summary.get("results_num_completed_requests") or 0)
        per_min = float(summary.get("results_num_completed_requests_per_min") or 0)
    except (TypeError, ValueError):
        completed = per_min = 0.0
    if completed > 0 and per_min > 0:
        return completed / per_min * 60.0
    ends = [r.end for r in records if r.end is not None]
    return max(ends) - min(r.start for r in records) if ends else 0.0


def _one_file(folder: Path, suffix: str) -> Path:
    found = sorted(folder.glob(f"*{suffix}"))
    if len(found) != 1:
        raise ValueError(f"{folder}: expected one *{suffix} from LLMPerf, found {len(found)}")
    return found[0]


def llmperf_levels(source: str | Path) -> list[tuple[int, Path, Path]]:
    """``(concurrency, individual_responses, summary)`` for each ``c<N>`` folder, lowest concurrency first."""
    levels = []
    for folder in Path(source).iterdir():
        match = _LEVEL_DIR.match(folder.name)
        if folder.is_dir() and match:
            levels.append((int(match.group(1)), _one_file(folder, "_individual_responses.json"),
                           _one_file(folder, "_summary.json")))
    if not levels:
        raise ValueError(f"{source}: no LLMPerf result folders (c<concurrency>/) to import")
    return sorted(levels)


def import_llmperf(source: str | Path, config: BenchmarkConfig) -> dict[str, Any]:
    """Write ``<results_dir>/<run_id>/`` from LLMPerf's result folders; return the content of ``summary.json``."""
    run_id = config.run_id or run_folder.new_run_id()
    run_dir = run_folder.run_dir(config.results_dir, run_id)
    name = config.name or llmperf_name(config.model, config.mean_input_tokens, config.mean_output_tokens)
    run_record = _llmperf_run_record(source)
    metadata = _metadata(config, name, run_record.get("tokenizer") or LLMPERF_TOKEN_METHOD)
    metadata["engine"] = "llmperf"
    slo = config.slo()
    levels = []
    for concurrency, individual_path, summary_path in llmperf_levels(source):
        label = f"c{concurrency}"
        individual = json.loads(individual_path.read_text(encoding="utf-8"))
        upstream_summary = json.loads(summary_path.read_text(encoding="utf-8"))
        records = records_from_llmperf(individual, f"{run_id}-{label}")
        start = min((r.start for r in records), default=0.0)
        end = start + _level_duration(upstream_summary, records)
        paths = run_folder.level_paths(run_dir, name, label)
        # LLMPerf's own files are kept byte for byte: tools that read LLMPerf read what LLMPerf wrote
        shutil.copyfile(summary_path, paths["summary"])
        shutil.copyfile(individual_path, paths["individual_responses"])
        atomic_write_text(paths["requests_csv"], records_csv(records, start))
        files = {kind: str(path) for kind, path in paths.items()}
        levels.append({"label": label, "mode": "closed", "concurrency": concurrency, "rate_rps": None,
                       "interrupted": False, "summary": summarize(records, start, end, slo), "files": files})
    now = datetime.datetime.now(datetime.UTC).isoformat()
    summary: dict[str, Any] = {"schema": SCHEMA, "run_id": run_id, "name": name, "status": "complete",
                               "started_at": now, "finished_at": now, "metadata": metadata, "levels": levels,
                               "capacity": _capacity(config, levels), "run_dir": str(run_dir)}
    correctness = _llmperf_correctness(source, run_dir)
    if correctness:
        summary["correctness"] = correctness
    return run_folder.finish(run_dir, summary, config.report)


def _llmperf_run_record(source: str | Path) -> dict[str, Any]:
    """``llmperf_run.json`` that the controller runner writes beside LLMPerf's folders ({} from a Job)."""
    path = Path(source) / "llmperf_run.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _llmperf_correctness(source: str | Path, run_dir: Path) -> dict[str, Any] | None:
    """LLMPerf's llm_correctness.py summary (kept byte for byte in the run folder), when it ran."""
    folder = Path(source) / "correctness"
    if not folder.is_dir():
        return None
    summary_path = _one_file(folder, "_summary.json")
    individual_path = _one_file(folder, "_individual_responses.json")
    for path in (summary_path, individual_path):
        shutil.copyfile(path, run_dir / path.name)
    upstream = json.loads(summary_path.read_text(encoding="utf-8"))
    results = {key[len("results_"):] if key.startswith("results_") else key: value for key, value in upstream.items()}
    keys = ("num_mismatched_requests", "number_errors", "num_completed_requests", "mismatch_rate", "error_rate")
    missing = [key for key in keys if key not in results]
    if missing:
        raise ValueError(f"{summary_path}: LLMPerf's correctness summary lacks {', '.join(missing)}")
    return {key: float(results[key]) if "rate" in key else int(float(results[key])) for key in keys} | {
        "source": "llmperf llm_correctness.py", "file": str(run_dir / summary_path.name)}


def import_run_folder(source: str | Path, config: BenchmarkConfig) -> dict[str, Any]:
    """Copy a run folder our engine wrote in the Job to ``<results_dir>/<run_id>/`` and draw its report here."""
    source = Path(source)
    summary = run_folder.read_summary(source)
    run_id = config.run_id or summary["run_id"]
    run_dir = run_folder.run_dir(config.results_dir, run_id)
    shutil.copytree(source, run_dir, dirs_exist_ok=True)
    # paths inside summary.json named the Job's folder; point them at the controller's copy
    for level in summary.get("levels", []):
        level["files"] = {kind: str(run_dir / Path(path).name) for kind, path in level.get("files", {}).items()}
    summary["run_id"] = run_id
    summary["run_dir"] = str(run_dir)
    # the Job knows the load, the controller knows what it ran on and what that costs
    metadata = summary.setdefault("metadata", {})
    metadata.update({"engine": "builtin", "backend": config.backend or metadata.get("backend", ""),
                     "image": config.image, "node_shape": config.node_shape, "replicas": config.replicas,
                     # the controller's collection (the role passes it), else the engine's own (the Job's copy)
                     "collection_version": config.collection_version or COLLECTION_VERSION})
    summary["capacity"] = _capacity(config, summary.get("levels", []))
    return run_folder.finish(run_dir, summary, config.report)


def write_log_stream(folder: str | Path, out: TextIO) -> None:
    """Print ``folder`` as a base64 tar.gz between the markers (what the Job does last)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(str(folder), arcname=".")
    out.write(f"\n{STREAM_BEGIN}\n{base64.encodebytes(buffer.getvalue()).decode('ascii')}{STREAM_END}\n")
    out.flush()


def extract_log_stream(log_text: str, dest: str | Path) -> Path:
    """Unpack the base64 tar.gz the Job printed between the markers into ``dest``; return ``dest``."""
    begin = log_text.rfind(STREAM_BEGIN)
    end = log_text.find(STREAM_END, begin + 1) if begin >= 0 else -1
    if begin < 0 or end < 0:
        raise ValueError("the Job's log holds no complete result stream (its markers are missing: "
                         "the Job failed before writing results, or the log was rotated)")
    try:
        payload = base64.b64decode("".join(log_text[begin + len(STREAM_BEGIN):end].split()), validate=True)
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
            # the data filter refuses absolute paths, links out of dest and device files
            archive.extractall(dest, filter="data")
    except (binascii.Error, tarfile.TarError) as error:
        raise ValueError(f"the Job's result stream is corrupt: {error}") from error
    return Path(dest)


def import_job_results(source: str | Path, config: BenchmarkConfig) -> dict[str, Any]:
    """Import a Job's results: its saved log (a file) or an unpacked folder.

    A folder holding ``summary.json`` is our run folder; otherwise it holds LLMPerf's level folders.
    """
    if Path(source).is_file():
        with tempfile.TemporaryDirectory(prefix="bench-job-") as unpacked:
            extract_log_stream(Path(source).read_text(encoding="utf-8", errors="replace"), unpacked)
            return import_job_results(unpacked, config)
    if (Path(source) / run_folder.SUMMARY).is_file():
        return import_run_folder(source, config)
    return import_llmperf(source, config)
