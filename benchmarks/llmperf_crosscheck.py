# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record the cross-check (our engine beside upstream LLMPerf) on the demo llama-server (issue 17).

Runs the benchmark role with ``benchmark_engine: crosscheck`` through ansible-playbook, against a
llama-server started here from the cached build and demo model (``-np 4 -c 4096 --metrics``), in two
layouts:

- ``shared``: one server for every level, as a user's sweep runs. LLMPerf seeds its prompt sampler the
  same way at every level (token_benchmark_ray.py: ``random.seed(11111)``), so from its second level on it
  sends prompts the server already holds in its prompt cache (``--cache-ram``, 8 GiB by default).
- ``fresh``: a freshly started server per level, so neither engine finds a prompt of its own in the
  cache: the same warm-up (none), prompt shape and lengths, request count and max tokens in both.

Both engines' prompt-cache shares per level come from the server's own counters (crosscheck.py). The
output is one JSON file with each layout's crosscheck.json and the machine's load average around it.

    .venv/bin/python benchmarks/llmperf_crosscheck.py --output benchmarks/results/llmperf_crosscheck.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = os.environ.get("LLMOPS_CACHE") or os.path.expanduser("~/.cache/llmops-oke")
ARCHIVE_NAME = "llmperf-f1d6bed47e4501b0e371082b41601b59ab55269f.tar.gz"
# timestamps on the log's task lines show when each request reached a slot (both engines' start spread)
SERVER_ARGS = ["-np", "4", "-c", "4096", "-a", "demo", "--metrics", "--log-timestamps", "--log-prefix"]


def archive() -> str:
    if os.environ.get("LLMOPS_LLMPERF_ARCHIVE"):
        return os.environ["LLMOPS_LLMPERF_ARCHIVE"]
    for parent in REPO_ROOT.parents:
        candidate = parent / "shared" / "llmperf" / ARCHIVE_NAME
        if candidate.is_file():
            return str(candidate)
    raise SystemExit(f"no {ARCHIVE_NAME} under a shared/llmperf/ above {REPO_ROOT}; set LLMOPS_LLMPERF_ARCHIVE")


class Server:
    """A llama-server from the cached build and demo model on a free 127.0.0.1 port."""

    def __init__(self, log_path: Path) -> None:
        sys.path.insert(0, str(REPO_ROOT / "build" / "collections"))
        from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import ensure_model
        from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import ensure_llama_server

        self.binary = ensure_llama_server(CACHE)["path"]
        self.model = ensure_model(os.path.join(CACHE, "models"))["path"]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_path.open("w")
        self.proc = subprocess.Popen([self.binary, "-m", self.model, "--host", "127.0.0.1", "--port",
                                      str(self.port), *SERVER_ARGS], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"llama-server exited with {self.proc.returncode}; log {log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"llama-server never became healthy; log {log_path}")
            time.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def server_tasks(log_path: Path) -> list[dict[str, Any]]:
    """Each request as the server logged it, in launch order: when it reached a slot (seconds from the first),
    prompt tokens it evaluated (cached ones excluded) and how long, tokens it generated and how long.

    From llama-server's ``--log-timestamps`` lines (``M.SS.mmm.uuu``): ``launch_slot_: ... | task N | processing
    task`` and the two ``print_timing`` lines ``prompt eval time = X ms / N tokens`` and ``eval time = ...``.
    """
    launches: dict[str, float] = {}
    tasks: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp = re.match(r"(\d+)\.(\d+)\.(\d+)\.(\d+) ", line)
        if not stamp:
            continue
        minutes, seconds, millis, micros = (int(part) for part in stamp.groups())
        at = minutes * 60 + seconds + millis / 1e3 + micros / 1e6
        if found := re.search(r"task (\d+) \| processing task", line):
            launches[found.group(1)] = at
        elif found := re.search(r"task (\d+) \| prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens", line):
            current = {"task": int(found.group(1)), "launched_s": launches.get(found.group(1)),
                       "prompt_eval_ms": float(found.group(2)), "prompt_eval_tokens": int(found.group(3))}
        elif (found := re.search(r"task (\d+) \|\s+eval time =\s+([\d.]+) ms /\s+(\d+) tokens", line)) and current:
            current.update(eval_ms=float(found.group(2)), generated_tokens=int(found.group(3)))
            tasks.append(current)
            current = {}
    first = min((task["launched_s"] for task in tasks if task["launched_s"] is not None), default=0.0)
    for task in tasks:
        if task["launched_s"] is not None:
            task["launched_s"] = round(task["launched_s"] - first, 3)
    return sorted(tasks, key=lambda task: (task["launched_s"] is None, task["launched_s"]))


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def server_view(tasks: list[dict[str, Any]], levels: list[int], requests: int) -> list[dict[str, Any]]:
    """The server's view of each engine's level, in launch order: our levels first (no warm-up: ``requests``
    each), then LLMPerf's, each ``requests + concurrency - 1`` requests: its threads' requests still in flight
    when the count is reached complete and are dropped (token_benchmark_ray.py, launch_request). When the
    server saw another number of requests the split is not made (an empty list)."""
    groups = [("builtin", level, requests) for level in levels] + \
        [("llmperf", level, requests + level - 1) for level in levels]
    if sum(count for _engine, _level, count in groups) != len(tasks):
        return []
    view, at = [], 0
    for engine, level, count in groups:
        group = tasks[at:at + count]
        at += count
        view.append({
            "engine": engine, "label": f"c{level}", "requests_at_server": len(group),
            "fully_cached_prompts": sum(1 for task in group if task["prompt_eval_tokens"] <= 1),
            "prompt_eval_tokens_median": _median([task["prompt_eval_tokens"] for task in group]),
            "prompt_eval_ms_median": _median([task["prompt_eval_ms"] for task in group]),
            "decode_ms_per_token_median": _median([task["eval_ms"] / task["generated_tokens"] for task in group
                                                   if task["generated_tokens"]]),
            "generated_tokens_mean": sum(task["generated_tokens"] for task in group) / len(group),
            "first_round_launch_spread_s": round(max(t["launched_s"] for t in group[:level])
                                                 - min(t["launched_s"] for t in group[:level]), 3),
        })
    return view


def run_role(url: str, levels: str, args: argparse.Namespace, work: Path, run_id: str) -> dict[str, Any]:
    playbook = work / "bench.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n")
    variables = {
        "benchmark_base_url": url, "benchmark_model": "demo", "benchmark_api_key": "demo",
        "benchmark_engine": "crosscheck", "benchmark_llmperf_archive": archive(),
        "benchmark_llmperf_tokenizer": "demo", "benchmark_concurrency": levels,
        "benchmark_max_requests": args.requests, "benchmark_warmup_requests": 0,
        "benchmark_mean_input_tokens": args.input_tokens, "benchmark_mean_output_tokens": args.output_tokens,
        "benchmark_correctness_requests": 0, "benchmark_server_slots": 4,
        "benchmark_results_dir": str(work / "results"), "benchmark_run_id": run_id,
        "benchmark_node_shape": "local",
    }
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections"),
           "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    result = subprocess.run([str(venv_bin / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                             "-e", json.dumps(variables)], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=3600, check=False)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-6000:] + result.stderr[-3000:])
    check = json.loads((work / "results" / run_id / "crosscheck.json").read_text())
    check["wall_s"] = round(time.monotonic() - started, 1)
    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--requests", type=int, default=6, help="measured requests per level, both engines")
    parser.add_argument("--input-tokens", type=int, default=100)
    parser.add_argument("--output-tokens", type=int, default=48)
    parser.add_argument("--layouts", default="shared,fresh")
    parser.add_argument("--output", required=True)
    parser.add_argument("--work-dir", default="", help="keep run folders and server logs here (default: a temp dir)")
    parser.add_argument("--reanalyse", action="store_true",
                        help="run nothing: recompute the server's view in --output from the logs kept in --work-dir")
    args = parser.parse_args()
    if args.reanalyse:
        record = json.loads(Path(args.output).read_text(encoding="utf-8"))
        for layout, runs in record["layouts"].items():
            for index, check in enumerate(runs):
                check["server_tasks"] = server_tasks(Path(args.work_dir, f"{layout}-{index}", "server.log"))
                check["server_view"] = server_view(check["server_tasks"], [lv["concurrency"] for lv in check["levels"]],
                                                   record["requests_per_level"])
        Path(args.output).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        return
    record: dict[str, Any] = {"recorded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                              "command": " ".join([Path(sys.executable).name, *sys.argv]),
                              "server_args": SERVER_ARGS, "requests_per_level": args.requests,
                              "input_tokens": args.input_tokens, "output_tokens": args.output_tokens,
                              "warmup_requests": 0, "layouts": {}}
    with tempfile.TemporaryDirectory(prefix="llmperf-crosscheck-") as scratch:
        tmp = args.work_dir or scratch
        for layout in args.layouts.split(","):
            groups = [args.levels] if layout == "shared" else args.levels.split(",")
            runs = []
            for index, levels in enumerate(groups):
                work = Path(tmp, f"{layout}-{index}")
                work.mkdir(parents=True)
                load_before = os.getloadavg()
                server = Server(work / "server.log")
                try:
                    check = run_role(server.url, levels, args, work, f"{layout}{index}")
                finally:
                    server.stop()
                check["load_average_1m"] = {"before": load_before[0], "after": os.getloadavg()[0]}
                check["server_tasks"] = server_tasks(work / "server.log")
                check["server_view"] = server_view(check["server_tasks"], [int(x) for x in levels.split(",")],
                                                   args.requests)
                runs.append(check)
                print(f"{layout} {levels}: {check['wall_s']} s, load {load_before[0]:.2f} -> "
                      f"{check['load_average_1m']['after']:.2f}", flush=True)
            record["layouts"][layout] = runs
    Path(args.output).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
