#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: api_gateway
short_description: Create, update and delete OCI API Gateway gateways
version_added: 0.1.0
description:
  - Ensures an OCI API Gateway gateway exists with the given settings, or is absent.
  - Identity is (O(compartment_id), O(name)); a found gateway is compared on the options you set and updated in
    place, so a changed attribute never creates a second gateway. Two gateways with that identity fail the task
    listing both OCIDs.
  - O(endpoint_type) and O(subnet_id) cannot change in place; a change fails with a clear error unless
    O(force_replace=true).
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.WAIT
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.DISPLAY_NAME
  - llmops.oke.oci.RESOURCE
options:
  endpoint_type:
    description: V(PUBLIC) gateways get a public IP address; V(PRIVATE) ones only an address in O(subnet_id).
    type: str
    choices: [PUBLIC, PRIVATE]
  subnet_id:
    description: OCID of the (regional) subnet of the gateway. Required to create.
    type: str
  network_security_group_ids:
    description: OCIDs of network security groups of the gateway.
    type: list
    elements: str
  certificate_id:
    description: OCID of the API Gateway certificate served for a custom hostname.
    type: str
  force_replace:
    description: Delete and recreate the gateway (and lose its hostname) when O(endpoint_type) or O(subnet_id) change.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Public gateway in front of the inference services
  llmops.oke.api_gateway:
    compartment_id: "{{ oke_compartment_id }}"
    name: llmops-gateway
    endpoint_type: PUBLIC
    subnet_id: "{{ gateway_subnet_id }}"
    freeform_tags:
      app: llmops
  register: gateway

- name: Remove it
  llmops.oke.api_gateway:
    compartment_id: "{{ oke_compartment_id }}"
    name: llmops-gateway
    state: absent
"""

RETURN = r"""
gateway:
  description: The gateway as OCI returns it (snake_case), re-read after the work request; null when absent.
  returned: always
  type: dict
  sample:
    id: ocid1.apigateway.oc1.iad.aaaa
    display_name: llmops-gateway
    hostname: abc.apigateway.us-ashburn-1.oci.customer-oci.com
work_request_ids:
  description: OCIDs of the work requests this run started.
  returned: when something was changed outside check mode
  type: list
  elements: str
replaced:
  description: Whether the gateway was (or in check mode would be) deleted and recreated.
  returned: when an update was needed
  type: bool
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.api_gateway import ApiGatewayResource
from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    HAS_OCI,
    OCIModule,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    identity_errors,
    identity_spec,
    model_fields,
    run_resource_module,
)

if HAS_OCI:
    import oci.apigateway.models as ag_models

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(),
    "endpoint_type": {"type": "str", "choices": ["PUBLIC", "PRIVATE"]},
    "subnet_id": {"type": "str"},
    "network_security_group_ids": {"type": "list", "elements": "str"},
    "certificate_id": {"type": "str"},
    "force_replace": {"type": "bool", "default": False},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    """Problems of the options OCI would reject, found before any API call."""
    return identity_errors(params, {
        "compartment_id": ("compartment", "tenancy"), "subnet_id": "subnet",
        "network_security_group_ids": "networksecuritygroup", "certificate_id": "apigatewaycertificate",
    })


class Gateway(ApiGatewayResource):
    kind = "API gateway"
    result_key = "gateway"
    client_class_name = "GatewayClient"
    list_operation = "list_gateways"
    noun = "gateway"
    required_to_create = (("endpoint_type", "endpoint_type"), ("subnet_id", "subnet_id"))

    def __init__(self, module: OCIModule) -> None:
        super().__init__(module)
        self.updatable_fields = model_fields(ag_models.UpdateGatewayDetails)

    def desired(self) -> dict[str, Any]:
        p = self.params
        return prune_none({
            "compartment_id": p["compartment_id"],
            "display_name": p["name"],
            "endpoint_type": p.get("endpoint_type"),
            "subnet_id": p.get("subnet_id"),
            "network_security_group_ids": p.get("network_security_group_ids"),
            "certificate_id": p.get("certificate_id"),
            **self.tags(),
        })


def main() -> None:
    run_resource_module(Gateway, ARGUMENT_SPEC, input_errors)


if __name__ == "__main__":
    main()
