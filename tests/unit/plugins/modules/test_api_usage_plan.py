"""api_usage_plan against the OCI emulator."""

from __future__ import annotations

import oci.apigateway.models as ag_models
import pytest
from apigw_support import (
    assert_ok,
    live_items,
    make_deployment,
    make_gateway,
    plan_options,
)
from oci_emulator.api_gateway import ensure_api_gateway

from ansible_collections.llmops.oke.plugins.modules.api_usage_plan import ARGUMENT_SPEC


@pytest.fixture(autouse=True)
def api_gateway_registered(oci_emulator_server):
    """Every test here needs the API Gateway service on the shared emulator."""
    return ensure_api_gateway(oci_emulator_server)


@pytest.fixture
def deployment(run_oci_module, oci_emulator):
    deployment = make_deployment(run_oci_module, make_gateway(run_oci_module)["id"])
    oci_emulator.reset_counts()
    return deployment


def test_create_then_noop(run_oci_module, oci_emulator, deployment):
    created = assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))
    assert created["changed"] is True
    entitlement = created["usage_plan"]["entitlements"][0]
    assert entitlement["rate_limit"] == {"value": 10, "unit": "SECOND"}
    assert entitlement["quota"] == {"value": 100000, "unit": "DAY", "reset_policy": "CALENDAR",
                                    "operation_on_breach": "REJECT"}
    assert entitlement["targets"] == [{"deployment_id": deployment["id"]}]
    oci_emulator.reset_counts()
    again = assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))
    assert again["changed"] is False
    assert dict(oci_emulator.calls) == {"ListUsagePlans": 1, "GetUsagePlan": 1}


def test_update_quota_in_place_with_diff_and_check_mode(run_oci_module, oci_emulator, deployment):
    first = assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))["usage_plan"]
    changed = plan_options(deployment["id"], entitlements=[
        {"name": "inference", "rate_limit_per_second": 50, "target_deployment_ids": [deployment["id"]]}])
    oci_emulator.reset_counts()
    predicted = run_oci_module("api_usage_plan", check_mode=True, diff=True, **changed)
    assert predicted["changed"] is True and oci_emulator.write_calls() == 0
    assert predicted["diff"]["before"]["entitlements"][0]["rate_limit"]["value"] == 10
    assert predicted["diff"]["after"]["entitlements"][0]["rate_limit"]["value"] == 50
    result = assert_ok(run_oci_module("api_usage_plan", diff=True, **changed))
    assert result["changed"] is True and result["usage_plan"]["id"] == first["id"]
    assert "quota" not in result["usage_plan"]["entitlements"][0]
    assert len(live_items(oci_emulator, "UsagePlan")) == 1
    assert assert_ok(run_oci_module("api_usage_plan", **changed))["changed"] is False


def test_delete_and_delete_absent(run_oci_module, oci_emulator, deployment):
    assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))
    assert assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"], state="absent")))["changed"]
    assert live_items(oci_emulator, "UsagePlan") == []
    assert not assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"], state="absent")))["changed"]


def test_duplicates_faults_failed_work_request(run_oci_module, oci_emulator, deployment):
    oci_emulator.inject("CreateUsagePlan", "500")
    oci_emulator.inject("GetUsagePlan", "429", retry_after=0)
    first = assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))["usage_plan"]
    assert oci_emulator.calls["CreateUsagePlan"] == 2 and len(live_items(oci_emulator, "UsagePlan")) == 1
    twin = oci_emulator.put("apigateway", "UsagePlan", {**live_items(oci_emulator, "UsagePlan")[0],
                                                        "id": oci_emulator.new_ocid("usageplan")})
    duplicate = run_oci_module("api_usage_plan", **plan_options(deployment["id"]))
    assert duplicate["failed"] is True and first["id"] in duplicate["msg"] and twin["id"] in duplicate["msg"]
    oci_emulator.inject("CreateUsagePlan", "fail_work_request", messages=("Quota exceeded for usage plans.",))
    failed = run_oci_module("api_usage_plan", **plan_options(deployment["id"], name="other"))
    assert failed["failed"] is True and "Quota exceeded for usage plans." in failed["msg"]


def test_delete_timeout_names_the_work_request(run_oci_module, oci_emulator, deployment):
    assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))
    oci_emulator.inject("DeleteUsagePlan", "stall_work_request")
    stalled = run_oci_module("api_usage_plan", **plan_options(deployment["id"], state="absent", wait_timeout=1))
    assert stalled["failed"] is True and "IN_PROGRESS" in stalled["msg"]
    assert stalled["work_request_id"] in stalled["msg"]


@pytest.mark.parametrize(("entitlement", "needle"), [
    ({"name": "e", "rate_limit_per_second": 0}, "rate_limit_per_second must be more than 0"),
    ({"name": "e", "rate_limit_per_second": -1}, "rate_limit_per_second must be more than 0"),
    ({"name": "e", "quota": {"value": 0, "unit": "DAY"}}, "quota.value must be more than 0"),
    ({"name": "e", "quota": {"value": 5, "unit": "YEAR"}}, "unit"),
    ({"name": "e", "target_deployment_ids": ["ocid1.apigateway.oc1.iad.aaaaaaaagw"]},
     "target_deployment_ids must be an OCID of type apideployment"),
])
def test_bad_input_fails_before_any_call(run_oci_module, oci_emulator, entitlement, needle):
    result = run_oci_module("api_usage_plan", **plan_options("unused", entitlements=[entitlement]))
    assert result["failed"] is True and needle in result["msg"], result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


def test_bad_compartment_and_missing_entitlements(run_oci_module, oci_emulator):
    bad = run_oci_module("api_usage_plan", compartment_id="ocid1.vcn.oc1.iad.aaaa", name="p", entitlements=[])
    assert bad["failed"] is True and "compartment_id must be an OCID" in bad["msg"]
    assert sum(oci_emulator.calls.values()) == 0


def test_quota_choices_are_the_sdk_models_values(run_oci_module, oci_emulator, deployment):
    """Issue 11 item 8: every Quota unit, reset policy and breach operation the SDK model knows is accepted (WEEK)."""
    quota = ARGUMENT_SPEC["entitlements"]["options"]["quota"]["options"]
    for option, prefix in (("unit", "UNIT_"), ("reset_policy", "RESET_POLICY_"),
                           ("operation_on_breach", "OPERATION_ON_BREACH_")):
        sdk = {value for name, value in vars(ag_models.Quota).items() if name.startswith(prefix)}
        assert set(quota[option]["choices"]) == sdk, option
    weekly = plan_options(deployment["id"], entitlements=[
        {"name": "inference", "rate_limit_per_second": 10, "quota": {"value": 500000, "unit": "WEEK"},
         "target_deployment_ids": [deployment["id"]]}])
    created = assert_ok(run_oci_module("api_usage_plan", **weekly))
    assert created["usage_plan"]["entitlements"][0]["quota"]["unit"] == "WEEK"
    assert assert_ok(run_oci_module("api_usage_plan", **weekly))["changed"] is False


def test_empty_entitlements_on_an_existing_plan_need_an_explicit_word(run_oci_module, oci_emulator, deployment):
    """Issue 16: entitlements: [] on an existing plan would remove every entitlement; refused unless said plainly."""
    assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))
    oci_emulator.reset_counts()
    refused = run_oci_module("api_usage_plan", **plan_options(deployment["id"], entitlements=[]))
    assert refused["failed"] is True and "remove_all_entitlements=true" in refused["msg"], refused["msg"]
    assert oci_emulator.write_calls() == 0
    assert len(live_items(oci_emulator, "UsagePlan")[0]["entitlements"]) == 1
