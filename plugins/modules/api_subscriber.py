#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: api_subscriber
short_description: Create, update and delete OCI API Gateway subscribers (clients with tokens on usage plans)
version_added: 0.1.0
description:
  - Ensures an API Gateway subscriber exists with the given clients and usage plans, or is absent.
  - Identity is (O(compartment_id), O(name)); a found subscriber is compared and updated in place. Two subscribers
    with that identity fail the task listing both OCIDs.
  - Client tokens are secrets; they are never logged, returned or shown in a diff. With O(update_tokens=on_create)
    (the default) only client names are compared, so a run reads the subscriber once from the list; with
    V(always) the subscriber is read in full and tokens are compared by their SHA-256 digests.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.WAIT
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.DISPLAY_NAME
  - llmops.oke.oci.RESOURCE
attributes:
  diff_mode:
    support: full
    description: Shows before/after of the fields that differ (client names, token digests, never tokens).
options:
  clients:
    description: The subscriber's clients (the whole list). Required to create.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the client, unique in the subscriber.
        type: str
        required: true
      token:
        description: The client token sent by callers at the deployment's usage plan token location. Never logged.
        type: str
        required: true
  usage_plan_ids:
    description: OCIDs of the usage plans the subscriber is on (the whole list). Required to create.
    type: list
    elements: str
  update_tokens:
    description:
      - V(on_create) sets tokens when the subscriber is created or its client list changes.
      - V(always) also replaces tokens that differ from O(clients[].token) (costs one more read per run).
    type: str
    choices: [always, on_create]
    default: on_create
"""

EXAMPLES = r"""
- name: Benchmark client on the default plan
  llmops.oke.api_subscriber:
    compartment_id: "{{ oke_compartment_id }}"
    name: llmops-benchmark
    clients:
      - name: benchmark
        token: "{{ benchmark_client_token }}"
    usage_plan_ids: ["{{ plan.usage_plan.id }}"]
  no_log: true
"""

RETURN = r"""
subscriber:
  description: The subscriber (snake_case) with client names only, re-read after the work request; null when absent.
  returned: always
  type: dict
  sample:
    id: ocid1.apisubscriber.oc1.iad.aaaa
    display_name: llmops-benchmark
    clients: [{"name": "benchmark"}]
work_request_ids:
  description: OCIDs of the work requests this run started.
  returned: when something was changed outside check mode
  type: list
  elements: str
"""

import hashlib
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.api_gateway import ApiGatewayResource
from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    model_to_dict,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import DEFAULT_EXACT_FIELDS, prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    identity_errors,
    identity_spec,
    run_resource_module,
)

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(),
    "clients": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "token": {"type": "str", "required": True, "no_log": True},
    }},
    "usage_plan_ids": {"type": "list", "elements": "str"},
    "update_tokens": {"type": "str", "choices": ["always", "on_create"], "default": "on_create", "no_log": False},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    """Problems of the options OCI would reject, found before any API call (tokens are never quoted)."""
    errors = identity_errors(params, {"compartment_id": ("compartment", "tenancy"), "usage_plan_ids": "usageplan"})
    names, tokens = set(), set()
    for index, client in enumerate(params.get("clients") or []):
        if client["name"] in names:
            errors.append(f"clients[{index}].name '{client['name']}' is given twice")
        if not client["token"].strip():
            errors.append(f"clients[{index}].token of client '{client['name']}' is empty")
        elif client["token"] in tokens:
            errors.append(f"clients[{index}].token of client '{client['name']}' repeats another client's token")
        names.add(client["name"])
        tokens.add(client["token"])
    if params.get("state") == "present" and params.get("clients") == []:
        errors.append("clients must hold at least one client")
    return errors


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Subscriber(ApiGatewayResource):
    kind = "API subscriber"
    result_key = "subscriber"
    client_class_name = "SubscribersClient"
    list_operation = "list_subscribers"
    noun = "subscriber"
    required_to_create = (("clients", "clients"), ("usage_plan_ids", "usage_plans"))
    exact_fields = DEFAULT_EXACT_FIELDS | {"clients", "usage_plans"}

    def find(self) -> dict[str, Any] | None:
        found = self.find_summary()
        if found is not None and self.params["update_tokens"] == "always" and self.params["state"] == "present":
            return self.get(found["id"], digests=True)
        return found

    def get(self, ocid: str, digests: bool = False) -> dict[str, Any]:
        subscriber = model_to_dict(self.module.call(self._operation("get"), ocid).data)
        # Tokens never leave this method: names only, or names with token digests to compare.
        subscriber["clients"] = [prune_none({"name": client["name"],
                                             "token_sha256": token_digest(client["token"])
                                             if digests and client.get("token") else None})
                                 for client in subscriber.get("clients") or []]
        return subscriber

    def _clients(self, with_tokens: bool) -> list[dict[str, Any]] | None:
        clients = self.params.get("clients")
        if clients is None:
            return None
        if with_tokens:
            return [{"name": client["name"], "token": client["token"]} for client in clients]
        digests = self.params["update_tokens"] == "always"
        return [prune_none({"name": client["name"], "token_sha256": token_digest(client["token"]) if digests else None})
                for client in clients]

    def desired(self) -> dict[str, Any]:
        p = self.params
        return prune_none({
            "compartment_id": p["compartment_id"],
            "display_name": p["name"],
            "clients": self._clients(with_tokens=False),
            "usage_plans": p.get("usage_plan_ids"),
            **self.tags(),
        })

    def wire(self, desired: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        body = super().wire(desired, fields)
        if "clients" in body:
            body["clients"] = self._clients(with_tokens=True)
        return body


def main() -> None:
    run_resource_module(Subscriber, ARGUMENT_SPEC, input_errors)


if __name__ == "__main__":
    main()
