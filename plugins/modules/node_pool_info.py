#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_pool_info
short_description: List or read OKE node pools
version_added: 0.1.0
description:
  - Returns the node pools of a compartment (optionally of one cluster, or one by name or OCID), every page.
  - Node pools in state C(DELETED) are left out unless O(include_deleted=true).
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.READ_ONLY
options:
  compartment_id:
    description: OCID of the compartment to list. Required unless O(node_pool_id) is given.
    type: str
  cluster_id:
    description: Only node pools of this cluster.
    type: str
  name:
    description: Only the node pools with this name.
    type: str
  node_pool_id:
    description: Read this one node pool (full details, including nodes) instead of listing.
    type: str
  include_deleted:
    description: Also return node pools in state C(DELETED).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Node pools of the cluster
  llmops.oke.node_pool_info:
    compartment_id: "{{ oke_compartment_id }}"
    cluster_id: "{{ oke_cluster_id }}"
  register: pools

- name: One pool with its nodes
  llmops.oke.node_pool_info:
    node_pool_id: "{{ pools.node_pools[0].id }}"
"""

RETURN = r"""
node_pools:
  description: The node pools (snake_case, as OCI returns them).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "ocid1.nodepool.oc1.iad.aaaa", "name": "gpu-a10", "lifecycle_state": "ACTIVE"}]
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, OCIModule
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    fail_on_input_errors,
    ocid_errors,
    read_or_list,
)

if HAS_OCI:
    import oci

ARGUMENT_SPEC: dict[str, Any] = {
    "compartment_id": {"type": "str"},
    "cluster_id": {"type": "str"},
    "name": {"type": "str"},
    "node_pool_id": {"type": "str"},
    "include_deleted": {"type": "bool", "default": False},
}


def main() -> None:
    module = OCIModule(ARGUMENT_SPEC, wait_timeout_default=None, required_one_of=[("compartment_id", "node_pool_id")])
    p = module.params
    fail_on_input_errors(module, "node_pool_info", ocid_errors(p, {
        "compartment_id": ("compartment", "tenancy"), "cluster_id": "cluster", "node_pool_id": "nodepool"}))
    client = module.client(oci.container_engine.ContainerEngineClient)
    pools = read_or_list(module, "node pool", p.get("node_pool_id"), client.get_node_pool, client.list_node_pools,
                         p["compartment_id"], {"cluster_id": p.get("cluster_id"), "name": p.get("name")},
                         keep_deleted=p["include_deleted"])
    module.exit_json(changed=False, node_pools=pools)


if __name__ == "__main__":
    main()
