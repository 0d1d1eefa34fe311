#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_security_group
short_description: Create, update and delete OCI network security groups and their security rules
version_added: 0.2.0
description:
  - Ensures a network security group (NSG) exists in a VCN with exactly the given security rules, or is absent.
  - Identity is (O(compartment_id), O(vcn_id), O(name)); a found NSG is compared and updated in place. Two NSGs with
    that identity fail the task listing both OCIDs.
  - O(security_rules) is the whole set, compared as a set on the fields each rule sets (a rule without
    O(security_rules[].description) matches whatever description OCI holds). Rules OCI holds that no listed rule
    matches are removed; missing ones are added first, so the path stays open while a rule changes.
  - Every CIDR and port is checked before any API call (Python's C(ipaddress)); writes go in batches of at most 25
    rules, OCI's limit per C(AddNetworkSecurityGroupSecurityRules) call.
  - With C(--diff) the rules before and after are shown.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.DISPLAY_NAME
  - llmops.oke.oci.RESOURCE
options:
  vcn_id:
    description: OCID of the VCN the NSG belongs to (part of its identity; it cannot change).
    type: str
    required: true
  security_rules:
    description:
      - The NSG's security rules; omit to leave the rules as they are, give an empty list to remove them all.
    type: list
    elements: dict
    suboptions:
      direction:
        description: C(INGRESS) for inbound packets, C(EGRESS) for outbound.
        type: str
        choices: [INGRESS, EGRESS]
        default: INGRESS
      protocol:
        description: C(tcp), C(udp), C(icmp), C(icmpv6), C(all) or an IANA protocol number.
        type: str
        default: tcp
      source:
        description: Where an INGRESS rule's packets come from; a CIDR block unless O(security_rules[].source_type)
          says otherwise.
        type: str
      source_type:
        description: What O(security_rules[].source) is.
        type: str
        choices: [CIDR_BLOCK, SERVICE_CIDR_BLOCK, NETWORK_SECURITY_GROUP]
        default: CIDR_BLOCK
      destination:
        description: Where an EGRESS rule's packets go; a CIDR block unless O(security_rules[].destination_type)
          says otherwise.
        type: str
      destination_type:
        description: What O(security_rules[].destination) is.
        type: str
        choices: [CIDR_BLOCK, SERVICE_CIDR_BLOCK, NETWORK_SECURITY_GROUP]
        default: CIDR_BLOCK
      destination_port_min:
        description: First destination port (1-65535) of a TCP or UDP rule; alone it opens one port.
        type: int
      destination_port_max:
        description: Last destination port (1-65535); defaults to O(security_rules[].destination_port_min).
        type: int
      is_stateless:
        description: Whether the rule is stateless (replies need their own rule).
        type: bool
        default: false
      description:
        description: Free text about the rule; compared only when set.
        type: str
"""

EXAMPLES = r"""
- name: Let only the API gateway subnet reach the model servers' load balancer listeners
  llmops.oke.network_security_group:
    compartment_id: "{{ oke_compartment_id }}"
    vcn_id: "{{ oke_vcn_id }}"
    name: llmops-backends-lb
    security_rules:
      - source: 10.0.3.0/24
        destination_port_min: 80
        description: API gateway subnet to the vLLM load balancer
      - source: 10.0.3.0/24
        destination_port_min: 8080
"""

RETURN = r"""
network_security_group:
  description: The NSG as OCI returns it (snake_case) with its C(security_rules); null when absent.
  returned: always
  type: dict
  sample: {"id": "ocid1.networksecuritygroup.oc1..aaaa", "display_name": "llmops-backends-lb",
           "lifecycle_state": "AVAILABLE", "security_rules": [{"direction": "INGRESS", "protocol": "6",
           "source": "10.0.3.0/24", "tcp_options": {"destination_port_range": {"min": 80, "max": 80}}}]}
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, build_model, model_to_dict
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.network import (
    RULES_PER_CALL,
    comparable_rules,
    rule_details,
    rule_errors,
    rules_plan,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    OCIResource,
    find_unique,
    identity_errors,
    identity_spec,
    run_resource_module,
)

if HAS_OCI:
    import oci

_TYPES = ["CIDR_BLOCK", "SERVICE_CIDR_BLOCK", "NETWORK_SECURITY_GROUP"]
ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(),
    "vcn_id": {"type": "str", "required": True},
    "security_rules": {"type": "list", "elements": "dict", "options": {
        "direction": {"type": "str", "choices": ["INGRESS", "EGRESS"], "default": "INGRESS"},
        "protocol": {"type": "str", "default": "tcp"},
        "source": {"type": "str"},
        "source_type": {"type": "str", "choices": _TYPES, "default": "CIDR_BLOCK"},
        "destination": {"type": "str"},
        "destination_type": {"type": "str", "choices": _TYPES, "default": "CIDR_BLOCK"},
        "destination_port_min": {"type": "int"},
        "destination_port_max": {"type": "int"},
        "is_stateless": {"type": "bool", "default": False},
        "description": {"type": "str"},
    }},
}
#: NetworkSecurityGroup.lifecycle_state: PROVISIONING, AVAILABLE, TERMINATING, TERMINATED (oci SDK docstring)
GONE = ("TERMINATING", "TERMINATED")


def input_errors(params: dict[str, Any]) -> list[str]:
    """Problems OCI would refuse, found before any API call: OCIDs, every rule's CIDR, ports and protocol."""
    errors = identity_errors(params, {"compartment_id": "compartment", "vcn_id": "vcn"})
    for index, rule in enumerate(params.get("security_rules") or []):
        errors += rule_errors(f"security_rules[{index}]", rule)
    return errors


class NetworkSecurityGroup(OCIResource):
    kind = "network security group"
    result_key = "network_security_group"
    entity_type = "networksecuritygroup"
    updatable_fields = frozenset({"display_name", "freeform_tags", "defined_tags", "security_rules"})

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        self.client = module.client(oci.core.VirtualNetworkClient)

    def describe(self, resource: dict[str, Any] | None = None) -> str:
        name = (resource or {}).get("display_name") or self.params.get("name")
        ocid = (resource or {}).get("id")
        return f"{self.kind} '{name}'" + (f" ({ocid})" if ocid else "")

    def _rules(self, ocid: str) -> list[dict[str, Any]]:
        return [prune_none(rule) for rule in self.module.list_all(
            self.client.list_network_security_group_security_rules, ocid)]

    def _with_rules(self, nsg: dict[str, Any] | None) -> dict[str, Any] | None:
        if nsg is not None:
            nsg["security_rules"] = self._rules(nsg["id"])
        return nsg

    def find(self) -> dict[str, Any] | None:
        p = self.params
        items = self.module.list_all(self.client.list_network_security_groups, compartment_id=p["compartment_id"],
                                     vcn_id=p["vcn_id"], display_name=p["name"])
        found = find_unique(items, p["name"], f"{self.kind}s in VCN {p['vcn_id']}", name_key="display_name",
                            ignore_states=GONE)
        return self._with_rules(found)

    def get(self, ocid: str) -> dict[str, Any]:
        return self._with_rules(model_to_dict(self.module.call(self.client.get_network_security_group, ocid).data))

    def desired(self) -> dict[str, Any]:
        p = self.params
        rules = p.get("security_rules")
        return prune_none({"compartment_id": p["compartment_id"], "vcn_id": p["vcn_id"], "display_name": p["name"],
                           "security_rules": None if rules is None else [rule_details(rule) for rule in rules],
                           **self.tags()})

    def comparable(self, resource: dict[str, Any]) -> dict[str, Any]:
        wanted = self.desired().get("security_rules")
        if wanted is None:
            return resource
        return {**resource, "security_rules": comparable_rules(wanted, resource.get("security_rules") or [])}

    def predicted_update(self, current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
        predicted = super().predicted_update(current, desired)
        if "security_rules" in desired:
            _add, _remove, kept = rules_plan(desired["security_rules"], current.get("security_rules") or [])
            predicted["security_rules"] = kept + _add
        return predicted

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        fields = {key: value for key, value in desired.items() if key != "security_rules"}
        details = build_model(oci.core.models.CreateNetworkSecurityGroupDetails, fields, oci.core.models)
        created = self.module.call(self.client.create_network_security_group, details, opc_retry_token=retry_token)
        self._write_rules(created.data.id, desired.get("security_rules") or [], [])
        return None

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        group_fields = {field: desired[field] for field in fields if field != "security_rules"}
        if group_fields:
            details = build_model(oci.core.models.UpdateNetworkSecurityGroupDetails, group_fields, oci.core.models)
            self.module.call(self.client.update_network_security_group, current["id"], details)
        if "security_rules" in fields:
            to_add, to_remove, _kept = rules_plan(desired["security_rules"], current.get("security_rules") or [])
            self._write_rules(current["id"], to_add, to_remove)
        return None

    def _write_rules(self, ocid: str, to_add: list[dict[str, Any]], to_remove: list[dict[str, Any]]) -> None:
        """Add first (the path stays open while a rule changes), then remove; at most 25 rules a call."""
        models = oci.core.models
        for start in range(0, len(to_add), RULES_PER_CALL):
            batch = [build_model(models.AddSecurityRuleDetails, rule, models)
                     for rule in to_add[start:start + RULES_PER_CALL]]
            self.module.call(self.client.add_network_security_group_security_rules, ocid,
                             models.AddNetworkSecurityGroupSecurityRulesDetails(security_rules=batch))
        ids = [rule["id"] for rule in to_remove]
        for start in range(0, len(ids), RULES_PER_CALL):
            self.module.call(self.client.remove_network_security_group_security_rules, ocid,
                             models.RemoveNetworkSecurityGroupSecurityRulesDetails(
                                 security_rule_ids=ids[start:start + RULES_PER_CALL]))

    def delete(self, current: dict[str, Any]) -> str | None:
        self.module.call(self.client.delete_network_security_group, current["id"])
        return None


def main() -> None:
    run_resource_module(NetworkSecurityGroup, ARGUMENT_SPEC, input_errors, wait_timeout_default=None)


if __name__ == "__main__":
    main()
