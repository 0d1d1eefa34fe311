"""The one work-request waiter: success, failure with the request's own errors, timeout, backoff."""

from __future__ import annotations

import pytest
from fake_clock import FakeClock

from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import DuplicateResources, find_unique
from ansible_collections.llmops.oke.plugins.module_utils.oci.waiter import (
    WorkRequestFailed,
    WorkRequestTimeout,
    poll_intervals,
    wait_for_work_request,
)


def states(*sequence: str):
    remaining = list(sequence)

    def get() -> dict:
        return {"status": remaining.pop(0) if len(remaining) > 1 else remaining[0], "id": "wr1"}

    return get


def test_success_after_progress_with_growing_polls():
    clock = FakeClock()
    result = wait_for_work_request(states("ACCEPTED", "IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"), list,
                                   "wr1", timeout_s=600, first_poll_s=2, sleep=clock.sleep, clock=clock)
    assert result["status"] == "SUCCEEDED"
    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] < clock.sleeps[1] < clock.sleeps[2]


def test_failure_carries_the_work_request_errors():
    clock = FakeClock()
    with pytest.raises(WorkRequestFailed) as raised:
        wait_for_work_request(states("IN_PROGRESS", "FAILED"),
                              lambda: [{"code": "LimitExceeded", "message": "GPU quota is 0"}],
                              "wr1", timeout_s=600, sleep=clock.sleep, clock=clock)
    assert raised.value.errors == ["LimitExceeded: GPU quota is 0"]


def test_timeout_reports_last_state_and_never_oversleeps():
    clock = FakeClock()
    with pytest.raises(WorkRequestTimeout) as raised:
        wait_for_work_request(states("IN_PROGRESS"), list, "wr9", timeout_s=10, first_poll_s=3,
                              sleep=clock.sleep, clock=clock)
    assert raised.value.last_state == "IN_PROGRESS" and raised.value.work_request_id == "wr9"
    assert clock.now == pytest.approx(10)


def test_poll_intervals_are_capped():
    intervals = poll_intervals(10, cap_s=30, rng=lambda: 0.5)
    assert [round(next(intervals), 2) for _poll in range(5)] == [10, 15, 22.5, 30, 30]


def test_find_unique_ignores_deleted_and_lists_duplicates():
    items = [{"id": "a", "name": "x", "lifecycle_state": "ACTIVE"},
             {"id": "b", "name": "x", "lifecycle_state": "DELETED"},
             {"id": "c", "name": "y", "lifecycle_state": "ACTIVE"}]
    assert find_unique(items, "x", "node pool")["id"] == "a"
    assert find_unique(items, "z", "node pool") is None
    with pytest.raises(DuplicateResources, match=r"2 node pools in cluster c are named 'x' \(a, d\)"):
        find_unique([*items, {"id": "d", "name": "x", "lifecycle_state": "FAILED"}], "x", "node pools in cluster c")
