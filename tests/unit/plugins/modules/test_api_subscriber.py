"""api_subscriber against the OCI emulator; client tokens must never appear in results."""

from __future__ import annotations

import json

import pytest
from apigw_support import (
    FIXTURE_COMPARTMENT_ID,
    assert_ok,
    live_items,
    make_deployment,
    make_gateway,
    plan_options,
)
from oci_emulator.api_gateway import ensure_api_gateway


@pytest.fixture(autouse=True)
def api_gateway_registered(oci_emulator_server):
    """Every test here needs the API Gateway service on the shared emulator."""
    return ensure_api_gateway(oci_emulator_server)


TOKEN = "tok-benchmark-0123456789abcdef"
OTHER_TOKEN = "tok-chat-fedcba9876543210"


@pytest.fixture
def plan(run_oci_module, oci_emulator):
    deployment = make_deployment(run_oci_module, make_gateway(run_oci_module)["id"])
    plan = assert_ok(run_oci_module("api_usage_plan", **plan_options(deployment["id"])))["usage_plan"]
    oci_emulator.reset_counts()
    return plan


def subscriber_options(plan_id: str, **overrides):
    return {"compartment_id": FIXTURE_COMPARTMENT_ID, "name": "llmops-benchmark",
            "clients": [{"name": "benchmark", "token": TOKEN}], "usage_plan_ids": [plan_id], "wait_sleep": 0.01,
            **overrides}


def no_token_in(result) -> bool:
    text = json.dumps({key: value for key, value in result.items() if key != "invocation"})
    return TOKEN not in text and OTHER_TOKEN not in text


def test_create_stores_token_but_never_returns_it(run_oci_module, oci_emulator, plan):
    result = assert_ok(run_oci_module("api_subscriber", diff=True, **subscriber_options(plan["id"])))
    assert result["changed"] is True
    assert result["subscriber"]["clients"] == [{"name": "benchmark"}]
    assert no_token_in(result)
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in json.dumps(result["invocation"])
    assert live_items(oci_emulator, "Subscriber")[0]["clients"] == [{"name": "benchmark", "token": TOKEN}]


def test_noop_is_one_list_read(run_oci_module, oci_emulator, plan):
    assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"])))
    oci_emulator.reset_counts()
    again = assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"])))
    assert again["changed"] is False
    assert dict(oci_emulator.calls) == {"ListSubscribers": 1}


def test_token_change_needs_update_tokens_always(run_oci_module, oci_emulator, plan):
    assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"])))
    rotated = {"clients": [{"name": "benchmark", "token": OTHER_TOKEN}]}
    on_create = assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"], **rotated)))
    assert on_create["changed"] is False
    oci_emulator.reset_counts()
    predicted = run_oci_module("api_subscriber", check_mode=True, diff=True,
                               **subscriber_options(plan["id"], update_tokens="always", **rotated))
    assert predicted["changed"] is True and oci_emulator.write_calls() == 0 and no_token_in(predicted)
    assert "token_sha256" in predicted["diff"]["after"]["clients"][0]
    always = assert_ok(run_oci_module("api_subscriber", diff=True,
                                      **subscriber_options(plan["id"], update_tokens="always", **rotated)))
    assert always["changed"] is True and no_token_in(always)
    assert live_items(oci_emulator, "Subscriber")[0]["clients"][0]["token"] == OTHER_TOKEN
    assert not assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"], update_tokens="always",
                                                                               **rotated)))["changed"]


def test_adding_a_client_updates_in_place(run_oci_module, oci_emulator, plan):
    first = assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"])))["subscriber"]
    two = {"clients": [{"name": "benchmark", "token": TOKEN}, {"name": "chat", "token": OTHER_TOKEN}]}
    result = assert_ok(run_oci_module("api_subscriber", diff=True, **subscriber_options(plan["id"], **two)))
    assert result["changed"] is True and result["subscriber"]["id"] == first["id"] and no_token_in(result)
    assert result["diff"]["after"]["clients"] == [{"name": "benchmark"}, {"name": "chat"}]
    assert len(live_items(oci_emulator, "Subscriber")) == 1


def test_delete_absent_duplicates_faults(run_oci_module, oci_emulator, plan):
    oci_emulator.inject("CreateSubscriber", "503")
    first = assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"])))["subscriber"]
    assert oci_emulator.calls["CreateSubscriber"] == 2 and len(live_items(oci_emulator, "Subscriber")) == 1
    stored = live_items(oci_emulator, "Subscriber")[0]
    twin = oci_emulator.put("apigateway", "Subscriber", {**stored, "id": oci_emulator.new_ocid("apisubscriber")})
    duplicate = run_oci_module("api_subscriber", **subscriber_options(plan["id"]))
    assert duplicate["failed"] is True and first["id"] in duplicate["msg"] and twin["id"] in duplicate["msg"]
    oci_emulator.store[("apigateway", "Subscriber")].pop(twin["id"])
    gone = assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"], state="absent")))
    assert gone["changed"] is True and no_token_in(gone)
    assert not assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"], state="absent")))["changed"]


def test_failed_work_request_and_timeout(run_oci_module, oci_emulator, plan):
    oci_emulator.inject("CreateSubscriber", "fail_work_request", messages=("Usage plan is not active.",))
    failed = run_oci_module("api_subscriber", **subscriber_options(plan["id"]))
    assert failed["failed"] is True and "Usage plan is not active." in failed["msg"] and no_token_in(failed)
    oci_emulator.inject("CreateSubscriber", "stall_work_request")
    stalled = run_oci_module("api_subscriber", **subscriber_options(plan["id"], wait_timeout=1))
    assert stalled["failed"] is True and "IN_PROGRESS" in stalled["msg"]


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"clients": [{"name": "a", "token": ""}]}, "token of client 'a' is empty"),
    ({"clients": [{"name": "a", "token": TOKEN}, {"name": "a", "token": OTHER_TOKEN}]}, "name 'a' is given twice"),
    ({"clients": [{"name": "a", "token": TOKEN}, {"name": "b", "token": TOKEN}]}, "repeats another client's token"),
    ({"usage_plan_ids": ["plan-1"]}, "usage_plan_ids must be an OCID of type usageplan"),
    ({"clients": []}, "clients must hold at least one client"),
    ({"update_tokens": "sometimes"}, "update_tokens"),
])
def test_bad_input_fails_before_any_call_without_quoting_tokens(run_oci_module, oci_emulator, overrides, needle):
    result = run_oci_module("api_subscriber", **subscriber_options("ocid1.usageplan.oc1.iad.aaaaaaaaplan",
                                                                   **overrides))
    assert result["failed"] is True and needle in result["msg"], result["msg"]
    assert TOKEN not in result["msg"] and OTHER_TOKEN not in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


def test_usage_plan_in_use_cannot_be_deleted(run_oci_module, oci_emulator, plan):
    subscriber = assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"])))["subscriber"]
    refused = run_oci_module("api_usage_plan", compartment_id=FIXTURE_COMPARTMENT_ID, name=plan["display_name"],
                             state="absent", wait_sleep=0.01)
    assert refused["failed"] is True and "409" in refused["msg"] and subscriber["id"] in refused["msg"]
    assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"], state="absent")))
    assert assert_ok(run_oci_module("api_usage_plan", compartment_id=FIXTURE_COMPARTMENT_ID, name=plan["display_name"],
                                    state="absent", wait_sleep=0.01))["changed"] is True


def test_a_token_is_unique_across_the_tenancy(run_oci_module, oci_emulator, plan):
    """Issue 11 item 8: OCI refuses a token another subscriber's client holds (Client.token: unique in a tenancy)."""
    assert_ok(run_oci_module("api_subscriber", **subscriber_options(plan["id"])))
    oci_emulator.reset_counts()
    options = subscriber_options(plan["id"], name="llmops-chat", clients=[{"name": "chat", "token": TOKEN}])
    other = run_oci_module("api_subscriber", **options)
    assert other["failed"] is True
    assert "llmops-chat" in other["msg"] and "already in use" in other["msg"], other["msg"]
    assert no_token_in(other)
    assert len(live_items(oci_emulator, "Subscriber")) == 1
