# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: llama_cpp_args
short_description: Build the llama-server argument list from llama_cpp role settings
version_added: 0.1.0
description:
  - Turns a dictionary of llama.cpp server settings into the list of C(llama-server) arguments.
  - The llama_cpp role uses it for the Kubernetes container args and for the local process command alike.
  - C(ctx_size_per_slot) is multiplied by C(parallel) to give C(--ctx-size).
  - Settings that are V(null), V(0) or empty keep llama-server's own default.
options:
  _input:
    description:
      - "Settings: C(model) (required), C(alias), C(host), C(port), C(threads), C(threads_batch), C(parallel),
        C(ctx_size_per_slot), C(batch_size), C(ubatch_size), C(cont_batching), C(metrics), C(flash_attn)
        (V(auto), V(on), V(off)), C(jinja), C(webui), C(warmup), C(kv_unified), C(extra_args) (list)."
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the server arguments
  ansible.builtin.debug:
    msg: "{{ {'model': '/models/m.gguf', 'threads': 4, 'parallel': 2, 'ctx_size_per_slot': 512,
              'metrics': true} | llmops.oke.llama_cpp_args }}"
  # ['--model', '/models/m.gguf', '--threads', '4', '--parallel', '2', '--ctx-size', '1024', '--metrics']
"""

RETURN = r"""
_value:
  description: The llama-server arguments, without the program name.
  type: list
  elements: str
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.server.llama_cpp_args import ServerArgsError, build_server_args  # noqa: E402


def llama_cpp_args(settings: dict[str, Any]) -> list[str]:
    """Filter entry point: settings dict -> list of llama-server arguments."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"llama_cpp_args expects a dict of settings, got {type(settings).__name__}")
    try:
        return build_server_args(settings)
    except ServerArgsError as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:
    """llama.cpp server argument builder."""

    def filters(self):
        return {"llama_cpp_args": llama_cpp_args}
