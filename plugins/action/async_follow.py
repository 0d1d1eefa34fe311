# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow a task started with ``async:`` and ``poll: 0`` to its end, printing its progress file every interval_s.

Documented in plugins/modules/async_follow.py.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import last_progress
from ansible_collections.llmops.oke.plugins.module_utils.local.progress import describe_step
from ansible_collections.llmops.oke.plugins.plugin_utils.follow import FollowAction

# What ansible-core's async_wrapper writes when a job outlives its async time limit, after a SIGKILL to the job's
# process group (ansible/modules/async_wrapper.py: res = {'msg': 'Timeout exceeded', 'failed': True, ...}).
ASYNC_TIMEOUT = "Timeout exceeded"

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
        "time_limit_s": {"type": "int"},
        "time_limit_name": {"type": "str"},
    }

    def ended(self, args: dict[str, Any]) -> Callable[[], bool] | None:
        """On a local connection without become, the job's file in the async dir is this user's file here: the
        async wrapper rewrites it whole (write, then rename) with the module's result, which has no ``started``
        key, when the job ends (ansible/modules/async_wrapper.py, async_status.py). Elsewhere: None."""
        if not getattr(self._connection, "_load_name", "").endswith("local") or self._play_context.become:
            return None
        job_file = os.path.join(os.path.expanduser(self.get_shell_option("async_dir", default="~/.ansible_async")),
                                args["jid"])

        def over() -> bool:
            try:
                with open(job_file, encoding="utf-8") as handle:
                    data = json.load(handle)
            except (OSError, ValueError):
                return False
            return isinstance(data, dict) and ("started" not in data or bool(data.get("finished")))

        return over

    def look(self, args: dict[str, Any], task_vars: dict[str, Any], elapsed_s: int) -> tuple[dict | None, str]:
        status = self.run_task("ansible.builtin.async_status", {"jid": args["jid"]}, task_vars)
        if status.get("finished") or status.get("failed"):
            # its result is read: the job file in the async dir (~/.ansible_async) has served
            self.run_task("ansible.builtin.async_status", {"jid": args["jid"], "mode": "cleanup"}, task_vars)
            if status.get("msg") == ASYNC_TIMEOUT and args["time_limit_name"]:
                status["msg"] = (
                    f"{args['label']}: stopped (SIGKILL) at its time limit, {args['time_limit_name']}="
                    f"{args['time_limit_s']} s, before it ended, so it left no result; raise "
                    f"{args['time_limit_name']} for a longer run")
            return status, ""
        read, before_any = FORMATS[args["progress_format"]]
        progress = self.run_task("ansible.builtin.slurp", {"src": args["progress_path"]}, task_vars)
        text = read(base64.b64decode(progress["content"]).decode("utf-8", "replace")) if "content" in progress else ""
        return None, f"{args['label']}: {text or before_any} ({elapsed_s} s elapsed)"
