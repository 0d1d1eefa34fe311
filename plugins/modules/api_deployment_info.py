#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: api_deployment_info
short_description: Read OCI API Gateway deployments
version_added: 0.1.0
description:
  - Returns one API deployment by OCID, or the deployments of a compartment, optionally on one gateway and by name.
  - Each deployment is read in full (with its specification) unless O(summary_only=true).
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.READ_ONLY
options:
  compartment_id:
    description: OCID of the compartment to list. Required unless O(deployment_id) is given.
    type: str
  gateway_id:
    description: Only deployments on this gateway.
    type: str
  name:
    description: Only deployments with this display name.
    type: str
    aliases: [display_name]
  deployment_id:
    description: OCID of one deployment to read.
    type: str
  lifecycle_state:
    description: Only deployments in this state. By default every state but C(DELETED).
    type: str
    choices: [CREATING, ACTIVE, UPDATING, DELETING, DELETED, FAILED]
  summary_only:
    description: Return the list summaries (no specification), saving one read per deployment.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Endpoint of the inference deployment
  llmops.oke.api_deployment_info:
    compartment_id: "{{ oke_compartment_id }}"
    gateway_id: "{{ gateway_id }}"
    name: llmops-inference
  register: found

- name: Show it
  ansible.builtin.debug:
    msg: "{{ found.deployments[0].endpoint }}"
"""

RETURN = r"""
deployments:
  description: The deployments found (snake_case), sorted by display name; empty when none.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "ocid1.apideployment.oc1.iad.aaaa", "display_name": "llmops-inference", "endpoint": "https://abc/llm"}]
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, OCIModule, model_to_dict
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    fail_on_input_errors,
    ocid_errors,
    read_or_list,
)

if HAS_OCI:
    import oci

ARGUMENT_SPEC: dict[str, Any] = {
    "compartment_id": {"type": "str"},
    "gateway_id": {"type": "str"},
    "name": {"type": "str", "aliases": ["display_name"]},
    "deployment_id": {"type": "str"},
    "lifecycle_state": {"type": "str", "choices": ["CREATING", "ACTIVE", "UPDATING", "DELETING", "DELETED", "FAILED"]},
    "summary_only": {"type": "bool", "default": False},
}


def main() -> None:
    module = OCIModule(ARGUMENT_SPEC, wait_timeout_default=None, required_one_of=[("compartment_id", "deployment_id")])
    p = module.params
    fail_on_input_errors(module, "API deployment lookup", ocid_errors(p, {
        "compartment_id": ("compartment", "tenancy"), "gateway_id": "apigateway", "deployment_id": "apideployment"}))
    client = module.client(oci.apigateway.DeploymentClient)
    found = read_or_list(module, "API deployment", p.get("deployment_id"), client.get_deployment,
                         client.list_deployments, p["compartment_id"],
                         {"gateway_id": p.get("gateway_id"), "display_name": p.get("name"),
                          "lifecycle_state": p.get("lifecycle_state")}, keep_deleted=bool(p.get("lifecycle_state")))
    if not p["summary_only"] and not p.get("deployment_id"):
        found = [model_to_dict(module.call_or_fail(f"read API deployment {item['id']}", client.get_deployment,
                                                   item["id"]).data) for item in found]
    module.exit_json(changed=False, deployments=sorted(found, key=lambda item: item.get("display_name") or ""))


if __name__ == "__main__":
    main()
