"""api_gateway against the OCI emulator: lifecycle, check mode, diff, faults and bad input."""

from __future__ import annotations

import pytest
from apigw_support import (
    FIXTURE_COMPARTMENT_ID,
    NSG,
    OTHER_SUBNET,
    SUBNET,
    assert_ok,
    gateway_options,
    live_items,
)
from oci_emulator.api_gateway import ensure_api_gateway


@pytest.fixture(autouse=True)
def api_gateway_registered(oci_emulator_server):
    """Every test here needs the API Gateway service on the shared emulator."""
    return ensure_api_gateway(oci_emulator_server)


def test_create_waits_and_returns_hostname(run_oci_module, oci_emulator):
    result = assert_ok(run_oci_module("api_gateway", **gateway_options(freeform_tags={"app": "llmops"})))
    assert result["changed"] is True
    gateway = result["gateway"]
    assert gateway["lifecycle_state"] == "ACTIVE"
    assert gateway["hostname"].endswith(".oci.customer-oci.com")
    assert len(result["work_request_ids"]) == 1
    assert oci_emulator.calls["CreateGateway"] == 1
    assert oci_emulator.calls["ApiGatewayGetWorkRequest"] == 2
    assert oci_emulator.rejected_signatures == 0
    assert [item["displayName"] for item in live_items(oci_emulator, "Gateway")] == ["llmops-gateway"]


def test_second_run_is_one_read_and_unchanged(run_oci_module, oci_emulator):
    assert_ok(run_oci_module("api_gateway", **gateway_options()))
    oci_emulator.reset_counts()
    result = assert_ok(run_oci_module("api_gateway", **gateway_options()))
    assert result["changed"] is False
    assert dict(oci_emulator.calls) == {"ListGateways": 1}


def test_update_in_place_keeps_the_ocid(run_oci_module, oci_emulator):
    first = assert_ok(run_oci_module("api_gateway", **gateway_options()))["gateway"]
    result = assert_ok(run_oci_module("api_gateway", **gateway_options(network_security_group_ids=[NSG]),
                                      diff=True))
    assert result["changed"] is True
    assert result["gateway"]["id"] == first["id"]
    assert result["gateway"]["network_security_group_ids"] == [NSG]
    assert result["diff"] == {"before": {"network_security_group_ids": []},
                              "after": {"network_security_group_ids": [NSG]}}
    assert oci_emulator.calls["UpdateGateway"] == 1
    assert len(live_items(oci_emulator, "Gateway")) == 1


def test_check_mode_predicts_create_and_update_without_writes(run_oci_module, oci_emulator):
    created = run_oci_module("api_gateway", check_mode=True, diff=True, **gateway_options())
    assert created["changed"] is True and created["diff"]["before"] == {}
    assert created["diff"]["after"]["subnet_id"] == SUBNET
    assert oci_emulator.write_calls() == 0 and live_items(oci_emulator, "Gateway") == []
    assert_ok(run_oci_module("api_gateway", **gateway_options()))
    oci_emulator.reset_counts()
    update = run_oci_module("api_gateway", check_mode=True, **gateway_options(freeform_tags={"env": "prod"}))
    assert update["changed"] is True and update["gateway"]["freeform_tags"] == {"env": "prod"}
    unchanged = run_oci_module("api_gateway", check_mode=True, **gateway_options())
    assert unchanged["changed"] is False
    assert oci_emulator.write_calls() == 0


def test_immutable_subnet_change_is_refused_then_replaced_on_request(run_oci_module, oci_emulator):
    first = assert_ok(run_oci_module("api_gateway", **gateway_options()))["gateway"]
    refused = run_oci_module("api_gateway", **gateway_options(subnet_id=OTHER_SUBNET))
    assert refused["failed"] is True
    assert "Cannot change subnet_id" in refused["msg"] and first["id"] in refused["msg"]
    assert oci_emulator.calls["UpdateGateway"] == 0
    replaced = assert_ok(run_oci_module("api_gateway", **gateway_options(subnet_id=OTHER_SUBNET, force_replace=True)))
    assert replaced["replaced"] is True and replaced["gateway"]["id"] != first["id"]
    assert [item["subnetId"] for item in live_items(oci_emulator, "Gateway") if item["lifecycleState"] == "ACTIVE"] \
        == [OTHER_SUBNET]


def test_delete_and_delete_absent(run_oci_module, oci_emulator):
    assert_ok(run_oci_module("api_gateway", **gateway_options()))
    deleted = assert_ok(run_oci_module("api_gateway", **gateway_options(state="absent"), diff=True))
    assert deleted["changed"] is True and deleted["diff"]["after"] == {}
    assert live_items(oci_emulator, "Gateway") == []
    again = assert_ok(run_oci_module("api_gateway", **gateway_options(state="absent")))
    assert again["changed"] is False and again["gateway"] is None
    assert oci_emulator.calls["DeleteGateway"] == 1


def test_duplicate_names_fail_listing_both_ocids(run_oci_module, oci_emulator):
    first = assert_ok(run_oci_module("api_gateway", **gateway_options()))["gateway"]
    twin = oci_emulator.put("apigateway", "Gateway", {**oci_emulator.items("apigateway", "Gateway")[0],
                                                      "id": oci_emulator.new_ocid("apigateway")})
    oci_emulator.reset_counts()
    result = run_oci_module("api_gateway", **gateway_options(freeform_tags={"x": "y"}))
    assert result["failed"] is True
    assert first["id"] in result["msg"] and twin["id"] in result["msg"]
    assert f"2 API gateways in compartment {FIXTURE_COMPARTMENT_ID} are named 'llmops-gateway'" in result["msg"]
    assert oci_emulator.write_calls() == 0


@pytest.mark.parametrize("fault", ["429", "500", "503"])
def test_faults_are_retried_to_success(run_oci_module, oci_emulator, fault):
    oci_emulator.inject("ListGateways", fault, retry_after=0 if fault == "429" else None)
    oci_emulator.inject("CreateGateway", fault, retry_after=0 if fault == "429" else None)
    result = assert_ok(run_oci_module("api_gateway", **gateway_options()))
    assert result["changed"] is True
    assert oci_emulator.calls["CreateGateway"] == 2
    assert len(live_items(oci_emulator, "Gateway")) == 1  # the retry token kept the retried create single


def test_failed_work_request_reports_its_errors(run_oci_module, oci_emulator):
    oci_emulator.inject("CreateGateway", "fail_work_request", messages=("Subnet has no free IP addresses.",))
    result = run_oci_module("api_gateway", **gateway_options())
    assert result["failed"] is True
    assert "Subnet has no free IP addresses." in result["msg"]
    assert result["work_request_id"] in result["msg"]


def test_timeout_names_the_work_request_and_last_state(run_oci_module, oci_emulator):
    oci_emulator.inject("CreateGateway", "stall_work_request")
    result = run_oci_module("api_gateway", **gateway_options(wait_timeout=1))
    assert result["failed"] is True
    assert "Timed out after 1s" in result["msg"] and "IN_PROGRESS" in result["msg"]
    assert result["work_request_id"] in result["msg"]


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"compartment_id": "not-an-ocid"}, "compartment_id must be an OCID"),
    ({"subnet_id": "ocid1.vcn.oc1.iad.aaaaaaaavcn"}, "subnet_id must be an OCID of type subnet"),
    ({"network_security_group_ids": ["sg-1"]}, "network_security_group_ids must be an OCID"),
    ({"name": "  "}, "name must not be empty"),
    ({"certificate_id": "ocid1.certificate.oc1.iad.aaaaaaaacert"}, "certificate_id must be an OCID of type "
                                                                   "apigatewaycertificate"),
    ({"endpoint_type": "INTERNAL"}, "endpoint_type"),
    ({"compartment_id": None}, "compartment_id"),
])
def test_bad_input_fails_before_any_call(run_oci_module, oci_emulator, overrides, needle):
    options = {key: value for key, value in gateway_options(**overrides).items() if value is not None}
    result = run_oci_module("api_gateway", **options)
    assert result["failed"] is True and needle in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


def test_create_without_subnet_fails_with_a_sentence(run_oci_module, oci_emulator):
    result = run_oci_module("api_gateway", compartment_id=FIXTURE_COMPARTMENT_ID, name="gw", wait_sleep=0.01)
    assert result["failed"] is True
    assert "endpoint_type and subnet_id are required to create a gateway" in result["msg"]
    assert oci_emulator.write_calls() == 0
