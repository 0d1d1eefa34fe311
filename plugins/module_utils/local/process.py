# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage one long-running local server process through a pid file (plain Python, no Ansible imports).

The pid file is JSON: pid, the process start time from /proc (so a recycled pid is not mistaken for
our server), the config hash the server was started with, and the command. A server is "ours and
current" when the pid is alive with that start time and the hash matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.error
from typing import Any

from ..bench.fileio import atomic_write_text, http_get


class LocalProcessError(Exception):
    """The server could not be started, did not become healthy, or could not be stopped."""


def config_hash(command: list[str], env: dict[str, str] | None) -> str:
    """Hash of what defines the running server: the command and its extra environment."""
    material = json.dumps({"command": list(command), "env": dict(sorted((env or {}).items()))}, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks since boot) of a live pid, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # Field 22 of /proc/<pid>/stat is starttime; after the ")" split, state is index 0, so starttime is index 19.
    if fields[0] == "Z":
        return None
    return int(fields[19])


def read_pidfile(pidfile: str) -> dict[str, Any] | None:
    """The pid file's record, or None when it is missing or unreadable."""
    try:
        with open(pidfile) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None


def running_record(pidfile: str) -> dict[str, Any] | None:
    """The pid file's record when its process is still the one we started, else None."""
    record = read_pidfile(pidfile)
    if record is None:
        return None
    if process_start_time(record["pid"]) != record.get("start_time"):
        return None
    return record


def health_ok(url: str, timeout: float = 2.0) -> bool:
    """True when GET url answers 2xx."""
    try:
        with http_get(url, timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def log_tail(logfile: str, lines: int = 30) -> str:
    """The last lines of the log file, for error messages."""
    try:
        with open(logfile, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            return "\n".join(handle.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def start(command: list[str], env: dict[str, str] | None, pidfile: str, logfile: str, health_url: str,
          health_timeout: float, cwd: str | None = None) -> dict[str, Any]:
    """Start the command detached (own session), record it, and wait for health_url; return the record."""
    for path in (pidfile, logfile):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    process_env = dict(os.environ)
    process_env.update(env or {})
    with open(logfile, "ab") as log, open(os.devnull, "rb") as devnull:
        log.write(("\n=== {} starting: {}\n".format(time.strftime("%Y-%m-%dT%H:%M:%S"), " ".join(command))).encode())
        log.flush()
        try:
            process = subprocess.Popen(command, stdin=devnull, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                       env=process_env, start_new_session=True, close_fds=True)
        except OSError as error:
            raise LocalProcessError(f"cannot start {command[0]}: {error}") from error
    record = {"pid": process.pid, "start_time": process_start_time(process.pid),
              "config_hash": config_hash(command, env), "command": list(command)}
    atomic_write_text(pidfile, json.dumps(record), 0o644)
    deadline = time.monotonic() + health_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _remove(pidfile)
            raise LocalProcessError(f"{command[0]} exited with code {process.returncode} before {health_url} was "
                                    f"healthy; log {logfile} ends with:\n{log_tail(logfile)}")
        if health_ok(health_url):
            return record
        time.sleep(0.5)
    stop(pidfile, 10)
    raise LocalProcessError(f"{command[0]} was not healthy at {health_url} within {health_timeout}s; "
                            f"log {logfile} ends with:\n{log_tail(logfile)}")


def stop(pidfile: str, stop_timeout: float) -> bool:
    """Stop the recorded process (SIGTERM, then SIGKILL after stop_timeout); True when one was running."""
    record = running_record(pidfile)
    if record is None:
        _remove(pidfile)
        return False
    pid = record["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + stop_timeout
    while time.monotonic() < deadline and process_start_time(pid) == record["start_time"]:
        _reap(pid)
        time.sleep(0.2)
    if process_start_time(pid) == record["start_time"]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.5)
        _reap(pid)
        if process_start_time(pid) == record["start_time"]:
            raise LocalProcessError(f"process {pid} from {pidfile} did not stop after SIGKILL")
    _remove(pidfile)
    return True


def _reap(pid: int) -> None:
    # Only a child of this process can be reaped; a server started by an earlier run is not.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def ensure(state: str, command: list[str], env: dict[str, str] | None, pidfile: str, logfile: str | None,
           health_url: str | None, health_timeout: float = 300, stop_timeout: float = 30, cwd: str | None = None,
           check_mode: bool = False) -> dict[str, Any]:
    """Bring the server to ``state`` (started/stopped); return a result dict with changed, pid, action."""
    record = running_record(pidfile)
    before = {"state": "started" if record else "stopped",
              "config_hash": record.get("config_hash") if record else None}
    if state == "stopped":
        after = {"state": "stopped", "config_hash": None}
        if record and not check_mode:
            stop(pidfile, stop_timeout)
        return {"changed": bool(record), "action": "stop" if record else "none", "pid": None,
                "diff": {"before": before, "after": after}}
    wanted = config_hash(command, env)
    after = {"state": "started", "config_hash": wanted}
    if record and record.get("config_hash") == wanted and health_ok(health_url):
        return {"changed": False, "action": "none", "pid": record["pid"], "config_hash": wanted,
                "diff": {"before": before, "after": after}}
    action = "restart" if record else "start"
    if check_mode:
        return {"changed": True, "action": action, "pid": record["pid"] if record else None, "config_hash": wanted,
                "diff": {"before": before, "after": after}}
    if record:
        stop(pidfile, stop_timeout)
    started = start(command, env, pidfile, logfile, health_url, health_timeout, cwd)
    return {"changed": True, "action": action, "pid": started["pid"], "config_hash": wanted,
            "diff": {"before": before, "after": after}}
