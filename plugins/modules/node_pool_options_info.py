#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_pool_options_info
short_description: What OCI offers the node pools of an OKE cluster
version_added: 0.1.0
description:
  - Reads the node pool options of one cluster (C(GetNodePoolOptions)) in one call; the shapes, Kubernetes versions
    and images a node pool of that cluster can use.
  - Lets a playbook check every pool's shape before it creates the first one.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.READ_ONLY
options:
  cluster_id:
    description: OCID of the OKE cluster whose node pool options are read.
    type: str
    required: true
  compartment_id:
    description: OCID of the compartment of the cluster (narrows the images to those visible there).
    type: str
"""

EXAMPLES = r"""
- name: What the cluster's node pools may use
  llmops.oke.node_pool_options_info:
    cluster_id: "{{ oke_cluster_id }}"
    compartment_id: "{{ oke_compartment_id }}"
  register: options

- name: Refuse a shape OCI does not offer
  ansible.builtin.assert:
    that: oke_node_pools_gpu_shape in options.node_pool_options.shapes
"""

RETURN = r"""
node_pool_options:
  description: The node pool options (snake_case, as OCI returns them).
  returned: always
  type: dict
  contains:
    shapes:
      description: Shapes a node pool of the cluster can use.
      type: list
      elements: str
    kubernetes_versions:
      description: Kubernetes versions the nodes can run.
      type: list
      elements: str
    sources:
      description: Node image sources (source_type, source_name, image_id).
      type: list
      elements: dict
  sample: {"shapes": ["VM.GPU.A10.1", "VM.Standard.A1.Flex"], "kubernetes_versions": ["v1.31.1"]}
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, OCIModule, model_to_dict
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import fail_on_input_errors, ocid_errors

if HAS_OCI:
    import oci

ARGUMENT_SPEC: dict[str, Any] = {
    "cluster_id": {"type": "str", "required": True},
    "compartment_id": {"type": "str"},
}


def main() -> None:
    module = OCIModule(ARGUMENT_SPEC, wait_timeout_default=None)
    p = module.params
    fail_on_input_errors(module, "node_pool_options_info", ocid_errors(p, {
        "cluster_id": "cluster", "compartment_id": ("compartment", "tenancy")}))
    client = module.client(oci.container_engine.ContainerEngineClient)
    kwargs = {"compartment_id": p["compartment_id"]} if p.get("compartment_id") else {}
    response = module.call_or_fail(f"read the node pool options of cluster {p['cluster_id']}",
                                   client.get_node_pool_options, p["cluster_id"], **kwargs)
    options = model_to_dict(response.data)
    options.pop("images", None)  # deprecated list of names; ``sources`` carries them with their OCIDs
    module.exit_json(changed=False, node_pool_options=options)


if __name__ == "__main__":
    main()
