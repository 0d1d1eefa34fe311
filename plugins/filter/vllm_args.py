# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vllm_args
short_description: The vLLM server arguments for vllm role settings, for the Kubernetes Deployment or the process
version_added: 0.1.0
description:
  - Turns the vllm role's settings (presets applied) into vLLM server arguments. The same builder serves both
    runtimes (module_utils C(server/vllm_args.py)); only the mode differs.
  - V(kubernetes) gives the Deployment's container args for C(vllm serve) on the GPU image (listening on every
    interface, GPU settings as given, the Hugging Face cache folder, the model revision for Hub weights).
  - V(process) gives the arguments of vLLM's CPU build for the role's process runtime, with the CPU mapping
    table applied (filter C(llmops.oke.vllm_process_plan) adds what it dropped or mapped).
options:
  _input:
    description:
      - "Settings: C(model) (required), C(served_model_name), C(host) (default V(0.0.0.0) in V(kubernetes) mode,
        V(127.0.0.1) in V(process) mode), C(port), C(dtype), C(gpu_memory_utilization) (required in V(kubernetes)
        mode), C(max_num_seqs), C(tensor_parallel_size), C(download_dir), C(model_source) and C(revision) (the
        revision is given only for V(huggingface)), C(max_model_len), C(enable_prefix_caching), C(block_size)
        (process mode, 0 = vLLM's choice), C(shutdown_timeout), C(extra_args) (list)."
    type: dict
    required: true
  mode:
    description: Which runtime the arguments are for.
    type: str
    choices: [kubernetes, process]
    default: process
"""

EXAMPLES = r"""
- name: Show the Deployment's container args
  ansible.builtin.debug:
    msg: "{{ {'model': 'meta-llama/Llama-3.2-1B-Instruct', 'port': 8000, 'dtype': 'float16',
              'gpu_memory_utilization': 0.9, 'max_num_seqs': 64, 'shutdown_timeout': 119}
             | llmops.oke.vllm_args('kubernetes') }}"
"""

RETURN = r"""
_value:
  description: The server arguments, without the program name.
  type: list
  elements: str
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_args import VllmArgsError, server_args  # noqa: E402


def vllm_args(settings: dict[str, Any], mode: str = "process") -> list[str]:
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"vllm_args expects a dict of settings, got {type(settings).__name__}")
    try:
        return server_args(settings, mode)
    except KeyError as error:
        raise AnsibleFilterError(f"vllm_args: the setting {error} is missing") from error
    except (VllmArgsError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"vllm_args: {error}") from error


class FilterModule:
    """vLLM server argument builder (Kubernetes and process runtimes)."""

    def filters(self):
        return {"vllm_args": vllm_args}
