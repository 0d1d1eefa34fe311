# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the actions that follow a long run to its end and print one progress line a look.

A task file that includes itself to look again nests one block deeper each look, and ansible-playbook stops
with "maximum recursion depth exceeded" after about 246 looks (an hour at 15 s). These actions loop in
Python instead: one task, as many looks as the run needs, each printed at the default verbosity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

# look(elapsed_s) -> (the final result, or None while the run goes on; the progress text to print meanwhile)
Look = Callable[[int], "tuple[dict[str, Any] | None, str]"]


def follow(look: Look, show: Callable[[str], None], interval_s: float,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
           ended: Callable[[], bool] | None = None, tick_s: float = 0.5) -> dict:
    """Look until ``look`` returns a final result; between looks, show its progress text and sleep.

    ``ended``, when given, is a cheap check (no module run) that the run is over: it is asked every ``tick_s``
    during the interval, and a true answer makes the next look come at once, so a run that ends just after a
    look is not waited for up to a whole interval (15 s by default, twice per benchmark in ``make demo``). The
    look still decides: ``ended`` only brings it forward.
    """
    started = clock()
    while True:
        final, text = look(int(clock() - started))
        if final is not None:
            return final
        show(text)
        if ended is None:
            sleep(interval_s)
            continue
        waited = 0.0
        while waited < interval_s and not ended():
            step = min(tick_s, interval_s - waited)
            sleep(step)
            waited += step


def failure_text(result: dict[str, Any]) -> str:
    """What a failed task result says. ansible-core 2.19 moves a failed module's ``msg`` into ``exception``, an
    error summary whose ``event.msg`` holds it (as ``ansible-playbook`` prints it: "Module failed: <msg>")."""
    if result.get("msg"):
        return str(result["msg"])
    event = getattr(result.get("exception"), "event", None)
    return str(getattr(event, "msg", None) or result.get("exception") or "no message")


class FollowAction(ActionBase):
    """Subclasses set ``ARGUMENT_SPEC`` and ``look``; ``interval_s`` is common to all of them."""

    _supports_check_mode = True
    _supports_async = False
    ARGUMENT_SPEC: dict[str, dict[str, Any]] = {}

    def look(self, args: dict[str, Any], task_vars: dict[str, Any], elapsed_s: int) -> tuple[dict | None, str]:
        raise NotImplementedError

    def ended(self, args: dict[str, Any]) -> Callable[[], bool] | None:
        """A cheap check that the run is over, asked between looks (``follow``'s ``ended``); None: none here."""
        return None

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec={**self.ARGUMENT_SPEC, "interval_s": {"type": "float", "default": 15.0}})
        if args["interval_s"] <= 0:
            raise AnsibleActionFail(f"{self._task.action}: interval_s must be above 0, got {args['interval_s']}")
        final = follow(lambda elapsed_s: self.look(args, task_vars or {}, elapsed_s), display.display,
                       args["interval_s"], ended=self.ended(args))
        result.update(final)
        return result

    def run_task(self, name: str, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """One look's task: through the module's action plugin where it has one (async_status, kubernetes.core's
        kubeconfig handling), else the module itself."""
        task = self._task.copy(exclude_parent=True, exclude_tasks=True)
        task.action, task.args = name, args
        action = self._shared_loader_obj.action_loader.get(
            name, task=task, connection=self._connection, play_context=self._play_context, loader=self._loader,
            templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        if action is None:
            return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        return action.run(task_vars=task_vars)
