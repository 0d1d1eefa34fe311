# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo workload before and after issue 12 (no replayed prompts): TTFT and prompt-cache share per level.

For each git revision given, this starts a fresh llama-server exactly as the llama_cpp role starts it in
process mode for ``make demo`` (8 slots, 8192 tokens of context, continuous batching, unified KV,
``--metrics``) and runs that revision's benchmark engine with the demo's options (chatbot preset: 100 in
/ 100 out tokens, concurrency 1, 2, 4, 8; 16 measured and 2 warm-up requests per level).

The cache share is read by this script from the server's own counters (``llamacpp:prompt_tokens_total``
counts prompt tokens processed, excluding cached ones; ``llamacpp:prompt_tokens_cached_total`` those
reused from the cache) at the end of every level (the engine's final progress event of a level), so
the same method serves a revision that does not measure it itself. A level's window thus includes its
2 warm-up requests. Where the engine reports its own figure (measured requests only), it is shown too.

    .venv/bin/python benchmarks/demo_prompt_cache.py BEFORE AFTER   # writes benchmarks/results/demo_prompt_cache.*
    .venv/bin/python benchmarks/demo_prompt_cache.py REV --max-requests 4 --output /tmp/x.md   # one, shorter
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("LLMOPS_CACHE") or Path.home() / ".cache" / "llmops-oke")
OPTIONS = {"preset": "chatbot", "max_requests": 16, "warmup_requests": 2, "report": False}
PROCESSED, CACHED = "llamacpp:prompt_tokens_total", "llamacpp:prompt_tokens_cached_total"


def counters(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        name, _sep, value = line.partition(" ")
        if name in (PROCESSED, CACHED):
            values[name] = float(value)
    return values


def child(url: str, results_dir: str, max_requests: str) -> None:
    """Run inside a revision's tree (its collection first on sys.path): the sweep, with counters per level."""
    from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark

    marks = [counters(url)]

    def progress(event: dict[str, Any]) -> None:
        if event.get("final"):
            marks.append(counters(url))  # the level's requests are all done: nothing else is in flight

    summary = run_benchmark(BenchmarkConfig.from_dict({**OPTIONS, "max_requests": int(max_requests),
                                                       "base_url": url, "model": "llama",
                                                       "results_dir": results_dir, "run_id": "run"}),
                            progress=progress)
    levels = []
    for index, level in enumerate(summary["levels"]):
        before, after = marks[index], marks[index + 1]
        processed = after[PROCESSED] - before[PROCESSED]
        cached = after[CACHED] - before[CACHED]
        s = level["summary"]
        own = s.get("prompt_cache") or {}
        levels.append({"level": level["label"], "completed": s["num_completed_requests"],
                       "ttft_p50_s": s["ttft_s"]["quantiles"]["p50"], "ttft_p95_s": s["ttft_s"]["quantiles"]["p95"],
                       "output_tok_s": s["output_throughput_token_per_s"],
                       "cache_share_incl_warmup": cached / (processed + cached) if processed + cached else None,
                       "engine_cache_share": own.get("share"), "shared_prefix_share": own.get("shared_prefix_share"),
                       "new_connections": s.get("new_connections")})
    json.dump({"status": summary["status"], "levels": levels}, sys.stdout)


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    binary = next(CACHE.glob("llama-server/*/bin/llama-server"))
    model = next(CACHE.glob(os.environ.get("DEMO_MODEL_GLOB", "models/llmops-demo-16x1024-*.gguf")))
    # the command the llama_cpp role runs in process mode with its defaults (benchmarks/results/
    # llama_server_defaults.json, "role_defaults"), on another port
    command = [str(binary), "--model", str(model), "--alias", "llama", "--host", "127.0.0.1", "--port", str(port),
               "--parallel", "8", "--ctx-size", "8192", "--cont-batching", "--metrics", "--kv-unified"]
    with log.open("ab") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, f"llama-server exited with {process.returncode}; see {log}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("llama-server never became healthy")


def export(revision: str, into: Path) -> tuple[Path, str]:
    """The revision's tree as ansible_collections/llmops/oke under ``into``; returns the path and commit."""
    commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", revision], capture_output=True, text=True,
                            check=True).stdout.strip()
    target = into / "ansible_collections" / "llmops" / "oke"
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar", commit, "plugins"],
                             capture_output=True, check=True).stdout
    tar_path = into / "tree.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(target, filter="data")
    return into, commit


def measure(revision: str, work: Path, max_requests: int) -> dict[str, Any]:
    collections, commit = export(revision, work / revision.replace("/", "_"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = start_server(port, work / f"{commit[:8]}.log")
    started = time.monotonic()
    load = os.getloadavg()[0]
    try:
        env = {**os.environ, "PYTHONPATH": str(collections)}
        result = subprocess.run([sys.executable, __file__, "--child", f"http://127.0.0.1:{port}",
                                 str(work / "runs" / commit[:8]), str(max_requests)], env=env,
                                capture_output=True, text=True, check=False, timeout=3600)
        if result.returncode:
            raise RuntimeError(f"{revision}: {result.stderr[-3000:]}")
    finally:
        server.terminate()
        server.wait(30)
    return {"revision": revision, "commit": commit, "max_requests": max_requests,
            "elapsed_s": round(time.monotonic() - started, 1),
            "loadavg_start": load, "loadavg_end": os.getloadavg()[0], **json.loads(result.stdout)}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f}"


def render(runs: list[dict[str, Any]]) -> str:
    lines = ["# Demo workload: TTFT and prompt-cache share per level, before and after fresh prompts (issue 12)", "",
             f"Recorded by `benchmarks/demo_prompt_cache.py {' '.join(r['revision'] for r in runs)}` on a shared "
             f"{os.cpu_count()}-CPU VM ({platform.platform()}); other work on the machine shows in the load "
             "average given per run. Each run had a freshly started llama-server with the role's process-mode "
             "command as issue 12 found it (8 slots, unified KV, --metrics) and the demo's options then (chatbot "
             f"preset: ~100 in / 100 out tokens, {runs[0]['max_requests'] if runs else '-'} measured + 2 warm-up "
             "requests per level).", "",
             "Cache share = Δ`llamacpp:prompt_tokens_cached_total` / (Δ`llamacpp:prompt_tokens_total` + "
             "Δ`llamacpp:prompt_tokens_cached_total`) over each level including its 2 warm-up requests, read by "
             "the script from the server; \"engine\" is the after-revision's own figure (measured requests only) "
             "and \"prefix\" the most its shared instruction head (and chat template) explains.", ""]
    for run in runs:
        lines += [f"## {run['revision']} ({run['commit'][:10]}): status {run['status']}, "
                  f"{run['max_requests']} measured requests per level, {run['elapsed_s']} s, "
                  f"load average {run['loadavg_start']:.1f} → {run['loadavg_end']:.1f}", "",
                  "| level | completed | TTFT p50 ms | TTFT p95 ms | out tok/s | cache share | engine | prefix "
                  "| new connections |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for lv in run["levels"]:
            lines.append(f"| {lv['level']} | {lv['completed']} | {_ms(lv['ttft_p50_s'])} | {_ms(lv['ttft_p95_s'])} | "
                         f"{lv['output_tok_s']:.1f} | {_pct(lv['cache_share_incl_warmup'])} | "
                         f"{_pct(lv['engine_cache_share'])} | {_pct(lv['shared_prefix_share'])} | "
                         f"{lv['new_connections']} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revisions", nargs="*", default=["main", "HEAD"])
    parser.add_argument("--child", nargs=3, metavar=("URL", "RESULTS_DIR", "MAX_REQUESTS"), help=argparse.SUPPRESS)
    parser.add_argument("--max-requests", type=int, default=OPTIONS["max_requests"],
                        help="measured requests per level (the demo's 16 by default; fewer on a loaded machine)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "demo_prompt_cache.md")
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="demo-cache-") as tmp:
        runs = []
        for revision in args.revisions:
            runs.append(measure(revision, Path(tmp), args.max_requests))
            print(json.dumps(runs[-1]), flush=True)
    args.output.with_suffix(".json").write_text(json.dumps(runs, indent=2) + "\n")
    args.output.write_text(render(runs))
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
