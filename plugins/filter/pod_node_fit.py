# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pod_node_fit
short_description: How many of a pod one OKE node of a pool holds, and why none fits
version_added: 0.2.0
description:
  - Computes what one node of the pool can give to pods (the shape's OCPUs as vCPUs, memory and GPUs, less the
    kube-reserved, system-reserved and eviction figures Oracle documents for OKE worker nodes) and how many of the
    pod fit on it. The problems name the variables given in the C(say) maps.
  - The inference roles' preflights refuse a pod that does not fit its pool; the observe stage's replicas per node
    come from the same figures.
options:
  _input:
    description: The pod, with keys C(cpu) (vCPUs requested), C(memory_gib), C(gpus), C(tensor_parallel) and C(say)
      (for each key, the words naming the variable that set it).
    type: dict
    required: true
  pool:
    description: The pool, with keys C(shape), C(ocpus) and C(memory_gb) (flexible shapes) and C(say).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a llama.cpp pod the A1 pool cannot hold
  ansible.builtin.assert:
    that: __fit.fits
    fail_msg: "{{ __fit.problems | join('; ') }}"
  vars:
    __fit: >-
      {{ {'cpu': 16, 'memory_gib': 24, 'gpus': 0, 'say': {'cpu': 'llama_cpp_ocpus=16'}}
         | llmops.oke.pod_node_fit({'shape': 'VM.Standard.A1.Flex', 'ocpus': 8, 'memory_gb': 48,
                                    'say': {'ocpus': 'oke_node_pools_cpu_ocpus=8'}}) }}
"""

RETURN = r"""
_value:
  description: C(fits), C(replicas_per_node) (0 when none fits), C(problems) (sentences naming the variables) and
    C(allocatable) (the node's C(cpu_m), C(memory_mib), C(gpus)).
  type: dict
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.k8s import node_fit  # noqa: E402


def pod_node_fit(pod: Any, pool: Any) -> dict[str, Any]:
    if not isinstance(pod, dict) or not isinstance(pool, dict):
        raise AnsibleFilterError("pod_node_fit expects a pod dict and a pool dict")
    try:
        return node_fit.pod_node_fit(pod, pool)
    except node_fit.NodeFitError as error:
        raise AnsibleFilterError(f"pod_node_fit: {error}") from None


class FilterModule:
    """Pod-to-node fit."""

    def filters(self):
        return {"pod_node_fit": pod_node_fit}
