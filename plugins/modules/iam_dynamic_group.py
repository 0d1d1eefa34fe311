#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_dynamic_group
short_description: Create, update and delete OCI dynamic groups (classic IAM or an identity domain) in the home region
version_added: 0.2.0
description:
  - Ensures a dynamic group exists with the given matching rule, or is absent.
  - In a tenancy without identity domains, a dynamic group of the classic IAM API; identity is (O(compartment_id), the
    tenancy, and O(name)); a found group is compared and updated in place.
  - In a tenancy with identity domains (listed first, with IdentityClient.list_domains) dynamic groups live in a
    domain and are managed through the SCIM-based Identity Domains API at the domain's URL (dynamic resource groups,
    found by C(displayName eq "<name>"), replaced with PUT when the description or matching rule differs). The group
    goes to the domain O(identity_domain) names, or else to the tenancy's Default domain; an O(identity_domain) that
    names no domain of the tenancy is refused before any write, listing the domains.
  - Policies name a domain's dynamic group as C(dynamic-group '<domain>'/'<name>'), or by its plain name in the Default
    domain (Oracle, "Policy Syntax - Subjects", docs.oracle.com/iaas/Content/Identity/policysyntax/subject.htm); the
    module returns that subject as RV(policy_subject).
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
  identity_domain:
    description:
      - In a tenancy with identity domains, the domain that holds the group, by display name or OCID.
      - Unset, the tenancy's Default domain (or, without identity domains, the classic IAM API). Set in a tenancy
        without identity domains, it is refused naming the option.
      - O(freeform_tags) and O(defined_tags) are refused for a group in an identity domain (SCIM resources carry tags
        in an extension this module does not manage).
    type: str
    version_added: 0.2.0
"""

EXAMPLES = r"""
- name: The OKE worker nodes of one compartment (Grafana's instance principal)
  llmops.oke.iam_dynamic_group:
    compartment_id: "{{ oci_tenancy_id }}"
    name: llmops-grafana
    matching_rule: "ALL {instance.compartment.id = '{{ oke_compartment_id }}'}"

- name: The same group in a secondary identity domain; policies name it 'ML-Domain'/'llmops-grafana'
  llmops.oke.iam_dynamic_group:
    name: llmops-grafana
    identity_domain: ML-Domain
    matching_rule: "ALL {instance.compartment.id = '{{ oke_compartment_id }}'}"
  register: grafana_group

- name: A policy for it, with the subject the module returns
  llmops.oke.iam_policy:
    compartment_id: "{{ oke_compartment_id }}"
    name: llmops-grafana-metrics
    statements:
      - "Allow {{ grafana_group.policy_subject }} to read metrics in compartment id {{ oke_compartment_id }}"
"""

RETURN = r"""
dynamic_group:
  description: The dynamic group as OCI returns it (snake_case); null when absent.
  returned: always
  type: dict
  sample: {"id": "ocid1.dynamicgroup.oc1..aaaa", "name": "llmops-grafana", "matching_rule": "ALL {...}"}
identity_domain:
  description: The identity domain holding the group (C(display_name), C(id), C(url), C(type)); null in classic IAM.
  returned: always
  type: dict
  sample: {"display_name": "Default", "id": "ocid1.domain.oc1..aaaa", "type": "DEFAULT"}
policy_subject:
  description: How a policy statement names the group, e.g. C(dynamic-group 'ML-Domain'/'llmops-grafana').
  returned: always
  type: str
  sample: dynamic-group llmops-grafana
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.identity import (
    DomainDynamicGroups,
    IdentityResource,
    choose_domain,
    dynamic_group_subject,
    live_domains,
    matching_rule_error,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    OCIOperationError,
    ResourceError,
    find_unique,
    identity_errors,
    identity_spec,
    run_resource_module,
)

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(name_aliases=()),
    "compartment_id": {"type": "str"},  # default: the tenancy of the OCI configuration
    "description": {"type": "str", "default": "Managed by llmops.oke"},
    "matching_rule": {"type": "str"},
    "identity_domain": {"type": "str"},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    errors = identity_errors(params, {"compartment_id": "tenancy"})
    rule = params.get("matching_rule")
    if rule is not None and matching_rule_error(rule):
        errors.append(f"matching_rule '{rule}' {matching_rule_error(rule)}")
    domain = params.get("identity_domain")
    if domain is not None and not domain.strip():
        errors.append("identity_domain must not be empty (unset it for the Default domain)")
    elif domain and domain.startswith("ocid1.") and not domain.startswith("ocid1.domain."):
        errors.append(f"identity_domain '{domain}' is an OCID but not of an identity domain (ocid1.domain...)")
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
        self.domain: dict[str, Any] | None = None
        self.scim: DomainDynamicGroups | None = None
        self._resolved = False
        if not self.params.get("compartment_id"):
            try:
                self.params["compartment_id"] = self.tenancy_id()
            except ResourceError as error:  # no tenancy in the configuration: the sentence names the option
                module.fail_json(msg=error.msg)

    def describe(self, resource: dict[str, Any] | None = None) -> str:
        where = f" in identity domain {self.domain.get('display_name')}" if self.domain else ""
        return super().describe(resource) + where

    def resolve_domain(self) -> None:
        """Classic IAM, or the identity domain that holds the group (identity_domain, else Default), read once."""
        if self._resolved:
            return
        try:
            domains = live_domains(self.module.list_all(self.client.list_domains, self.params["compartment_id"]))
        except Exception as error:  # one sentence naming the read
            raise OCIOperationError(f"Cannot manage {self.describe()}: cannot list the tenancy's identity domains",
                                    error) from error
        wanted = self.params.get("identity_domain")
        if wanted and not domains:
            raise ResourceError(f"Cannot manage {self.describe()}: identity_domain is '{wanted}' but the tenancy has "
                                "no identity domains (its dynamic groups are classic IAM); unset identity_domain.")
        try:
            self.domain = choose_domain(domains, wanted)
        except ValueError as error:
            raise ResourceError(f"Cannot manage {self.describe()}: {error}.",
                                identity_domains=[item.get("display_name") for item in domains]) from error
        if self.domain is not None:
            if self.params.get("freeform_tags") or self.params.get("defined_tags"):
                raise ResourceError(f"Cannot manage {self.describe()}: freeform_tags and defined_tags are not "
                                    "managed for a dynamic group in an identity domain; unset them.")
            self.scim = DomainDynamicGroups(self.module, self.domain)
        self._resolved = True

    def find(self) -> dict[str, Any] | None:
        self.check_home_region()
        self.resolve_domain()
        if self.scim is None:
            return super().find()
        return find_unique(self.scim.find(self.params["name"]), self.params["name"],
                           f"dynamic groups in identity domain {self.domain['display_name']}")

    def resource_id(self, resource: dict[str, Any]) -> str:
        return resource["scim_id"] if self.scim is not None else resource["id"]

    def get(self, ocid: str) -> dict[str, Any]:
        return self.scim.get(ocid) if self.scim is not None else super().get(ocid)

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        if self.scim is None:
            return super().create(desired, retry_token)
        self.check_creatable(desired)
        self.scim.create(desired, retry_token)
        return None

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        if self.scim is None:
            return super().update(current, desired, fields)
        self.scim.replace(current, {field: desired[field] for field in fields})
        return None

    def delete(self, current: dict[str, Any]) -> str | None:
        if self.scim is None:
            return super().delete(current)
        self.scim.delete(current)
        return None

    def desired(self) -> dict[str, Any]:
        p = self.params
        rule = " ".join(p["matching_rule"].split()) if p.get("matching_rule") else None
        if self.scim is not None:  # a domain group: no compartment to choose, no tags (refused above)
            return prune_none({"name": p["name"], "description": p["description"], "matching_rule": rule})
        return prune_none({"compartment_id": p["compartment_id"], "name": p["name"], "description": p["description"],
                           "matching_rule": rule, **self.tags()})

    def ensure_present(self) -> dict[str, Any]:
        return self.with_subject(super().ensure_present())

    def ensure_absent(self) -> dict[str, Any]:
        return self.with_subject(super().ensure_absent())

    def with_subject(self, result: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain
        result["identity_domain"] = None if domain is None else {
            key: domain.get(key) for key in ("display_name", "id", "url", "type")}
        result["policy_subject"] = dynamic_group_subject(self.params["name"], domain)
        return result


def main() -> None:
    run_resource_module(DynamicGroup, ARGUMENT_SPEC, input_errors, wait_timeout_default=None)


if __name__ == "__main__":
    main()
