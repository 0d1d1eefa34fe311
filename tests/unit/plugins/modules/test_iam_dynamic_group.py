"""iam_dynamic_group against the OCI emulator: lifecycle, home region, identity domains, matching rules."""

from __future__ import annotations

from typing import Any

import pytest
from oci_emulator import FIXTURE_COMPARTMENT_ID
from oci_emulator.fixtures import TEST_TENANCY
from oci_emulator.identity import domain, ensure_identity


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


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_a_tenancy_with_identity_domains_is_refused_clearly(run_oci_module, oci_emulator, check_mode):
    oci_emulator.identity_domains = [domain("Default")]
    result = run_oci_module("iam_dynamic_group", check_mode=check_mode, **group())
    assert result.get("failed") is True, result
    assert "the tenancy has identity domains (Default (https://idcs-default" in result["msg"]
    assert "Identity Domains API, which iam_dynamic_group does not manage" in result["msg"]
    assert oci_emulator.write_calls() == 0


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
