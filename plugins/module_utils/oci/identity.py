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


# ---- identity domains ------------------------------------------------------------------------------------------
# A tenancy with identity domains keeps its dynamic groups in the SCIM-based Identity Domains API, one endpoint per
# domain: "https://<domainURL>/admin/v1/" (oci SDK docstring: IdentityDomainsClient), the domain URL being
# DomainSummary.url ("Region-agnostic identity domain URL") from IdentityClient.list_domains.
DYNAMIC_RESOURCE_GROUP_SCHEMA = "urn:ietf:params:scim:schemas:oracle:idcs:DynamicResourceGroup"
# matchingRule is "returned: request" (oci SDK docstring: DynamicResourceGroup.matching_rule): asked for by name.
DYNAMIC_RESOURCE_GROUP_ATTRIBUTES = "displayName,description,matchingRule,ocid,domainOcid,compartmentOcid"


def live_domains(domains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The identity domains a tenancy lists that are ACTIVE (DomainSummary.lifecycle_state: CREATING, ACTIVE,
    DELETING, INACTIVE)."""
    return [item for item in domains if item.get("lifecycle_state") == "ACTIVE"]


def choose_domain(domains: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    """The domain ``wanted`` names (display name or OCID), else the tenancy's Default domain (type DEFAULT).

    None when the tenancy has no identity domains and none is wanted; ValueError (its sentence names the option and
    the domains there are) when ``wanted`` names none of them.
    """
    if wanted:
        found = [item for item in domains if wanted in (item.get("id"), item.get("display_name"))]
        if len(found) == 1:
            return found[0]
        known = ", ".join(f"{item.get('display_name')} ({item.get('id')})" for item in domains) or "none"
        raise ValueError(f"identity_domain '{wanted}' names no identity domain of the tenancy "
                         f"({'it names several' if found else 'its domains: ' + known})")
    if not domains:
        return None
    default = [item for item in domains if item.get("type") == "DEFAULT"] or \
        [item for item in domains if item.get("display_name") == "Default"]
    if len(default) != 1:
        known = ", ".join(str(item.get("display_name")) for item in domains)
        raise ValueError(f"the tenancy has identity domains ({known}) but no single Default domain; set "
                         "identity_domain to the domain's display name or OCID")
    return default[0]


def dynamic_group_subject(name: str, domain: dict[str, Any] | None) -> str:
    """The policy subject for dynamic group ``name`` (Oracle, "Policy Syntax: Subjects",
    docs.oracle.com/iaas/Content/Identity/policysyntax/subject.htm: "dynamic-group
    '<identity_domain_name>'/'<dynamic-group_name>'"; "If the policy is for the default identity domain, you can omit
    <identity_domain_name>"): the plain name in classic IAM and in the Default domain, quoted domain/name otherwise."""
    if domain is None or domain.get("type") == "DEFAULT":
        return f"dynamic-group {name}"
    return f"dynamic-group '{domain.get('display_name')}'/'{name}'"


class DomainDynamicGroups:
    """Dynamic resource groups of one identity domain (SCIM), shaped like the classic IAM dynamic group dict
    (id = the group's OCID, name, description, matching_rule) plus scim_id and identity_domain."""

    def __init__(self, module: Any, domain: dict[str, Any]) -> None:
        self.module = module
        self.domain = domain
        self.client = module.client(oci.identity_domains.IdentityDomainsClient, service_endpoint=domain["url"])

    def shaped(self, group: Any) -> dict[str, Any]:
        raw = model_to_dict(group)
        return {"id": raw.get("ocid"), "scim_id": raw.get("id"), "name": raw.get("display_name"),
                "description": raw.get("description"), "matching_rule": raw.get("matching_rule"),
                "compartment_id": raw.get("compartment_ocid"), "identity_domain": self.domain.get("display_name"),
                "identity_domain_id": self.domain.get("id"), "lifecycle_state": "ACTIVE"}

    def find(self, name: str) -> list[dict[str, Any]]:
        # SCIM filter (RFC 7644 section 3.4.2.2): displayName is idcsSearchable and globally unique in the domain.
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        response = self.module.call(self.client.list_dynamic_resource_groups, filter=f'displayName eq "{escaped}"',
                                    attributes=DYNAMIC_RESOURCE_GROUP_ATTRIBUTES)
        return [self.shaped(item) for item in response.data.resources or []]

    def get(self, scim_id: str) -> dict[str, Any]:
        return self.shaped(self.module.call(self.client.get_dynamic_resource_group, scim_id,
                                            attributes=DYNAMIC_RESOURCE_GROUP_ATTRIBUTES).data)

    def body(self, desired: dict[str, Any]) -> Any:
        # Only readWrite attributes: a replace naming a readOnly one is refused (400; oci SDK docstring:
        # IdentityDomainsClient.put_dynamic_resource_group).
        return oci.identity_domains.models.DynamicResourceGroup(
            schemas=[DYNAMIC_RESOURCE_GROUP_SCHEMA], display_name=desired["name"],
            description=desired.get("description"), matching_rule=desired["matching_rule"])

    def create(self, desired: dict[str, Any], retry_token: str) -> None:
        self.module.call(self.client.create_dynamic_resource_group, dynamic_resource_group=self.body(desired),
                         attributes=DYNAMIC_RESOURCE_GROUP_ATTRIBUTES, opc_retry_token=retry_token)

    def replace(self, current: dict[str, Any], desired: dict[str, Any]) -> None:
        # PUT replaces the whole resource: fields not changing are sent as they are.
        merged = {"name": current["name"], "description": current.get("description"),
                  "matching_rule": current.get("matching_rule"),
                  **{key: value for key, value in desired.items() if value is not None}}
        self.module.call(self.client.put_dynamic_resource_group, current["scim_id"],
                         dynamic_resource_group=self.body(merged), attributes=DYNAMIC_RESOURCE_GROUP_ATTRIBUTES)

    def delete(self, current: dict[str, Any]) -> None:
        self.module.call(self.client.delete_dynamic_resource_group, current["scim_id"])
