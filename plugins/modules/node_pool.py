#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_pool
short_description: Create, update and delete OKE node pools
version_added: 0.1.0
description:
  - Ensures an OCI Container Engine for Kubernetes (OKE) node pool exists with the given settings, or is absent.
  - Identity is (O(compartment_id), O(cluster_id), O(name)); a found pool is compared on the options you set
    and updated in place, so a changed attribute never creates a second pool. Two pools with that identity fail
    the task listing both OCIDs.
  - Settings OCI cannot update in place (the pod network CNI type) fail with a clear error unless
    O(force_replace=true).
  - Covers GPU pools (for example C(VM.GPU.A10.1)) and Arm pools (C(VM.Standard.A1.Flex) with O(node_shape_config)).
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.WAIT
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.RESOURCE
options:
  cluster_id:
    description: OCID of the OKE cluster the node pool belongs to.
    type: str
    required: true
  name:
    description: Name of the node pool, unique within the cluster and compartment.
    type: str
    required: true
  kubernetes_version:
    description:
      - Kubernetes version of the nodes, such as C(v1.31.1). Defaults to the cluster's version when creating.
    type: str
  node_shape:
    description: Compute shape of the nodes, such as C(VM.GPU.A10.1) or C(VM.Standard.A1.Flex). Required to create.
    type: str
  node_shape_config:
    description: OCPUs and memory of a flexible (C(*.Flex)) shape; required for them, refused for fixed shapes.
    type: dict
    suboptions:
      ocpus:
        description: Number of OCPUs per node.
        type: float
      memory_in_gbs:
        description: Memory per node in GB.
        type: float
  node_image_id:
    description:
      - OCID of the node image. When omitted, the newest OKE image for the shape (GPU, aarch64 or x86) and the
        Kubernetes version is looked up from the node pool options when creating or changing the version.
    type: str
  boot_volume_size_in_gbs:
    description: Boot volume size of each node in GB (at least 50).
    type: int
  size:
    description: Number of nodes in the pool (0 or more).
    type: int
  placement_configs:
    description: Where nodes go; one entry per availability domain (nodes are spread across the entries).
    type: list
    elements: dict
    suboptions:
      availability_domain:
        description: Availability domain name, such as C(Uocm:US-ASHBURN-AD-1).
        type: str
        required: true
      subnet_id:
        description: OCID of the worker subnet in that availability domain.
        type: str
        required: true
      fault_domains:
        description: Fault domains to use, such as C(FAULT-DOMAIN-1); all when omitted.
        type: list
        elements: str
      capacity_reservation_id:
        description: OCID of a compute capacity reservation to launch into.
        type: str
  nsg_ids:
    description: OCIDs of network security groups of the nodes' primary VNICs.
    type: list
    elements: str
  pod_network_options:
    description: Pod networking of the nodes; must match the cluster's CNI.
    type: dict
    suboptions:
      cni_type:
        description: V(FLANNEL_OVERLAY) or OCI V(OCI_VCN_IP_NATIVE) (VCN-native pod networking).
        type: str
        choices: [FLANNEL_OVERLAY, OCI_VCN_IP_NATIVE]
        required: true
      pod_subnet_ids:
        description: OCIDs of the pod subnets (V(OCI_VCN_IP_NATIVE) only, required there).
        type: list
        elements: str
      pod_nsg_ids:
        description: OCIDs of network security groups of the pods (V(OCI_VCN_IP_NATIVE) only).
        type: list
        elements: str
      max_pods_per_node:
        description: Maximum number of pods per node (V(OCI_VCN_IP_NATIVE) only).
        type: int
  initial_node_labels:
    description: Kubernetes labels set on every node when it joins (key to value).
    type: dict
  ssh_public_key:
    description: SSH public key installed on the nodes.
    type: str
  user_data:
    description: Cloud-init user data (plain text) run on the nodes; stored base64-encoded in the node metadata.
    type: str
  node_cycling:
    description: How nodes are replaced when the pool's node settings change.
    type: dict
    suboptions:
      is_node_cycling_enabled:
        description: Replace existing nodes after an update of their settings.
        type: bool
      maximum_surge:
        description: Extra nodes during cycling (count or percentage such as C(25%)).
        type: str
      maximum_unavailable:
        description: Nodes that may be unavailable during cycling (count or percentage).
        type: str
  node_eviction:
    description: How pods are evicted when nodes are deleted.
    type: dict
    suboptions:
      eviction_grace_duration:
        description: ISO 8601 duration to wait for pod eviction, such as C(PT30M).
        type: str
      is_force_delete_after_grace_duration:
        description: Delete the node even when eviction did not finish in time.
        type: bool
  size_managed_by_autoscaler:
    description:
      - Use O(size) only to create the pool; later runs leave the node count to the cluster autoscaler
        instead of scaling the pool back to O(size).
    type: bool
    default: false
  force_replace:
    description: Delete and recreate the pool when a setting OCI cannot update in place changes.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the node pool work request (node pools take long to create).
    type: int
    default: 1800
"""

EXAMPLES = r"""
- name: A10 GPU pool for vLLM
  llmops.oke.node_pool:
    compartment_id: "{{ oke_compartment_id }}"
    cluster_id: "{{ oke_cluster_id }}"
    name: gpu-a10
    node_shape: VM.GPU.A10.1
    size: 2
    boot_volume_size_in_gbs: 200
    placement_configs:
      - availability_domain: "Uocm:US-ASHBURN-AD-1"
        subnet_id: "{{ oke_worker_subnet_id }}"
        fault_domains: [FAULT-DOMAIN-1, FAULT-DOMAIN-2]
    initial_node_labels:
      llmops.oke/pool: gpu
    freeform_tags:
      app: llmops

- name: Arm A1 pool for llama.cpp, VCN-native pod networking
  llmops.oke.node_pool:
    compartment_id: "{{ oke_compartment_id }}"
    cluster_id: "{{ oke_cluster_id }}"
    name: cpu-a1
    node_shape: VM.Standard.A1.Flex
    node_shape_config:
      ocpus: 8
      memory_in_gbs: 48
    size: 3
    placement_configs:
      - availability_domain: "Uocm:US-ASHBURN-AD-1"
        subnet_id: "{{ oke_worker_subnet_id }}"
      - availability_domain: "Uocm:US-ASHBURN-AD-2"
        subnet_id: "{{ oke_worker_subnet_id }}"
    pod_network_options:
      cni_type: OCI_VCN_IP_NATIVE
      pod_subnet_ids: ["{{ oke_pod_subnet_id }}"]
    node_cycling:
      is_node_cycling_enabled: true
      maximum_surge: "1"

- name: Remove a pool
  llmops.oke.node_pool:
    compartment_id: "{{ oke_compartment_id }}"
    cluster_id: "{{ oke_cluster_id }}"
    name: gpu-a10
    state: absent
"""

RETURN = r"""
node_pool:
  description: The node pool as OCI returns it (snake_case), re-read after the work request; null when absent.
  returned: always
  type: dict
  sample: {"id": "ocid1.nodepool.oc1.iad.aaaa", "name": "gpu-a10", "lifecycle_state": "ACTIVE"}
work_request_ids:
  description: OCIDs of the work requests this run started.
  returned: when something was changed outside check mode
  type: list
  elements: str
replaced:
  description: Whether the pool was (or in check mode would be) deleted and recreated.
  returned: when an update was needed
  type: bool
"""

import base64
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    HAS_OCI,
    OCIModule,
    build_model,
    model_to_dict,
    ocid_problems,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import merge_desired, prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.container_engine import (
    ContainerEngineResource,
    newest_oke_image,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    ResourceError,
    find_unique,
    identity_spec,
    model_fields,
    ocid_errors,
    run_resource_module,
)

if HAS_OCI:
    import oci.container_engine.models as ce_models

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(name_aliases=()),
    "cluster_id": {"type": "str", "required": True},
    "kubernetes_version": {"type": "str"},
    "node_shape": {"type": "str"},
    "node_shape_config": {"type": "dict", "options": {"ocpus": {"type": "float"}, "memory_in_gbs": {"type": "float"}}},
    "node_image_id": {"type": "str"},
    "boot_volume_size_in_gbs": {"type": "int"},
    "size": {"type": "int"},
    "placement_configs": {"type": "list", "elements": "dict", "options": {
        "availability_domain": {"type": "str", "required": True},
        "subnet_id": {"type": "str", "required": True},
        "fault_domains": {"type": "list", "elements": "str"},
        "capacity_reservation_id": {"type": "str"},
    }},
    "nsg_ids": {"type": "list", "elements": "str"},
    "pod_network_options": {"type": "dict", "options": {
        "cni_type": {"type": "str", "choices": ["FLANNEL_OVERLAY", "OCI_VCN_IP_NATIVE"], "required": True},
        "pod_subnet_ids": {"type": "list", "elements": "str"},
        "pod_nsg_ids": {"type": "list", "elements": "str"},
        "max_pods_per_node": {"type": "int"},
    }},
    "initial_node_labels": {"type": "dict"},
    "ssh_public_key": {"type": "str"},
    "user_data": {"type": "str"},
    "node_cycling": {"type": "dict", "options": {
        "is_node_cycling_enabled": {"type": "bool"},
        "maximum_surge": {"type": "str"},
        "maximum_unavailable": {"type": "str"},
    }},
    "node_eviction": {"type": "dict", "options": {
        "eviction_grace_duration": {"type": "str"},
        "is_force_delete_after_grace_duration": {"type": "bool"},
    }},
    "size_managed_by_autoscaler": {"type": "bool", "default": False},
    "force_replace": {"type": "bool", "default": False},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    """Every problem of the options that OCI would reject, found before any API call."""
    errors = []
    errors = ocid_errors(params, {"compartment_id": ("compartment", "tenancy"), "cluster_id": "cluster",
                                  "node_image_id": "image", "nsg_ids": "networksecuritygroup"})
    for index, placement in enumerate(params.get("placement_configs") or []):
        errors += ocid_problems(f"placement_configs[{index}].subnet_id", placement["subnet_id"], "subnet")
        for fault_domain in placement.get("fault_domains") or []:
            if fault_domain not in ("FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"):
                errors.append(f"placement_configs[{index}].fault_domains has '{fault_domain}', "
                              "expected FAULT-DOMAIN-1, -2 or -3")
    pod_nsg_ids = (params.get("pod_network_options") or {}).get("pod_nsg_ids")
    errors += ocid_problems("pod_network_options.pod_nsg_ids", pod_nsg_ids or [], "networksecuritygroup")
    if params.get("size") is not None and params["size"] < 0:
        errors.append(f"size must be 0 or more, got {params['size']}")
    if params.get("boot_volume_size_in_gbs") is not None and params["boot_volume_size_in_gbs"] < 50:
        errors.append(f"boot_volume_size_in_gbs must be at least 50, got {params['boot_volume_size_in_gbs']}")
    version = params.get("kubernetes_version")
    if version is not None and not (version.startswith("v") and all(p.isdigit() for p in version[1:].split("."))):
        errors.append(f"kubernetes_version must look like v1.31.1, got '{version}'")
    shape, shape_config = params.get("node_shape"), params.get("node_shape_config")
    if shape and shape_config and not shape.endswith(".Flex"):
        errors.append(f"node_shape_config (ocpus, memory_in_gbs) applies only to flexible shapes; {shape} is fixed")
    if shape and shape.endswith(".Flex") and params["state"] == "present" and not (shape_config or {}).get("ocpus"):
        errors.append(f"node_shape_config.ocpus is required for the flexible shape {shape}")
    for option in ("ocpus", "memory_in_gbs"):
        if shape_config and shape_config.get(option) is not None and shape_config[option] <= 0:
            errors.append(f"node_shape_config.{option} must be positive, got {shape_config[option]}")
    pod = params.get("pod_network_options")
    if pod:
        native = pod["cni_type"] == "OCI_VCN_IP_NATIVE"
        if not native and any(pod.get(key) is not None for key in ("pod_subnet_ids", "pod_nsg_ids",
                                                                   "max_pods_per_node")):
            errors.append("pod_network_options pod_subnet_ids, pod_nsg_ids and max_pods_per_node apply only to "
                          "cni_type OCI_VCN_IP_NATIVE")
        if native and not pod.get("pod_subnet_ids"):
            errors.append("pod_network_options.pod_subnet_ids is required for cni_type OCI_VCN_IP_NATIVE")
        errors += ocid_problems("pod_network_options.pod_subnet_ids", pod.get("pod_subnet_ids") or [], "subnet")
        if pod.get("max_pods_per_node") is not None and pod["max_pods_per_node"] <= 0:
            errors.append(f"pod_network_options.max_pods_per_node must be positive, got {pod['max_pods_per_node']}")
    return errors


class NodePool(ContainerEngineResource):
    kind = "node pool"
    result_key = "node_pool"
    entity_type = "nodepool"
    immutable_paths = ("node_config_details.node_pool_pod_network_option_details.cni_type",)
    required_to_create = (("node_shape", "node_shape"), ("placement_configs", "node_config_details.placement_configs"))

    def __init__(self, module: OCIModule) -> None:
        super().__init__(module)
        self.updatable_fields = model_fields(ce_models.UpdateNodePoolDetails)
        self._options: dict[str, Any] | None = None

    def immutable_changes(self, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> list[str]:
        # Every change (check mode included) to a shape the cluster's node pool options do not list is refused here,
        # before a prediction or a write.
        if "node_shape" in fields:
            self._check_shape(desired["node_shape"], "update")
        return super().immutable_changes(desired, current, fields)

    def describe(self, resource: dict[str, Any] | None = None) -> str:
        return super().describe(resource) + f" in cluster {self.params['cluster_id']}"

    def find(self) -> dict[str, Any] | None:
        items = self.module.list_all(self.client.list_node_pools, self.params["compartment_id"],
                                     cluster_id=self.params["cluster_id"], name=self.params["name"])
        found = find_unique(items, self.params["name"], f"node pools in cluster {self.params['cluster_id']}")
        # The summary lacks node metadata: read the full pool only when user data must be compared.
        if found is not None and self.params.get("user_data") is not None:
            return self.get(found["id"])
        return found

    def get(self, ocid: str) -> dict[str, Any]:
        return model_to_dict(self.module.call(self.client.get_node_pool, ocid).data)

    def desired(self) -> dict[str, Any]:
        p = self.params
        pod = p.get("pod_network_options")
        labels = p.get("initial_node_labels")
        source = None
        if p.get("node_image_id") or p.get("boot_volume_size_in_gbs"):
            source = {"source_type": "IMAGE", "image_id": p.get("node_image_id"),
                      "boot_volume_size_in_gbs": p.get("boot_volume_size_in_gbs")}
        config = prune_none({
            "size": p.get("size"),
            "nsg_ids": p.get("nsg_ids"),
            "placement_configs": p.get("placement_configs"),
            "node_pool_pod_network_option_details": pod,
        })
        cycling = p.get("node_cycling")
        eviction = p.get("node_eviction")
        return prune_none({
            "compartment_id": p["compartment_id"],
            "cluster_id": p["cluster_id"],
            "name": p["name"],
            "kubernetes_version": p.get("kubernetes_version"),
            "node_shape": p.get("node_shape"),
            "node_shape_config": p.get("node_shape_config"),
            "node_source_details": source,
            "node_config_details": config or None,
            "initial_node_labels": [{"key": k, "value": str(v)} for k, v in labels.items()] if labels is not None
            else None,
            "ssh_public_key": p.get("ssh_public_key"),
            "node_metadata": {"user_data": base64.b64encode(p["user_data"].encode()).decode()}
            if p.get("user_data") is not None else None,
            "node_pool_cycling_details": prune_none(cycling) if cycling else None,
            "node_eviction_node_pool_settings": prune_none(eviction) if eviction else None,
            **self.tags(),
        })

    def desired_for_existing(self, desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        if not self.params["size_managed_by_autoscaler"] or "node_config_details" not in desired:
            return desired
        config = {key: value for key, value in desired["node_config_details"].items() if key != "size"}
        return {**desired, "node_config_details": config} if config else {
            key: value for key, value in desired.items() if key != "node_config_details"}

    def _cluster_version(self, action: str = "create") -> str:
        """The cluster's version; reading it also proves the cluster exists before any write."""
        return self.cluster(action).kubernetes_version

    def _node_pool_options(self, action: str) -> dict[str, Any]:
        """What OCI offers the cluster's node pools (shapes, images, versions), read once."""
        if self._options is None:
            self._options = model_to_dict(self.read_for_write(
                action, "GetNodePoolOptions", self.client.get_node_pool_options, self.params["cluster_id"],
                compartment_id=self.params["compartment_id"]))
        return self._options

    def _check_shape(self, shape: str, action: str) -> None:
        """Refuse, before any write, a shape the cluster's node pool options do not list (NodePoolOptions.shapes)."""
        offered = self._node_pool_options(action).get("shapes") or []
        if shape not in offered:
            raise ResourceError(
                f"Cannot {action} {self.describe()}: node_shape {shape} is not among the shapes OCI offers node "
                f"pools of cluster {self.params['cluster_id']} ({', '.join(offered) or 'none listed'}).",
                offered_shapes=offered)

    def _image_source(self, shape: str, version: str, boot_volume: int | None,
                      action: str = "create") -> dict[str, Any]:
        if self.params.get("node_image_id"):
            image_id = self.params["node_image_id"]
        else:
            options = self._node_pool_options(action)
            image = newest_oke_image(options.get("sources") or [], shape, version)
            if image is None:
                raise ValueError(f"no OKE image for shape {shape} and Kubernetes {version} in the node pool options")
            image_id = image["image_id"]
        return prune_none({"source_type": "IMAGE", "image_id": image_id, "boot_volume_size_in_gbs": boot_volume})

    def _complete_for_create(self, desired: dict[str, Any]) -> dict[str, Any]:
        self.check_creatable(desired)
        full = dict(desired)
        cluster_version = self._cluster_version()
        self._check_shape(full["node_shape"], "create")
        if not full.get("kubernetes_version"):
            full["kubernetes_version"] = cluster_version
        full["node_source_details"] = self._image_source(full["node_shape"], full["kubernetes_version"],
                                                         self.params.get("boot_volume_size_in_gbs"))
        full.setdefault("node_config_details", {}).setdefault("size", 0)
        return full

    def predicted(self, desired: dict[str, Any]) -> dict[str, Any]:
        return self._complete_for_create(desired)

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        details = build_model(ce_models.CreateNodePoolDetails, self._complete_for_create(desired), ce_models)
        response = self.module.call(self.client.create_node_pool, details, opc_retry_token=retry_token)
        return response.headers.get("opc-work-request-id")

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        merged = merge_desired(current, desired, self.exact_fields)
        changes = {field: merged[field] for field in fields}
        if "node_config_details" in changes:
            # Send the whole node config so placement, NSGs and pod networking are never cleared by a size change.
            config = {key: value for key, value in merged["node_config_details"].items()
                      if key in model_fields(ce_models.UpdateNodePoolNodeConfigDetails)}
            changes["node_config_details"] = prune_none(config)
        version_changed = "kubernetes_version" in fields and not self.params.get("node_image_id")
        if "node_source_details" in changes or version_changed:
            shape = desired.get("node_shape") or current["node_shape"]
            boot = (merged.get("node_source_details") or {}).get("boot_volume_size_in_gbs")
            if version_changed:
                changes["node_source_details"] = self._image_source(shape, merged["kubernetes_version"], boot,
                                                                    "update")
            else:
                source = dict(merged["node_source_details"])
                source["image_id"] = source.get("image_id") or current.get("node_image_id")
                changes["node_source_details"] = prune_none(source)
        details = build_model(ce_models.UpdateNodePoolDetails, changes, ce_models)
        response = self.module.call(self.client.update_node_pool, current["id"], details)
        return response.headers.get("opc-work-request-id")

    def delete(self, current: dict[str, Any]) -> str | None:
        response = self.module.call(self.client.delete_node_pool, current["id"])
        return response.headers.get("opc-work-request-id")


def main() -> None:
    run_resource_module(NodePool, ARGUMENT_SPEC, input_errors, wait_timeout_default=1800)


if __name__ == "__main__":
    main()
