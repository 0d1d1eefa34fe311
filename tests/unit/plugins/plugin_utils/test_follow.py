"""plugin_utils/follow.py: the follow actions loop in Python, so a run of any length is one task.

The task-file form (a file that includes itself to look again) stopped ansible-playbook with "maximum recursion
depth exceeded" after 246 looks on ansible-core 2.19 (measured: a three-task file, wait_for timeout 0, counting
looks until the crash). Here a run of 2,000 looks keeps the same stack depth throughout.
"""

from __future__ import annotations

import inspect

from ansible_collections.llmops.oke.plugins.plugin_utils.follow import follow


def test_two_thousand_looks_at_one_stack_depth() -> None:
    depths: list[int] = []
    shown: list[str] = []
    slept: list[float] = []

    def look(elapsed_s: int) -> tuple[dict | None, str]:
        depths.append(len(inspect.stack(0)))
        return ({"finished": True, "looks": len(depths)} if len(depths) == 2000 else None), f"look {len(depths)}"

    final = follow(look, shown.append, 15.0, sleep=slept.append)
    assert final == {"finished": True, "looks": 2000}
    assert len(set(depths)) == 1
    # every look but the last prints its line and waits one interval before the next
    assert shown == [f"look {n}" for n in range(1, 2000)] and slept == [15.0] * 1999


def test_elapsed_counts_from_the_first_look_and_nothing_is_shown_for_a_run_already_ended() -> None:
    ticks = iter([100.0, 100.0, 117.9, 135.2])
    seen: list[int] = []

    def look(elapsed_s: int) -> tuple[dict | None, str]:
        seen.append(elapsed_s)
        return ({"rc": 0} if len(seen) == 3 else None), "running"

    assert follow(look, lambda _text: None, 15.0, sleep=lambda _s: None, clock=lambda: next(ticks)) == {"rc": 0}
    assert seen == [0, 17, 35]

    shown: list[str] = []
    assert follow(lambda _e: ({"failed": True}, ""), shown.append, 15.0, sleep=lambda _s: None) == {"failed": True}
    assert shown == []


def test_a_run_that_ends_between_looks_is_looked_at_within_a_tick_not_an_interval() -> None:
    """make demo's benchmark ends a moment after a look: the cheap check brings the next look forward."""
    looks: list[int] = []
    slept: list[float] = []
    checks = iter([False, False, False, True])

    def look(_elapsed_s: int) -> tuple[dict | None, str]:
        looks.append(1)
        return ({"rc": 0} if len(looks) == 2 else None), "running"

    assert follow(look, lambda _text: None, 15.0, sleep=slept.append, ended=lambda: next(checks)) == {"rc": 0}
    assert slept == [0.5, 0.5, 0.5] and len(looks) == 2


def test_without_an_end_the_interval_is_slept_whole_in_ticks_and_the_look_still_decides() -> None:
    slept: list[float] = []
    looks: list[int] = []

    def look(_elapsed_s: int) -> tuple[dict | None, str]:
        looks.append(1)
        return ({"rc": 0} if len(looks) == 3 else None), "running"

    assert follow(look, lambda _text: None, 1.25, sleep=slept.append, ended=lambda: False) == {"rc": 0}
    assert slept == [0.5, 0.5, 0.25] * 2
    # a check that says "over" too early (a file being rewritten) only costs a look: the look decides
    looks.clear()
    assert follow(look, lambda _text: None, 15.0, sleep=slept.append, ended=lambda: True) == {"rc": 0}
    assert len(looks) == 3
