# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vllm_role_flag_conflicts
short_description: The vllm_extra_args entries that set a flag the vllm role already sets
version_added: 0.1.0
description:
  - One message per entry of the list that names a flag the role renders from its own variables (C(--port),
    C(--max-num-seqs), ...), in any spelling vLLM's parser accepts (C(--max_num_seqs=4)), naming the variable to
    set instead.
  - On the V(process) runtime the role also sets C(--block-size) (O(vllm_cpu_block_size)).
options:
  _input:
    description: The extra arguments (vllm_extra_args).
    type: list
    elements: str
    required: true
  runtime:
    description: The vllm role's runtime (vllm_runtime).
    type: str
    choices: [kubernetes, process]
    default: kubernetes
"""

EXAMPLES = r"""
- name: Refuse flags the role sets
  ansible.builtin.assert:
    that: (vllm_extra_args | llmops.oke.vllm_role_flag_conflicts) | length == 0
"""

RETURN = r"""
_value:
  description: One message per conflicting entry (empty when none).
  type: list
  elements: str
"""

from typing import Any  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_args import role_flag_conflicts  # noqa: E402


def vllm_role_flag_conflicts(extra_args: Any, runtime: str = "kubernetes") -> list[str]:
    return role_flag_conflicts(list(extra_args or []), str(runtime))


class FilterModule:
    """vllm_extra_args check against the role's own flags."""

    def filters(self):
        return {"vllm_role_flag_conflicts": vllm_role_flag_conflicts}
