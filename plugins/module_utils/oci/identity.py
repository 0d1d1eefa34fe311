# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM (classic Identity API) specifics shared by iam_policy and iam_dynamic_group: the home-region check,
policy statement syntax and dynamic group matching rules, checked before any write."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import HAS_OCI, build_model, model_to_dict
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    OCIOperationError,
    OCIResource,
    ResourceError,
    find_unique,
)

if HAS_OCI:
    import oci

# Policy statement syntax (Oracle, "Policy Syntax", docs.oracle.com/en-us/iaas/Content/Identity/Concepts/
# policysyntax.htm): Allow <subject> to <verb> <resource-type> in <location> where <conditions>. Subjects: group
# <name> | group id <ocid> | dynamic-group <name> | dynamic-group id <ocid> | any-group | any-user (and service <name>);
# verbs: inspect, read, use, manage, or {PERMISSION, ...}; locations: tenancy | compartment <name or path> |
# compartment id <ocid>.
_NAME = r"(?:'[^']+'/'[^']+'|[A-Za-z0-9_.'/-]+)"
_SUBJECT = (rf"(?:(?:group|dynamic-group)\s+(?:id\s+ocid1\.[a-z]+\.[a-z0-9]+\.\.[a-z0-9]+|{_NAME})"
            rf"|any-user|any-group|service\s+{_NAME})")
_STATEMENT = re.compile(
    # After the first subject, more groups follow by name or "id <ocid>" ("Allow group A-Admins, B-Admins to ...").
    rf"^allow\s+(?P<subject>{_SUBJECT}(?:\s*,\s*(?:{_SUBJECT}|id\s+ocid1\.[a-z]+\.[a-z0-9]+\.\.[a-z0-9]+|{_NAME}))*)"
    r"\s+to\s+"
    r"(?:(?P<permissions>\{\s*[A-Z0-9_]+(?:\s*,\s*[A-Z0-9_]+)*\s*\})"
    r"|(?P<verb>inspect|read|use|manage)\s+(?P<resource>[a-z0-9-]+))\s+in\s+"
    r"(?P<location>tenancy|compartment\s+id\s+ocid1\.(?:compartment|tenancy)\.[a-z0-9]+\.\.[a-z0-9]+"
    r"|compartment\s+[A-Za-z0-9_.:-]+)"
    r"(?:\s+where\s+(?P<conditions>.+))?$",
    re.IGNORECASE | re.DOTALL,
)
_CROSS_TENANCY = re.compile(r"^(define|endorse|admit)\s+\S+", re.IGNORECASE)
# Dynamic group matching rules: one condition, or ANY {...} / ALL {...} (Oracle, "Changes for dynamic groups":
# a rule with several conditions must carry the ANY or ALL prefix).
_CONDITION = r"[a-z][a-z._]*\s*=\s*'[^']*'"
_MATCHING_RULE = re.compile(rf"^(?:{_CONDITION}|(?:any|all)\s*\{{\s*{_CONDITION}(?:\s*,\s*{_CONDITION})*\s*\}})$",
                            re.IGNORECASE)


def statement_error(statement: str) -> str | None:
    """Why OCI's policy syntax refuses ``statement`` (None when it is well formed)."""
    text = " ".join(statement.split())
    if _CROSS_TENANCY.match(text):
        return None
    match = _STATEMENT.match(text)
    if match is None:
        return ("must read 'Allow <subject> to <verb> <resource-type> in <location> [where <conditions>]' "
                "(subject: group/dynamic-group <name or id>, any-user, any-group; verb: inspect, read, use, manage; "
                "location: tenancy or compartment <name> / compartment id <ocid>)")
    conditions = match.group("conditions") or ""
    if conditions.count("{") != conditions.count("}"):
        return "has unbalanced braces in its where conditions"
    return None


def matching_rule_error(rule: str) -> str | None:
    """Why a dynamic group matching rule is malformed (None when it is one condition or ANY/ALL {...})."""
    if _MATCHING_RULE.match(" ".join(rule.split())):
        return None
    return ("must be one condition such as instance.compartment.id = '<ocid>', or ANY {...} / ALL {...} of "
            "conditions separated by commas")


class IdentityResource(OCIResource):
    """An OCIResource of the classic IAM API: synchronous writes, names unique in the tenancy, home region only."""

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        self.client = module.client(oci.identity.IdentityClient)
        self._home_checked = False

    def tenancy_id(self) -> str:
        config, signer = self.module.oci_config_and_signer()
        tenancy = config.get("tenancy") or getattr(signer, "tenancy_id", None)
        if not tenancy:
            raise ResourceError(f"Cannot manage {self.describe()}: the tenancy OCID is not known from the "
                                "OCI configuration (set tenancy).")
        return tenancy

    def check_home_region(self) -> None:
        """Refuse, before anything is compared or written, a region that is not the tenancy's home region: OCI takes
        IAM writes only there (docs.oracle.com/iaas/Content/Identity/regions/managingregions.htm#Home)."""
        if self._home_checked:
            return
        config, _signer = self.module.oci_config_and_signer()
        region = self.module.params.get("region") or config.get("region")
        try:
            subscriptions = self.module.list_all(self.client.list_region_subscriptions, self.tenancy_id())
        except Exception as error:  # one sentence naming the read
            raise OCIOperationError(f"Cannot manage {self.describe()}: cannot read the tenancy's region "
                                    "subscriptions", error) from error
        home = next((item["region_name"] for item in subscriptions if item.get("is_home_region")), None)
        if home is not None and region != home:
            raise ResourceError(
                f"Cannot manage {self.describe()}: IAM writes go to the tenancy's home region {home}, but region "
                f"is {region}; set region (or OCI_REGION) to {home}.", home_region=home, region=region)
        self._home_checked = True

    def find(self) -> dict[str, Any] | None:
        self.check_home_region()
        items = self.module.list_all(getattr(self.client, self.list_operation), self.params["compartment_id"],
                                     name=self.params["name"])
        return find_unique(items, self.params["name"], f"{self.kind}s in compartment {self.params['compartment_id']}",
                           ignore_states=("DELETED", "DELETING"))

    # The SDK's names for the kind: get_<noun>, create_<noun>, Create<Noun>Details... and the list call (synchronous
    # writes: no work request ids).
    noun = ""
    list_operation = ""

    def _details(self, verb: str) -> type:
        return getattr(oci.identity.models, f"{verb}{self.noun.title().replace('_', '')}Details")

    def get(self, ocid: str) -> dict[str, Any]:
        return model_to_dict(self.module.call(getattr(self.client, f"get_{self.noun}"), ocid).data)

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        self.check_creatable(desired)
        details = build_model(self._details("Create"), desired, oci.identity.models)
        self.module.call(getattr(self.client, f"create_{self.noun}"), details, opc_retry_token=retry_token)
        return None

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        details = build_model(self._details("Update"), {field: desired[field] for field in fields},
                              oci.identity.models)
        self.module.call(getattr(self.client, f"update_{self.noun}"), current["id"], details)
        return None

    def delete(self, current: dict[str, Any]) -> str | None:
        self.module.call(getattr(self.client, f"delete_{self.noun}"), current["id"])
        return None
