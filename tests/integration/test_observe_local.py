"""The local path observed and scaled on real parts: llama-server, Debian's Prometheus, the adapter's query, the HPA.

playbooks/local.yml runs with its own ports and folders: a small generated model (2 blocks x 256, so decode is quick
on a busy machine) served with 2 slots, levels of 1 and 6 users (the second queues 4 requests), every level held for a
few seconds so the 1 s scrape sees it. The test then reads what the play wrote and asks the same Prometheus itself.
The monitoring role also runs Debian's Alertmanager with a webhook receiver on 127.0.0.1 (the test's): the overload
must fire the queue alert and reach it. Every process the play starts is stopped by the fixture.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from local_http import free_port, serving
from observe_support import all_panels, dashboards, known_metrics, metric_names, rendered

from ansible_collections.llmops.oke.plugins.module_utils.bench.prom_sampler import (
    PrometheusClient,
    expand_metrics_query,
    observe,
)
from ansible_collections.llmops.oke.plugins.module_utils.local.process import running_record, stop

pytestmark = [pytest.mark.llama_server, pytest.mark.slow, pytest.mark.timeout(2400),
              pytest.mark.skipif(not shutil.which("prometheus") and not os.path.exists("/usr/bin/prometheus"),
                                 reason="Debian's prometheus package (hack/system-deps.sh) is not installed"),
              pytest.mark.skipif(not os.path.exists("/usr/bin/prometheus-alertmanager"),
                                 reason="Debian's prometheus-alertmanager (hack/system-deps.sh) is not installed")]
REPO_ROOT = Path(__file__).resolve().parents[2]
SLOTS = 2
LEVELS = (1, 6)


class _Receiver(BaseHTTPRequestHandler):
    """Alertmanager's webhook receiver: keeps every posted payload (webhook JSON, version 4)."""

    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            self.received.append({"path": self.path, **json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def alert_receiver():
    """A webhook receiver on 127.0.0.1 (free port); yields (its URL, the payloads it received)."""
    _Receiver.received = []
    with serving(_Receiver) as url:
        yield f"{url}/alerts", _Receiver.received


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, alert_receiver):
    """One run of playbooks/local.yml; yields (variables, play stdout, run folder); stops what it started."""
    tmp = tmp_path_factory.mktemp("observe-local")
    run_dir = tmp / "run"
    variables: dict[str, Any] = {
        "llama_cpp_port": free_port(), "llama_cpp_run_dir": str(run_dir), "llama_cpp_parallel": SLOTS,
        "llama_cpp_demo_block_count": 2, "llama_cpp_demo_embedding_length": 256,
        "monitoring_process_run_dir": str(run_dir), "monitoring_process_listen_address": f"127.0.0.1:{free_port()}",
        "benchmark_results_dir": str(tmp / "results"), "benchmark_run_id": "observe",
        "benchmark_concurrency": ",".join(map(str, LEVELS)), "benchmark_max_requests": 100000,
        "benchmark_duration_s": 12.0, "benchmark_warmup_requests": 1, "benchmark_mean_output_tokens": 48,
        "benchmark_correctness_requests": 0, "benchmark_determinism_prompts": 0,
        # Generous SLOs (a busy test machine): both levels meet them, so the replayed HPA must hold at 1 replica.
        "benchmark_slo_ttft_s": 600.0, "benchmark_slo_itl_s": 60.0,
        # Alerts: more than 2 deferred per pod for 2 s fires the queue alert (6 users on 2 slots defer 4, 1 user
        # none); Alertmanager batches for 1 s, then posts to the test's receiver.
        "monitoring_process_alertmanager_listen_address": f"127.0.0.1:{free_port()}",
        "monitoring_alert_receiver_url": alert_receiver[0], "monitoring_alert_waiting_per_pod": 2,
        "monitoring_alert_for": "2s", "monitoring_alert_group_wait": "1s",
    }
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1"}
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local", "playbooks/local.yml",
             "-e", json.dumps(variables)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=2000, check=False)
        assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
        yield variables, result.stdout, tmp / "results" / "observe"
    finally:
        # The local path's own teardown stops both processes; the fixture's stop() only cleans up if it did not.
        down = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
             "playbooks/local_teardown.yml", "-e", json.dumps(variables)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        left = [p.name for p in run_dir.glob("*.pid") if running_record(str(p))]
        for pidfile in run_dir.glob("*.pid"):
            stop(str(pidfile), 20)
        assert down.returncode == 0 and not left, (left, down.stdout[-4000:] + down.stderr[-2000:])
        assert not [p for p in run_dir.glob("*.pid") if running_record(str(p))]


def _prometheus(variables: dict[str, Any]) -> PrometheusClient:
    return PrometheusClient(f"http://{variables['monitoring_process_listen_address']}")


def test_adapter_query_returns_a_per_pod_series_and_the_hpa_scales_only_under_overload(demo) -> None:
    variables, stdout, run = demo
    scaling = json.loads((run / "scaling.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    # The play's adapter query: the rule our autoscaling role renders, expanded as the adapter does for the pod.
    assert scaling["adapter_query"] == ('sum by (pod) (llamacpp:requests_deferred'
                                        '{namespace="llmops",pod="llama-cpp-local"})')
    assert scaling["pods"] == ["llama-cpp-local"]
    # The real Prometheus answers it with one series per pod.
    window = summary["levels"][-1]["window"]
    series = _prometheus(variables).query_range(scaling["adapter_query"], window["start_unix"], window["end_unix"], 1)
    assert [item["metric"] for item in series] == [{"pod": "llama-cpp-local"}]
    by_level = {level["level"]: level for level in scaling["per_level"]}
    low, high = (f"c{n}" for n in LEVELS)
    # Overload: 6 users on 2 slots leave 4 deferred; none wait at 1 user.
    assert by_level[high]["queue_max"] >= 3 and by_level[low]["queue_max"] == 0
    assert by_level[high]["in_flight_max"] == SLOTS
    # The play replayed the target the benchmark recommends: both levels met the (generous) SLOs, so it must
    # have held at 1 replica at both (the old derivation, floor(6 x 0.8) - 2 = 2, scaled at c6).
    assert summary["capacity"]["hpa"]["queue_depth_per_pod"] == LEVELS[-1] - SLOTS
    assert [by_level[lv]["slo_met"] for lv in (low, high)] == [True, True]
    assert scaling["verdict"]["target_matches_slo"] is True and scaling["verdict"]["triggered"] is False
    assert re.search(r"Scaling: Scaling would not have triggered", stdout)
    # With a tighter target (1 waiting per pod, what a sweep whose SLOs break above the slots recommends) the same
    # samples make the HPA ask for more than one replica during the overload and exactly one at the lowest level.
    # The rule and HPA the play rendered and replayed (scaling.json keeps them), with the tighter target.
    assert scaling["hpa"]["metadata"]["name"] == "llama-cpp" and scaling["adapter_rule"]["name"]["as"] == (
        "llamacpp_requests_deferred")
    tight = observe(_prometheus(variables), [scaling["adapter_rule"]], scaling["hpa"], summary, step_s=1,
                    target_per_pod=1,
                    in_flight_series="llamacpp:requests_processing")
    tight_by_level = {level["level"]: level for level in tight["per_level"]}
    assert tight_by_level[high]["desired_max"] > 1
    assert tight_by_level[low]["desired_max"] == 1 and tight_by_level[low]["desired_min"] == 1
    assert tight["verdict"]["triggered"] and tight["verdict"]["first_level"] == high
    # The report shows it.
    report = (run / "report.md").read_text()
    assert "Scaling: queue, in-flight requests and the HPA's answer" in report
    assert (run / "plots" / "scaling_timeline.png").stat().st_size > 0


def test_every_llama_cpp_dashboard_query_returns_data(demo) -> None:
    variables, _stdout, run = demo
    summary = json.loads((run / "summary.json").read_text())
    # The dashboards the grafana role ships, as the observe stage renders them (template variables left in).
    concerning = [target["expr"] for dashboard in dashboards(rendered()).values()
                  for panel in all_panels(dashboard) for target in panel.get("targets", [])
                  if "llamacpp:" in target.get("expr", "")]
    # Cost per 1M tokens divides OpenCost's allocation cost by the token rate: OpenCost runs on a cluster only.
    opencost = set(known_metrics()["opencost"]["metrics"])
    expressions = [expr for expr in concerning if not metric_names(expr) & opencost]
    assert len(expressions) >= 5 and len(concerning) - len(expressions) == 1
    client = _prometheus(variables)
    at = summary["levels"][-1]["window"]["end_unix"]
    empty = []
    for expr in expressions:
        # The dashboard's $namespace variable, set to the namespace the server is scraped in.
        query = expr.replace("$namespace", "llmops")
        if not client.query(query, at=at):
            empty.append(query)
    assert not empty, f"dashboard queries without data: {empty}"


def test_expanded_query_is_the_one_prometheus_answers(demo) -> None:
    variables, _stdout, _run = demo
    client = _prometheus(variables)
    query = expand_metrics_query("sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})",
                                 "llamacpp:requests_processing", "llmops", ["llama-cpp-local", "another-pod"])
    assert query == 'sum by (pod) (llamacpp:requests_processing{namespace="llmops",pod=~"llama-cpp-local|another-pod"})'
    assert [item["metric"] for item in client.query(query)] == [{"pod": "llama-cpp-local"}]


def test_overload_fires_the_queue_alert_through_alertmanager_to_the_webhook(demo, alert_receiver) -> None:
    variables, _stdout, run = demo
    _url, received = alert_receiver
    deadline = time.monotonic() + 120
    firing: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not firing:
        firing = [alert for payload in list(received) for alert in payload["alerts"]
                  if alert["status"] == "firing" and alert["labels"]["alertname"] == "LlamaCppQueueDepthHigh"]
        time.sleep(1)
    assert firing, f"no LlamaCppQueueDepthHigh reached the receiver; payloads: {received}"
    assert firing[0]["labels"]["namespace"] == "llmops" and firing[0]["labels"]["slo"] == "queue_depth"
    assert received[0]["path"] == "/alerts" and received[0]["receiver"] == "llmops-oncall"
    # The same Prometheus evaluated the rule: firing during the overloaded level, never during the single-user one.
    summary = json.loads((run / "summary.json").read_text())
    windows = {level["label"]: level["window"] for level in summary["levels"]}
    client = _prometheus(variables)
    alert = 'ALERTS{alertname="LlamaCppQueueDepthHigh",alertstate="firing"}'
    low, high = (windows[f"c{n}"] for n in LEVELS)
    assert client.query_range(alert, high["start_unix"], high["end_unix"], 1)
    assert not client.query_range(alert, low["start_unix"], low["end_unix"], 1)
    # Nothing else fired: no vLLM here, and the server stayed up.
    names = {alert["labels"]["alertname"] for payload in received for alert in payload["alerts"]}
    assert names == {"LlamaCppQueueDepthHigh"}, names
