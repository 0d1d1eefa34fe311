"""local_server: a real background process (python -m http.server on 127.0.0.1) managed via its pid file."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_module
from local_http import free_port

from ansible_collections.llmops.oke.plugins.module_utils.local import process as local_process


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    options = {
        "command": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        "pidfile": str(tmp_path / "run" / "srv.pid"),
        "logfile": str(tmp_path / "run" / "srv.log"),
        "health_url": f"http://127.0.0.1:{port}/",
        "health_timeout": 60,
        "stop_timeout": 10,
        "chdir": str(tmp_path),
    }
    yield options
    local_process.stop(options["pidfile"], 5)


def _alive(pid: int) -> bool:
    return local_process.process_start_time(pid) is not None


def test_start_is_idempotent_and_a_changed_command_restarts(server: dict[str, Any]) -> None:
    started = run_module("local_server", server, diff=True)
    assert started["changed"] and started["action"] == "start" and _alive(started["pid"])
    assert started["diff"]["before"]["state"] == "stopped" and started["diff"]["after"]["state"] == "started"
    assert local_process.health_ok(server["health_url"])

    again = run_module("local_server", server)
    assert not again["changed"] and again["pid"] == started["pid"] and again["action"] == "none"

    changed_env = run_module("local_server", {**server, "env": {"LLMOPS_TEST": "restart-marker"}})
    assert changed_env["changed"] and changed_env["action"] == "restart"
    assert changed_env["pid"] != started["pid"] and _alive(changed_env["pid"])
    time.sleep(0.5)
    assert not _alive(started["pid"]), "the old server must be gone after a restart"


def test_check_mode_predicts_without_acting(server: dict[str, Any]) -> None:
    predicted = run_module("local_server", server, check_mode=True)
    assert predicted["changed"] and predicted["action"] == "start" and predicted["pid"] is None
    assert not Path(server["pidfile"]).exists()
    started = run_module("local_server", server)
    stop_predicted = run_module("local_server", {"state": "stopped", "pidfile": server["pidfile"]}, check_mode=True)
    assert stop_predicted["changed"] and _alive(started["pid"])


def test_stopped_stops_it_and_is_then_a_no_op(server: dict[str, Any]) -> None:
    started = run_module("local_server", server)
    stopped = run_module("local_server", {"state": "stopped", "pidfile": server["pidfile"]})
    assert stopped["changed"] and stopped["action"] == "stop"
    assert not _alive(started["pid"]) and not Path(server["pidfile"]).exists()
    assert not run_module("local_server", {"state": "stopped", "pidfile": server["pidfile"]})["changed"]


def test_a_recycled_pid_in_a_stale_pidfile_is_not_taken_for_the_server(server: dict[str, Any]) -> None:
    Path(server["pidfile"]).parent.mkdir(parents=True)
    # our own pid with a wrong start time: alive, but not the process the file recorded
    Path(server["pidfile"]).write_text(json.dumps({"pid": os.getpid(), "start_time": 1, "config_hash": "x"}))
    assert not run_module("local_server", {"state": "stopped", "pidfile": server["pidfile"]})["changed"]
    started = run_module("local_server", server)
    assert started["action"] == "start" and started["pid"] != os.getpid()


def test_a_server_that_exits_fails_with_its_log(server: dict[str, Any]) -> None:
    failing = {**server, "command": [sys.executable, "-c", "import sys; print('no model here'); sys.exit(3)"]}
    result = run_module("local_server", failing)
    assert result["failed"]
    assert "exited with code 3" in result["msg"] and "no model here" in result["msg"]
    assert not Path(server["pidfile"]).exists()


def test_a_server_that_never_gets_healthy_is_stopped_after_the_timeout(server: dict[str, Any]) -> None:
    sleeper = {**server, "command": [sys.executable, "-c", "import time; time.sleep(60)"], "health_timeout": 2}
    result = run_module("local_server", sleeper)
    assert result["failed"] and "was not healthy" in result["msg"]
    assert local_process.running_record(server["pidfile"]) is None


def test_started_needs_command_logfile_and_health_url(tmp_path: Path) -> None:
    result = run_module("local_server", {"pidfile": str(tmp_path / "x.pid")})
    assert result["failed"] and "command" in result["msg"]
