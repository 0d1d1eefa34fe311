# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vllm role's settings as vLLM server arguments, for the local process runtime (vLLM's CPU build).

The settings are the role's own variables, presets applied (the same values the Kubernetes Deployment renders).
On the CPU build some have no meaning; ``CPU_MAPPING`` says, for each, what the process runtime does instead,
and the role README shows that table. Nothing is dropped silently: ``cpu_notes`` lists what was dropped or
mapped for the settings given, and the role prints it.
"""

from __future__ import annotations

import re
from typing import Any

# setting -> (what the process runtime does, why). The role README's table is this one.
CPU_MAPPING: dict[str, tuple[str, str]] = {
    "gpu_memory_utilization": (
        "dropped; the KV cache size is vllm_cpu_kv_cache_gib (VLLM_CPU_KVCACHE_SPACE)",
        "a fraction of GPU memory; vLLM's CPU backend sizes its KV cache in GiB of host memory"),
    "tensor_parallel_size": (
        "dropped (one process)", "splits a model across GPUs; the demo runs one CPU process"),
    "download_dir": (
        "dropped", "a Hugging Face cache folder; the process runtime serves a local model folder"),
    "dtype": (
        "float16 mapped to bfloat16", "vLLM's CPU backend computes in bfloat16 or float32"),
    "enforce_eager": (
        "added (--enforce-eager)", "no CUDA graphs on CPU; skips torch.compile warm-up at start"),
    "block_size": (
        "--block-size vllm_cpu_block_size (0 = the CPU backend's own 128)",
        "prefix-cache hits land on whole KV blocks; 128-token blocks never reuse a shorter shared prompt head, and the "
        "CPU attention kernels take multiples of 32 only"),
}
# Flags the role sets itself: in vllm_extra_args they are refused, naming the variable to use.
ROLE_FLAGS: dict[str, str] = {
    "--model": "vllm_model",
    "--served-model-name": "vllm_served_model_name",
    "--host": "vllm_host (process runtime)",
    "--port": "vllm_port",
    "--dtype": "vllm_dtype",
    "--max-model-len": "vllm_max_model_len",
    "--gpu-memory-utilization": "vllm_gpu_memory_utilization",
    "--max-num-seqs": "vllm_max_num_seqs",
    "--tensor-parallel-size": "vllm_tensor_parallel_size",
    "--enable-prefix-caching": "vllm_enable_prefix_caching",
    "--no-enable-prefix-caching": "vllm_enable_prefix_caching",
    "--download-dir": "vllm_cache_size_gib / vllm_cache_pvc",
    "--shutdown-timeout": "vllm_drain_timeout_s",
}
# Flags the role sets on the process runtime only (on Kubernetes vllm_extra_args may set them).
PROCESS_ROLE_FLAGS: dict[str, str] = {"--block-size": "vllm_cpu_block_size (process runtime)"}
# vLLM's short aliases of those flags (its parser registers them too).
_ALIASES = {"-tp": "--tensor-parallel-size", "-O": None}


class VllmArgsError(ValueError):
    """A setting has a value the process runtime cannot use."""


def canonical_flag(argument: str) -> str | None:
    """The flag an argument names, in vLLM's dashed spelling ("--max_num_seqs=4" -> "--max-num-seqs")."""
    text = str(argument)
    if not text.startswith("-") or (len(text) > 1 and (text[1].isdigit() or text[1] == ".")):
        return None
    flag = text.split("=", 1)[0]
    if flag.startswith("--"):
        flag = "--" + flag[2:].replace("_", "-")
    return _ALIASES.get(flag, flag) or flag


def role_flag_conflicts(extra_args: list[Any], runtime: str = "kubernetes") -> list[str]:
    """One message per extra arg that sets a flag the role already sets on that runtime, naming the role variable."""
    role_flags = {**ROLE_FLAGS, **(PROCESS_ROLE_FLAGS if runtime == "process" else {})}
    problems = []
    for argument in extra_args:
        flag = canonical_flag(argument)
        if flag in role_flags:
            problems.append(f"vllm_extra_args: {argument} is set by the role; use {role_flags[flag]}")
    return problems


MODES = ("kubernetes", "process")


def server_args(settings: dict[str, Any], mode: str = "process") -> list[str]:
    """vLLM server arguments for the role's settings: one builder for both runtimes.

    ``kubernetes``: the Deployment's container args (``vllm serve`` on the GPU image): listens on every interface,
    GPU settings as given, the Hugging Face cache folder, the model revision when the weights come from the Hub.
    ``process``: ``python -m vllm.entrypoints.openai.api_server`` on vLLM's CPU build, ``CPU_MAPPING`` applied.
    Both keep one order: model, name, host, port, dtype, [GPU share], sequences, [tensor parallel, download dir,
    revision], context, prefix caching, [--enforce-eager], [--block-size], shutdown timeout, extra args.
    """
    if mode not in MODES:
        raise VllmArgsError(f"vllm args: mode {mode!r} is not one of {', '.join(MODES)}")
    gpu = mode == "kubernetes"
    if not settings.get("model"):
        raise VllmArgsError("vllm_model is empty" if gpu else "vllm process runtime needs a model folder")
    dtype = str(settings.get("dtype") or "auto")
    if not gpu and dtype in ("float16", "half"):
        dtype = "bfloat16"
    args = ["--model", str(settings["model"])]
    if settings.get("served_model_name"):
        args += ["--served-model-name", str(settings["served_model_name"])]
    host = str(settings.get("host") or ("0.0.0.0" if gpu else "127.0.0.1"))
    args += ["--host", host, "--port", str(int(settings["port"])), "--dtype", dtype]
    if gpu:
        args += ["--gpu-memory-utilization", str(settings["gpu_memory_utilization"])]
    args += ["--max-num-seqs", str(int(settings["max_num_seqs"]))]
    if gpu:
        args += ["--tensor-parallel-size", str(int(settings.get("tensor_parallel_size") or 1))]
        if settings.get("download_dir"):
            args += ["--download-dir", str(settings["download_dir"])]
        # A revision pins Hub weights and tokenizer; a local folder (url archive, PVC) has none.
        if settings.get("revision") and (settings.get("model_source") or "huggingface") == "huggingface":
            args += ["--revision", str(settings["revision"]), "--tokenizer-revision", str(settings["revision"])]
    if int(settings.get("max_model_len") or 0) > 0:
        args += ["--max-model-len", str(int(settings["max_model_len"]))]
    args.append("--enable-prefix-caching" if _truthy(settings.get("enable_prefix_caching", True))
                else "--no-enable-prefix-caching")
    if not gpu:
        args.append("--enforce-eager")
        if int(settings.get("block_size") or 0) > 0:
            args += ["--block-size", str(int(settings["block_size"]))]
    # vLLM's own drain on SIGTERM (0, its default, aborts running requests); the Deployment always says it.
    if gpu or int(settings.get("shutdown_timeout") or 0) > 0:
        args += ["--shutdown-timeout", str(int(settings.get("shutdown_timeout") or 0))]
    args += [str(extra) for extra in settings.get("extra_args") or []]
    return args


def process_args(settings: dict[str, Any]) -> list[str]:
    """Arguments of ``python -m vllm.entrypoints.openai.api_server`` for the role's settings on the CPU build."""
    return server_args(settings, "process")


def cpu_notes(settings: dict[str, Any]) -> list[str]:
    """What the process runtime dropped or mapped for these settings, one line each."""
    notes = []
    if settings.get("gpu_memory_utilization") not in (None, ""):
        notes.append(f"gpu_memory_utilization={settings['gpu_memory_utilization']}: "
                     f"{CPU_MAPPING['gpu_memory_utilization'][0]}")
    if int(settings.get("tensor_parallel_size") or 1) > 1:
        notes.append(f"tensor_parallel_size={settings['tensor_parallel_size']}: "
                     f"{CPU_MAPPING['tensor_parallel_size'][0]}")
    if str(settings.get("dtype")) in ("float16", "half"):
        notes.append(f"dtype={settings['dtype']}: {CPU_MAPPING['dtype'][0]}")
    return notes


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


_EXCEPTION_LINE = re.compile(
    r"^(?:\([A-Za-z]+ pid=\d+\)\s*)?(?:ERROR \S+ \S+ \[[^\]]*\]\s*)?"
    r"((?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)\b:?.*)$")


def last_error_line(text: str) -> str:
    """A server's own last error in a start failure's log tail: the last exception line (a traceback's end;
    a wrapper that points at the "root cause above" yields to the cause), else the last line logged at ERROR,
    else the last line."""
    text = str(text)
    if "\n=== " in text:  # local_process's log: only the last start counts
        text = text.rsplit("\n=== ", 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exceptions = [m.group(1) for m in map(_EXCEPTION_LINE.match, lines) if m]
    causes = [line for line in exceptions if "root cause above" not in line]
    if causes or exceptions:
        return (causes or exceptions)[-1]
    for line in reversed(lines):
        if " ERROR " in line:
            return line.split(" ERROR ", 1)[1]
    return lines[-1] if lines else "no output"
