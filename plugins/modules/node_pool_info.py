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

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, OCIModule, is_ocid, model_to_dict

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
    module = OCIModule(ARGUMENT_SPEC, wait_timeout_default=None,
                       required_one_of=[("compartment_id", "node_pool_id")])
    params = module.params
    checks = [("compartment_id", ("compartment", "tenancy")), ("cluster_id", "cluster"), ("node_pool_id", "nodepool")]
    errors = [f"{option} must be an OCID, got '{params[option]}'" for option, kind in checks
              if params.get(option) is not None and not is_ocid(params[option], kind)]
    if errors:
        module.fail_json(msg=f"Invalid options for node_pool_info: {'; '.join(errors)}.")
    client = module.client(oci.container_engine.ContainerEngineClient)
    if params.get("node_pool_id"):
        response = module.call_or_fail(f"read node pool {params['node_pool_id']}", client.get_node_pool,
                                       params["node_pool_id"])
        module.exit_json(changed=False, node_pools=[model_to_dict(response.data)])
    filters = {key: params[key] for key in ("cluster_id", "name") if params.get(key)}
    try:
        pools = module.list_all(client.list_node_pools, params["compartment_id"], **filters)
    except Exception as error:  # one sentence naming what was listed
        module.fail_oci(f"Cannot list node pools of compartment {params['compartment_id']}", error)
    if not params["include_deleted"]:
        pools = [pool for pool in pools if pool.get("lifecycle_state") != "DELETED"]
    module.exit_json(changed=False, node_pools=pools)


if __name__ == "__main__":
    main()
