# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_side_by_side
short_description: A Markdown table comparing benchmark runs of different backends side by side
version_added: 0.1.0
description:
  - For each run (the C(summary) of M(llmops.oke.llm_benchmark)'s result, a backend name and a workload label), the
    highest level that met the SLOs (else the highest measured) with its TTFT and ITL p50, output throughput,
    prompt-cache share, and the cost per 1M output tokens if that throughput ran on the OCI shape the backend runs on
    (vLLM VM.GPU.A10.1, llama.cpp VM.Standard.A1.Flex 4 OCPUs / 24 GB).
options:
  _input:
    description: "Runs: each a dict with C(backend) (C(vllm) or C(llama.cpp)), C(workload) and C(summary)."
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the side-by-side table
  ansible.builtin.copy:
    content: "{{ [{'backend': 'llama.cpp', 'workload': 'chatbot', 'summary': llama.summary},
                  {'backend': 'vllm', 'workload': 'rag', 'summary': vllm.summary}] | llmops.oke.bench_side_by_side }}"
    dest: results/side_by_side.md
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The Markdown table and a note on what the cost column means.
  type: str
"""

from typing import Any  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.bench.side_by_side import markdown, row  # noqa: E402


def bench_side_by_side(runs: list[dict[str, Any]]) -> str:
    return markdown([row(run["backend"], run["summary"], run.get("workload", "")) for run in runs])


class FilterModule:
    """Benchmark comparison across backends."""

    def filters(self):
        return {"bench_side_by_side": bench_side_by_side}
