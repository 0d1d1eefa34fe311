#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_addon
short_description: Enable, configure and disable OKE cluster add-ons such as the cluster autoscaler
version_added: 0.1.0
description:
  - Ensures an OCI Container Engine for Kubernetes (OKE) add-on is installed on an enhanced cluster with the given
    version and configuration, or disabled.
  - Identity is (O(cluster_id), O(addon_name)). Only the configuration keys you set are compared; keys OCI adds
    are left alone.
  - For C(ClusterAutoscaler), O(autoscaler_node_pools) builds the C(nodes) configuration
    (C(min:max:<node-pool-ocid>) per pool) and the remaining tuning arguments go in O(configurations).
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.WAIT
  - llmops.oke.oci.RESOURCE
options:
  state:
    description: V(present) installs or updates the add-on; V(absent) disables it.
    type: str
    choices: [present, absent]
    default: present
  cluster_id:
    description: OCID of the OKE cluster.
    type: str
    required: true
  addon_name:
    description: Name of the add-on, such as C(ClusterAutoscaler), C(CertManager) or C(NvidiaGpuPlugin).
    type: str
    required: true
  version:
    description: Add-on version to pin; when omitted OCI installs (and keeps) its current default.
    type: str
  configurations:
    description:
      - Add-on configuration arguments, key to value (values are sent as strings, booleans as C(true)/C(false)).
      - For the cluster autoscaler, for example C(scaleDownDelayAfterAdd), C(scaleDownUnneededTime),
        C(maxNodeProvisionTime), C(expander), C(balanceSimilarNodeGroups), C(authType).
    type: dict
  autoscaler_node_pools:
    description:
      - Node pools the cluster autoscaler may scale, with their bounds; rendered into the C(nodes) configuration.
      - Only valid with O(addon_name=ClusterAutoscaler), and not together with a C(nodes) key in O(configurations).
    type: list
    elements: dict
    suboptions:
      node_pool_id:
        description: OCID of the node pool.
        type: str
        required: true
      min:
        description: Minimum number of nodes (0 or more).
        type: int
        required: true
      max:
        description: Maximum number of nodes (at least O(autoscaler_node_pools[].min), and at least 1).
        type: int
        required: true
  remove_existing:
    description: When disabling, also remove the add-on's resources from the cluster.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Cluster autoscaler for the GPU and Arm pools
  llmops.oke.cluster_addon:
    cluster_id: "{{ oke_cluster_id }}"
    addon_name: ClusterAutoscaler
    autoscaler_node_pools:
      - node_pool_id: "{{ gpu_pool.node_pool.id }}"
        min: 1
        max: 4
      - node_pool_id: "{{ arm_pool.node_pool.id }}"
        min: 1
        max: 6
    configurations:
      authType: workload
      scaleDownDelayAfterAdd: 10m
      scaleDownUnneededTime: 10m
      balanceSimilarNodeGroups: true

- name: Disable it
  llmops.oke.cluster_addon:
    cluster_id: "{{ oke_cluster_id }}"
    addon_name: ClusterAutoscaler
    state: absent
"""

RETURN = r"""
addon:
  description: The add-on as OCI returns it (snake_case), re-read after the work request; null when absent.
  returned: always
  type: dict
  sample: {"name": "ClusterAutoscaler", "lifecycle_state": "ACTIVE",
           "configurations": [{"key": "nodes", "value": "1:4:ocid1.nodepool.oc1.iad.aaaa"}]}
work_request_ids:
  description: OCIDs of the work requests this run started.
  returned: when something was changed outside check mode
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    HAS_OCI,
    build_model,
    is_ocid,
    model_to_dict,
    ocid_problems,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.container_engine import (
    ContainerEngineResource,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    OCIOperationError,
    ResourceError,
    run_resource_module,
)

if HAS_OCI:
    import oci
    import oci.container_engine.models as ce_models

AUTOSCALER = "ClusterAutoscaler"
ARGUMENT_SPEC: dict[str, Any] = {
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "cluster_id": {"type": "str", "required": True},
    "addon_name": {"type": "str", "required": True},
    "version": {"type": "str"},
    "configurations": {"type": "dict"},
    "autoscaler_node_pools": {"type": "list", "elements": "dict", "options": {
        "node_pool_id": {"type": "str", "required": True},
        "min": {"type": "int", "required": True},
        "max": {"type": "int", "required": True},
    }},
    "remove_existing": {"type": "bool", "default": True},
}


def config_value(value: Any) -> str:
    """OCI add-on configuration values are strings; booleans the way Kubernetes flags spell them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def desired_configurations(params: dict[str, Any]) -> dict[str, str] | None:
    configurations = {key: config_value(value) for key, value in (params.get("configurations") or {}).items()}
    pools = params.get("autoscaler_node_pools")
    if pools:
        configurations["nodes"] = ",".join(f"{pool['min']}:{pool['max']}:{pool['node_pool_id']}" for pool in pools)
    if params.get("configurations") is None and not pools:
        return None
    return configurations


def input_errors(params: dict[str, Any]) -> list[str]:
    errors = ocid_problems("cluster_id", params["cluster_id"], "cluster")
    pools = params.get("autoscaler_node_pools") or []
    if pools and params["addon_name"] != AUTOSCALER:
        errors.append(f"autoscaler_node_pools applies only to addon_name {AUTOSCALER}")
    if pools and "nodes" in (params.get("configurations") or {}):
        errors.append("set the autoscaled pools either with autoscaler_node_pools or with configurations.nodes, "
                      "not both")
    for index, pool in enumerate(pools):
        errors += ocid_problems(f"autoscaler_node_pools[{index}].node_pool_id", pool["node_pool_id"], "nodepool")
        if pool["min"] < 0:
            errors.append(f"autoscaler_node_pools[{index}].min must be 0 or more, got {pool['min']}")
        if pool["max"] < max(pool["min"], 1):
            errors.append(f"autoscaler_node_pools[{index}].max must be at least min and at least 1, got {pool['max']}")
    ids = [pool["node_pool_id"] for pool in pools]
    errors += [f"autoscaler_node_pools lists {pool_id} twice" for pool_id in sorted(set(ids)) if ids.count(pool_id) > 1]
    nodes = (params.get("configurations") or {}).get("nodes")
    if params["addon_name"] == AUTOSCALER and nodes is not None:
        for entry in str(nodes).split(","):
            parts = entry.split(":")
            if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not is_ocid(parts[2], "nodepool"):
                errors.append(f"configurations.nodes entry '{entry}' must be min:max:<node pool OCID>")
    return errors


class ClusterAddon(ContainerEngineResource):
    kind = "add-on"
    result_key = "addon"
    name_option = "addon_name"
    entity_type = "addon"
    exact_fields = frozenset()

    def describe(self, resource: dict[str, Any] | None = None) -> str:
        return f"add-on '{self.params['addon_name']}' of cluster {self.params['cluster_id']}"

    def resource_id(self, resource: dict[str, Any]) -> str:
        return resource["name"]

    def find(self) -> dict[str, Any] | None:
        try:
            addon = model_to_dict(self.module.call(self.client.get_addon, self.params["cluster_id"],
                                                   self.params["addon_name"]).data)
        except oci.exceptions.ServiceError as error:
            if error.status == 404:
                return None
            raise
        return None if addon.get("lifecycle_state") in ("DELETED", "DELETING") else addon

    def get(self, ocid: str | None = None) -> dict[str, Any]:
        return model_to_dict(self.module.call(self.client.get_addon, self.params["cluster_id"],
                                              self.params["addon_name"]).data)

    def comparable(self, resource: dict[str, Any]) -> dict[str, Any]:
        pairs = resource.get("configurations") or []
        return {**resource, "configurations": {pair["key"]: pair["value"] for pair in pairs}}

    def desired(self) -> dict[str, Any]:
        wanted: dict[str, Any] = {"name": self.params["addon_name"]}
        if self.params.get("version"):
            wanted["version"] = self.params["version"]
        configurations = desired_configurations(self.params)
        if configurations is not None:
            wanted["configurations"] = configurations
        return wanted

    @staticmethod
    def _pairs(configurations: dict[str, str]) -> list[dict[str, str]]:
        return [{"key": key, "value": value} for key, value in sorted(configurations.items())]

    def check_installable(self) -> None:
        """Refuse, before any write, a missing cluster (read first) and an add-on name ListAddonOptions does not
        offer for the cluster's Kubernetes version."""
        version = self.cluster().kubernetes_version
        try:
            offered = self.module.list_all(self.client.list_addon_options, version)
        except Exception as error:  # one sentence naming the read
            raise OCIOperationError(f"Cannot create {self.describe()}: cannot list the add-on options of Kubernetes "
                                    f"{version}", error) from error
        names = sorted({option["name"] for option in offered if option.get("lifecycle_state") != "DELETED"})
        if self.params["addon_name"] not in names:
            raise ResourceError(
                f"Cannot create {self.describe()}: addon_name {self.params['addon_name']} is not among the add-ons "
                f"OCI offers for Kubernetes {version} ({', '.join(names) or 'none listed'}).",
                offered_addons=names)

    def predicted(self, desired: dict[str, Any]) -> dict[str, Any]:
        self.check_installable()
        return {**desired, "configurations": self._pairs(desired.get("configurations") or {})}

    def predicted_update(self, current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.comparable(current)["configurations"], **(desired.get("configurations") or {})}
        return {**current, **{k: v for k, v in desired.items() if k != "configurations"},
                "configurations": self._pairs(merged)}

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        self.check_installable()
        details = build_model(ce_models.InstallAddonDetails, {
            "addon_name": desired["name"], "version": desired.get("version"),
            "configurations": self._pairs(desired.get("configurations") or {}),
        }, ce_models)
        response = self.module.call(self.client.install_addon, self.params["cluster_id"], details,
                                    opc_retry_token=retry_token)
        return response.headers.get("opc-work-request-id")

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        after = self.predicted_update(current, desired)
        details = build_model(ce_models.UpdateAddonDetails, {
            "version": desired.get("version"),
            # OCI replaces the whole list: send the keys the user did not mention unchanged.
            "configurations": after["configurations"],
        }, ce_models)
        response = self.module.call(self.client.update_addon, self.params["cluster_id"], self.params["addon_name"],
                                    details)
        return response.headers.get("opc-work-request-id")

    def delete(self, current: dict[str, Any]) -> str | None:
        response = self.module.call(self.client.disable_addon, self.params["cluster_id"], self.params["addon_name"],
                                    self.params["remove_existing"])
        return response.headers.get("opc-work-request-id")


def main() -> None:
    run_resource_module(ClusterAddon, ARGUMENT_SPEC, input_errors)


if __name__ == "__main__":
    main()
