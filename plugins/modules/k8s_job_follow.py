#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: k8s_job_follow
short_description: Wait for a Kubernetes Job to complete or fail, printing its pod's latest progress line
version_added: 0.1.0
description:
  - Every O(interval_s) seconds, reads the Job with C(kubernetes.core.k8s_info). It has ended when it has a
    condition of type C(Complete) or C(Failed) with status C(True) (batch/v1 JobStatus); then the Job is
    returned as C(kubernetes.core.k8s_info) returns it, and the caller decides what a failed Job means.
  - While it runs, reads the end of its newest pod's log with C(kubernetes.core.k8s_log) and prints, at the
    default verbosity (and so in AWX job output), the last line that the benchmark engine wrote as progress
    (see P(llmops.oke.benchmark_progress#filter)), or the pod's phase while there is none.
  - Fails naming the Job when it is gone, when it is still running O(grace_s) seconds past O(timeout_s), or when
    three reads of it in a row fail (one or two failed reads, such as an API server restarting, are said and
    tried again at the next look).
  - One task however many looks, where a task file that includes itself to look again makes ansible-playbook
    stop with C(maximum recursion depth exceeded) after about 246 looks.
  - The kubernetes.core modules run through their own action plugins, so a vaulted or controller-side
    O(kubeconfig) works as it does for them.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.follow
requirements:
  - the kubernetes.core collection and the kubernetes Python client where it runs
options:
  name:
    description: The Job's name.
    type: str
    required: true
  namespace:
    description: The Job's namespace.
    type: str
    required: true
  container:
    description: The pod's container whose log holds the progress lines.
    type: str
    required: true
  label:
    description: What the progress lines start with, such as C(benchmark night (Job llmops/llm-benchmark)).
    type: str
    required: true
  what:
    description: Said after the Job's name in failures, such as the engine it runs.
    type: str
    default: Job
  timeout_s:
    description: The Job's own deadline (its C(activeDeadlineSeconds)).
    type: int
    required: true
  timeout_name:
    description: The name of the variable the user set for O(timeout_s), named in the timeout failure.
    type: str
    default: timeout_s
  grace_s:
    description: Seconds past O(timeout_s) for the API to mark the Job Failed before this fails.
    type: int
    default: 120
  tail_lines:
    description: How many of the log's last lines to look through for a progress line.
    type: int
    default: 20
  kubeconfig:
    description: As C(kubernetes.core.k8s_info)'s kubeconfig (a path or a dict); omitted uses its default.
    type: raw
  context:
    description: The kubeconfig context; omitted uses the current one.
    type: str
"""

EXAMPLES = r"""
- name: Wait for the benchmark Job
  llmops.oke.k8s_job_follow:
    name: llm-benchmark-builtin-night
    namespace: llmops
    container: benchmark
    label: benchmark night
    timeout_s: 3600
    interval_s: 15
  register: job

- name: Fail when the Job failed
  ansible.builtin.fail:
    msg: the benchmark Job failed
  when: job.resources[0].status.conditions | selectattr('type', 'equalto', 'Failed') | list | length > 0
"""

RETURN = r"""
resources:
  description: The Job, as C(kubernetes.core.k8s_info) returns it, once it has completed or failed.
  returned: success
  type: list
  elements: dict
"""
