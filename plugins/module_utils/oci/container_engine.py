# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container Engine (OKE) specifics shared by node_pool, cluster_addon and cluster_kubeconfig."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, model_to_dict
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import OCIResource, read_parent

if HAS_OCI:
    import oci

_IMAGE_DATE = re.compile(r"-(\d{4}\.\d{2}\.\d{2})-")


class ContainerEngineResource(OCIResource):
    """An OCIResource whose work requests live in the Container Engine API."""

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        self.client = module.client(oci.container_engine.ContainerEngineClient)
        self._work_request_compartments: dict[str, str | None] = {}
        self._cluster: Any = None

    def read_for_write(self, action: str, what: str, operation: Any, *args: Any, **kwargs: Any) -> Any:
        """A read a create or update depends on (the SDK model): a 404 is refused naming ``cluster_id``."""
        return read_parent(self, action, "cluster_id", "cluster", what, operation, *args, **kwargs)

    def cluster(self, action: str = "create") -> Any:
        """The cluster (SDK model), read once: a create reads it first, so a missing cluster is refused, not sent."""
        if self._cluster is None:
            self._cluster = self.read_for_write(action, "GetCluster", self.client.get_cluster,
                                                self.params["cluster_id"])
        return self._cluster

    def get_work_request(self, work_request_id: str) -> dict[str, Any]:
        work_request = model_to_dict(self.module.call(self.client.get_work_request, work_request_id).data)
        self._work_request_compartments[work_request_id] = work_request.get("compartment_id")
        return work_request

    def list_work_request_errors(self, work_request_id: str) -> list[dict[str, Any]]:
        # The errors API wants the compartment; the work request itself names it (add-ons have no option for it).
        compartment = self._work_request_compartments.get(work_request_id) or self.params.get("compartment_id")
        return self.module.list_all(self.client.list_work_request_errors, compartment, work_request_id)


def image_flavour(shape: str) -> str:
    """Which OKE image family a shape boots: ``gpu``, ``aarch64`` or ``x86``."""
    if ".GPU" in shape.upper():
        return "gpu"
    if re.search(r"\.A\d+\.", shape):
        return "aarch64"
    return "x86"


def newest_oke_image(sources: list[dict[str, Any]], shape: str, kubernetes_version: str) -> dict[str, Any] | None:
    """The newest OKE image source for ``shape`` and ``kubernetes_version`` from node pool options."""
    version_tag = f"-OKE-{kubernetes_version.lstrip('v')}-"
    flavour = image_flavour(shape)
    candidates = []
    for source in sources:
        name = source.get("source_name") or ""
        if source.get("source_type") != "IMAGE" or version_tag not in name:
            continue
        is_gpu, is_arm = "-Gpu-" in name or "-GPU-" in name, "aarch64" in name
        if (flavour == "gpu") != is_gpu or (flavour == "aarch64") != is_arm:
            continue
        date = _IMAGE_DATE.search(name)
        candidates.append((date.group(1) if date else "", name, source))
    return max(candidates, key=lambda item: (item[0], item[1]))[2] if candidates else None
