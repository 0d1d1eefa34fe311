#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_dynamic_group
short_description: Create, update and delete OCI IAM dynamic groups (classic IAM API) in the home region
version_added: 0.2.0
description:
  - Ensures a dynamic group of the classic IAM API exists with the given matching rule, or is absent.
  - Identity is (O(compartment_id), the tenancy, and O(name)); a found group is compared and updated in place.
  - Tenancies with identity domains keep their dynamic groups in the SCIM-based Identity Domains API, which this
    module does not manage; in such a tenancy (its identity domains are listed first) the module refuses before any
    write, naming the domains.
  - OCI takes IAM writes only in the tenancy's home region (read from its region subscriptions); a run aimed at
    another region is refused before anything is written.
  - The matching rule is one condition or C(ANY {...}) / C(ALL {...}) of conditions, checked before any API call.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.RESOURCE
options:
  compartment_id:
    description:
      - OCID of the tenancy (dynamic groups live in the root compartment).
      - Unset, the tenancy of the OCI configuration (C(tenancy), or the signer's for instance principals).
    type: str
    required: false
  name:
    description: Name of the dynamic group, unique in the tenancy; it cannot be changed.
    type: str
    required: true
  description:
    description: Description of the dynamic group.
    type: str
    default: Managed by llmops.oke
  matching_rule:
    description: Which instances or resources are members. Required to create.
    type: str
"""

EXAMPLES = r"""
- name: The OKE worker nodes of one compartment (Grafana's instance principal)
  llmops.oke.iam_dynamic_group:
    compartment_id: "{{ oci_tenancy_id }}"
    name: llmops-grafana
    matching_rule: "ALL {instance.compartment.id = '{{ oke_compartment_id }}'}"
"""

RETURN = r"""
dynamic_group:
  description: The dynamic group as OCI returns it (snake_case); null when absent.
  returned: always
  type: dict
  sample: {"id": "ocid1.dynamicgroup.oc1..aaaa", "name": "llmops-grafana", "matching_rule": "ALL {...}"}
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.identity import IdentityResource, matching_rule_error
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    OCIOperationError,
    ResourceError,
    identity_errors,
    identity_spec,
    run_resource_module,
)

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(name_aliases=()),
    "compartment_id": {"type": "str"},  # default: the tenancy of the OCI configuration
    "description": {"type": "str", "default": "Managed by llmops.oke"},
    "matching_rule": {"type": "str"},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    errors = identity_errors(params, {"compartment_id": "tenancy"})
    rule = params.get("matching_rule")
    if rule is not None and matching_rule_error(rule):
        errors.append(f"matching_rule '{rule}' {matching_rule_error(rule)}")
    return errors


class DynamicGroup(IdentityResource):
    kind = "IAM dynamic group"
    result_key = "dynamic_group"
    entity_type = "dynamicgroup"
    noun = "dynamic_group"
    list_operation = "list_dynamic_groups"
    required_to_create = (("matching_rule", "matching_rule"),)

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        if not self.params.get("compartment_id"):
            try:
                self.params["compartment_id"] = self.tenancy_id()
            except ResourceError as error:  # no tenancy in the configuration: the sentence names the option
                module.fail_json(msg=error.msg)

    def find(self) -> dict[str, Any] | None:
        self.refuse_identity_domains()
        return super().find()

    def refuse_identity_domains(self) -> None:
        """A tenancy with identity domains keeps dynamic groups in the Identity Domains API: refuse clearly."""
        try:
            domains = self.module.list_all(self.client.list_domains, self.params["compartment_id"])
        except Exception as error:  # one sentence naming the read
            raise OCIOperationError(f"Cannot manage {self.describe()}: cannot list the tenancy's identity domains",
                                    error) from error
        live = [domain for domain in domains if domain.get("lifecycle_state") != "DELETED"]
        if live:
            names = ", ".join(f"{domain.get('display_name')} ({domain.get('url')})" for domain in live)
            raise ResourceError(
                f"Cannot manage {self.describe()}: the tenancy has identity domains ({names}); their dynamic "
                "groups are managed through the Identity Domains API, which iam_dynamic_group does not manage. "
                "Create the group in the domain (console or OCI CLI 'oci identity-domains dynamic-resource-group "
                "create'), then write policies for it with llmops.oke.iam_policy.",
                identity_domains=[domain.get("display_name") for domain in live])

    def desired(self) -> dict[str, Any]:
        p = self.params
        rule = " ".join(p["matching_rule"].split()) if p.get("matching_rule") else None
        return prune_none({"compartment_id": p["compartment_id"], "name": p["name"], "description": p["description"],
                           "matching_rule": rule, **self.tags()})


def main() -> None:
    run_resource_module(DynamicGroup, ARGUMENT_SPEC, input_errors, wait_timeout_default=None)


if __name__ == "__main__":
    main()
