#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: api_usage_plan
short_description: Create, update and delete OCI API Gateway usage plans (entitlements with rate limits and quotas)
version_added: 0.1.0
description:
  - Ensures an API Gateway usage plan exists with the given entitlements, or is absent.
  - Identity is (O(compartment_id), O(name)); a found plan is compared and updated in place. Two plans with that
    identity fail the task listing both OCIDs.
  - O(entitlements) is the whole list; an entitlement on OCI that is not listed here is removed on update.
  - Subscribers reach deployments through a plan's entitlement targets; the deployments must require usage
    plan tokens (O(llmops.oke.api_deployment#module:usage_plans)).
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.WAIT
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.DISPLAY_NAME
  - llmops.oke.oci.RESOURCE
options:
  entitlements:
    description: What subscribers of the plan may call, and how much. Required to create.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the entitlement, unique in the plan.
        type: str
        required: true
      description:
        description: Free text about the entitlement.
        type: str
      rate_limit_per_second:
        description: Requests per second one subscriber client may send (more than 0); omit for no rate limit.
        type: int
      quota:
        description: Requests one subscriber client may send per period; omit for no quota.
        type: dict
        suboptions:
          value:
            description: Number of requests per period (more than 0).
            type: int
            required: true
          unit:
            description: Length of the period.
            type: str
            choices: [MINUTE, HOUR, DAY, WEEK, MONTH]
            required: true
          reset_policy:
            description: When the count restarts.
            type: str
            choices: [CALENDAR]
            default: CALENDAR
          operation_on_breach:
            description: Reject requests over the quota, or allow them (and only report the breach).
            type: str
            choices: [REJECT, ALLOW]
            default: REJECT
      target_deployment_ids:
        description: OCIDs of the API deployments the entitlement covers.
        type: list
        elements: str
        default: []
  remove_all_entitlements:
    description:
      - Allow O(entitlements=[]) on an existing plan, which removes every entitlement (its subscribers can then
        call nothing). Without it, an empty list on an existing plan fails before any change.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Default plan for benchmark and chat clients
  llmops.oke.api_usage_plan:
    compartment_id: "{{ oke_compartment_id }}"
    name: llmops-default
    entitlements:
      - name: inference
        rate_limit_per_second: 10
        quota:
          value: 100000
          unit: DAY
        target_deployment_ids: ["{{ deployment.deployment.id }}"]
"""

RETURN = r"""
usage_plan:
  description: The usage plan (snake_case), re-read after the work request; null when absent.
  returned: always
  type: dict
  sample: {"id": "ocid1.usageplan.oc1.iad.aaaa", "display_name": "llmops-default", "entitlements": []}
work_request_ids:
  description: OCIDs of the work requests this run started.
  returned: when something was changed outside check mode
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.api_gateway import ApiGatewayResource
from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    ocid_problems,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import DEFAULT_EXACT_FIELDS, prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    ResourceError,
    identity_errors,
    identity_spec,
    run_resource_module,
)

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(),
    "entitlements": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "description": {"type": "str"},
        "rate_limit_per_second": {"type": "int"},
        "quota": {"type": "dict", "options": {
            "value": {"type": "int", "required": True},
            "unit": {"type": "str", "choices": ["MINUTE", "HOUR", "DAY", "WEEK", "MONTH"], "required": True},
            "reset_policy": {"type": "str", "choices": ["CALENDAR"], "default": "CALENDAR"},
            "operation_on_breach": {"type": "str", "choices": ["REJECT", "ALLOW"], "default": "REJECT"},
        }},
        "target_deployment_ids": {"type": "list", "elements": "str", "default": []},
    }},
    "remove_all_entitlements": {"type": "bool", "default": False},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    """Problems of the options OCI would reject, found before any API call."""
    errors = identity_errors(params, {"compartment_id": ("compartment", "tenancy")})
    names = set()
    for index, entitlement in enumerate(params.get("entitlements") or []):
        where = f"entitlements[{index}]"
        if entitlement["name"] in names:
            errors.append(f"{where}.name '{entitlement['name']}' is given twice")
        names.add(entitlement["name"])
        rate = entitlement.get("rate_limit_per_second")
        if rate is not None and rate <= 0:
            errors.append(f"{where}.rate_limit_per_second must be more than 0, got {rate}")
        quota = entitlement.get("quota")
        if quota is not None and quota["value"] <= 0:
            errors.append(f"{where}.quota.value must be more than 0, got {quota['value']}")
        errors += ocid_problems(f"{where}.target_deployment_ids", entitlement["target_deployment_ids"], "apideployment")
    return errors


def canonical_entitlement(entitlement: dict[str, Any]) -> dict[str, Any]:
    """An Entitlement (snake_case) cut to what this module manages, so desired and current compare as wholes."""
    rate = entitlement.get("rate_limit") or {}
    quota = entitlement.get("quota") or {}
    return prune_none({
        "name": entitlement.get("name"),
        "description": entitlement.get("description") or None,
        "rate_limit": {"value": rate["value"], "unit": rate.get("unit") or "SECOND"} if rate.get("value") else None,
        "quota": {key: quota.get(key) for key in ("value", "unit", "reset_policy", "operation_on_breach")}
        if quota.get("value") else None,
        "targets": sorted(({"deployment_id": target["deployment_id"]} for target in entitlement.get("targets") or []),
                          key=lambda target: target["deployment_id"]),
    })


class UsagePlan(ApiGatewayResource):
    kind = "API usage plan"
    result_key = "usage_plan"
    client_class_name = "UsagePlansClient"
    list_operation = "list_usage_plans"
    noun = "usage_plan"
    exact_fields = DEFAULT_EXACT_FIELDS | {"entitlements"}
    read_in_full = True  # entitlement summaries lack their targets

    def canonical(self, resource: dict[str, Any]) -> dict[str, Any]:
        entitlements = resource.get("entitlements") or []
        return {**resource, "entitlements": [canonical_entitlement(item) for item in entitlements]}

    def desired(self) -> dict[str, Any]:
        p = self.params
        entitlements = None
        if p.get("entitlements") is not None:
            entitlements = [canonical_entitlement({
                "name": item["name"],
                "description": item.get("description"),
                "rate_limit": {"value": item["rate_limit_per_second"], "unit": "SECOND"}
                if item.get("rate_limit_per_second") else None,
                "quota": item.get("quota"),
                "targets": [{"deployment_id": ocid} for ocid in item["target_deployment_ids"]],
            }) for item in p["entitlements"]]
        return prune_none({
            "compartment_id": p["compartment_id"],
            "display_name": p["name"],
            "entitlements": entitlements,
            **self.tags(),
        })

    def desired_for_existing(self, desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        if self.params.get("entitlements") == [] and current.get("entitlements") and \
                not self.params["remove_all_entitlements"]:
            raise ResourceError(f"Refusing to remove every entitlement of {self.describe(current)}: "
                                "entitlements is empty; set remove_all_entitlements=true to mean it.")
        return desired

    def check_creatable(self, desired: dict[str, Any]) -> None:
        if not desired.get("entitlements"):
            raise ResourceError(f"Cannot create {self.describe()}: entitlements (at least one) are required "
                                "to create a usage plan.")


def main() -> None:
    run_resource_module(UsagePlan, ARGUMENT_SPEC, input_errors)


if __name__ == "__main__":
    main()
