# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vLLM (CPU build) vs llama.cpp on this machine: output and total tokens/s per core, same workload (issue 23).

Each backend's real server is started here pinned to the same cores (``taskset``), one at a time (the other is
stopped), and given the same requests:

- the same model shape: the vllm role's demo model (Llama, 2 layers x 256, 4 heads / 2 KV heads, feed-forward 704,
  vocab 2,048, 16-bit weights: vLLM serves it as bfloat16 on a CPU) and a GGUF generated with the same shape and
  vocab size in f16 (``gguf_demo``); the weights and tokenizers differ (both random, each its own vocabulary);
- the same token counts in and out: every prompt is a list of token ids sent to ``/v1/completions`` (no chat
  template, no tokenizer in between), random ids from a range both vocabularies hold, so no two prompts share a
  prefix (neither server's prompt cache helps); ``max_tokens`` with ``ignore_eos`` fixes the answer length; each
  response's ``usage`` is checked against the targets and recorded;
- the same concurrency levels and request counts, 4 sequences at once in both (``-np 4`` / ``--max-num-seqs 4``),
  the same number of compute threads as pinned cores (``-t``/``-tb``; the vllm role's ``vllm_cpu_threads``).

vLLM is started by the vllm role's process runtime (rag preset, its args), llama-server from the cached build with
the flags below. The client runs on the cores the servers do not use when there are any (``--cores`` below the
machine's count), so its own work does not land on the measured cores. Per level: wall time, output and total
tokens/s and per core, the server's own CPU time (all its processes' user+system time from /proc) and tokens per
server CPU-second, and the 1-minute load average before and after. These are this machine's figures for two
tiny random-weight models, not a claim about an A10 or an A1 shape.

    .venv/bin/python benchmarks/backend_per_core.py --output benchmarks/results/backend_per_core.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import random
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
sys.path.insert(0, str(REPO_ROOT / "build" / "collections"))
from ansible_collections.llmops.oke.plugins.module_utils.local.process import start, stop  # noqa: E402

# The vllm role's demo model (hf_demo.DEFAULTS) as a GGUF: same shape and vocab size, 16-bit weights.
GGUF_SHAPE = {"block_count": 2, "embedding_length": 256, "feed_forward_length": 704, "head_count": 4,
              "head_count_kv": 2, "vocab_size": 2048, "weight_type": "f16", "context_length": 4096, "seed": 1234}
# Token ids both vocabularies hold as ordinary pieces (past the specials and the byte tokens of each).
TOKEN_RANGE = (300, 2000)
SLOTS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """pid and every process below it (vLLM runs its engine core in a child process)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of pid and its descendants (all their threads), from /proc/<pid>/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in _descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / ticks


def cpu_times(cpus: list[int]) -> tuple[float, float]:
    """(total, idle + iowait) seconds so far of these CPUs, from /proc/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = idle = 0
    with open("/proc/stat", encoding="utf-8") as handle:
        for line in handle:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                values = [int(value) for value in fields[:8]]
                total += sum(values)
                idle += values[3] + values[4]
    return total / ticks, idle / ticks


def affinity(pid: int) -> list[str]:
    """The distinct CPU lists every thread of pid's process tree may run on."""
    lists = set()
    for each in _descendants(pid):
        for task in Path(f"/proc/{each}/task").glob("*"):
            try:
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("Cpus_allowed_list:"):
                        lists.add(line.split(":", 1)[1].strip())
            except OSError:
                continue
    return sorted(lists)


class LlamaServer:
    name = "llama.cpp"

    def __init__(self, work: Path, cpus: str, threads: int, context: int) -> None:
        from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import ensure_model
        from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import ensure_llama_server

        build = ensure_llama_server(CACHE)
        model = ensure_model(os.path.join(CACHE, "models"), GGUF_SHAPE)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.model_name = "demo"
        self.args = ["-m", model["path"], "--host", "127.0.0.1", "--port", str(self.port), "-a", "demo",
                     "-np", str(SLOTS), "-c", str(context * SLOTS), "-t", str(threads), "-tb", str(threads)]
        self.describe = {"binary": build["path"], "build": build.get("key"), "model": model["path"],
                         "model_parameters": model.get("parameters"), "args": self.args}
        self.pidfile = str(work / "llama-server.pid")
        # taskset execs the server, so the recorded pid is llama-server's own
        self.pid = start(["taskset", "-c", cpus, build["path"], *self.args], None, self.pidfile,
                         str(work / "llama-server.log"), self.url + "/health", 180)["pid"]

    def stop(self) -> None:
        stop(self.pidfile, 20)


class VllmServer:
    name = "vllm"

    def __init__(self, work: Path, cpus: str, threads: int, context: int) -> None:
        del context  # the rag preset's max_model_len (2,304) holds the workload
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.model_name = "llama-3.2-1b-instruct"
        self.playbook = work / "vllm.yml"
        self.playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                                 "    - ansible.builtin.include_role:\n        name: llmops.oke.vllm\n")
        self.variables = {"vllm_runtime": "process", "vllm_preset": "rag", "vllm_port": self.port,
                          "vllm_name": "percore", "vllm_run_dir": str(work / "vllm-run"),
                          "vllm_max_num_seqs": SLOTS, "vllm_cpu_threads": threads,
                          "vllm_cpu_torch_wheel_dir": "/opt/wheels" if Path("/opt/wheels").is_dir() else ""}
        self.cpus = cpus
        result = self._role(self.variables)
        if result.returncode != 0:
            self._role({**self.variables, "vllm_state": "absent"})
            raise SystemExit("vllm role failed: " + result.stdout[-4000:])
        record = json.loads((work / "vllm-run" / "percore.pid").read_text())
        self.pid = record["pid"]
        self.describe = {"command": record["command"], "env_threads": threads}

    def _role(self, variables: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        venv_bin = Path(sys.executable).parent
        env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections"),
               "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"}
        # the server the role starts inherits the playbook's CPU affinity (fork/exec keep it)
        return subprocess.run(["taskset", "-c", self.cpus, str(venv_bin / "ansible-playbook"), "-i", "localhost,",
                               "-c", "local", str(self.playbook), "-e", json.dumps(variables)], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=3000, check=False)

    def stop(self) -> None:
        self._role({**self.variables, "vllm_state": "absent"})


def prompts(count: int, length: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(*TOKEN_RANGE) for _token in range(length)] for _prompt in range(count)]


def complete(server: Any, prompt: list[int], output_tokens: int) -> dict[str, Any]:
    body = json.dumps({"model": server.model_name, "prompt": prompt, "max_tokens": output_tokens,
                       "temperature": 0, "ignore_eos": True, "stream": False}).encode()
    request = urllib.request.Request(server.url + "/v1/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer demo"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=600) as response:
        answer = json.loads(response.read())
    return {"seconds": time.monotonic() - started, "usage": answer["usage"]}


def run_level(server: Any, level: int, batch: list[list[int]], output_tokens: int, cores: int,
              server_cpus: list[int]) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    cpu_before = cpu_seconds(server.pid)
    total_before, idle_before = cpu_times(server_cpus)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(level) as pool:
        results = list(pool.map(lambda prompt: complete(server, prompt, output_tokens), batch))
    wall = time.monotonic() - started
    server_cpu = cpu_seconds(server.pid) - cpu_before
    total_after, idle_after = cpu_times(server_cpus)
    span = (total_after - total_before) or 1.0
    prompt_tokens = sum(r["usage"]["prompt_tokens"] for r in results)
    output = sum(r["usage"]["completion_tokens"] for r in results)
    return {
        "concurrency": level, "requests": len(results), "wall_s": round(wall, 3),
        "prompt_tokens": prompt_tokens, "output_tokens": output,
        "prompt_tokens_per_request": sorted({r["usage"]["prompt_tokens"] for r in results}),
        "output_tokens_per_request": sorted({r["usage"]["completion_tokens"] for r in results}),
        "output_tok_s": round(output / wall, 1), "total_tok_s": round((prompt_tokens + output) / wall, 1),
        "output_tok_s_per_core": round(output / wall / cores, 1),
        "total_tok_s_per_core": round((prompt_tokens + output) / wall / cores, 1),
        "server_cpu_s": round(server_cpu, 2),
        "output_tok_per_server_cpu_s": round(output / server_cpu, 1) if server_cpu else None,
        "total_tok_per_server_cpu_s": round((prompt_tokens + output) / server_cpu, 1) if server_cpu else None,
        # how the server's cores spent the level: our server, idle, everything else (other work on the host,
        # the client where it shares them)
        "server_cores_share": {"server": round(server_cpu / span, 3),
                               "idle": round((idle_after - idle_before) / span, 3),
                               "other": round(1 - server_cpu / span - (idle_after - idle_before) / span, 3)},
        "latency_s_mean": round(sum(r["seconds"] for r in results) / len(results), 3),
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }


def measure(backend: type, args: argparse.Namespace, cores: int, work: Path) -> dict[str, Any]:
    total_cpus = os.cpu_count() or 1
    cpus = ",".join(str(total_cpus - 1 - i) for i in reversed(range(cores)))  # the highest-numbered cores
    client = set(range(total_cpus - cores)) or set(range(total_cpus))
    os.sched_setaffinity(0, client)
    load_before = os.getloadavg()
    started = time.monotonic()
    server = backend(work, cpus, cores, args.input_tokens + args.output_tokens + 16)
    start_s = time.monotonic() - started
    try:
        record = {"backend": backend.name, "cores": cores, "server_cpus": cpus,
                  "client_cpus": ",".join(str(c) for c in sorted(client)),
                  "client_shares_server_cores": bool(client & {int(c) for c in cpus.split(",")}),
                  "server": server.describe, "server_thread_affinity": affinity(server.pid),
                  "start_s": round(start_s, 1), "load_average_at_start": [round(x, 2) for x in load_before],
                  "levels": []}
        for prompt in prompts(args.warmup, args.input_tokens, 999):
            complete(server, prompt, args.output_tokens)
        for index, level in enumerate(args.levels):
            batch = prompts(args.requests * level, args.input_tokens, 1000 + index)
            result = run_level(server, level, batch, args.output_tokens, cores,
                               [int(cpu) for cpu in cpus.split(",")])
            record["levels"].append(result)
            print(f"{backend.name} {cores} core(s) c{level}: {result['output_tok_s_per_core']} out tok/s/core, "
                  f"{result['total_tok_s_per_core']} total tok/s/core, load {result['load_average_1m']}", flush=True)
    finally:
        server.stop()
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cores", default="1", help="comma list: cores each server is pinned to, per run")
    parser.add_argument("--levels", default="1,4")
    parser.add_argument("--requests", type=int, default=6, help="requests per level = this x the concurrency")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--input-tokens", type=int, default=256)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument("--backends", default="llama,vllm")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    backends = {"llama": LlamaServer, "vllm": VllmServer}
    with open("/proc/loadavg", encoding="utf-8") as handle:
        loadavg = handle.read().split()
    record: dict[str, Any] = {
        "recorded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "host": {"cpus": os.cpu_count(), "load_average_at_start": loadavg[:3], "uname": os.uname().release},
        "workload": {"input_tokens": args.input_tokens, "output_tokens": args.output_tokens, "levels": args.levels,
                     "requests_per_level": {f"c{level}": args.requests * level for level in args.levels},
                     "warmup_requests": args.warmup, "slots": SLOTS, "token_id_range": list(TOKEN_RANGE)},
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="backend-per-core-") as tmp:
        for cores in (int(x) for x in args.cores.split(",")):
            for name in args.backends.split(","):
                work = Path(tmp, f"{name}-{cores}")
                work.mkdir()
                record["runs"].append(measure(backends[name], args, cores, work))
    Path(args.output).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
