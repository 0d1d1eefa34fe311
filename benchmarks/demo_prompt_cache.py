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

With ``--cache-states`` (issue 23), one revision (HEAD by default) runs once per cache state, each on a fresh
llama-server started as ``make demo`` starts it now (inventories/local: 4 slots of 1024 tokens, continuous batching,
``--metrics``; 16 measured requests per level, so c8 is two waves): ``warm`` on that command (what the demo
measures), ``warm-resettable`` and ``cold`` on that command with what ``llama_cpp_cache_reset`` adds
(``--slot-save-path``, ``--cache-ram 0``), the engine's ``cache_state`` warm and cold. Each level's row carries the
engine's own machine verdict (bench/saturation.py) and the host load:

    .venv/bin/python benchmarks/demo_prompt_cache.py --cache-states warm,warm-resettable,cold
    # writes benchmarks/results/demo_cache_state.{md,json}
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


def child(url: str, results_dir: str, max_requests: str, cache_state: str = "") -> None:
    """Run inside a revision's tree (its collection first on sys.path): the sweep, with counters per level."""
    from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark

    marks = [counters(url)]

    def progress(event: dict[str, Any]) -> None:
        if event.get("final"):
            marks.append(counters(url))  # the level's requests are all done: nothing else is in flight

    # a revision before issue 23 has no cache_state option: it is only passed when asked for
    states = {"cache_state": cache_state} if cache_state else {}
    summary = run_benchmark(BenchmarkConfig.from_dict({**OPTIONS, "max_requests": int(max_requests),
                                                       "base_url": url, "model": "llama",
                                                       "results_dir": results_dir, "run_id": "run", **states}),
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
                       "new_connections": s.get("new_connections"),
                       "cache_state": (s.get("cache_state") or {}).get("how"), "machine": s.get("machine")})
    json.dump({"status": summary["status"], "levels": levels}, sys.stdout)


# the command the llama_cpp role ran in process mode with its defaults when issue 12 was measured
# (benchmarks/results/llama_server_defaults.json, "role_defaults")
ISSUE12_FLAGS = ["--parallel", "8", "--ctx-size", "8192", "--cont-batching", "--metrics", "--kv-unified"]
# what make demo runs now (inventories/local: llama_cpp_parallel 4; role defaults: 1024 tokens per slot, continuous
# batching, --metrics, no unified KV)
DEMO_FLAGS = ["--parallel", "4", "--ctx-size", "4096", "--cont-batching", "--metrics"]
# cache state -> (engine's cache_state, whether the server gets what llama_cpp_cache_reset adds)
STATES = {"warm": ("warm", False), "warm-resettable": ("warm", True), "cold": ("cold", True)}


def start_server(port: int, log: Path, flags: list[str] | None = None) -> subprocess.Popen[bytes]:
    binary = next(CACHE.glob("llama-server/*/bin/llama-server"))
    model = next(CACHE.glob(os.environ.get("DEMO_MODEL_GLOB", "models/llmops-demo-16x1024-*.gguf")))
    command = [str(binary), "--model", str(model), "--alias", "llama", "--host", "127.0.0.1", "--port", str(port),
               *(ISSUE12_FLAGS if flags is None else flags)]
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


def measure(revision: str, work: Path, max_requests: int, state: str = "") -> dict[str, Any]:
    folder = work / (revision.replace("/", "_") + (f"-{state}" if state else ""))
    collections, commit = export(revision, folder)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    flags = None
    if state:
        flags = list(DEMO_FLAGS)
        if STATES[state][1]:
            (folder / "slots").mkdir()
            flags += ["--slot-save-path", str(folder / "slots"), "--cache-ram", "0"]
    server = start_server(port, work / f"{commit[:8]}-{state}.log", flags)
    started = time.monotonic()
    load = os.getloadavg()[0]
    try:
        env = {**os.environ, "PYTHONPATH": str(collections)}
        result = subprocess.run([sys.executable, __file__, "--child", f"http://127.0.0.1:{port}",
                                 str(work / "runs" / f"{commit[:8]}-{state}"), str(max_requests),
                                 STATES[state][0] if state else ""], env=env,
                                capture_output=True, text=True, check=False, timeout=3600)
        if result.returncode:
            raise RuntimeError(f"{revision}: {result.stderr[-3000:]}")
    finally:
        server.terminate()
        server.wait(30)
    return {"revision": revision, "commit": commit, "max_requests": max_requests, "state": state,
            "server_flags": flags or ISSUE12_FLAGS,
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


def _machine(machine: dict[str, Any] | None) -> str:
    if not machine:
        return "not measured"
    lag = (machine.get("loop_lag_ms") or {}).get("p99")
    load = machine.get("runnable_per_cpu_mean")
    figures = (f"{'—' if load is None else f'{load:.2f}'} runnable/CPU, lag p99 "
               f"{'—' if lag is None else f'{lag:.0f}'} ms")
    return f"{'SATURATED' if machine.get('saturated') else 'ok'} ({figures})"


def render_states(runs: list[dict[str, Any]], command: str) -> str:
    """One table per cache state, then TTFT p50 side by side."""
    lines = ["# Demo workload warm and cold: TTFT and prompt-cache share per level (issue 23)", "",
             f"Recorded by `{command}` on a shared {os.cpu_count()}-CPU VM ({platform.platform()}), "
             f"revision {runs[0]['commit'][:10] if runs else '-'}, the runs one after the other, each on a freshly "
             "started llama-server. Chatbot preset (~100 in / 100 out tokens), c1, c2, c4, c8, "
             f"{runs[0]['max_requests'] if runs else '-'} measured + 2 warm-up requests per level (c8: "
             f"{(runs[0]['max_requests'] / 8) if runs else 0:g} waves). The host load (1-minute average at the start "
             "and the end of each run) and the engine's own per-level machine verdict (runnable tasks per CPU, "
             "client event-loop lag) are given: other work shared this machine.", "",
             "- warm: the `make demo` server (`" + " ".join(DEMO_FLAGS) + "`), each level starting from the cache "
             "the earlier levels and its warm-up left (the engine's default);",
             "- warm-resettable: the same server with what `llama_cpp_cache_reset` adds (`--slot-save-path`, "
             "`--cache-ram 0`: no host-memory prompt cache), still warm: the control for the flags alone;",
             "- cold: that server, its slots erased by the engine (`POST /slots/<id>?action=erase`) after each "
             "level's warm-up, before its measured requests.", "",
             "Cache share: the engine's own figure, from the server's counters over the measured requests; "
             "\"prefix\": the most the shared instruction head (and chat template) explains.", ""]
    for run in runs:
        lines += [f"## {run['state']}: status {run['status']}, {run['elapsed_s']} s, load average "
                  f"{run['loadavg_start']:.1f} → {run['loadavg_end']:.1f}", "",
                  f"Server flags: `{' '.join(run['server_flags'])}`. Cache state of each level: "
                  f"{run['levels'][0]['cache_state'] if run['levels'] else '-'}.", "",
                  "| level | completed | TTFT p50 ms | TTFT p95 ms | out tok/s | cache share | prefix | machine |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for lv in run["levels"]:
            lines.append(f"| {lv['level']} | {lv['completed']} | {_ms(lv['ttft_p50_s'])} | {_ms(lv['ttft_p95_s'])} | "
                         f"{lv['output_tok_s']:.1f} | {_pct(lv['engine_cache_share'])} | "
                         f"{_pct(lv['shared_prefix_share'])} | {_machine(lv.get('machine'))} |")
        lines.append("")
    if len(runs) > 1:
        lines += ["## TTFT p50 side by side (ms)", "", "| level | " + " | ".join(r["state"] for r in runs) + " |",
                  "|---|" + "---:|" * len(runs)]
        for index, lv in enumerate(runs[0]["levels"]):
            cells = [_ms(r["levels"][index]["ttft_p50_s"]) if index < len(r["levels"]) else "—" for r in runs]
            lines.append(f"| {lv['level']} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revisions", nargs="*", help="git revisions (default: main HEAD; HEAD with --cache-states)")
    parser.add_argument("--child", nargs=4, metavar=("URL", "RESULTS_DIR", "MAX_REQUESTS", "CACHE_STATE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--cache-states", default="",
                        help="comma-separated, of " + ", ".join(STATES) + ": one run of one revision per state "
                             "(issue 23), written to benchmarks/results/demo_cache_state.*")
    parser.add_argument("--max-requests", type=int, default=OPTIONS["max_requests"],
                        help="measured requests per level (the demo's 16 by default; fewer on a loaded machine)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "demo_prompt_cache.md")
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if args.cache_states:
        return _states_main(args, argv)
    with tempfile.TemporaryDirectory(prefix="demo-cache-") as tmp:
        runs = []
        for revision in args.revisions or ["main", "HEAD"]:
            runs.append(measure(revision, Path(tmp), args.max_requests))
            print(json.dumps(runs[-1]), flush=True)
    args.output.with_suffix(".json").write_text(json.dumps(runs, indent=2) + "\n")
    args.output.write_text(render(runs))
    print(args.output.read_text())
    return 0


def _states_main(args: argparse.Namespace, argv: list[str] | None) -> int:
    states = [s.strip() for s in args.cache_states.split(",") if s.strip()]
    unknown = [s for s in states if s not in STATES]
    if unknown:
        raise SystemExit(f"--cache-states: unknown {', '.join(unknown)}; choose from {', '.join(STATES)}")
    # resolved once, so every state runs the same commit even if the branch moves meanwhile
    wanted = args.revisions[0] if args.revisions else "HEAD"
    revision = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", wanted], capture_output=True, text=True,
                              check=True).stdout.strip()
    output = args.output
    if output == REPO_ROOT / "benchmarks" / "results" / "demo_prompt_cache.md":
        output = REPO_ROOT / "benchmarks" / "results" / "demo_cache_state.md"
    command = "python benchmarks/demo_prompt_cache.py " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="demo-cache-") as tmp:
        runs = []
        for state in states:
            runs.append(measure(revision, Path(tmp), args.max_requests, state))
            print(json.dumps({k: v for k, v in runs[-1].items() if k != "levels"}), flush=True)
            # written after every state, so a long recording keeps what it has measured
            output.with_suffix(".json").write_text(json.dumps(runs, indent=2) + "\n")
            output.write_text(render_states(runs, command))
    print(output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
