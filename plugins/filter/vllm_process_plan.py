# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vllm_process_plan
short_description: The vLLM CPU server arguments for vllm role settings, and what the CPU build drops or maps
version_added: 0.1.0
description:
  - Turns the vllm role's settings (presets applied) into the arguments of
    C(python -m vllm.entrypoints.openai.api_server) on vLLM's CPU build, for the role's process runtime.
  - Settings with no CPU meaning are dropped or mapped by one table (the role README shows it), and each one the
    input sets is listed in RV(_value.notes), never silently.
options:
  _input:
    description:
      - "Settings: C(model) (required, a folder), C(served_model_name), C(host), C(port), C(dtype),
        C(max_model_len), C(max_num_seqs), C(enable_prefix_caching), C(gpu_memory_utilization),
        C(tensor_parallel_size), C(block_size) (tokens per KV block, 0 = vLLM's choice),
        C(shutdown_timeout) (seconds vLLM lets running requests finish after SIGTERM),
        C(extra_args) (list)."
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the server arguments
  ansible.builtin.debug:
    msg: "{{ {'model': '/models/demo', 'port': 8000, 'max_num_seqs': 4, 'dtype': 'float16'}
             | llmops.oke.vllm_process_plan }}"
"""

RETURN = r"""
_value:
  description: C(args) (list of arguments) and C(notes) (what was dropped or mapped, one line each).
  type: dict
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_args import VllmArgsError, cpu_notes, process_args  # noqa: E402


def vllm_process_plan(settings: dict[str, Any]) -> dict[str, list[str]]:
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"vllm_process_plan expects a dict of settings, got {type(settings).__name__}")
    try:
        return {"args": process_args(settings), "notes": cpu_notes(settings)}
    except (VllmArgsError, TypeError, ValueError) as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:
    """vLLM process-runtime argument builder."""

    def filters(self):
        return {"vllm_process_plan": vllm_process_plan}
