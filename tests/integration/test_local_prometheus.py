"""monitoring role, process runtime: Debian's real Prometheus on 127.0.0.1, configured from the chart values.

The scrape target is Prometheus's own /metrics (any HTTP server serves to prove the relabelling), so these
tests need no model server; tests/integration/test_observe_local.py runs it against the real llama-server.
Every Prometheus a test starts is stopped by its fixture.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from local_http import free_port

from ansible_collections.llmops.oke.plugins.module_utils.local.process import running_record, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.skipif(not shutil.which("prometheus") and not os.path.exists("/usr/bin/prometheus"),
                                 reason="Debian's prometheus package (hack/system-deps.sh) is not installed"),
              pytest.mark.skipif(not os.path.exists("/usr/bin/prometheus-alertmanager"),
                                 reason="Debian's prometheus-alertmanager (hack/system-deps.sh) is not installed")]
REPO_ROOT = Path(__file__).resolve().parents[2]


def _play(tmp_path: Path, tasks: str, variables: dict[str, Any],
          options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook), "-e", json.dumps(variables), *options],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)


ROLE = "    - ansible.builtin.include_role:\n        name: llmops.oke.monitoring\n"


def _changed(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return int(re.search(r"localhost\s*:.*changed=(\d+)", result.stdout).group(1))


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}", timeout=10) as resp:
        return json.loads(resp.read())["data"]["result"]


@pytest.fixture
def run_dir(tmp_path: Path):
    path = tmp_path / "run"
    yield path
    for pidfile in path.glob("*.pid"):
        stop(str(pidfile), 20)


def test_role_runs_prometheus_with_the_chart_job_and_rules(tmp_path: Path, run_dir: Path) -> None:
    port, alertmanager_port = free_port(), free_port()
    variables = {"monitoring_runtime": "process", "monitoring_process_run_dir": str(run_dir),
                 "monitoring_process_listen_address": f"127.0.0.1:{port}",
                 "monitoring_process_alertmanager_listen_address": f"127.0.0.1:{alertmanager_port}",
                 "monitoring_process_target": f"127.0.0.1:{port}",
                 "monitoring_alert_receiver_url": "https://alerts.example/hook"}
    # Check mode says a start would happen and starts nothing (neither Prometheus nor Alertmanager).
    assert _changed(_play(tmp_path, ROLE, variables, ("--check",))) == 1
    assert not list(run_dir.glob("**/*.pid")) and not list(run_dir.glob("**/*.yml"))
    assert _changed(_play(tmp_path, ROLE, variables)) == 1
    pid = json.loads((run_dir / "prometheus.pid").read_text())["pid"]
    url = f"http://127.0.0.1:{port}"
    # The chart job's relabelling turned the pod meta labels into the labels prometheus-adapter maps.
    deadline = time.monotonic() + 60
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not found:
        found = _query(url, 'up{job="llm-model-servers",namespace="llmops",pod="llama-cpp-local",backend="llama-cpp"}')
        time.sleep(0.5)
    assert found and found[0]["value"][1] == "1"
    with urllib.request.urlopen(f"{url}/api/v1/rules", timeout=10) as response:
        groups = {group["name"] for group in json.loads(response.read())["data"]["groups"]}
    assert groups == {"llmops-serving", "llmops-serving-alerts"}
    # Its alerts go to the Alertmanager the role started from the chart values' alertmanager.config.
    deadline = time.monotonic() + 30
    active: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not active:
        with urllib.request.urlopen(f"{url}/api/v1/alertmanagers", timeout=10) as response:
            active = json.loads(response.read())["data"]["activeAlertmanagers"]
        time.sleep(0.5)
    assert active == [{"url": f"http://127.0.0.1:{alertmanager_port}/api/v2/alerts"}]
    with urllib.request.urlopen(f"http://127.0.0.1:{alertmanager_port}/api/v2/status", timeout=10) as response:
        loaded = yaml.safe_load(json.loads(response.read())["config"]["original"])
    assert loaded["route"]["receiver"] == "llmops-oncall"
    assert [hook["url"] for hook in loaded["receivers"][0]["webhook_configs"]] == ["https://alerts.example/hook"]
    # Same settings: a healthy server is left alone (and check mode agrees).
    assert _changed(_play(tmp_path, ROLE, variables, ("--check",))) == 0
    assert _changed(_play(tmp_path, ROLE, variables)) == 0
    assert json.loads((run_dir / "prometheus.pid").read_text())["pid"] == pid
    # A changed rule threshold restarts it with the new rule file.
    assert _changed(_play(tmp_path, ROLE, {**variables, "monitoring_alert_waiting_per_pod": 3})) == 1
    assert "> 3" in (run_dir / "prometheus" / "alerting_rules.yml").read_text()
    assert _changed(_play(tmp_path, ROLE, {**variables, "monitoring_state": "absent"})) == 1
    assert running_record(str(run_dir / "prometheus.pid")) is None
    assert running_record(str(run_dir / "prometheus-alertmanager.pid")) is None
    assert _changed(_play(tmp_path, ROLE, {**variables, "monitoring_state": "absent"})) == 0


def test_port_taken_fails_with_prometheus_own_error_line(tmp_path: Path, run_dir: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = _play(tmp_path, ROLE, {"monitoring_runtime": "process", "monitoring_process_run_dir": str(run_dir),
                                        "monitoring_process_listen_address": f"127.0.0.1:{port}",
                                        "monitoring_alertmanager_enabled": False,
                                        "monitoring_process_health_timeout": 20})
    assert result.returncode != 0
    assert "level=error" in result.stdout and "address already in use" in result.stdout, result.stdout[-3000:]
    assert running_record(str(run_dir / "prometheus.pid")) is None


def test_bad_rule_file_fails_with_prometheus_own_error_line(tmp_path: Path, run_dir: Path) -> None:
    task = ("    - llmops.oke.local_prometheus:\n"
            "        values: {serverFiles: {recording_rules.yml: {groups: [{name: bad, rules: "
            "[{record: 'x:y', expr: 'sum(rate(up[1m]'}]}]}}}\n"
            f"        run_dir: {run_dir}\n"
            f"        listen_address: 127.0.0.1:{free_port()}\n"
            "        health_timeout: 30\n")
    result = _play(tmp_path, task, {})
    assert result.returncode != 0
    # Prometheus's own words about the rule file, not only our summary.
    assert re.search(r"level=error.*recording_rules\.yml", result.stdout), result.stdout[-3000:]
    assert running_record(str(run_dir / "prometheus.pid")) is None


def test_config_alertmanager_refuses_fails_with_its_own_error_line(tmp_path: Path, run_dir: Path) -> None:
    # Past the role's preflight (the module called directly): Alertmanager itself judges the receiver URL.
    task = ("    - llmops.oke.local_prometheus:\n"
            "        values: {alertmanager: {config: {route: {receiver: r}, receivers: "
            "[{name: r, webhook_configs: [{url: 'ftp://alerts.example/hook'}]}]}}}\n"
            f"        run_dir: {run_dir}\n"
            f"        listen_address: 127.0.0.1:{free_port()}\n"
            f"        alertmanager_listen_address: 127.0.0.1:{free_port()}\n"
            "        health_timeout: 30\n")
    result = _play(tmp_path, task, {})
    assert result.returncode != 0
    assert re.search(r"Alertmanager prometheus-alertmanager at .*level=error.*ftp", result.stdout), (
        result.stdout[-3000:])
    assert running_record(str(run_dir / "prometheus-alertmanager.pid")) is None
    assert running_record(str(run_dir / "prometheus.pid")) is None
