# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record the cross-check (our engine beside upstream LLMPerf) on the demo llama-server (issue 17) or vLLM (issue 23).

``--backend llama`` (default): the demo llama-server, the chatbot-sized workload below. ``--backend vllm``: the
real vLLM CPU server started by the vllm role's process runtime (rag preset, ``vllm_max_num_seqs: 4``, the demo
HF model), the RAG-shaped workload of ``make demo`` (1,500 in / 50 out), LLMPerf counting with the model's own
tokenizer (``benchmark_llmperf_tokenizer_dir``); each level's prompt-cache share comes from vLLM's own
prefix-cache counters (names checked on the running server's /metrics), and a sampler of the server's /metrics
splits vLLM's own per-request timings (queue, prefill, decode; recorded when a request finishes) by engine and
level, from the finished-request counter (see ``vllm_server_view``).

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
    .venv/bin/python benchmarks/llmperf_crosscheck.py --backend vllm --layouts shared \
        --output benchmarks/results/llmperf_crosscheck_vllm.json
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
import threading
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


def _role_playbook(work: Path, role: str) -> Path:
    playbook = work / f"{role}.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        f"    - ansible.builtin.include_role:\n        name: llmops.oke.{role}\n")
    return playbook


def _ansible(playbook: Path, variables: dict[str, Any], timeout: float) -> subprocess.CompletedProcess[str]:
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections"),
           "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"}
    return subprocess.run([str(venv_bin / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", json.dumps(variables)], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# vLLM's per-request figures, recorded when a request finishes (v1 engine, vllm/v1/metrics/loggers.py: the
# request_* histograms and request_success_total), so a level's deltas are its own requests' even when the next
# level has begun; prompt_tokens_total, generation_tokens_total and the prefix-cache counters move per engine step.
VLLM_SAMPLED = ("vllm:request_success_total", "vllm:request_prompt_tokens_sum", "vllm:request_generation_tokens_sum",
                "vllm:request_prefill_kv_computed_tokens_sum", "vllm:request_queue_time_seconds_sum",
                "vllm:request_prefill_time_seconds_sum", "vllm:request_decode_time_seconds_sum",
                "vllm:e2e_request_latency_seconds_sum", "vllm:prefix_cache_queries_total",
                "vllm:prefix_cache_hits_total")


class VllmServer:
    """The real vLLM CPU server, started and stopped by the vllm role's process runtime (rag preset)."""

    model_name = "llama-3.2-1b-instruct"  # the rag preset's served name

    def __init__(self, log_path: Path) -> None:
        self.work = log_path.parent
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.playbook = _role_playbook(self.work, "vllm")
        wheels = "/opt/wheels" if Path("/opt/wheels").is_dir() else ""
        self.variables = {"vllm_runtime": "process", "vllm_preset": "rag", "vllm_port": self.port,
                          "vllm_name": "crosscheck", "vllm_run_dir": str(self.work / "vllm-run"),
                          "vllm_max_num_seqs": 4, "vllm_cpu_torch_wheel_dir": wheels}
        self.log_path = log_path
        result = _ansible(self.playbook, self.variables, 3000)
        if result.returncode != 0:
            self.stop()
            raise SystemExit("vllm role failed: " + result.stdout[-4000:])
        record = json.loads((self.work / "vllm-run" / "crosscheck.pid").read_text())
        self.command = record["command"]
        self.model_dir = self.command[self.command.index("--model") + 1]
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            text = response.read().decode()
        self.metric_names = sorted(set(re.findall(r"^(vllm:[A-Za-z0-9_:]+)", text, re.MULTILINE)))
        from ansible_collections.llmops.oke.plugins.module_utils.bench.metrics import VLLM_HITS, VLLM_QUERIES

        missing = [name for name in (VLLM_HITS, VLLM_QUERIES) if name not in self.metric_names]
        if missing:
            self.stop()
            raise SystemExit(f"the running vLLM has no {', '.join(missing)} on /metrics: {self.metric_names}")
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        from ansible_collections.llmops.oke.plugins.module_utils.bench.metrics import parse_prometheus_text

        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
                    parsed = parse_prometheus_text(response.read().decode())
                self.samples.append({"t": time.time(), **{name: parsed.get(name, 0.0) for name in VLLM_SAMPLED}})
            except OSError:
                pass
            self._stop.wait(0.25)

    def stop(self) -> None:
        if hasattr(self, "_stop"):
            self._stop.set()
            self._sampler.join(10)
        _ansible(self.playbook, {**self.variables, "vllm_state": "absent"}, 300)
        log = self.work / "vllm-run" / "crosscheck.log"
        if log.is_file():
            self.log_path.write_bytes(log.read_bytes())


def vllm_server_view(samples: list[dict[str, float]], levels: list[int], requests: int) -> list[dict[str, Any]]:
    """vLLM's own view of each engine's level, from its /metrics sampled every 0.25 s during the run.

    Levels run one after the other (ours, then LLMPerf's) and each ends when its requests have finished, so the
    finished-request counter (vllm:request_success_total) splits the run: ours ``requests`` per level (no warm-up),
    LLMPerf's ``requests + concurrency - 1`` (its in-flight requests finish and are dropped). A level's figures are
    the counter deltas between the first samples at or past its start and end counts; ``exact`` says both samples
    hit the counts (no request of a neighbouring level inside the window). vLLM records queue, prefill and decode
    time per request when it finishes, so these deltas belong to the level's own requests.
    """
    groups = [("builtin", level, requests) for level in levels] + \
        [("llmperf", level, requests + level - 1) for level in levels]
    if not samples:
        return []
    base = samples[0]["vllm:request_success_total"]
    total = sum(count for _engine, _level, count in groups)
    if samples[-1]["vllm:request_success_total"] - base != total:
        return []

    def at(count: float) -> dict[str, float]:
        return next(sample for sample in samples if sample["vllm:request_success_total"] - base >= count)

    view, done = [], 0
    for engine, level, count in groups:
        first, last = at(done), at(done + count)
        done += count
        delta = {name: last[name] - first[name] for name in VLLM_SAMPLED}
        finished = delta["vllm:request_success_total"] or 1
        prompt = delta["vllm:request_prompt_tokens_sum"]
        generated = delta["vllm:request_generation_tokens_sum"]
        view.append({
            "engine": engine, "label": f"c{level}", "requests_finished": int(delta["vllm:request_success_total"]),
            "exact": first["vllm:request_success_total"] - base == done - count
            and last["vllm:request_success_total"] - base == done,
            "prompt_tokens_per_request": round(prompt / finished, 1),
            "prefill_computed_tokens_per_request": round(delta["vllm:request_prefill_kv_computed_tokens_sum"]
                                                         / finished, 1),
            "cached_prompt_share": round(1 - delta["vllm:request_prefill_kv_computed_tokens_sum"] / prompt, 3)
            if prompt else None,
            "generated_tokens_per_request": round(generated / finished, 1),
            "queue_ms_mean": round(1000 * delta["vllm:request_queue_time_seconds_sum"] / finished, 2),
            "prefill_ms_mean": round(1000 * delta["vllm:request_prefill_time_seconds_sum"] / finished, 2),
            # decode time runs from the first token to the last: (generated - 1) steps per request
            "decode_ms_per_token_mean": round(1000 * delta["vllm:request_decode_time_seconds_sum"]
                                              / max(generated - finished, 1), 3),
            "e2e_ms_mean": round(1000 * delta["vllm:e2e_request_latency_seconds_sum"] / finished, 2),
            "window_s": round(last["t"] - first["t"], 2),
        })
    return view


# Agreement criteria on vLLM (benchmarks/results/llmperf_crosscheck_vllm.md says why these values)
OUTSIDE_SERVER_TTFT_MS = 20.0
ITL_PREDICTION_BAND = (0.65, 1.35)


def vllm_agreement(check: dict[str, Any], results: Path, run_id: str) -> list[dict[str, Any]]:
    """Per level, what the criteria compare, from both engines' summaries and vLLM's own per-request figures.

    - TTFT outside the server: the engine's mean TTFT minus vLLM's mean queue + prefill time for its requests;
      the two engines agree when these differ by at most OUTSIDE_SERVER_TTFT_MS.
    - ITL against the server: each engine's ITL p50 in LLMPerf's definition over what vLLM's figures predict,
      (mean TTFT + (generated - 1) x decode ms/token) / tokens counted; inside ITL_PREDICTION_BAND for both.
    - LLMPerf's throughput window (completed / requests per minute) beside its requests' busy time (sum of e2e / c).
    """
    views = {(view["engine"], view["label"]): view for view in check.get("server_view", [])}
    ours = json.loads((results / run_id / "summary.json").read_text(encoding="utf-8"))
    ours_levels = {level["label"]: level["summary"] for level in ours["levels"]}
    rows = []
    for level in check["levels"]:
        label = level["label"]
        if ("builtin", label) not in views or ("llmperf", label) not in views:
            continue
        theirs = json.loads(next((results / f"{run_id}-llmperf" / "llmperf" / label).glob("*_summary.json"))
                            .read_text(encoding="utf-8"))
        ttft = {"builtin": ours_levels[label]["ttft_s"]["mean"] * 1000,
                "llmperf": float(theirs["results_ttft_s_mean"]) * 1000}
        itl = {"builtin": level["builtin"]["itl_p50_llmperf_definition_s"] * 1000,
               "llmperf": level["llmperf"]["itl_p50_s"] * 1000}
        row: dict[str, Any] = {"label": label}
        for engine in ("builtin", "llmperf"):
            view = views[(engine, label)]
            row[engine] = {
                "ttft_mean_ms": round(ttft[engine], 1),
                "outside_server_ttft_ms": round(ttft[engine] - view["queue_ms_mean"] - view["prefill_ms_mean"], 1),
                "itl_p50_llmperf_definition_ms": round(itl[engine], 2),
                "itl_over_server_prediction": round(itl[engine] / (
                    (ttft[engine] + (view["generated_tokens_per_request"] - 1) * view["decode_ms_per_token_mean"])
                    / level[engine]["output_tokens_mean"]), 2),
                "prompt_cache_share": level[engine]["prompt_cache_share"],
            }
        completed = float(theirs["results_num_completed_requests"])
        window = completed / (float(theirs["results_num_completed_requests_per_min"]) / 60)
        busy = float(theirs["results_end_to_end_latency_s_mean"]) * completed / level["concurrency"]
        gap = row["llmperf"]["outside_server_ttft_ms"] - row["builtin"]["outside_server_ttft_ms"]
        low, high = ITL_PREDICTION_BAND
        row.update({
            "outside_server_ttft_difference_ms": round(gap, 1),
            "caches_aligned": abs((row["llmperf"]["prompt_cache_share"] or 0)
                                  - (row["builtin"]["prompt_cache_share"] or 0)) < 0.1,
            "ttft_criterion_holds": abs(gap) <= OUTSIDE_SERVER_TTFT_MS,
            "itl_criterion_holds": all(low <= row[e]["itl_over_server_prediction"] <= high
                                       for e in ("builtin", "llmperf")),
            "llmperf_window_s": round(window, 2), "llmperf_busy_s": round(busy, 2),
            "builtin_level_wall_s": round(ours_levels[label]["duration_s"], 2),
        })
        rows.append(row)
    return rows


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


def run_role(server: Any, levels: str, args: argparse.Namespace, work: Path, run_id: str) -> dict[str, Any]:
    playbook = _role_playbook(work, "benchmark")
    if isinstance(server, VllmServer):
        served = {"benchmark_model": server.model_name, "benchmark_backend": "vllm", "benchmark_preset": "rag",
                  "benchmark_llmperf_tokenizer_dir": server.model_dir}
    else:
        served = {"benchmark_model": "demo", "benchmark_llmperf_tokenizer": "demo"}
    variables = {
        "benchmark_base_url": server.url, "benchmark_api_key": "demo", **served,
        "benchmark_engine": "crosscheck", "benchmark_llmperf_archive": archive(),
        "benchmark_concurrency": levels,
        "benchmark_max_requests": args.requests, "benchmark_warmup_requests": 0,
        "benchmark_mean_input_tokens": args.input_tokens, "benchmark_mean_output_tokens": args.output_tokens,
        "benchmark_correctness_requests": 0, "benchmark_server_slots": 4,
        "benchmark_results_dir": str(work / "results"), "benchmark_run_id": run_id,
        "benchmark_node_shape": "local",
    }
    started = time.monotonic()
    result = _ansible(playbook, variables, 3600)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-6000:] + result.stderr[-3000:])
    check = json.loads((work / "results" / run_id / "crosscheck.json").read_text())
    check["wall_s"] = round(time.monotonic() - started, 1)
    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["llama", "vllm"], default="llama",
                        help="llama: the demo llama-server, chatbot-sized; vllm: the vllm role's real CPU server, "
                             "RAG-shaped (defaults 1500 in / 50 out)")
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--requests", type=int, default=6, help="measured requests per level, both engines")
    parser.add_argument("--input-tokens", type=int, default=0, help="default 100 (llama), 1500 (vllm)")
    parser.add_argument("--output-tokens", type=int, default=0, help="default 48 (llama), 50 (vllm)")
    parser.add_argument("--layouts", default="shared,fresh")
    parser.add_argument("--output", required=True)
    parser.add_argument("--work-dir", default="", help="keep run folders and server logs here (default: a temp dir)")
    parser.add_argument("--reanalyse", action="store_true",
                        help="run nothing: recompute the server's view in --output from the logs kept in --work-dir")
    args = parser.parse_args()
    vllm = args.backend == "vllm"
    args.input_tokens = args.input_tokens or (1500 if vllm else 100)
    args.output_tokens = args.output_tokens or (50 if vllm else 48)
    sys.path.insert(0, str(REPO_ROOT / "build" / "collections"))
    if args.reanalyse:
        record = json.loads(Path(args.output).read_text(encoding="utf-8"))
        for layout, runs in record["layouts"].items():
            for index, check in enumerate(runs):
                levels = [lv["concurrency"] for lv in check["levels"]]
                if record.get("backend") == "vllm":
                    samples = json.loads(Path(args.work_dir, f"{layout}-{index}", "server_samples.json").read_text())
                    check["server_view"] = vllm_server_view(samples, levels, record["requests_per_level"])
                    check["agreement"] = vllm_agreement(check, Path(args.work_dir, f"{layout}-{index}", "results"),
                                                        f"{layout}{index}")
                    continue
                check["server_tasks"] = server_tasks(Path(args.work_dir, f"{layout}-{index}", "server.log"))
                check["server_view"] = server_view(check["server_tasks"], [lv["concurrency"] for lv in check["levels"]],
                                                   record["requests_per_level"])
        Path(args.output).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        return
    record: dict[str, Any] = {"recorded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                              "command": " ".join([Path(sys.executable).name, *sys.argv]),
                              "backend": args.backend, "host": {"cpus": os.cpu_count()},
                              "server_args": None if vllm else SERVER_ARGS, "requests_per_level": args.requests,
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
                server = (VllmServer if vllm else Server)(work / "server.log")
                try:
                    check = run_role(server, levels, args, work, f"{layout}{index}")
                finally:
                    server.stop()
                check["load_average_1m"] = {"before": load_before[0], "after": os.getloadavg()[0]}
                level_list = [int(x) for x in levels.split(",")]
                if vllm:
                    check["server_command"] = server.command
                    check["server_metric_names"] = server.metric_names
                    # the raw samples (4 a second) stay in the work dir, for --reanalyse
                    (work / "server_samples.json").write_text(json.dumps(server.samples), encoding="utf-8")
                    check["server_view"] = vllm_server_view(server.samples, level_list, args.requests)
                    check["agreement"] = vllm_agreement(check, work / "results", f"{layout}{index}")
                else:
                    check["server_tasks"] = server_tasks(work / "server.log")
                    check["server_view"] = server_view(check["server_tasks"], level_list, args.requests)
                runs.append(check)
                print(f"{layout} {levels}: {check['wall_s']} s, load {load_before[0]:.2f} -> "
                      f"{check['load_average_1m']['after']:.2f}", flush=True)
            record["layouts"][layout] = runs
    Path(args.output).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
