# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Was the machine the bottleneck? Per level: the host's load and the client's own event-loop lag.

A :class:`MachineSampler` runs beside a level's measured requests, on the benchmark's own event loop:

- every ``interval_s`` it sleeps and records how late it woke (the loop's lag: a timestamp the client takes
  can be late by as much, and a loop that lags is a client that cannot keep up with its streams);
- at each wake it reads the kernel's count of runnable tasks (``procs_running`` in ``/proc/stat``), less the
  client itself (it is running while it reads) and less the runnable threads of the server under test when it
  listens on this host (found once per level from the URL's port: ``/proc/net/tcp*`` gives the listening
  socket's inode, ``/proc/<pid>/fd`` its process, ``/proc/<pid>/stat`` that process's children; each thread's
  state is read from ``/proc/<pid>/task/<tid>/stat``). What is left is other work's runnable tasks per CPU this
  process may use: the server's own threads are the load being measured (vLLM's CPU build keeps more threads
  runnable than a 2-CPU machine has, quiet or not), other work takes CPU time from both;
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
import urllib.parse
from typing import Any

from .metrics import quantile

INTERVAL_S = 0.05
DEFINITION = (
    "runnable tasks per CPU: mean of /proc/stat procs_running less the client itself and less the runnable "
    "threads of the server under test where it listens on this host (other work), over the measured requests, "
    "divided by the CPUs this process may use; server_runnable_per_cpu_mean: the server's own runnable threads "
    "per CPU (None where the server is not on this host); loop lag: how late the client's event loop woke from "
    "a fixed {interval_ms:g} ms sleep (p50/p99/max); cpu_busy_share: busy share of all CPUs' time from "
    "/proc/stat over the level; client_cpu_share: the client's CPU time over the level's wall time (1.0 is one "
    "CPU, the most one event loop can use). Flagged when runnable tasks per CPU exceed host_load_limit or loop "
    "lag p99 exceeds loop_lag_limit_ms.")


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


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")


def _listening_inodes(port: int, proc: str = "/proc") -> set[str]:
    """Inodes of the sockets listening on ``port`` (any local address), from /proc/net/tcp and tcp6."""
    inodes: set[str] = set()
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc, "net", name), encoding="ascii") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # sl local_address rem_address st ... inode (the 10th field); st 0A is LISTEN
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _stat_fields(path: str) -> list[str] | None:
    """The fields after the command name of a /proc stat file (state first), None where it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()


def server_pids(port: int, proc: str = "/proc") -> set[int]:
    """The process listening on ``port`` on this host and its descendants; empty where none is found."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port, proc)}
    if not inodes:
        return set()
    parents: dict[int, int] = {}
    found: set[int] = set()
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        fields = _stat_fields(os.path.join(proc, entry, "stat"))
        if fields and len(fields) > 1:
            parents[int(entry)] = int(fields[1])
        with contextlib.suppress(OSError):
            fd_dir = os.path.join(proc, entry, "fd")
            if any(os.readlink(os.path.join(fd_dir, fd)) in inodes for fd in os.listdir(fd_dir)):
                found.add(int(entry))
    grown = True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        grown = bool(children)
        found |= children
    return found


def runnable_threads(pids: set[int], proc: str = "/proc") -> int:
    """Threads of ``pids`` in state R (running or runnable) now."""
    count = 0
    for pid in pids:
        task_dir = os.path.join(proc, str(pid), "task")
        try:
            tids = os.listdir(task_dir)
        except OSError:
            continue
        for tid in tids:
            fields = _stat_fields(os.path.join(task_dir, tid, "stat"))
            count += bool(fields) and fields[0] == "R"
    return count


def local_server_port(base_url: str) -> int | None:
    """The port of a server URL on this host (loopback), None for another host."""
    parsed = urllib.parse.urlsplit(base_url)
    if (parsed.hostname or "") not in LOOPBACK_HOSTS:
        return None
    try:
        return parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        return None


class MachineSampler:
    """Samples the loop's lag and the host's runnable tasks until :meth:`stop`, which returns the figures."""

    def __init__(self, host_load_limit: float, loop_lag_limit_ms: float, interval_s: float = INTERVAL_S,
                 server_url: str = "") -> None:
        self.host_load_limit = host_load_limit
        self.server_port = local_server_port(server_url) if server_url else None
        self.server: set[int] = set()
        self.server_runnable: list[int] = []
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
        self.server = server_pids(self.server_port) if self.server_port else set()
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
                server = runnable_threads(self.server) if self.server else 0
                self.server_runnable.append(server)
                # the two reads are moments apart: never below 0
                self.runnable.append(max(0, stat["procs_running"] - 1 - server))

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
            "server_runnable_per_cpu_mean": (sum(self.server_runnable) / len(self.server_runnable) / self.cpus
                                             if self.server and self.server_runnable else None),
            "server_processes": len(self.server),
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
        reasons.append(f"host: {load:.2f} runnable tasks per CPU of other work (limit {host_load_limit:g}) over "
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
