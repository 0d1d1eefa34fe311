# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiter for OCI work requests: polls with backoff until SUCCEEDED, FAILED or the timeout."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

SUCCEEDED_STATES = frozenset({"SUCCEEDED"})
FAILED_STATES = frozenset({"FAILED", "CANCELED"})
MAX_POLL_INTERVAL_S = 30.0


class WorkRequestFailed(Exception):
    """The work request ended FAILED/CANCELED; ``errors`` holds the work request's own messages."""

    def __init__(self, work_request: dict[str, Any], errors: list[str]) -> None:
        self.work_request = work_request
        self.errors = errors
        super().__init__("; ".join(errors) or "no error details were recorded")


class WorkRequestTimeout(Exception):
    """The work request did not finish in time; ``last_state`` is the status seen last."""

    def __init__(self, work_request_id: str, last_state: str | None, waited_s: float) -> None:
        self.work_request_id = work_request_id
        self.last_state = last_state
        self.waited_s = waited_s
        super().__init__(f"work request {work_request_id} still {last_state} after {waited_s:.0f}s")


def poll_intervals(first_s: float, cap_s: float = MAX_POLL_INTERVAL_S, rng: Callable[[], float] = random.random):
    """Endless 1.5x backoff with +-10% jitter, starting at ``first_s`` and capped at ``cap_s``."""
    interval = max(first_s, 0.01)
    while True:
        yield interval * (0.9 + 0.2 * rng())
        interval = min(cap_s, interval * 1.5)


def wait_for_work_request(
    get_work_request: Callable[[], dict[str, Any]],
    list_errors: Callable[[], list[dict[str, Any]]],
    work_request_id: str,
    timeout_s: float,
    first_poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll ``get_work_request`` until it succeeds (returned) or fails/times out (raised).

    ``get_work_request`` returns the work request as a dict (``status`` key); ``list_errors`` its
    error records (``message``/``code`` keys), read only after a failure.
    """
    started = clock()
    last_state = None
    intervals = poll_intervals(first_poll_s)
    while True:
        work_request = get_work_request()
        last_state = work_request.get("status")
        if last_state in SUCCEEDED_STATES:
            return work_request
        if last_state in FAILED_STATES:
            messages = [
                f"{error.get('code') or 'Error'}: {error.get('message')}" for error in list_errors() or []
            ]
            raise WorkRequestFailed(work_request, messages)
        waited = clock() - started
        remaining = timeout_s - waited
        if remaining <= 0:
            raise WorkRequestTimeout(work_request_id, last_state, waited)
        sleep(min(next(intervals), remaining))
