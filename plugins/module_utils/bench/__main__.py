# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line: ``python -m ansible_collections.llmops.oke.plugins.module_utils.bench run|report|compare``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .benchmark import BenchmarkConfig, run_benchmark
from .capacity import compare_backends
from .prompts import PRESETS


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _progress(event: dict[str, Any]) -> None:
    p50 = event["p50_ttft_s"]
    total = event["total"] if event["total"] is not None else "?"
    sys.stderr.write(
        f"[{event['level']}] {event['completed']}/{total} done, {event['rate_rps']:.2f} req/s, "
        f"p50 TTFT {'-' if p50 is None else f'{p50 * 1000:.1f} ms'}, errors {event['errors']}"
        f"{' (level done)' if event['final'] else ''}\n")
    sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="OpenAI-compatible LLM serving benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a load sweep and write results/<run-id>/")
    run.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080 (with or without /v1)")
    run.add_argument("--model", required=True)
    run.add_argument("--api", choices=("chat", "completions"), default="chat")
    run.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    run.add_argument("--api-key-header", help="header carrying the key (default Authorization: Bearer <key>)")
    run.add_argument("--preset", choices=sorted(PRESETS))
    run.add_argument("--mean-input-tokens", type=int)
    run.add_argument("--stddev-input-tokens", type=int)
    run.add_argument("--mean-output-tokens", type=int)
    run.add_argument("--stddev-output-tokens", type=int)
    run.add_argument("--concurrency", type=_ints, help="comma-separated levels, e.g. 1,4,16")
    run.add_argument("--mode", choices=("closed", "open"))
    run.add_argument("--rates-rps", type=_floats, help="open loop: comma-separated request rates")
    run.add_argument("--arrival", choices=("poisson", "fixed"))
    run.add_argument("--max-requests", type=int)
    run.add_argument("--duration-s", type=float)
    run.add_argument("--warmup-requests", type=int)
    run.add_argument("--seed", type=int)
    run.add_argument("--request-timeout-s", type=float)
    run.add_argument("--stall-timeout-s", type=float)
    run.add_argument("--tokenizer", choices=("auto", "estimate"))
    run.add_argument("--no-server-extensions", action="store_true", help="do not send ignore_eos/min_tokens")
    for name in ("slo-ttft-s", "slo-itl-s", "slo-e2e-s", "slo-error-rate"):
        run.add_argument(f"--{name}", type=float)
    run.add_argument("--results-dir")
    run.add_argument("--run-id")
    for name in ("backend", "image", "node-shape", "collection-version"):
        run.add_argument(f"--{name}")
    run.add_argument("--replicas", type=int)
    run.add_argument("--ocpus", type=float)
    run.add_argument("--memory-gb", type=float)
    run.add_argument("--target-rps", type=float)
    run.add_argument("--server-slots", type=int)
    run.add_argument("--weights-bytes", type=float)
    run.add_argument("--bandwidth-bps", type=float)
    run.add_argument("--prices-json", help="JSON price table overriding the dated defaults")
    run.add_argument("--correctness-requests", type=int)
    run.add_argument("--determinism-prompts", type=int)
    run.add_argument("--no-report", action="store_true")
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
        from .report import render_report

        sys.stdout.write(json.dumps(render_report(args.run_dir), indent=2) + "\n")
        return 0
    if args.command == "stream":
        from .job_import import write_log_stream

        write_log_stream(args.folder, sys.stdout)
        return 0
    if args.command == "compare":
        economics = []
        for run_dir in args.run_dirs:
            with open(os.path.join(run_dir, "summary.json"), encoding="utf-8") as handle:
                capacity = json.load(handle).get("capacity")
            if capacity:
                economics.append(capacity)
        sys.stdout.write(json.dumps(compare_backends(economics), indent=2) + "\n")
        return 0
    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "api_key_env", "no_server_extensions", "no_report", "prices_json")}
    options["api_key"] = os.environ.get(args.api_key_env) or None
    if args.no_server_extensions:
        options["server_extensions"] = False
    if args.no_report:
        options["report"] = False
    if args.prices_json:
        options["prices"] = json.loads(args.prices_json)
    config = BenchmarkConfig.from_dict(options)
    summary = run_benchmark(config, progress=_progress)
    brief = {"run_dir": summary["run_dir"], "status": summary["status"],
             "levels": [{"label": lv["label"], "slo_met": lv["summary"]["slo_met"],
                         "ttft_p50_s": lv["summary"]["ttft_s"]["quantiles"]["p50"],
                         "output_tok_s": lv["summary"]["output_throughput_token_per_s"],
                         "error_rate": lv["summary"]["error_rate"]} for lv in summary["levels"]]}
    sys.stdout.write(json.dumps(brief, indent=2) + "\n")
    return 130 if summary["status"] == "interrupted" else 0


if __name__ == "__main__":
    raise SystemExit(main())
