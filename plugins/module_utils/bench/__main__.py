# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line: ``python -m ansible_collections.llmops.oke.plugins.module_utils.bench run|report|compare``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from . import run_folder
from .benchmark import BenchmarkConfig, run_benchmark
from .capacity import compare_backends
from .options import OptionError, add_cli_options, cli_flag
from .progress_line import format_progress


def _progress(event: dict[str, Any]) -> None:
    # the Job's pod log: the role's wait prints the last of these lines (progress_line.last_progress)
    sys.stderr.write(format_progress(event) + "\n")
    sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="OpenAI-compatible LLM serving benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a load sweep and write results/<run-id>/")
    add_cli_options(run)
    run.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    report = sub.add_parser("report", help="redraw report.md/report.html/plots for a run folder")
    report.add_argument("run_dir")
    stream = sub.add_parser("stream", help="print a results folder as base64 tar.gz between markers (Job mode)")
    stream.add_argument("folder")
    compare = sub.add_parser("compare", help="pick the cheaper backend from several run folders")
    compare.add_argument("run_dirs", nargs="+")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "report":
        sys.stdout.write(json.dumps(run_folder.redraw(args.run_dir), indent=2) + "\n")
        return 0
    if args.command == "stream":
        from .job_import import write_log_stream

        write_log_stream(args.folder, sys.stdout)
        return 0
    if args.command == "compare":
        economics = []
        for run_dir in args.run_dirs:
            capacity = run_folder.read_summary(run_dir).get("capacity")
            if capacity:
                economics.append(capacity)
        sys.stdout.write(json.dumps(compare_backends(economics), indent=2) + "\n")
        return 0
    options = {k: v for k, v in vars(args).items() if k not in ("command", "api_key_env")}
    options["api_key"] = os.environ.get(args.api_key_env) or None
    try:
        config = BenchmarkConfig.from_dict(options)
    except OptionError as error:  # one line naming the flag as typed; nothing was sent or written
        sys.stderr.write(f"bench run: {cli_flag(error.option)} {error.problem}\n")
        return 2
    summary = run_benchmark(config, progress=_progress)
    brief = {"run_dir": summary["run_dir"], "status": summary["status"],
             "levels": [{"label": lv["label"], "slo_met": lv["summary"]["slo_met"],
                         "ttft_p50_s": lv["summary"]["ttft_s"]["quantiles"]["p50"],
                         "output_tok_s": lv["summary"]["output_throughput_token_per_s"],
                         "error_rate": lv["summary"]["error_rate"]} for lv in summary["levels"]]}
    if summary.get("error"):
        brief["error"] = summary["error"]
    sys.stdout.write(json.dumps(brief, indent=2) + "\n")
    if summary["status"] == "failed":
        sys.stderr.write(f"benchmark failed: {summary.get('error', '')}\n")
        return 1
    return 130 if summary["status"] == "interrupted" else 0


if __name__ == "__main__":
    raise SystemExit(main())
