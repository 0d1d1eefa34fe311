# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: benchmark_progress
short_description: The last progress line of a running benchmark, from its progress.log or its Job's log
version_added: 0.2.0
description:
  - Returns the last line among the input that the benchmark engine wrote as progress (level, done/total,
    req/s, p50 TTFT, errors, as in C(07:16:02 [c8] 12/40 done, 3.20 req/s, p50 TTFT 416.0 ms, errors 0)),
    or an empty string when there is none yet. Every other line (a log's other output, the results stream,
    a line cut short) is skipped.
  - The benchmark role's waits print the same line, for the controller runner (the run's C(progress.log), through
    M(llmops.oke.async_follow)) and the kubernetes runner (the benchmark pod's log, through
    M(llmops.oke.k8s_job_follow)) alike.
options:
  _input:
    description: The lines to look through, as a list or as one text.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Benchmark progress
  ansible.builtin.debug:
    msg: "{{ (pod_log.log_lines | llmops.oke.benchmark_progress) or 'preparing' }}"
"""

RETURN = r"""
_value:
  description: The last progress line, or an empty string.
  type: str
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import last_progress  # noqa: E402


def benchmark_progress(lines: Any) -> str:
    if lines is None:
        return ""
    if isinstance(lines, str):
        return last_progress(lines.splitlines())
    if isinstance(lines, list):
        return last_progress(str(line) for line in lines)
    raise AnsibleFilterError(f"benchmark_progress expects log lines (a list or a text), got {type(lines).__name__}")


class FilterModule:
    """Benchmark progress lines."""

    def filters(self):
        return {"benchmark_progress": benchmark_progress}
