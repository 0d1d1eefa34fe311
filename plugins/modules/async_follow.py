#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: async_follow
short_description: Follow a task started with async and poll 0 to its end, printing its progress every interval
version_added: 0.1.0
description:
  - >-
    Looks at the job with C(ansible.builtin.async_status) every O(interval_s) seconds. While it runs, prints one
    line at the default verbosity (and so in AWX job output) from the job's progress file on the target, such as
    C(benchmark night: 07:16:02 [c8] 12/40 done, 3.20 req/s, p50 TTFT 416.0 ms, errors 0 (37 s elapsed)).
  - >-
    On a local connection without become, it also reads the job's file in the async directory every 0.5 s between
    looks and looks at once when that file holds the job's result, so a job that ends just after a look is not
    waited for until the next interval.
  - When the job has ended, returns the job's own result, so a failed job fails this task with its message, and
    removes the job's file from the async directory (C(async_status) with C(mode=cleanup)).
  - One task however many looks, where a task file that includes itself to look again makes ansible-playbook
    stop with C(maximum recursion depth exceeded) after about 246 looks.
  - The time limit is the C(async) value of the task that started the job; past it, ansible-core kills the job and
    this task fails, naming O(time_limit_name) when it is set.
  - The llama_cpp role follows its llama-server build with it, the benchmark role its sweep.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.follow
options:
  jid:
    description: "The C(ansible_job_id) that the task started with C(async) and C(poll: 0) registered."
    type: str
    required: true
  label:
    description: What the progress lines start with, such as C(benchmark night) or C(llama-server build).
    type: str
    required: true
  progress_path:
    description: The job's progress file on the target. A file not written yet is not an error.
    type: str
    required: true
  progress_format:
    description:
      - V(benchmark) prints the last progress line of a benchmark run's C(progress.log)
        (see P(llmops.oke.benchmark_progress#filter)).
      - V(build_step) prints the step of a progress file that C(llmops.oke.llama_server_install) writes,
        such as C(step 4/5 compile 45%).
    type: str
    required: true
    choices: [benchmark, build_step]
  time_limit_s:
    description: The C(async) value of the task that started the job, said in the failure when it runs out.
    type: int
  time_limit_name:
    description: The variable the user sets for that time limit, named in the failure when it runs out.
    type: str
notes:
  - An action plugin, run on the controller; C(async_status) and the progress file read run on the target
    (delegate_to applies).
"""

EXAMPLES = r"""
- name: Build llama-server
  llmops.oke.llama_server_install:
    progress_path: /tmp/build-progress.json
  async: 7200
  poll: 0
  register: build_job

- name: Follow the build until it ends
  llmops.oke.async_follow:
    jid: "{{ build_job.ansible_job_id }}"
    label: llama-server build
    progress_path: /tmp/build-progress.json
    progress_format: build_step
    interval_s: 15
  register: build
"""

RETURN = r"""
finished:
  description: True; the rest of the result is the job's own.
  returned: success
  type: bool
ansible_job_id:
  description: The job that was followed.
  returned: always
  type: str
"""
