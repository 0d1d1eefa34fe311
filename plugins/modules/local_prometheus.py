#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: local_prometheus
short_description: Run a real Prometheus locally with the scrape job and rules of the monitoring chart values
version_added: 0.1.0
description:
  - Writes C(prometheus.yml) and the rule files from the prometheus-community chart values the monitoring role
    renders (C(server.global), C(extraScrapeConfigs), C(serverFiles)), so the local server runs the shipped
    scrape job and recording/alerting rules.
  - Kubernetes pod discovery becomes static targets carrying the C(__meta_kubernetes_*) labels Kubernetes
    service discovery sets for a running pod; the job's own relabelling then sets C(namespace), C(pod),
    C(backend), as in the cluster. Scrape jobs with static targets of their own (cluster Services) are left out.
  - Runs Prometheus as a managed background process (pid file with start time, log file, health at C(/-/ready)),
    the same way M(llmops.oke.local_server) runs llama-server. Unchanged files and flags leave a healthy server
    alone; a change restarts it; O(state=stopped) stops it.
  - When Prometheus fails to start (a port in use, a rule file it rejects) the task fails with Prometheus's own
    error line.
  - With O(alertmanager_listen_address) set and the values' C(alertmanager.enabled) on, a real Alertmanager runs
    beside it with the values' C(alertmanager.config) (receivers, route), started first, and Prometheus sends its
    alerts there, as the chart wires its server to the C(alertmanager) sub-chart. Its files are named
    C(<name>-alertmanager) in O(run_dir). It fails with Alertmanager's own error line when its configuration is
    refused.
author:
  - llmops.oke maintainers (@llmops)
options:
  state:
    description: Whether Prometheus should be running.
    type: str
    choices: [started, stopped]
    default: started
  values:
    description: The prometheus chart values rendered by the monitoring role; required with O(state=started).
    type: dict
  pods:
    description:
      - Local servers to scrape, each as the pod Kubernetes discovery would report.
      - C(address) (host:port), C(namespace), C(pod), C(container), C(port_name), C(node) and C(labels) (pod labels).
    type: list
    elements: dict
    default: []
  run_dir:
    description:
      - Folder of the pid file, the log, the generated configuration (C(<name>/)) and the TSDB (C(<name>-data/)).
    type: path
    required: true
  name:
    description: Base name of the files in O(run_dir).
    type: str
    default: prometheus
  binary:
    description: The Prometheus server binary.
    type: path
    default: /usr/bin/prometheus
  listen_address:
    description: Host and port Prometheus serves its API and UI on.
    type: str
    default: 127.0.0.1:9090
  retention:
    description: TSDB retention (C(--storage.tsdb.retention.time)).
    type: str
    default: 1d
  scrape_interval:
    description:
      - Global scrape interval instead of the chart values' (short on one machine, to see a benchmark's levels).
    type: str
  evaluation_interval:
    description: Global rule evaluation interval instead of the chart values'.
    type: str
  health_timeout:
    description: Seconds to wait for C(/-/ready) after a start.
    type: int
    default: 60
  stop_timeout:
    description: Seconds to wait after SIGTERM before SIGKILL.
    type: int
    default: 30
  alertmanager_listen_address:
    description:
      - Host and port of the local Alertmanager; unset, none runs and Prometheus sends no alerts.
      - Ignored when the values turn C(alertmanager.enabled) off (that Alertmanager is then stopped).
    type: str
  alertmanager_binary:
    description: The Alertmanager binary (Debian package C(prometheus-alertmanager)).
    type: path
    default: /usr/bin/prometheus-alertmanager
attributes:
  check_mode:
    support: full
    description: Reports whether a start, restart or stop would happen, writing and starting nothing.
  diff_mode:
    support: full
    description: Shows the state and config hash before and after.
notes:
  - Linux only (reads C(/proc)).
"""

EXAMPLES = r"""
- name: Prometheus scraping the local llama-server as pod llama-cpp-local in namespace llmops
  llmops.oke.local_prometheus:
    values: "{{ lookup('ansible.builtin.template', 'prometheus.values.yaml.j2') | from_yaml }}"
    pods:
      - address: 127.0.0.1:8080
        namespace: llmops
        pod: llama-cpp-local
        container: llama-cpp
        port_name: http
        labels:
          app.kubernetes.io/name: llama-cpp
    run_dir: ~/.cache/llmops-oke/run
    scrape_interval: 1s

- name: Stop it
  llmops.oke.local_prometheus:
    state: stopped
    run_dir: ~/.cache/llmops-oke/run
"""

RETURN = r"""
url:
  description: Base URL of the running Prometheus.
  returned: when state is started
  type: str
  sample: http://127.0.0.1:9090
pid:
  description: Pid of the running Prometheus (null when stopped).
  returned: always
  type: int
action:
  description: What was done (start, restart, stop, none).
  returned: always
  type: str
config_file:
  description: The generated prometheus.yml.
  returned: when state is started
  type: str
alertmanager:
  description: The local Alertmanager's url, pid, action and configuration file (pid null when none runs).
  returned: always
  type: dict
  sample:
    url: http://127.0.0.1:9093
    pid: 4242
    action: start
    config_file: /run/prometheus-alertmanager/alertmanager.yml
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.local.observe import (
    LocalProcessError,
    alertmanager_enabled,
    ensure_alertmanager,
    ensure_prometheus,
)

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["started", "stopped"], default="started"),
    values=dict(type="dict"),
    pods=dict(type="list", elements="dict", default=[]),
    run_dir=dict(type="path", required=True),
    name=dict(type="str", default="prometheus"),
    binary=dict(type="path", default="/usr/bin/prometheus"),
    listen_address=dict(type="str", default="127.0.0.1:9090"),
    retention=dict(type="str", default="1d"),
    scrape_interval=dict(type="str"),
    evaluation_interval=dict(type="str"),
    health_timeout=dict(type="int", default=60),
    stop_timeout=dict(type="int", default=30),
    alertmanager_listen_address=dict(type="str"),
    alertmanager_binary=dict(type="path", default="/usr/bin/prometheus-alertmanager"),
)


def ensure_alerting(module, values, run_alertmanager):
    """Start (or stop) the Alertmanager beside Prometheus; fails the task naming it and the cause."""
    params = module.params
    alertmanager_name = params["name"] + "-alertmanager"
    where = params["alertmanager_listen_address"] or "(none)"
    try:
        if run_alertmanager:
            # Started first: Prometheus then finds its Alertmanager from its first rule evaluation.
            return ensure_alertmanager("started", params["alertmanager_binary"], values, params["run_dir"],
                                       alertmanager_name, params["alertmanager_listen_address"],
                                       params["health_timeout"], params["stop_timeout"], module.check_mode)
        return ensure_alertmanager("stopped", params["alertmanager_binary"], values, params["run_dir"],
                                   alertmanager_name, where, stop_timeout=params["stop_timeout"],
                                   check_mode=module.check_mode)
    except (LocalProcessError, ValueError) as error:
        module.fail_json(msg=f"local_prometheus: Alertmanager {alertmanager_name} at {where}: {error}")
    except OSError as error:
        module.fail_json(msg="local_prometheus: Alertmanager {}: cannot write its files in {}: {}".format(
            alertmanager_name, params["run_dir"], error))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=[("state", "started", ("values",))],
                           supports_check_mode=True)
    params = module.params
    for index, pod in enumerate(params["pods"]):
        missing = [key for key in ("address", "namespace", "pod") if not pod.get(key)]
        if missing:
            module.fail_json(msg="local_prometheus: pods[{}] lacks {}".format(index, ", ".join(missing)))
    values = params["values"] or {}
    run_alertmanager = (params["state"] == "started" and bool(params["alertmanager_listen_address"])
                        and alertmanager_enabled(values))
    alerting = ensure_alerting(module, values, run_alertmanager)
    try:
        result = ensure_prometheus(params["state"], params["binary"], values, params["pods"],
                                   params["run_dir"], params["name"], params["listen_address"], params["retention"],
                                   params["scrape_interval"], params["evaluation_interval"], params["health_timeout"],
                                   params["stop_timeout"], module.check_mode,
                                   [params["alertmanager_listen_address"]] if run_alertmanager else None)
    except (LocalProcessError, ValueError) as error:
        module.fail_json(msg="local_prometheus {} at {}: {}".format(params["name"], params["listen_address"], error))
    except OSError as error:
        module.fail_json(msg="local_prometheus {}: cannot write its files in {}: {}".format(
            params["name"], params["run_dir"], error))
    result["changed"] = result["changed"] or alerting["changed"]
    result["alertmanager"] = {key: alerting.get(key) for key in ("url", "pid", "action", "config_file")}
    if "diff" in result:
        result["diff"] = {side: {**result["diff"][side], "alertmanager": alerting["diff"][side]}
                          for side in ("before", "after")}
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
