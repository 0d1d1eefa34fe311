# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The observe stage on one machine: a real Prometheus configured from the monitoring role's chart values.

Plain Python (no Ansible imports). The scrape jobs and rule files come from the values the monitoring role
renders for the prometheus-community chart (``extraScrapeConfigs`` and ``serverFiles``), so the local
Prometheus runs the shipped configuration, not a copy. Only service discovery differs: each
``kubernetes_sd_configs`` block becomes a ``static_configs`` block whose targets carry the ``__meta_kubernetes_*``
labels Kubernetes service discovery would set for a pod, and the job's own ``relabel_configs`` turn them into
``namespace``, ``pod``, ``backend``... exactly as in the cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from typing import Any

try:
    import yaml
except ImportError:  # PyYAML ships with ansible-core on the controller; ansible-test's import sanity runs bare
    yaml = None

from ..bench.fileio import http_get, write_if_changed
from .process import LocalProcessError, ensure, health_ok, log_tail

# Rule files of the chart's serverFiles that hold rule groups (the chart also ships prometheus.yml there).
RULE_FILES = ("recording_rules.yml", "alerting_rules.yml", "rules", "alerts")


def label_name(name: str) -> str:
    """A Kubernetes label name as a Prometheus meta-label suffix: every invalid character becomes ``_``."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def kubernetes_pod_meta(namespace: str, pod: str, container: str, port_name: str, node: str,
                        pod_labels: dict[str, str]) -> dict[str, str]:
    """The meta labels Kubernetes SD (role: pod) sets on a running pod's container port target.

    Names as documented for kubernetes_sd_config, role pod
    (prometheus.io/docs/prometheus/latest/configuration/configuration/#pod).
    """
    meta = {
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_name": pod,
        "__meta_kubernetes_pod_container_name": container,
        "__meta_kubernetes_pod_container_port_name": port_name,
        "__meta_kubernetes_pod_node_name": node,
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_ready": "true",
    }
    for key, value in pod_labels.items():
        meta[f"__meta_kubernetes_pod_label_{label_name(key)}"] = value
        meta[f"__meta_kubernetes_pod_labelpresent_{label_name(key)}"] = "true"
    return meta


def local_scrape_configs(values: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chart values' extra scrape jobs, with pod discovery replaced by the given local pods.

    Each pod: ``address`` (host:port), ``namespace``, ``pod``, ``container``, ``port_name``, ``node``, ``labels``.
    A job with static targets of its own (a cluster Service such as OpenCost's) is dropped: nothing serves it here.
    """
    extra = values.get("extraScrapeConfigs") or []
    jobs = yaml.safe_load(extra) if isinstance(extra, str) else extra
    local_jobs = []
    for job in jobs or []:
        if "kubernetes_sd_configs" not in job:
            continue
        job = dict(job)
        namespaces: set[str] = set()
        for sd in job.pop("kubernetes_sd_configs"):
            if sd.get("role") != "pod":
                raise ValueError(f"scrape job {job.get('job_name')}: only role pod discovery can run locally, "
                                 f"got {sd.get('role')!r}")
            namespaces.update(sd.get("namespaces", {}).get("names", []))
        targets = []
        for pod in pods:
            # Kubernetes SD only discovers pods in the listed namespaces (all of them when none is listed).
            if namespaces and pod["namespace"] not in namespaces:
                continue
            labels = kubernetes_pod_meta(pod["namespace"], pod["pod"], pod.get("container", "server"),
                                         pod.get("port_name", "http"), pod.get("node", "localhost"),
                                         pod.get("labels", {}))
            targets.append({"targets": [pod["address"]], "labels": labels})
        job["static_configs"] = targets
        local_jobs.append(job)
    return local_jobs


def local_rule_files(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """File name -> rule groups, from the chart's ``serverFiles`` (empty groups skipped)."""
    server_files = values.get("serverFiles") or {}
    return {name: content for name, content in server_files.items()
            if name in RULE_FILES and isinstance(content, dict) and content.get("groups")}


def prometheus_config(values: dict[str, Any], pods: list[dict[str, Any]], rule_paths: list[str],
                      scrape_interval: str | None = None, evaluation_interval: str | None = None,
                      alertmanagers: list[str] | None = None) -> dict[str, Any]:
    """prometheus.yml for the local server: the values' global settings, local scrape jobs, the rule files, and
    the local Alertmanagers (host:port) it sends alerts to, as the chart's pod discovery would find them."""
    global_settings = dict((values.get("server") or {}).get("global") or {})
    if scrape_interval:
        global_settings["scrape_interval"] = scrape_interval
    if evaluation_interval:
        global_settings["evaluation_interval"] = evaluation_interval
    config: dict[str, Any] = {"global": global_settings, "rule_files": list(rule_paths),
                              "scrape_configs": local_scrape_configs(values, pods)}
    if alertmanagers:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]}
    return config


def alertmanager_enabled(values: dict[str, Any]) -> bool:
    """Whether the chart values turn the alertmanager sub-chart on (the chart's default is on)."""
    return bool((values.get("alertmanager") or {}).get("enabled", True))


def alertmanager_config(values: dict[str, Any]) -> dict[str, Any]:
    """alertmanager.yml from the chart values' ``alertmanager.config``, as the sub-chart's ConfigMap writes it
    (``omit .Values.config "enabled"``), less ``templates``: those globs name the pod's /etc/alertmanager."""
    config = dict((values.get("alertmanager") or {}).get("config") or {})
    config.pop("enabled", None)
    config.pop("templates", None)
    if not config.get("route") or not config.get("receivers"):
        raise ValueError("the chart values' alertmanager.config has no route or no receivers")
    return config


def error_line(log: str) -> str | None:
    """Prometheus's own error line: the first ``level=error`` line of its latest start (the cause, not the
    follow-on "error loading config" lines), if any."""
    latest = log.rsplit("\n=== ", 1)[-1]
    lines = [line.strip() for line in latest.splitlines() if re.search(r"\blevel=(error|ERROR)\b", line)]
    return lines[0] if lines else None


def config_files(values: dict[str, Any], pods: list[dict[str, Any]], config_dir: str,
                 scrape_interval: str | None = None, evaluation_interval: str | None = None,
                 alertmanagers: list[str] | None = None) -> dict[str, str]:
    """Path -> text of prometheus.yml and each rule file, under config_dir."""
    files = {}
    rule_paths = []
    for name, groups in sorted(local_rule_files(values).items()):
        path = os.path.join(config_dir, name)
        files[path] = yaml.safe_dump(groups, sort_keys=False)
        rule_paths.append(path)
    config = prometheus_config(values, pods, rule_paths, scrape_interval, evaluation_interval, alertmanagers)
    files[os.path.join(config_dir, "prometheus.yml")] = yaml.safe_dump(config, sort_keys=False)
    return files


def ensure_prometheus(state: str, binary: str, values: dict[str, Any], pods: list[dict[str, Any]], run_dir: str,
                      name: str, listen_address: str, retention: str, scrape_interval: str | None = None,
                      evaluation_interval: str | None = None, health_timeout: float = 60, stop_timeout: float = 30,
                      check_mode: bool = False, alertmanagers: list[str] | None = None) -> dict[str, Any]:
    """Bring the local Prometheus to ``state``; returns local_process.ensure's result plus url and files."""
    pidfile = os.path.join(run_dir, f"{name}.pid")
    if state == "stopped":
        return ensure("stopped", [], None, pidfile, None, None, stop_timeout=stop_timeout, check_mode=check_mode)
    config_dir = os.path.join(run_dir, name)
    files = config_files(values, pods, config_dir, scrape_interval, evaluation_interval, alertmanagers)
    config_path = os.path.join(config_dir, "prometheus.yml")
    data_dir = os.path.join(run_dir, f"{name}-data")
    command = [binary, f"--config.file={config_path}", f"--storage.tsdb.path={data_dir}",
               f"--storage.tsdb.retention.time={retention}", f"--web.listen-address={listen_address}"]
    url = f"http://{listen_address}"
    result = _ensure_configured(files, command, "LLMOPS_PROMETHEUS_CONFIG_SHA256", run_dir, name, url,
                                health_timeout, stop_timeout, check_mode,
                                lambda logfile: _check_ours(url, data_dir, pidfile, logfile))
    result.update({"config_file": config_path, "data_dir": data_dir})
    return result


def _ensure_configured(files: dict[str, str], command: list[str], digest_env: str, run_dir: str, name: str,
                       url: str, health_timeout: float, stop_timeout: float, check_mode: bool,
                       check_ours: Any) -> dict[str, Any]:
    """Write the configuration files, then start (or leave alone) the server reading them; health at /-/ready.

    The files' digest is part of the environment, so the config hash (and a restart) follows their content.
    ``check_ours(logfile)`` runs after a start and raises when another server answers url.
    """
    files_changed = False
    if not check_mode:
        for path, text in files.items():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            files_changed |= write_if_changed(path, text)[0]
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    pidfile = os.path.join(run_dir, f"{name}.pid")
    logfile = os.path.join(run_dir, f"{name}.log")
    try:
        result = ensure("started", command, {digest_env: digest}, pidfile, logfile, f"{url}/-/ready", health_timeout,
                        stop_timeout, check_mode=check_mode)
    except LocalProcessError as error:
        raise LocalProcessError(_with_error_line(str(error), logfile)) from error
    if result["action"] != "none" and not check_mode:
        check_ours(logfile)
    result.update({"url": url, "logfile": logfile, "changed": result["changed"] or files_changed})
    return result


def ensure_alertmanager(state: str, binary: str, values: dict[str, Any], run_dir: str, name: str,
                        listen_address: str, health_timeout: float = 60, stop_timeout: float = 30,
                        check_mode: bool = False) -> dict[str, Any]:
    """Bring a local Alertmanager, configured from the chart values' ``alertmanager.config``, to ``state``.

    Gossip clustering is off (``--cluster.listen-address=``): one instance, no port 9094 opened on 0.0.0.0.
    """
    pidfile = os.path.join(run_dir, f"{name}.pid")
    if state == "stopped":
        return ensure("stopped", [], None, pidfile, None, None, stop_timeout=stop_timeout, check_mode=check_mode)
    config_dir = os.path.join(run_dir, name)
    config_path = os.path.join(config_dir, "alertmanager.yml")
    text = yaml.safe_dump(alertmanager_config(values), sort_keys=False)
    data_dir = os.path.join(run_dir, f"{name}-data")
    command = [binary, f"--config.file={config_path}", f"--storage.path={data_dir}",
               f"--web.listen-address={listen_address}", "--cluster.listen-address="]
    url = f"http://{listen_address}"
    result = _ensure_configured({config_path: text}, command, "LLMOPS_ALERTMANAGER_CONFIG_SHA256", run_dir, name, url,
                                health_timeout, stop_timeout, check_mode,
                                lambda logfile: _check_alertmanager_ours(url, alertmanager_config(values), pidfile,
                                                                         logfile))
    result["config_file"] = config_path
    return result


def _check_alertmanager_ours(url: str, config: dict[str, Any], pidfile: str, logfile: str,
                             grace_s: float = 10) -> None:
    """Fail when the Alertmanager answering url is not the one just started: its status (the loaded
    configuration, as Alertmanager re-serialises it) must route to our receivers and our process must live."""
    from .process import running_record

    status = _get_json(f"{url}/api/v2/status") or {}
    try:
        served = yaml.safe_load((status.get("config") or {}).get("original") or "") or {}
    except yaml.YAMLError:
        served = {}
    ours = (sorted(r.get("name") for r in config["receivers"]) == sorted(
        r.get("name") for r in served.get("receivers") or []) and
        (served.get("route") or {}).get("receiver") == config["route"].get("receiver"))
    if ours and running_record(pidfile) is not None:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and running_record(pidfile) is not None:
        time.sleep(0.5)
    raise LocalProcessError(_with_error_line(f"another server answers {url}, not the Alertmanager just started",
                                             logfile))


def _with_error_line(message: str, logfile: str) -> str:
    line = error_line(log_tail(logfile, 60))
    return f"{line}\n{message}" if line else message


def _check_ours(url: str, data_dir: str, pidfile: str, logfile: str, grace_s: float = 10) -> None:
    """Fail when the server answering url is not the one just started (another one holds the port).

    The new process then exits on its failed bind; wait for that and report its own error line.
    """
    from .process import running_record

    flags = _get_json(f"{url}/api/v1/status/flags")
    tsdb = (flags or {}).get("data", {}).get("storage.tsdb.path")
    if tsdb and os.path.abspath(tsdb) == os.path.abspath(data_dir):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and running_record(pidfile) is not None:
        time.sleep(0.5)
    message = (f"another server answers {url} (storage {tsdb or 'unknown'}), not the Prometheus started with "
               f"storage {data_dir}")
    raise LocalProcessError(_with_error_line(message, logfile))


def _get_json(url: str, timeout: float = 5) -> dict[str, Any] | None:
    import urllib.error

    try:
        with http_get(url, timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


__all__ = ["LocalProcessError", "alertmanager_config", "alertmanager_enabled", "config_files", "ensure_alertmanager",
           "ensure_prometheus", "error_line", "health_ok", "kubernetes_pod_meta", "local_rule_files",
           "local_scrape_configs", "prometheus_config"]
