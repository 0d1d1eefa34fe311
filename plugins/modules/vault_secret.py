#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vault_secret
short_description: Create, update and schedule the deletion of OCI Vault secrets without ever printing them
version_added: 0.2.0
description:
  - Ensures an OCI Vault secret named O(name) exists in the vault O(vault_id) with the content O(content), or is
    scheduled for deletion.
  - Identity is (O(compartment_id), O(vault_id), O(name)). A found secret's content is compared with O(content) by
    reading its current secret bundle (one read); the content is never returned, logged or shown in a diff (the diff
    shows C(content_matches)). A secret whose content already matches is not rewritten; a different content
    becomes a new secret version.
  - OCI deletes secrets by schedule, so O(state=absent) schedules the deletion (state C(PENDING_DELETION), 1 to 30 days
    later, 30 by default) and a secret already pending deletion is left as it is. A secret pending deletion that is
    wanted again (O(state=present)) has its deletion cancelled first.
  - Secrets are encrypted with the vault's master encryption key O(key_id) when they are created; a later
    O(key_id) does not re-encrypt an existing secret.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.WAIT
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.RESOURCE
attributes:
  diff_mode:
    support: full
    description: Shows before/after of the fields that differ (description, tags, content_matches; never the content).
options:
  name:
    description: Name of the secret, unique in the vault; letters, digits, hyphens, underscores and periods.
    type: str
    required: true
    aliases: [secret_name]
  vault_id:
    description: OCID of the vault (C(ocid1.vault...)) holding the secret.
    type: str
    required: true
  key_id:
    description: OCID of the vault's master encryption key (C(ocid1.key...)). Required to create.
    type: str
  content:
    description: The secret's content (text). Never logged or returned. Required with O(state=present).
    type: str
  description:
    description: Description of the secret.
    type: str
    default: Managed by llmops.oke
  deletion_delay_days:
    description:
      - With O(state=absent), days until OCI deletes the secret, 1 to 30. Unset, OCI's default of 30 days applies.
    type: int
"""

EXAMPLES = r"""
- name: Keep a tenant's API key in the vault
  llmops.oke.vault_secret:
    compartment_id: "{{ oke_compartment_id }}"
    vault_id: "{{ vault_id }}"
    key_id: "{{ vault_key_id }}"
    name: llmops-gateway-tenant-team-a
    content: "{{ team_a_key }}"
  no_log: true
"""

RETURN = r"""
secret:
  description: The secret as OCI lists it (snake_case, never the content); null when absent.
  returned: always
  type: dict
  sample: {"id": "ocid1.vaultsecret.oc1.iad.aaaa", "secret_name": "llmops-gateway-tenant-team-a",
           "lifecycle_state": "ACTIVE"}
deletion_cancelled:
  description: Whether a deletion pending on the secret was cancelled (or, in check mode, would be).
  returned: with state=present
  type: bool
"""

import base64
import datetime as dt
import hmac
import re
import time
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, model_to_dict
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    OCIResource,
    ResourceError,
    find_unique,
    identity_errors,
    identity_spec,
    run_resource_module,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.waiter import poll_intervals

if HAS_OCI:
    import oci

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(name_aliases=("secret_name",)),
    "vault_id": {"type": "str", "required": True},
    "key_id": {"type": "str", "no_log": False},
    "content": {"type": "str", "no_log": True},
    "description": {"type": "str", "default": "Managed by llmops.oke"},
    "deletion_delay_days": {"type": "int"},
}

# oci SDK docstring: CreateSecretDetails.secret_name ("Valid characters are uppercase or lowercase letters, numbers,
# hyphens, underscores, and periods.")
SECRET_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
#: states of a secret whose deletion is scheduled (oci SDK docstring: VaultsClient.schedule_secret_deletion)
PENDING_DELETION = frozenset({"SCHEDULING_DELETION", "PENDING_DELETION"})


def input_errors(params: dict[str, Any]) -> list[str]:
    """Problems OCI would refuse, found before any API call (the content is never quoted)."""
    errors = identity_errors(params, {"compartment_id": ("compartment", "tenancy"), "vault_id": "vault",
                                      "key_id": "key"})
    if params.get("name") and not SECRET_NAME.match(params["name"]):
        errors.append(f"name '{params['name']}' may hold only letters, digits, hyphens, underscores and periods")
    if params["state"] == "present" and not params.get("content"):
        errors.append("content is required (and must not be empty) with state=present")
    days = params.get("deletion_delay_days")
    if days is not None and not 1 <= days <= 30:
        # "You can set a range between 1 day and 30 days." (docs.oracle.com/en-us/iaas/Content/secret-management/
        # Tasks/delete-secret.htm)
        errors.append(f"deletion_delay_days must be 1 to 30, got {days}")
    return errors


class VaultSecret(OCIResource):
    kind = "vault secret"
    result_key = "secret"
    entity_type = "vaultsecret"
    updatable_fields = frozenset({"description", "freeform_tags", "defined_tags", "content_matches"})
    required_to_create = (("key_id", "key_id"),)

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        self.client = module.client(oci.vault.VaultsClient)
        self.secrets_client = module.client(oci.secrets.SecretsClient)
        self._looked_up: tuple[dict[str, Any] | None] | None = None

    def describe(self, resource: dict[str, Any] | None = None) -> str:
        name = (resource or {}).get("secret_name") or self.params.get("name")
        ocid = (resource or {}).get("id")
        return f"{self.kind} '{name}'" + (f" ({ocid})" if ocid else "")

    def find(self) -> dict[str, Any] | None:
        if self._looked_up is not None:  # the look-up ensure_present/absent made first, used once
            found, self._looked_up = self._looked_up[0], None
            return found
        items = self.module.list_all(self.client.list_secrets, self.params["compartment_id"], name=self.params["name"],
                                     vault_id=self.params["vault_id"])
        # A secret pending deletion still holds its name in the vault: it is found (and cancelled or left as is).
        return find_unique(items, self.params["name"], f"secrets in vault {self.params['vault_id']}",
                           name_key="secret_name", ignore_states=("DELETED", "DELETING"))

    def get(self, ocid: str) -> dict[str, Any]:
        return model_to_dict(self.module.call(self.client.get_secret, ocid).data)

    def desired(self) -> dict[str, Any]:
        p = self.params
        return prune_none({"compartment_id": p["compartment_id"], "vault_id": p["vault_id"], "key_id": p.get("key_id"),
                           "secret_name": p["name"], "description": p["description"], "content_matches": True,
                           **self.tags()})

    def desired_for_existing(self, desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        # The key encrypts the secret when it is created; a later key_id does not re-encrypt it.
        return {key: value for key, value in desired.items() if key != "key_id"}

    def comparable(self, resource: dict[str, Any]) -> dict[str, Any]:
        return {**resource, "content_matches": self._content_matches(resource)}

    def predicted(self, desired: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in super().predicted(desired).items() if key != "content_matches"}

    def predicted_update(self, current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in super().predicted_update(current, desired).items()
                if key != "content_matches"}

    def _content_matches(self, resource: dict[str, Any]) -> bool:
        """Whether the secret's current version holds ``content`` (compared here, never returned or printed)."""
        bundle = self._guard("read the current version of", resource, lambda: self.module.call(
            self.secrets_client.get_secret_bundle, resource["id"], stage="CURRENT")).data
        current = getattr(bundle.secret_bundle_content, "content", None) or ""
        try:
            current_bytes = base64.b64decode(current, validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(current_bytes, self.params["content"].encode())

    def _content(self) -> Any:
        return oci.vault.models.Base64SecretContentDetails(
            content_type="BASE64", stage="CURRENT", content=base64.b64encode(self.params["content"].encode()).decode())

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        self.check_creatable(desired)
        details = oci.vault.models.CreateSecretDetails(
            compartment_id=desired["compartment_id"], vault_id=desired["vault_id"], key_id=desired["key_id"],
            secret_name=desired["secret_name"], description=desired.get("description"),
            freeform_tags=desired.get("freeform_tags"), defined_tags=desired.get("defined_tags"),
            secret_content=self._content())
        self.module.call(self.client.create_secret, details, opc_retry_token=retry_token)
        return None

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        details = oci.vault.models.UpdateSecretDetails(**{field: desired[field] for field in fields
                                                          if field != "content_matches"})
        if "content_matches" in fields:
            details.secret_content = self._content()  # a new version, made current
        self.module.call(self.client.update_secret, current["id"], details)
        return None

    def delete(self, current: dict[str, Any]) -> str | None:
        days = self.params.get("deletion_delay_days")
        details = oci.vault.models.ScheduleSecretDeletionDetails()
        if days is not None and days < 30:
            # A minute past the minimum, so the time is still a whole day away when OCI receives it.
            details.time_of_deletion = dt.datetime.now(dt.UTC) + dt.timedelta(days=days, minutes=1)
        self.module.call(self.client.schedule_secret_deletion, current["id"], details)
        return None

    def cancel_deletion(self, current: dict[str, Any]) -> None:
        """Cancel the pending deletion and wait (within wait_timeout) until the secret is ACTIVE again."""
        self.module.call(self.client.cancel_secret_deletion, current["id"])
        deadline = time.monotonic() + self.params["wait_timeout"]
        intervals = poll_intervals(self.params.get("wait_sleep") or 2.0)
        while True:
            state = self.get(current["id"]).get("lifecycle_state")
            if state == "ACTIVE":
                return
            if state not in ("CANCELLING_DELETION", "UPDATING") or time.monotonic() >= deadline:
                raise ResourceError(f"Cannot use {self.describe(current)}: after its deletion was cancelled it is "
                                    f"{state}, not ACTIVE (waited up to {self.params['wait_timeout']}s, wait_timeout).",
                                    lifecycle_state=state)
            time.sleep(min(next(intervals), max(0.0, deadline - time.monotonic())))

    def ensure_present(self) -> dict[str, Any]:
        current = self._guard("look up", None, self.find)
        if current is not None and current.get("lifecycle_state") in PENDING_DELETION:
            if self.module.check_mode:
                return {"changed": True, "deletion_cancelled": True, self.result_key: current,
                        "diff": {"before": {"lifecycle_state": current["lifecycle_state"]},
                                 "after": {"lifecycle_state": "ACTIVE"}}}
            self._write("cancel the deletion of", current, self.cancel_deletion, current)
            self._looked_up = None
            result = super().ensure_present()
            return {**result, "changed": True, "deletion_cancelled": True}
        self._looked_up = (current,)
        return {**super().ensure_present(), "deletion_cancelled": False}

    def ensure_absent(self) -> dict[str, Any]:
        current = self._guard("look up", None, self.find)
        if current is not None and current.get("lifecycle_state") in PENDING_DELETION:
            return {"changed": False, self.result_key: current, "diff": {"before": {}, "after": {}}}
        self._looked_up = (current,)
        return super().ensure_absent()


def main() -> None:
    run_resource_module(VaultSecret, ARGUMENT_SPEC, input_errors)


if __name__ == "__main__":
    main()
