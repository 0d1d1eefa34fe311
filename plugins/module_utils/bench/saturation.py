# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Was the machine the bottleneck? Per level: the host's load and the client's own event-loop lag.

A :class:`MachineSampler` runs beside a level's measured requests, on the benchmark's own event loop:

- every ``interval_s`` it sleeps and records how late it woke (the loop's lag: a timestamp the client takes
  can be late by as much, and a loop that lags is a client that cannot keep up with its streams);
- at each wake it reads the kernel's count of runnable tasks (``procs_running`` in ``/proc/stat``), less the
  client itself (it is running while it reads), per CPU this process may use: more than one runnable task
  per CPU means every one of them, the server's threads included, waits for a CPU;
- from ``/proc/stat``'s CPU times over the level it gives the share of the host's CPU time that was busy,
  and from ``time.process_time`` the share of one CPU the client itself used;
- ``/proc/loadavg``'s 1-minute load at the start and the end is recorded for reference only: it is an
  exponential average over a minute, mostly the level before this one on a short level.

A level is flagged ``saturated`` when the mean runnable tasks per CPU exceed the host load limit or the
loop lag's p99 exceeds the lag limit. Where ``/proc`` is missing (not Linux) the host figures are ``None``
and only the lag can flag the level.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

from .metrics import quantile

INTERVAL_S = 0.05
DEFINITION = ("runnable tasks per CPU: mean of /proc/stat procs_running (less the client itself) over the "
              "measured requests, divided by the CPUs this process may use; loop lag: how late the client's "
              "event loop woke from a fixed {interval_ms:g} ms sleep (p50/p99/max); cpu_busy_share: busy share "
              "of all CPUs' time from /proc/stat over the level; client_cpu_share: the client's CPU time over the "
              "level's wall time (1.0 is one CPU, the most one event loop can use). Flagged when runnable tasks "
              "per CPU exceed host_load_limit or loop lag p99 exceeds loop_lag_limit_ms.")


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def read_proc_stat(path: str = "/proc/stat") -> dict[str, int] | None:
    """Busy and total CPU jiffies (all CPUs) and runnable tasks now; None where the file cannot be read."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "cpu":
            # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
            times = [int(v) for v in fields[1:9]]
            values["total"] = sum(times)
            values["busy"] = values["total"] - times[3] - (times[4] if len(times) > 4 else 0)
        elif fields[0] == "procs_running":
            values["procs_running"] = int(fields[1])
    return values if "total" in values else None


def read_load1(path: str = "/proc/loadavg") -> float | None:
    """The 1-minute load average; None where it cannot be read."""
    try:
        with open(path, encoding="ascii") as handle:
            return float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class MachineSampler:
    """Samples the loop's lag and the host's runnable tasks until :meth:`stop`, which returns the figures."""

    def __init__(self, host_load_limit: float, loop_lag_limit_ms: float, interval_s: float = INTERVAL_S) -> None:
        self.host_load_limit = host_load_limit
        self.loop_lag_limit_ms = loop_lag_limit_ms
        self.interval_s = interval_s
        self.cpus = cpu_count()
        self.lags_s: list[float] = []
        self.runnable: list[int] = []
        self._task: asyncio.Future | None = None
        self._start: dict[str, Any] = {}

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        self._start = {"stat": read_proc_stat(), "load1": read_load1(), "wall": time.perf_counter(),
                       "cpu": time.process_time()}
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            self.lags_s.append(max(0.0, time.perf_counter() - before - self.interval_s))
            stat = read_proc_stat()
            if stat is not None and "procs_running" in stat:
                self.runnable.append(max(0, stat["procs_running"] - 1))

    async def stop(self) -> dict[str, Any]:
        """Stop sampling; the level's figures, limits and verdict (see :func:`verdict`)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        wall = time.perf_counter() - self._start.get("wall", time.perf_counter())
        before, after = self._start.get("stat"), read_proc_stat()
        busy = None
        if before and after and after["total"] > before["total"]:
            busy = (after["busy"] - before["busy"]) / (after["total"] - before["total"])
        lags_ms = sorted(v * 1000.0 for v in self.lags_s)
        figures = {
            "cpus": self.cpus,
            "runnable_per_cpu_mean": sum(self.runnable) / len(self.runnable) / self.cpus if self.runnable else None,
            "runnable_per_cpu_max": max(self.runnable) / self.cpus if self.runnable else None,
            "cpu_busy_share": busy,
            "client_cpu_share": (time.process_time() - self._start["cpu"]) / wall if wall > 0 else None,
            "load1_start": self._start.get("load1"),
            "load1_end": read_load1(),
            "loop_lag_ms": {"p50": quantile(lags_ms, 0.5) if lags_ms else None,
                            "p99": quantile(lags_ms, 0.99) if lags_ms else None,
                            "max": lags_ms[-1] if lags_ms else None, "samples": len(lags_ms),
                            "interval_ms": self.interval_s * 1000.0},
            "samples": len(self.runnable),
        }
        return verdict(figures, self.host_load_limit, self.loop_lag_limit_ms)


def verdict(figures: dict[str, Any], host_load_limit: float, loop_lag_limit_ms: float) -> dict[str, Any]:
    """The figures with the limits, ``saturated`` and the reasons in words (empty when not saturated)."""
    reasons = []
    load = figures.get("runnable_per_cpu_mean")
    if load is not None and load > host_load_limit:
        reasons.append(f"host: {load:.2f} runnable tasks per CPU (limit {host_load_limit:g}) over "
                       f"{figures['cpus']} CPUs")
    p99 = (figures.get("loop_lag_ms") or {}).get("p99")
    if p99 is not None and p99 > loop_lag_limit_ms:
        reasons.append(f"client: event-loop lag p99 {p99:.0f} ms (limit {loop_lag_limit_ms:g} ms)")
    return {**figures, "host_load_limit": host_load_limit, "loop_lag_limit_ms": loop_lag_limit_ms,
            "host_measured": load is not None, "saturated": bool(reasons), "reasons": reasons}


def short_text(machine: dict[str, Any] | None) -> str:
    """One cell for the level table: ``ok``, ``SATURATED`` or ``not measured``."""
    if not machine:
        return "not measured"
    return "SATURATED" if machine.get("saturated") else "ok"
