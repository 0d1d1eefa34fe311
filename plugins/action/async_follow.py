# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow a task started with ``async:`` and ``poll: 0`` to its end, printing its progress file every interval_s.

Documented in plugins/modules/async_follow.py.
"""

from __future__ import annotations

import base64
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import last_progress
from ansible_collections.llmops.oke.plugins.module_utils.progress import describe_step
from ansible_collections.llmops.oke.plugins.plugin_utils.follow import FollowAction

# progress_format -> (what the progress file's text says, what to print before the run has written any)
FORMATS = {
    "benchmark": (lambda text: last_progress(text.splitlines()), "preparing (prompts, warm-up, correctness checks)"),
    "build_step": (describe_step, "starting"),
}


class ActionModule(FollowAction):
    ARGUMENT_SPEC = {
        "jid": {"type": "str", "required": True},
        "label": {"type": "str", "required": True},
        "progress_path": {"type": "str", "required": True},
        "progress_format": {"type": "str", "required": True, "choices": sorted(FORMATS)},
    }

    def look(self, args: dict[str, Any], task_vars: dict[str, Any], elapsed_s: int) -> tuple[dict | None, str]:
        status = self.run_task("ansible.builtin.async_status", {"jid": args["jid"]}, task_vars)
        if status.get("finished") or status.get("failed"):
            return status, ""
        read, before_any = FORMATS[args["progress_format"]]
        progress = self.run_task("ansible.builtin.slurp", {"src": args["progress_path"]}, task_vars)
        text = read(base64.b64decode(progress["content"]).decode("utf-8", "replace")) if "content" in progress else ""
        return None, f"{args['label']}: {text or before_any} ({elapsed_s} s elapsed)"
