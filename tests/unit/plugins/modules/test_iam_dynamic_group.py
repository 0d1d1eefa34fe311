"""iam_dynamic_group against the OCI emulator: lifecycle, home region, identity domains, matching rules."""

from __future__ import annotations

from typing import Any

import pytest
from oci_emulator import FIXTURE_COMPARTMENT_ID
from oci_emulator.fixtures import TEST_TENANCY
from oci_emulator.identity import domain, ensure_identity
from oci_emulator.identity_domains import groups


@pytest.fixture(autouse=True)
def identity_registered(oci_emulator_server):
    return ensure_identity(oci_emulator_server)


RULE = f"ALL {{instance.compartment.id = '{FIXTURE_COMPARTMENT_ID}'}}"


def group(**overrides: Any) -> dict[str, Any]:
    return {"compartment_id": TEST_TENANCY, "name": "llmops-grafana", "matching_rule": RULE, **overrides}


def live(emulator) -> list[dict[str, Any]]:
    return [item for item in emulator.items("identity", "DynamicGroup") if item["lifecycleState"] != "DELETED"]


def test_create_rerun_update_and_delete(run_oci_module, oci_emulator):
    assert run_oci_module("iam_dynamic_group", check_mode=True, **group())["changed"] is True
    assert oci_emulator.write_calls() == 0
    created = run_oci_module("iam_dynamic_group", **group())
    assert created["changed"] is True and created["dynamic_group"]["matching_rule"] == RULE, created
    oci_emulator.reset_counts()
    assert run_oci_module("iam_dynamic_group", **group())["changed"] is False
    assert oci_emulator.write_calls() == 0
    assert dict(oci_emulator.calls) == {"ListDomains": 1, "ListRegionSubscriptions": 1, "ListDynamicGroups": 1}
    other = "ANY {instance.compartment.id = 'a', resource.type = 'workload'}"
    changed = run_oci_module("iam_dynamic_group", diff=True, **group(matching_rule=other))
    assert changed["changed"] is True and changed["diff"]["after"] == {"matching_rule": other}
    assert live(oci_emulator)[0]["matchingRule"] == other
    assert run_oci_module("iam_dynamic_group", state="absent", **group())["changed"] is True
    assert live(oci_emulator) == []


def domain_groups(emulator, key: str | None = None) -> list[dict[str, Any]]:
    return groups(emulator, key)


def test_in_a_domain_tenancy_the_group_goes_to_the_default_domain_through_scim(run_oci_module, oci_emulator):
    """A tenancy with identity domains: the group is a SCIM dynamic resource group of the Default domain, created,
    left alone on a re-run (one list of domains, one SCIM list), replaced when its rule changes, deleted; check mode
    and --diff as for classic groups; nothing goes to the classic IAM API."""
    oci_emulator.identity_domains = [domain("Default"), domain("ML-Domain")]
    predicted = run_oci_module("iam_dynamic_group", check_mode=True, diff=True, **group())
    assert predicted["changed"] is True and oci_emulator.write_calls() == 0, predicted
    assert predicted["diff"]["after"]["matching_rule"] == RULE
    assert predicted["policy_subject"] == "dynamic-group llmops-grafana"
    created = run_oci_module("iam_dynamic_group", **group())
    assert created["changed"] is True, created
    assert created["dynamic_group"]["matching_rule"] == RULE and created["dynamic_group"]["id"].startswith(
        "ocid1.dynamicgroup."), created
    assert created["identity_domain"]["display_name"] == "Default" and created["identity_domain"]["type"] == "DEFAULT"
    (stored,) = domain_groups(oci_emulator, "default")
    assert stored["displayName"] == "llmops-grafana" and stored["matchingRule"] == RULE
    assert domain_groups(oci_emulator, "mldomain") == [] and live(oci_emulator) == []
    assert oci_emulator.calls["CreateDynamicGroup"] == 0

    oci_emulator.reset_counts()
    again = run_oci_module("iam_dynamic_group", check_mode=True, **group())
    assert again["changed"] is False and oci_emulator.write_calls() == 0
    oci_emulator.reset_counts()
    assert run_oci_module("iam_dynamic_group", **group())["changed"] is False
    assert dict(oci_emulator.calls) == {"ListRegionSubscriptions": 1, "ListDomains": 1,
                                        "ListDynamicResourceGroups": 1}

    other = "ANY {instance.compartment.id = 'a', resource.type = 'workload'}"
    oci_emulator.reset_counts()
    checked = run_oci_module("iam_dynamic_group", check_mode=True, diff=True, **group(matching_rule=other))
    assert checked["changed"] is True and checked["diff"]["after"] == {"matching_rule": other}
    assert oci_emulator.write_calls() == 0
    changed = run_oci_module("iam_dynamic_group", diff=True, **group(matching_rule=other))
    assert changed["changed"] is True and changed["dynamic_group"]["matching_rule"] == other, changed
    assert oci_emulator.calls["PutDynamicResourceGroup"] == 1
    (stored,) = domain_groups(oci_emulator, "default")
    assert stored["matchingRule"] == other and stored["description"] == "Managed by llmops.oke"

    assert run_oci_module("iam_dynamic_group", state="absent", check_mode=True, **group())["changed"] is True
    assert domain_groups(oci_emulator, "default")
    assert run_oci_module("iam_dynamic_group", state="absent", **group())["changed"] is True
    assert domain_groups(oci_emulator) == []
    assert run_oci_module("iam_dynamic_group", state="absent", **group())["changed"] is False


@pytest.mark.parametrize("wanted", ["ML-Domain", "ocid1.domain.oc1..aaaaaaaamldomaindomain"], ids=["name", "ocid"])
def test_identity_domain_names_a_secondary_domain(run_oci_module, oci_emulator, wanted):
    """identity_domain (display name or OCID) puts the group in that domain; policies name it 'domain'/'group'."""
    oci_emulator.identity_domains = [domain("Default"), domain("ML-Domain")]
    created = run_oci_module("iam_dynamic_group", identity_domain=wanted, **group())
    assert created["changed"] is True, created
    assert created["policy_subject"] == "dynamic-group 'ML-Domain'/'llmops-grafana'"
    assert [item["displayName"] for item in domain_groups(oci_emulator, "mldomain")] == ["llmops-grafana"]
    assert domain_groups(oci_emulator, "default") == []
    assert run_oci_module("iam_dynamic_group", identity_domain=wanted, **group())["changed"] is False


@pytest.mark.parametrize(("domains", "wanted", "needle"), [
    (["Default", "ML-Domain"], "Nope", "identity_domain 'Nope' names no identity domain of the tenancy (its domains: "
                                       "Default (ocid1.domain.oc1..aaaaaaaadefaultdomain), ML-Domain"),
    ([], "ML-Domain", "identity_domain is 'ML-Domain' but the tenancy has no identity domains"),
], ids=["unknown-domain", "no-domains"])
@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_an_identity_domain_that_is_not_there_is_refused_naming_it(run_oci_module, oci_emulator, domains, wanted,
                                                                   needle, check_mode):
    oci_emulator.identity_domains = [domain(name) for name in domains]
    result = run_oci_module("iam_dynamic_group", check_mode=check_mode, identity_domain=wanted, **group())
    assert result.get("failed") is True and needle in result["msg"], result
    assert oci_emulator.write_calls() == 0


def test_an_inactive_domain_is_not_chosen_and_tags_are_refused_in_a_domain(run_oci_module, oci_emulator):
    oci_emulator.identity_domains = [domain("Default"), domain("Old", state="INACTIVE")]
    refused = run_oci_module("iam_dynamic_group", identity_domain="Old", **group())
    assert refused.get("failed") is True and "identity_domain 'Old' names no identity domain" in refused["msg"]
    tagged = run_oci_module("iam_dynamic_group", freeform_tags={"team": "ml"}, **group())
    assert tagged.get("failed") is True and "freeform_tags and defined_tags are not managed" in tagged["msg"], tagged
    assert oci_emulator.write_calls() == 0


def test_scim_writes_are_retried_on_429_and_5xx(run_oci_module, oci_emulator):
    oci_emulator.identity_domains = [domain("Default")]
    oci_emulator.inject("CreateDynamicResourceGroup", "429", retry_after=0)
    oci_emulator.inject("ListDynamicResourceGroups", "503")
    created = run_oci_module("iam_dynamic_group", **group())
    assert created["changed"] is True, created
    assert len(domain_groups(oci_emulator)) == 1
    assert oci_emulator.calls["CreateDynamicResourceGroup"] == 2


def test_a_classic_tenancy_writes_classic_groups_and_answers_the_plain_subject(run_oci_module, oci_emulator):
    created = run_oci_module("iam_dynamic_group", **group())
    assert created["identity_domain"] is None and created["policy_subject"] == "dynamic-group llmops-grafana"
    assert domain_groups(oci_emulator) == [] and len(live(oci_emulator)) == 1


def test_a_region_that_is_not_home_is_refused(run_oci_module, oci_emulator):
    oci_emulator.home_region = "eu-frankfurt-1"
    result = run_oci_module("iam_dynamic_group", **group())
    assert result.get("failed") is True and "home region eu-frankfurt-1" in result["msg"], result
    assert oci_emulator.write_calls() == 0


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"matching_rule": "instance.compartment.id = 'a', resource.type = 'b'"}, "matching_rule '"),  # needs ANY/ALL
    ({"matching_rule": "ALL {instance.compartment.id = 'a'"}, "matching_rule '"),
    ({"compartment_id": FIXTURE_COMPARTMENT_ID}, "compartment_id must be an OCID of type tenancy"),
])
def test_bad_input_is_refused_before_any_call(run_oci_module, oci_emulator, overrides, needle):
    result = run_oci_module("iam_dynamic_group", **group(**overrides))
    assert result.get("failed") is True and needle in result["msg"], result
    assert sum(oci_emulator.calls.values()) == 0


def test_without_compartment_id_the_group_goes_to_the_configured_tenancy(run_oci_module, oci_emulator):
    """Dynamic groups live in the root compartment: unset, compartment_id is the OCI configuration's tenancy."""
    rule = f"ALL {{instance.compartment.id = '{FIXTURE_COMPARTMENT_ID}'}}"
    created = run_oci_module("iam_dynamic_group", name="llmops-nodes", matching_rule=rule)
    assert created["changed"] is True and created["dynamic_group"]["compartment_id"] == TEST_TENANCY, created
    again = run_oci_module("iam_dynamic_group", name="llmops-nodes", matching_rule=rule)
    assert again["changed"] is False and oci_emulator.calls["CreateDynamicGroup"] == 1
