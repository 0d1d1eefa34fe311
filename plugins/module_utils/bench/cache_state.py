# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prompt-cache state each level starts from: warm (kept) or cold (emptied through the server's own API).

``warm`` (the default) leaves the server's prompt cache as the earlier levels and this level's warm-up left it,
as production's replicas see it. ``cold`` empties it after the level's warm-up, just before its measured
requests (and before the cache counters are read), so the measured requests start from nothing cached:

- llama-server: ``POST /slots/<id>?action=erase`` for every slot ``GET /slots`` lists. In build b11434
  (tools/server/server-context.cpp, ``post_slots``) every slot action, erase included, answers 501 unless the
  server was started with ``--slot-save-path``; an erase of a busy slot is deferred until the slot is idle. The
  host-memory prompt cache (``--cache-ram``, 8192 MiB by default) has no route that empties it and restores a
  cached prompt into an erased slot (``server_prompt_cache::load``), so a cold run needs ``--cache-ram 0`` too.
- vLLM: ``POST /reset_prefix_cache``. In 0.32 it is a development route
  (vllm/entrypoints/launchers/api_server/routers.py registers it only when ``VLLM_SERVER_DEV_MODE=1``); it
  answers ``{"success": false}`` while blocks are still held, so it is retried briefly.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .client import OpenAIClient

WARM = "warm: server prompt cache kept from earlier levels (and this level's warm-up)"
LLAMA_HINT = ("start llama-server with --slot-save-path and --cache-ram 0 (the llama_cpp role does when "
              "llama_cpp_cache_reset is true)")
VLLM_HINT = "start vLLM with VLLM_SERVER_DEV_MODE=1 (the vllm role does when vllm_dev_mode is true)"


class CacheResetError(ValueError):
    """The server would not empty its prompt cache; the message names the cause and what to set."""


async def reset_prompt_cache(client: OpenAIClient, source: str = "", attempts: int = 20,
                             pause_s: float = 0.25) -> str:
    """Empty the server's prompt cache; how it was done, in words. ``source`` is the cache counters' source
    (``llama.cpp ...`` or ``vLLM ...``) when known, to name the right fix when both routes are missing."""
    root = client.root_path
    status, body = await client.fetch("POST", root + "/reset_prefix_cache", timeout_s=30.0)
    for _attempt in range(attempts):
        if status != 200:
            break
        if _success(body):
            return "cold: emptied before the level's measured requests by POST /reset_prefix_cache (vLLM)"
        await asyncio.sleep(pause_s)
        status, body = await client.fetch("POST", root + "/reset_prefix_cache", timeout_s=30.0)
    if status == 200:
        raise CacheResetError(f"POST /reset_prefix_cache kept answering success=false after {attempts} tries "
                              "(blocks still held by running requests)")
    slots_status, slots_body = await client.fetch("GET", root + "/slots", timeout_s=30.0)
    ids = _slot_ids(slots_body) if slots_status == 200 else None
    if not ids:
        hint = VLLM_HINT if source.startswith("vLLM") else (
            LLAMA_HINT if source.startswith("llama.cpp") else f"{VLLM_HINT}; or {LLAMA_HINT}")
        raise CacheResetError(f"the server offers no prompt-cache reset (POST /reset_prefix_cache: HTTP {status}; "
                              f"GET /slots: HTTP {slots_status}): {hint}")
    for slot in ids:
        erase_status, _body = await client.fetch("POST", f"{root}/slots/{slot}?action=erase", timeout_s=120.0)
        if erase_status != 200:
            raise CacheResetError(f"POST /slots/{slot}?action=erase answered HTTP {erase_status}: {LLAMA_HINT}")
    listed = ",".join(str(i) for i in ids)
    return (f"cold: emptied before the level's measured requests by POST /slots/<id>?action=erase for slots "
            f"{listed} (llama-server)")


def _success(body: bytes) -> bool:
    try:
        return bool(json.loads(body.decode("utf-8", "replace")).get("success"))
    except (ValueError, AttributeError):
        return False


def _slot_ids(body: bytes) -> list[int] | None:
    try:
        slots: Any = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return None
    if not isinstance(slots, list):
        return None
    ids = [s["id"] for s in slots if isinstance(s, dict) and isinstance(s.get("id"), int)]
    return ids or None
