# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that turns llama_cpp role settings into ``llama-server`` arguments.

Used by the ``llama_cpp_args`` filter for both the Kubernetes container args and the local process
command, so both runtimes start the server the same way. Secrets never become arguments: the API
key reaches the server through the ``LLAMA_API_KEY`` environment variable (from a Secret on
Kubernetes), which ``ps`` does not show.
"""

from __future__ import annotations

from typing import Any

FLASH_ATTN_CHOICES = ("auto", "on", "off")
# Settings a caller may pass; the value None (or "" for strings) means "leave llama-server's default".
KNOWN_SETTINGS = (
    "model", "alias", "host", "port", "threads", "threads_batch", "parallel", "ctx_size_per_slot",
    "batch_size", "ubatch_size", "cont_batching", "metrics", "flash_attn", "jinja", "webui", "warmup",
    "kv_unified", "slot_save_path", "cache_ram_mib", "extra_args",
)


class ServerArgsError(ValueError):
    """A setting has a value llama-server would reject."""


def _positive(settings: dict[str, Any], name: str) -> int | None:
    value = settings.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ServerArgsError(f"llama_cpp {name} must be an integer, not {value!r}") from None
    if number < 0:
        raise ServerArgsError(f"llama_cpp {name} must be >= 0, not {number}")
    return number or None  # 0 = llama-server's own default


def build_server_args(settings: dict[str, Any]) -> list[str]:
    """Return the llama-server argument list (without the program) for a dict of settings.

    ``ctx_size_per_slot`` is multiplied by ``parallel``: llama-server splits ``--ctx-size`` across
    its slots, and role users think in tokens per request.
    """
    unknown = sorted(set(settings) - set(KNOWN_SETTINGS))
    if unknown:
        raise ServerArgsError("unknown llama_cpp server settings: {}".format(", ".join(unknown)))
    if not settings.get("model"):
        raise ServerArgsError("llama_cpp needs a model path")
    args = ["--model", str(settings["model"])]
    if settings.get("alias"):
        args += ["--alias", str(settings["alias"])]
    if settings.get("host"):
        args += ["--host", str(settings["host"])]
    port = _positive(settings, "port")
    if port:
        args += ["--port", str(port)]
    args += _sizing_args(settings)
    flash_attn = settings.get("flash_attn") or "auto"
    if flash_attn not in FLASH_ATTN_CHOICES:
        choices = ", ".join(FLASH_ATTN_CHOICES)
        raise ServerArgsError(f"llama_cpp flash_attn must be one of {choices}, not {flash_attn!r}")
    if flash_attn != "auto":
        args += ["--flash-attn", flash_attn]
    args += _cache_reset_args(settings) + _switch_args(settings)
    for extra in settings.get("extra_args") or []:
        args.append(str(extra))
    return args


def _sizing_args(settings: dict[str, Any]) -> list[str]:
    """Threads, slots, context and batch sizes."""
    args: list[str] = []
    for name, flag in (("threads", "--threads"), ("threads_batch", "--threads-batch")):
        value = _positive(settings, name)
        if value:
            args += [flag, str(value)]
    parallel = _positive(settings, "parallel")
    if parallel:
        args += ["--parallel", str(parallel)]
    per_slot = _positive(settings, "ctx_size_per_slot")
    if per_slot:
        args += ["--ctx-size", str(per_slot * (parallel or 1))]
    batch = _positive(settings, "batch_size")
    ubatch = _positive(settings, "ubatch_size")
    if batch and ubatch and ubatch > batch:
        raise ServerArgsError(f"llama_cpp ubatch_size ({ubatch}) cannot exceed batch_size ({batch})")
    if batch:
        args += ["--batch-size", str(batch)]
    if ubatch:
        args += ["--ubatch-size", str(ubatch)]
    return args


def _cache_reset_args(settings: dict[str, Any]) -> list[str]:
    """What the benchmark's cold option needs to empty the prompt cache."""
    args: list[str] = []
    if settings.get("slot_save_path"):
        # enables the /slots actions; the benchmark's cold option erases slots through it (b11434's post_slots
        # answers 501 to every action, erase included, without it)
        args += ["--slot-save-path", str(settings["slot_save_path"])]
    cache_ram = settings.get("cache_ram_mib")
    if cache_ram is not None and cache_ram != "":
        # the host-memory prompt cache (b11434: default 8192 MiB); no route empties it, and it restores a prompt
        # into an erased slot, so a cold benchmark needs it off (0)
        args += ["--cache-ram", str(int(cache_ram))]
    return args


def _switch_args(settings: dict[str, Any]) -> list[str]:
    """Booleans: None leaves the server default; True/False always emit the explicit flag."""
    args: list[str] = []
    for name, on, off in (("cont_batching", "--cont-batching", "--no-cont-batching"),
                          ("metrics", "--metrics", None),
                          ("jinja", "--jinja", "--no-jinja"),
                          ("webui", None, "--no-webui"),
                          ("warmup", None, "--no-warmup"),
                          ("kv_unified", "--kv-unified", None)):
        value = settings.get(name)
        if value is None:
            continue
        flag = on if _truthy(value) else off
        if flag:
            args.append(flag)
    return args


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
