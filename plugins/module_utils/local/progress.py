# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A one-line progress file for a long module run asynchronously (``async:`` + ``poll: 0``).

The engine rewrites the file whole (write, then rename) at each step, so the role's poll task, which
reads it between ``async_status`` calls, never sees half a line. Plain Python (no Ansible imports).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ..bench.fileio import atomic_write_text


class ProgressFile:
    """``update(step=..., detail=...)`` replaces the file with ``{"started": epoch, "updated": epoch, ...}``."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.started = time.time()
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    def update(self, **fields: Any) -> None:
        if not self.path:
            return
        record = {"started": self.started, "updated": time.time(), **fields}
        atomic_write_text(self.path, json.dumps(record), 0o644)


def describe_step(text: str) -> str:
    """What a reader of the file prints: ``step 4/5 compile 45%``; ``starting`` for a file not (fully) written yet."""
    try:
        record = json.loads(text)
        line = f"step {record['step_number']}/{record['steps']} {record['step']}"
    except (ValueError, KeyError, TypeError):
        return "starting"
    return f"{line} {record['detail']}" if record.get("detail") else line
