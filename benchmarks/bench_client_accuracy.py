# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-added error and CPU cost of the benchmark engine, against an independent timing truth.

The truth is ``tests/fixtures/timing_truth_server.py``: an aiohttp server that shares no code with
the client it measures. It runs in its own process pinned to one core, the client in this process
pinned to another; both read CLOCK_MONOTONIC (``time.perf_counter``/``perf_counter_ns``), so the
error is simply client measurement minus server truth:

* TTFT added   = client TTFT - (server first content chunk sent - server handler started)
* first-chunk receive delay = client first chunk seen - server first chunk sent (after the write
  returned; the client's kernel receive stamp on loopback is taken inside that write, so slightly
  negative is expected)
* client share of TTFT = (client request written - client start) + first-chunk receive delay
* request ingress = server handler started - client request written (loopback, the server's
  scheduling and aiohttp's parsing: the part of TTFT added that is not the client's)
* ITL added    = client ITL - server ITL, with server ITL = (done sent - first sent) / (n - 1)
* gap error    = |client inter-chunk gap - server inter-chunk gap| over every chunk
* server lag   = chunk write started - chunk scheduled (when it grows, the fixture is saturated)
* write bracket = chunk sent - chunk write started (the truth's own uncertainty)
* client CPU per token = process CPU time of the client over the level / chunks received

Usage: ``bench_client_accuracy.py [--levels 1,8,32,64,128,256] [--tokens 50] [--itl-ms 20]``.
Each level is bounded (a few rounds of requests); the whole run stays under three minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "build" / "collections"))
link = REPO / "build" / "collections" / "ansible_collections" / "llmops" / "oke"
if not link.exists():
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(REPO, target_is_directory=True)

from ansible_collections.llmops.oke.plugins.module_utils.bench.client import (  # noqa: E402
    Endpoint,
    OpenAIClient,
    RequestSpec,
)
from ansible_collections.llmops.oke.plugins.module_utils.bench.load import LoadShape, run_level  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    data = sorted(values)
    pos = (len(data) - 1) * q
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def start_server(ttft_ms: float, itl_ms: float, cpu: int | None) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, str(REPO / "tests" / "fixtures" / "timing_truth_server.py"), "--ttft-ms", str(ttft_ms),
           "--itl-ms", str(itl_ms)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"timing truth server did not start: {line!r}")
    return proc, int(line.split()[1])


def fetch_truth(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_truth", timeout=60) as response:
        return json.loads(response.read())


async def run_level_measured(base_url: str, concurrency: int, requests: int, tokens: int) -> tuple[list, float, float]:
    client = OpenAIClient(Endpoint(base_url=base_url, model="synthetic", stall_timeout_s=30))
    specs = [RequestSpec(prompt="benchmark accuracy probe", max_tokens=tokens, request_id=f"c{concurrency}")]
    shape = LoadShape(mode="closed", concurrency=concurrency, max_requests=requests, warmup_requests=concurrency)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    level = await run_level(client, specs, shape)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await client.close()
    return level.records, cpu, wall


def analyse(records: list, truth: dict, cpu_s: float) -> dict:
    ttft_added, client_part, ingress, first_rx, itl_added, gap_err, server_lag, bracket = ([] for _column in range(8))
    chunks = queued = errors = 0
    for r in records:
        chunks += len(r.content_times)
        if r.warmup:
            continue
        if not r.ok:
            errors += 1
            continue
        t = truth[r.request_id]
        sent = [c["sent_ns"] / 1e9 for c in t["chunks"]]
        received = t["received_ns"] / 1e9
        ttft_added.append(r.ttft_s - (sent[0] - received))
        first_rx.append(r.first_content_at - sent[0])
        # the client's own share: building and writing the request, then seeing the first chunk late
        client_part.append((r.sent - r.start) + (r.first_content_at - sent[0]))
        ingress.append(received - r.sent)
        itl_added.append(r.itl_s - (t["done_sent_ns"] / 1e9 - sent[0]) / (len(sent) - 1))
        truth_gaps = [b - a for a, b in itertools.pairwise(sent)]
        gap_err.extend(abs(c - s) for c, s in zip(r.chunk_gaps_s, truth_gaps, strict=True))
        for chunk in t["chunks"]:
            server_lag.append((chunk["write_started_ns"] - chunk["scheduled_ns"]) / 1e9)
            bracket.append((chunk["sent_ns"] - chunk["write_started_ns"]) / 1e9)
            queued += chunk["queued_bytes"] != 0
    ms = 1000.0
    return {
        "requests": len(ttft_added),
        "errors": errors,
        "ttft_added_ms_p50": _pct(ttft_added, 0.5) * ms,
        "ttft_added_ms_p99": _pct(ttft_added, 0.99) * ms,
        "first_chunk_rx_delay_ms_p50": _pct(first_rx, 0.5) * ms,
        "ttft_client_share_ms_p50": _pct(client_part, 0.5) * ms,
        "ttft_client_share_ms_p99": _pct(client_part, 0.99) * ms,
        "request_ingress_ms_p50": _pct(ingress, 0.5) * ms,
        "itl_added_ms_mean": statistics.fmean(itl_added) * ms,
        "gap_abs_error_ms_mean": statistics.fmean(gap_err) * ms,
        "gap_abs_error_ms_p99": _pct(gap_err, 0.99) * ms,
        "server_lag_ms_p50": _pct(server_lag, 0.5) * ms,
        "server_lag_ms_p99": _pct(server_lag, 0.99) * ms,
        "write_bracket_ms_p50": _pct(bracket, 0.5) * ms,
        "queued_writes": queued,
        "client_cpu_us_per_token": cpu_s / max(chunks, 1) * 1e6,
        "chunks": chunks,
    }


def markdown(rows: list[dict]) -> str:
    header = ("| streams | requests | TTFT added p50 ms | TTFT added p99 ms | ITL added mean ms "
              "| client CPU µs/token | client share of TTFT p50/p99 ms | 1st chunk rx delay p50 ms "
              "| request ingress p50 ms "
              "| gap abs err mean/p99 ms | server lag p50/p99 ms | truth write bracket p50 ms | queued writes "
              "| errors |")
    lines = [header, "|" + "---|" * 14]
    for row in rows:
        lines.append(
            f"| {row['concurrency']} | {row['requests']} | {row['ttft_added_ms_p50']:.3f} | "
            f"{row['ttft_added_ms_p99']:.3f} | {row['itl_added_ms_mean']:.4f} | "
            f"{row['client_cpu_us_per_token']:.1f} | "
            f"{row['ttft_client_share_ms_p50']:.3f}/{row['ttft_client_share_ms_p99']:.3f} | "
            f"{row['first_chunk_rx_delay_ms_p50']:.3f} | "
            f"{row['request_ingress_ms_p50']:.3f} | "
            f"{row['gap_abs_error_ms_mean']:.3f}/{row['gap_abs_error_ms_p99']:.3f} | "
            f"{row['server_lag_ms_p50']:.2f}/{row['server_lag_ms_p99']:.2f} | {row['write_bracket_ms_p50']:.3f} | "
            f"{row['queued_writes']} | {row['errors']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,32,64,128,256")
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2, help="requests per user at each level")
    parser.add_argument("--client-cpu", type=int, default=0)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--json", help="write the rows as JSON here")
    args = parser.parse_args()
    if args.client_cpu >= 0:
        os.sched_setaffinity(0, {args.client_cpu})
    proc, port = start_server(args.ttft_ms, args.itl_ms, args.server_cpu if args.server_cpu >= 0 else None)
    rows = []
    try:
        for level in [int(x) for x in args.levels.split(",")]:
            requests = max(10, level * args.rounds)
            records, cpu, wall = asyncio.run(run_level_measured(f"http://127.0.0.1:{port}", level, requests,
                                                                args.tokens))
            row = {"concurrency": level, "wall_s": wall,
                   **analyse(records, fetch_truth(port), cpu)}
            rows.append(row)
            sys.stderr.write(json.dumps(row) + "\n")
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"# tokens/request={args.tokens}, TTFT={args.ttft_ms} ms, ITL={args.itl_ms} ms, "
          f"client CPU {args.client_cpu}, server CPU {args.server_cpu}, os.cpu_count()={os.cpu_count()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
