# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""llama_cpp role defaults versus stock ``llama-server``, on this machine and the generated demo model.

One run, bounded (about 10-15 min on a loaded 2-core box):

1. a sweep (threads, parallel slots, batch/ubatch) at concurrency 8;
2. the server the llama_cpp role starts in process mode (its defaults, exactly: the command is read
   back from the role's pid file) versus ``llama-server --model MODEL`` with nothing else, at
   concurrency 1, 4, 8 and 16 (closed loop, streaming, fixed output length with ``ignore_eos``).

The machine this runs on is shared, so other work comes and goes during a run. To compare like with
like, every server of a phase is started first and stays up side by side (an idle llama-server uses
no CPU and they all map the same model pages), and the measurements are taken in rounds that visit
every server in a rotating order; the tables show the median over the rounds.

Output tokens/s is the aggregate over a measurement's window; TTFT is the first non-empty content
chunk. The load generator is the collection's bench engine (``plugins/module_utils/bench``).

    .venv/bin/python benchmarks/llama_server_defaults.py              # writes benchmarks/results/...
    .venv/bin/python benchmarks/llama_server_defaults.py --rounds 5   # steadier, longer
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / "build" / "collections"


def _link_collection() -> None:
    """Make the checkout importable as ansible_collections.llmops.oke (as tests/conftest.py does)."""
    link = COLLECTIONS_ROOT / "ansible_collections" / "llmops" / "oke"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink() and not link.exists():
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    sys.path.insert(0, str(COLLECTIONS_ROOT))


_link_collection()

from ansible_collections.llmops.oke.plugins.module_utils.bench.client import (  # noqa: E402
    Endpoint,
    OpenAIClient,
    RequestSpec,
)
from ansible_collections.llmops.oke.plugins.module_utils.bench.load import LoadShape, run_level  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.bench.metrics import summarize  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.bench.prompts import PromptPool  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import ensure_model  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import (  # noqa: E402
    cache_root,
    ensure_llama_server,
)
from ansible_collections.llmops.oke.plugins.module_utils.server.llama_cpp_args import build_server_args  # noqa: E402

HOST = "127.0.0.1"
BASE_PORT = 18190
INPUT_TOKENS = 64
OUTPUT_TOKENS = 32
CONCURRENCY = (1, 4, 8, 16)
SWEEP_CONCURRENCY = 8
# Sweep points on top of the model/host/port (0 = llama-server's default); the first is the role's choice.
SWEEP = (
    {"threads": 0, "parallel": 8, "kv_unified": True, "batch_size": 0, "ubatch_size": 0},
    {"threads": 1, "parallel": 8, "kv_unified": True, "batch_size": 0, "ubatch_size": 0},
    {"threads": 0, "parallel": 8, "kv_unified": False, "batch_size": 0, "ubatch_size": 0},
    {"threads": 0, "parallel": 4, "kv_unified": True, "batch_size": 0, "ubatch_size": 0},
    {"threads": 0, "parallel": 16, "kv_unified": True, "batch_size": 0, "ubatch_size": 0},
    {"threads": 0, "parallel": 8, "kv_unified": True, "batch_size": 512, "ubatch_size": 256},
    {"threads": 0, "parallel": 8, "kv_unified": True, "batch_size": 256, "ubatch_size": 128},
)


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not healthy within {timeout}s")


class StockServer:
    """llama-server started by this script with the given arguments."""

    def __init__(self, binary: str, args: list[str], log_path: Path, port: int) -> None:
        self.command = [binary, *args]
        self.log_path = log_path
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> StockServer:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        wait_healthy(f"http://{HOST}:{self.port}/health", self.process)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RoleServer:
    """The server the llama_cpp role starts in process mode with its defaults (only the port and name set)."""

    def __init__(self, cache: str, work: Path, port: int) -> None:
        self.work = work
        self.port = port
        self.extra = {"llama_cpp_runtime": "process", "llama_cpp_port": port, "llama_cpp_name": "bench-defaults",
                      "llama_cpp_cache_dir": cache, "llama_cpp_run_dir": str(work)}
        self.playbook = work / "role.yml"
        self.playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                                 "    - ansible.builtin.include_role:\n        name: llmops.oke.llama_cpp\n")
        self.command: list[str] = []

    def _play(self, state: str) -> None:
        env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_ROOT), "ANSIBLE_NOCOLOR": "1"}
        variables = json.dumps({**self.extra, "llama_cpp_state": state})
        result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(self.playbook),
                                 "-e", variables], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                check=False, timeout=1800)
        if result.returncode:
            raise RuntimeError(f"llama_cpp role ({state}) failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")

    def __enter__(self) -> RoleServer:
        self._play("present")
        self.command = json.loads((self.work / "bench-defaults.pid").read_text())["command"]
        return self

    def __exit__(self, *exc: object) -> None:
        self._play("absent")


# One pool for the whole script: no prompt is sent twice, to any server, in any round, so a server's prompt
# cache (a unified KV cache lets any slot reuse what another cached) cannot answer for prefill. The time
# joins the seed so a rerun against a server left up does not replay either.
POOL = PromptPool(INPUT_TOKENS, 0, OUTPUT_TOKENS, 0, seed=11111, text_seed=f"defaults:{time.time_ns()}")


async def measure(port: int, concurrency: int, requests: int, seed: int) -> dict[str, Any]:
    prompts = [POOL.take() for _index in range(requests)]
    specs = [RequestSpec(prompt=p.text, max_tokens=OUTPUT_TOKENS, input_tokens=p.input_tokens, temperature=0.0,
                         request_id=f"c{concurrency}-{i}") for i, p in enumerate(prompts)]
    client = OpenAIClient(Endpoint(base_url=f"http://{HOST}:{port}/v1", model="llama", request_timeout_s=600,
                                   stall_timeout_s=300))
    run = await run_level(client, specs, LoadShape(mode="closed", concurrency=concurrency, max_requests=requests,
                                                   seed=seed))
    summary = summarize(run.records, run.start, run.end)
    return {
        "requests": summary["num_completed_requests"],
        "errors": summary["num_errors"],
        "errors_by_code": summary["errors_by_code"],
        "output_tok_s": summary["output_throughput_token_per_s"],
        "ttft_p50_s": summary["ttft_s"]["quantiles"]["p50"],
        "ttft_p95_s": summary["ttft_s"]["quantiles"]["p95"],
        "itl_p50_s": summary["itl_s"]["quantiles"]["p50"],
        "duration_s": summary["duration_s"],
    }


def warm_up(port: int) -> None:
    """One short request, so first-touch page faults and allocations are not measured."""
    asyncio.run(measure(port, 1, 1, seed=1))


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each metric over the rounds; errors are summed."""
    merged: dict[str, Any] = {"rounds": len(rows), "errors": sum(r["errors"] for r in rows),
                              "requests": sum(r["requests"] for r in rows)}
    for key in ("output_tok_s", "ttft_p50_s", "ttft_p95_s", "itl_p50_s"):
        values = [r[key] for r in rows if r[key] is not None]
        merged[key] = round(statistics.median(values), 3) if values else None
    merged["output_tok_s_per_round"] = [round(r["output_tok_s"], 2) for r in rows]
    return merged


def rounds_over(servers: dict[str, int], plan: list[tuple[int, int]], rounds: int) -> dict[str, dict[int, Any]]:
    """Measure every (server, concurrency) ``rounds`` times, rotating the server order each time."""
    names = list(servers)
    raw: dict[str, dict[int, list[dict[str, Any]]]] = {n: {c: [] for c, _levels in plan} for n in names}
    for round_index in range(rounds):
        for level_index, (concurrency, requests) in enumerate(plan):
            shift = (round_index + level_index) % len(names)
            for name in names[shift:] + names[:shift]:
                row = measure_sync(servers[name], concurrency, requests, seed=100 * round_index + level_index)
                raw[name][concurrency].append(row)
                print(f"round {round_index + 1}/{rounds} {name} c={concurrency}: {row['output_tok_s']:.1f} tok/s, "
                      f"TTFT p50 {row['ttft_p50_s']}", flush=True)
    return {name: {c: median_row(rows) for c, rows in levels.items()} for name, levels in raw.items()}


def measure_sync(port: int, concurrency: int, requests: int, seed: int) -> dict[str, Any]:
    return asyncio.run(measure(port, concurrency, requests, seed))


def _sweep_name(point: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items())


def run(rounds: int, output: Path, kv_only: bool = False) -> dict[str, Any]:
    started = time.monotonic()
    cache = cache_root()
    binary = ensure_llama_server(cache)
    model = ensure_model(os.path.join(cache, "models"))
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_at_start": os.getloadavg()},
        "binary": binary["path"], "model": model["path"], "model_size_bytes": model["size_bytes"],
        "model_parameters": model["parameter_count"], "input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS,
        "rounds": rounds, "prompts": "fresh: no prompt sent twice in the run (PromptPool)",
        "kv_only": kv_only,
    }
    sweep_points = [p for p in SWEEP if not kv_only or (p["threads"], p["parallel"], p["batch_size"]) == (0, 8, 0)]
    with tempfile.TemporaryDirectory(prefix="llama-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        sweep_servers: dict[str, int] = {}
        for index, point in enumerate(sweep_points):
            port = BASE_PORT + 10 + index
            args = build_server_args({"model": model["path"], "host": HOST, "port": port, "metrics": True,
                                      "ctx_size_per_slot": 1024, **point})
            stack.enter_context(StockServer(binary["path"], args, work / f"sweep-{index}.log", port))
            sweep_servers[_sweep_name(point)] = port
        for port in sweep_servers.values():
            warm_up(port)
        sweep = rounds_over(sweep_servers, [(SWEEP_CONCURRENCY, SWEEP_CONCURRENCY)], rounds)
        results["sweep"] = [{**point, **sweep[_sweep_name(point)][SWEEP_CONCURRENCY]} for point in sweep_points]
        stack.close()
        if kv_only:
            return _write(results, started, output)

        stock_args = ["--model", model["path"], "--host", HOST, "--port", str(BASE_PORT)]
        stock = stack.enter_context(StockServer(binary["path"], stock_args, work / "stock.log", BASE_PORT))
        role = stack.enter_context(RoleServer(cache, work, BASE_PORT + 1))
        warm_up(BASE_PORT)
        warm_up(BASE_PORT + 1)
        plan = [(c, max(c, 2)) for c in CONCURRENCY]
        comparison = rounds_over({"stock": BASE_PORT, "role_defaults": BASE_PORT + 1}, plan, rounds)
        results["comparison"] = {
            "stock": {"command": stock.command, "levels": [{"concurrency": c, **comparison["stock"][c]}
                                                           for c, _levels in plan]},
            "role_defaults": {"command": role.command, "levels": [{"concurrency": c, **comparison["role_defaults"][c]}
                                                                  for c, _levels in plan]},
        }
    results["single_stream_decode_tok_s"] = _single_stream(results)
    return _write(results, started, output)


def _write(results: dict[str, Any], started: float, output: Path) -> dict[str, Any]:
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    output.write_text(render_markdown(results))
    return results


def _single_stream(results: dict[str, Any]) -> float | None:
    level = results["comparison"]["role_defaults"]["levels"][0]
    return None if not level["itl_p50_s"] else round(1 / level["itl_p50_s"], 1)


def _command(command: list[str]) -> str:
    return " ".join(Path(arg).name if arg.startswith("/") else arg for arg in command)


def _default(value: int) -> str:
    return "default" if not value else str(value)


def render_markdown(results: dict[str, Any]) -> str:
    if results.get("kv_only"):
        return _kv_markdown(results)
    stock = {row["concurrency"]: row for row in results["comparison"]["stock"]["levels"]}
    role = {row["concurrency"]: row for row in results["comparison"]["role_defaults"]["levels"]}
    load = results["machine"]
    lines = [
        "# llama_cpp role defaults vs stock llama-server",
        "",
        f"Recorded by `benchmarks/llama_server_defaults.py` in {results['elapsed_s']} s on a shared "
        f"{load['cpus']}-CPU VM ({load['platform']}); load average {load['loadavg_at_start'][0]:.1f} at the start, "
        f"{load['loadavg_at_end'][0]:.1f} at the end (other builds and tests ran meanwhile).",
        f"Model: the generated demo GGUF, {results['model_parameters'] / 1e6:.0f} M parameters, "
        f"{results['model_size_bytes'] / 1e6:.0f} MB (`{Path(results['model']).name}`).",
        f"Workload: closed loop, streaming chat completions, ~{results['input_tokens']} input tokens, "
        f"{results['output_tokens']} output tokens (ignore_eos), one request per user per measurement (two at "
        f"concurrency 1). Every cell is the median of {results['rounds']} rounds; within a round the servers are "
        "visited in a rotating order while all of them stay up, so background load hits them alike.",
        "Output tok/s = output tokens of the measurement / its wall time; TTFT = first non-empty content chunk.",
        f"Single-stream decode with the role defaults: {results['single_stream_decode_tok_s']} tok/s (1 / ITL p50 "
        "at concurrency 1).",
        "",
        f"- stock: `{_command(results['comparison']['stock']['command'])}`",
        f"- role defaults: `{_command(results['comparison']['role_defaults']['command'])}`",
        "",
        "| concurrency | stock out tok/s | role out tok/s | role/stock | stock TTFT p50 s | role TTFT p50 s "
        "| stock TTFT p95 s | role TTFT p95 s | errors (stock/role) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for concurrency in sorted(stock):
        s, r = stock[concurrency], role[concurrency]
        ratio = f"{r['output_tok_s'] / s['output_tok_s']:.2f}" if s["output_tok_s"] else "-"
        lines.append(f"| {concurrency} | {s['output_tok_s']:.1f} | {r['output_tok_s']:.1f} | {ratio} | "
                     f"{s['ttft_p50_s']} | {r['ttft_p50_s']} | {s['ttft_p95_s']} | {r['ttft_p95_s']} | "
                     f"{s['errors']}/{r['errors']} |")
    lines += [
        "",
        f"## Sweep at concurrency {SWEEP_CONCURRENCY} (ctx 1024 per slot; threads/batch \"default\" = llama-server's)",
        "",
        "The first row is the role's choice; \"vs role\" is each row's median output tok/s over the first row's.",
        "",
        "| threads | parallel | unified KV | batch | ubatch | out tok/s (median) | vs role | per round | TTFT p50 s "
        "| TTFT p95 s | ITL p50 s |",
        "|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    reference = results["sweep"][0]["output_tok_s"] or 1.0
    for row in results["sweep"]:
        lines.append(f"| {_default(row['threads'])} | {row['parallel']} | {'yes' if row['kv_unified'] else 'no'} | "
                     f"{_default(row['batch_size'])} | "
                     f"{_default(row['ubatch_size'])} | {row['output_tok_s']:.1f} | "
                     f"{row['output_tok_s'] / reference:.2f} | "
                     f"{', '.join(str(v) for v in row['output_tok_s_per_round'])} | {row['ttft_p50_s']} | "
                     f"{row['ttft_p95_s']} | {row['itl_p50_s']} |")
    return "\n".join(lines) + "\n"


def _kv_markdown(results: dict[str, Any]) -> str:
    load = results["machine"]
    rows = {row["kv_unified"]: row for row in results["sweep"]}
    lines = [
        "# llama.cpp unified KV cache or not, on fresh prompts",
        "",
        f"Recorded by `benchmarks/llama_server_defaults.py --kv-only --rounds {results['rounds']}` in "
        f"{results['elapsed_s']} s on a shared {load['cpus']}-CPU VM ({load['platform']}); load average "
        f"{load['loadavg_at_start'][0]:.1f} at the start, {load['loadavg_at_end'][0]:.1f} at the end (whatever "
        "else ran on the machine meanwhile hit both servers alike: they were up side by side and visited in "
        "rotating order).",
        f"Model: the generated demo GGUF (`{Path(results['model']).name}`). Workload: closed loop, concurrency "
        f"{SWEEP_CONCURRENCY}, {results['input_tokens']} input / {results['output_tokens']} output tokens "
        "(ignore_eos), threads and batch at llama-server's defaults, 8 slots of 1024 tokens; every prompt of the "
        "run is new (no replay), so no slot can answer from a prompt another slot cached.",
        "",
        "| unified KV | out tok/s (median) | per round | TTFT p50 s | TTFT p95 s | ITL p50 s | errors |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for unified in (True, False):
        row = rows[unified]
        lines.append(f"| {'yes' if unified else 'no'} | {row['output_tok_s']:.1f} | "
                     f"{', '.join(str(v) for v in row['output_tok_s_per_round'])} | {row['ttft_p50_s']} | "
                     f"{row['ttft_p95_s']} | {row['itl_p50_s']} | {row['errors']} |")
    return "\n".join(lines) + "\n"


def _terminate(signum: int, _frame: object) -> None:
    # Turn SIGTERM into an exception so the context managers stop every server they started.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    global SWEEP_CONCURRENCY  # one script run, one sweep concurrency
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per measurement (median reported)")
    parser.add_argument("--kv-only", action="store_true",
                        help="only unified KV on/off at concurrency 8 (small enough for a loaded machine)")
    parser.add_argument("--concurrency", type=int, default=SWEEP_CONCURRENCY,
                        help="users of the sweep (and of --kv-only)")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    SWEEP_CONCURRENCY = args.concurrency
    name = "llama_server_kv_unified.md" if args.kv_only else "llama_server_defaults.md"
    args.output = args.output or REPO_ROOT / "benchmarks" / "results" / name
    signal.signal(signal.SIGTERM, _terminate)
    run(args.rounds, args.output, args.kv_only)
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
