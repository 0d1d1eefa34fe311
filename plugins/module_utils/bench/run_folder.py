# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run folder ``<results_dir>/<run_id>/``: its layout, and the one way to finish a run.

Every producer (the builtin engine, the Job import, the LLMPerf import, the cross-check) and every reader
(the module's "skip a completed run", the report command, hpa_replay, the role through the module) goes
through here; ``report`` and ``crosscheck`` get the summary from here and never read the folder's layout:

* ``new_run_id``: a UTC timestamp (``RUN_ID_FORMAT``); the role takes the id from the module, not from Jinja.
* ``level_paths``: the per-level file names (LLMPerf's two files and our per-request CSV).
* ``read_summary`` / ``completed_summary``: ``summary.json``, and the summary of a run that completed.
* ``finish``: write ``summary.json``; draw the report when asked, then write ``summary.json`` again with the
  report's paths. ``redraw`` draws the report of a finished run again; ``add_crosscheck`` adds the comparison
  with an LLMPerf run folder and redraws a report that exists.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .client import RequestRecord
from .crosscheck import compare_runs, crosscheck_markdown
from .fileio import atomic_write_json, atomic_write_text
from .metrics import llmperf_individual, llmperf_summary
from .report import render_report
from .results import records_csv

SUMMARY = "summary.json"
RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"


def new_run_id() -> str:
    """A run id for a run not named: the UTC time, to the second."""
    return datetime.datetime.now(datetime.UTC).strftime(RUN_ID_FORMAT)


def run_dir(results_dir: str | Path, run_id: str, create: bool = True) -> Path:
    """``<results_dir>/<run_id>``, created unless ``create`` is False."""
    folder = Path(results_dir) / run_id
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def level_paths(folder: Path, name: str, label: str) -> dict[str, Path]:
    """One level's files: LLMPerf's ``<name>_<label>_summary.json`` and ``_individual_responses.json``, our CSV."""
    return {"summary": folder / f"{name}_{label}_summary.json",
            "individual_responses": folder / f"{name}_{label}_individual_responses.json",
            "requests_csv": folder / f"requests_{label}.csv"}


def write_level_files(folder: Path, name: str, label: str, records: Sequence[RequestRecord], start: float,
                      end: float, llmperf_metadata: dict[str, Any], timestamp: int) -> dict[str, str]:
    """One level's files: LLMPerf's summary and individual responses as LLMPerf writes them, then our CSV."""
    paths = level_paths(folder, name, label)
    counted = [r for r in records if not r.warmup and r.error_code != "interrupted"]
    individual = [llmperf_individual(r, start) for r in sorted(counted, key=lambda rec: rec.start)]
    summary = llmperf_summary(individual, start, end, f"{name}_{label}_summary", llmperf_metadata, timestamp)
    atomic_write_json(paths["summary"], summary)
    atomic_write_json(paths["individual_responses"], individual)
    atomic_write_text(paths["requests_csv"], records_csv(records, start))
    return {kind: str(path) for kind, path in paths.items()}


def read_summary(folder: str | Path) -> dict[str, Any]:
    """The run's ``summary.json`` (OSError or ValueError when it is missing or unreadable)."""
    return json.loads((Path(folder) / SUMMARY).read_text(encoding="utf-8"))


def completed_summary(folder: str | Path) -> dict[str, Any] | None:
    """The summary of a run that completed in ``folder``; None when there is none (or it did not complete)."""
    if not (Path(folder) / SUMMARY).exists():
        return None
    summary = read_summary(folder)
    return summary if summary.get("status") == "complete" else None


def finish(folder: str | Path, summary: dict[str, Any], draw_report: bool) -> dict[str, Any]:
    """Write ``summary.json``; with ``draw_report`` (and levels to draw), draw the report and record its files."""
    folder = Path(folder)
    atomic_write_json(folder / SUMMARY, summary)
    if draw_report and summary.get("levels"):
        summary["report"] = render_report(folder, summary)
        atomic_write_json(folder / SUMMARY, summary)
    return summary


def redraw(folder: str | Path) -> dict[str, str]:
    """Draw the report of a run folder again (after hpa_replay added scaling.json, or for a past run)."""
    return render_report(Path(folder), read_summary(folder))


def add_crosscheck(folder: str | Path, llmperf_folder: str | Path) -> dict[str, Any]:
    """Add ``crosscheck`` to ``summary.json``, write ``crosscheck.json``/``.md``, redraw the report if it exists."""
    folder = Path(folder)
    run_record = Path(llmperf_folder) / "llmperf" / "llmperf_run.json"
    steps = json.loads(run_record.read_text(encoding="utf-8")).get("steps", []) if run_record.is_file() else []
    summary = read_summary(folder)
    check = compare_runs(summary, read_summary(llmperf_folder), steps, folder, llmperf_folder)
    atomic_write_json(folder / "crosscheck.json", check)
    atomic_write_text(folder / "crosscheck.md", crosscheck_markdown(check))
    summary["crosscheck"] = check
    return finish(folder, summary, (folder / "report.md").exists())
