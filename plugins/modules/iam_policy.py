#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_policy
short_description: Create, update and delete OCI IAM policies in the tenancy's home region
version_added: 0.2.0
description:
  - Ensures an IAM policy (classic IAM API, which also holds the policies of tenancies with identity domains)
    exists with the given statements, or is absent.
  - Identity is (O(compartment_id), O(name)); a found policy is compared and updated in place, statements in order.
    With C(--diff) the statements before and after are shown.
  - OCI takes IAM writes only in the tenancy's home region. The home region is read from the tenancy's region
    subscriptions first; a run aimed at another region is refused before anything is written.
  - Every statement is checked against OCI's policy syntax (C(Allow <subject> to <verb> <resource-type> in
    <location> [where <conditions>]), Oracle's "Policy Syntax" page) before any API call; a bad one is refused
    naming its index.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.RESOURCE
options:
  compartment_id:
    description: OCID of the compartment (or the tenancy) the policy is attached to.
    type: str
    required: true
  name:
    description: Name of the policy, unique in the tenancy; it cannot be changed.
    type: str
    required: true
  description:
    description: Description of the policy.
    type: str
    default: Managed by llmops.oke
  statements:
    description: The policy statements, in order. Required to create.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Let the cluster autoscaler (workload identity) manage the node pools
  llmops.oke.iam_policy:
    compartment_id: "{{ oke_compartment_id }}"
    name: llmops-cluster-autoscaler
    statements:
      - >-
        Allow any-user to manage cluster-node-pools in compartment id {{ oke_compartment_id }}
        where ALL {request.principal.type = 'workload', request.principal.namespace = 'kube-system',
        request.principal.service_account = 'cluster-autoscaler', request.principal.cluster_id = '{{ oke_cluster_id }}'}
"""

RETURN = r"""
policy:
  description: The policy as OCI returns it (snake_case); null when absent.
  returned: always
  type: dict
  sample: {"id": "ocid1.policy.oc1..aaaa", "name": "llmops-cluster-autoscaler", "statements": ["Allow ..."]}
"""

from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.identity import IdentityResource, statement_error
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    identity_errors,
    identity_spec,
    run_resource_module,
)

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(name_aliases=()),
    "description": {"type": "str", "default": "Managed by llmops.oke"},
    "statements": {"type": "list", "elements": "str"},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    """Problems OCI would refuse, found before any API call: OCIDs and every statement's syntax."""
    errors = identity_errors(params, {"compartment_id": ("compartment", "tenancy")})
    statements = params.get("statements")
    if params["state"] == "present" and statements == []:
        errors.append("statements must hold at least one statement")
    for index, statement in enumerate(statements or []):
        problem = statement_error(statement)
        if problem:
            errors.append(f"statements[{index}] '{' '.join(statement.split())}' {problem}")
    return errors


class Policy(IdentityResource):
    kind = "IAM policy"
    result_key = "policy"
    entity_type = "policy"
    noun = "policy"
    list_operation = "list_policies"
    required_to_create = (("statements", "statements"),)

    def desired(self) -> dict[str, Any]:
        p = self.params
        statements = [" ".join(statement.split()) for statement in p["statements"]] if p.get("statements") else None
        return prune_none({"compartment_id": p["compartment_id"], "name": p["name"], "description": p["description"],
                           "statements": statements, **self.tags()})


def main() -> None:
    run_resource_module(Policy, ARGUMENT_SPEC, input_errors, wait_timeout_default=None)


if __name__ == "__main__":
    main()
