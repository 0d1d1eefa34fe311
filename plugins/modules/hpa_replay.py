#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: hpa_replay
short_description: Replay an HPA over a benchmark run from prometheus-adapter's own queries to a real Prometheus
version_added: 0.1.0
description:
  - Reads the level windows of a benchmark run folder (C(summary.json) of M(llmops.oke.llm_benchmark)), finds the
    prometheus-adapter rule that serves the HPA's Pods metric, discovers the pods its C(seriesQuery) finds, and
    expands its C(metricsQuery) as the adapter does for a per-pod custom metric.
  - Evaluates that query against Prometheus every O(step_s) seconds over the run (a range query, the same
    instant query at each step), applies the HPA algorithm (ratio to target, tolerance 0.1, the manifest's
    min/max, stabilization windows and rate policies) and records the replicas the HPA would have asked for.
  - Writes C(scaling.json) and C(plots/scaling_timeline.png) into the run folder and redraws its report, which
    gains a scaling section. A step where Prometheus has no sample (a failed scrape) is a gap, never a zero.
  - A run folder that already holds C(scaling.json) is left alone (unchanged) unless O(force=true).
author:
  - llmops.oke maintainers (@llmops)
requirements:
  - matplotlib (for the plot and the report)
options:
  prometheus_url:
    description: Base URL of the Prometheus that scraped the server during the run.
    type: str
    required: true
  run_dir:
    description: The benchmark run folder (holds C(summary.json)).
    type: path
    required: true
  adapter_rules:
    description: The C(rules.custom) list of the prometheus-adapter chart values the autoscaling role renders.
    type: list
    elements: dict
    required: true
  hpa:
    description: The autoscaling/v2 HorizontalPodAutoscaler manifest the autoscaling role renders.
    type: dict
    required: true
  target_per_pod:
    description: AverageValue target to replay instead of the manifest's (for example the benchmark's recommendation).
    type: float
  in_flight_series:
    description: Series of requests in flight per pod, queried with the same adapter template for the report.
    type: str
  step_s:
    description: Seconds between samples.
    type: float
    default: 2
  force:
    description: Replay again when the run folder already holds C(scaling.json).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Queries nothing and writes nothing; reports whether a replay would run.
  diff_mode:
    support: none
    description: No diff is produced.
"""

EXAMPLES = r"""
- name: What the HPA would have asked for during the run
  llmops.oke.hpa_replay:
    prometheus_url: http://127.0.0.1:9090
    run_dir: "{{ benchmark_result.run_dir }}"
    adapter_rules: >-
      {{ (lookup('ansible.builtin.template', 'prometheus-adapter.values.yaml.j2') | from_yaml).rules.custom }}
                       | from_yaml).rules.custom }}"
    hpa: "{{ lookup('ansible.builtin.template', 'hpa.yaml.j2') | from_yaml_all | first }}"
    in_flight_series: llamacpp:requests_processing
"""

RETURN = r"""
scaling:
  description: The content of C(scaling.json) (adapter query, policy, per-level peaks, timeline, verdict).
  returned: unless check mode
  type: dict
message:
  description: One line saying whether scaling would have triggered and when.
  returned: unless check mode
  type: str
  sample: "Scaling would have triggered at +84s during level c16: the HPA asked for 5 replicas (peak 5)."
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.bench import run_folder
from ansible_collections.llmops.oke.plugins.module_utils.bench.fileio import atomic_write_text
from ansible_collections.llmops.oke.plugins.module_utils.bench.prom_sampler import (
    PrometheusClient,
    PrometheusQueryError,
    observe,
    plot_scaling,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            prometheus_url=dict(type="str", required=True),
            run_dir=dict(type="path", required=True),
            adapter_rules=dict(type="list", elements="dict", required=True),
            hpa=dict(type="dict", required=True),
            target_per_pod=dict(type="float"),
            in_flight_series=dict(type="str"),
            step_s=dict(type="float", default=2),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    run_dir = params["run_dir"]
    scaling_path = os.path.join(run_dir, "scaling.json")
    if params["step_s"] <= 0:
        module.fail_json(msg="hpa_replay: step_s must be > 0, got {}".format(params["step_s"]))
    if os.path.exists(scaling_path) and not params["force"]:
        with open(scaling_path, encoding="utf-8") as handle:
            scaling = json.load(handle)
        module.exit_json(changed=False, scaling=scaling, message=scaling["verdict"]["message"])
    if module.check_mode:
        module.exit_json(changed=True)
    try:
        summary = run_folder.read_summary(run_dir)
    except (OSError, ValueError) as error:
        module.fail_json(msg=f"hpa_replay: cannot read the run's summary.json in {run_dir}: {error}")
    try:
        scaling = observe(PrometheusClient(params["prometheus_url"]), params["adapter_rules"], params["hpa"],
                          summary, params["step_s"], params["target_per_pod"], params["in_flight_series"])
    except (PrometheusQueryError, KeyError, ValueError) as error:
        module.fail_json(msg="hpa_replay of run {} against {}: {}".format(run_dir, params["prometheus_url"], error))
    os.makedirs(os.path.join(run_dir, "plots"), exist_ok=True)
    scaling["plot"] = "plots/scaling_timeline.png"
    plot_scaling(scaling, os.path.join(run_dir, scaling["plot"]))
    atomic_write_text(scaling_path, json.dumps(scaling, indent=1), 0o644)
    run_folder.redraw(run_dir)
    module.exit_json(changed=True, scaling=scaling, message=scaling["verdict"]["message"])


if __name__ == "__main__":
    main()
