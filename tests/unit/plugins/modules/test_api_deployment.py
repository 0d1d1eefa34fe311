"""api_deployment and api_deployment_info against the OCI emulator."""

from __future__ import annotations

from pathlib import Path

import oci.apigateway.models as ag_models
import pytest
import yaml
from apigw_support import (
    BACKEND,
    FIXTURE_COMPARTMENT_ID,
    assert_ok,
    deployment_options,
    live_items,
    make_gateway,
    routes,
)
from oci_emulator.api_gateway import ensure_api_gateway

from ansible_collections.llmops.oke.plugins.modules import api_deployment


@pytest.fixture(autouse=True)
def api_gateway_registered(oci_emulator_server):
    """Every test here needs the API Gateway service on the shared emulator."""
    return ensure_api_gateway(oci_emulator_server)


@pytest.fixture
def gateway(run_oci_module, oci_emulator):
    return make_gateway(run_oci_module)


def test_create_builds_the_openai_routes_with_policies(run_oci_module, oci_emulator, gateway):
    result = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    assert result["changed"] is True
    deployment = result["deployment"]
    assert deployment["endpoint"] == f"https://{gateway['hostname']}/llm"
    assert deployment["lifecycle_state"] == "ACTIVE"
    stored = live_items(oci_emulator, "Deployment")[0]["specification"]
    by_path = {route["path"]: route for route in stored["routes"]}
    assert set(by_path) == {"/v1/chat/completions", "/v1/completions", "/v1/models"}
    chat = by_path["/v1/chat/completions"]["backend"]
    assert chat == {"type": "HTTP_BACKEND", "url": f"{BACKEND}/v1/chat/completions", "connectTimeoutInSeconds": 60,
                    "readTimeoutInSeconds": 300, "sendTimeoutInSeconds": 10, "isSslVerifyDisabled": False}
    policies = stored["requestPolicies"]
    assert policies["rateLimiting"] == {"rateInRequestsPerSecond": 20, "rateKey": "CLIENT_IP"}
    assert policies["usagePlans"] == {"tokenLocations": ["request.headers[x-api-key]"]}
    assert policies["cors"]["allowedOrigins"] == ["https://chat.example.com"]
    assert stored["loggingPolicies"]["executionLog"] == {"isEnabled": True, "logLevel": "WARN"}


def test_second_run_reads_list_and_one_get(run_oci_module, oci_emulator, gateway):
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    oci_emulator.reset_counts()
    result = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    assert result["changed"] is False
    assert dict(oci_emulator.calls) == {"ListDeployments": 1, "GetDeployment": 1}


def test_update_rate_limit_and_timeouts_in_place_with_diff(run_oci_module, oci_emulator, gateway):
    first = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))["deployment"]
    options = deployment_options(gateway["id"], rate_limiting={"rate_in_requests_per_second": 5, "rate_key": "TOTAL"},
                                 routes=routes(read_timeout=120))
    result = assert_ok(run_oci_module("api_deployment", diff=True, **options))
    assert result["changed"] is True and result["deployment"]["id"] == first["id"]
    assert result["diff"]["before"]["specification"]["request_policies"]["rate_limiting"] == {
        "rate_in_requests_per_second": 20, "rate_key": "CLIENT_IP"}
    assert result["diff"]["after"]["specification"]["request_policies"]["rate_limiting"] == {
        "rate_in_requests_per_second": 5, "rate_key": "TOTAL"}
    stored = live_items(oci_emulator, "Deployment")
    assert len(stored) == 1
    assert stored[0]["specification"]["requestPolicies"]["rateLimiting"]["rateInRequestsPerSecond"] == 5
    assert assert_ok(run_oci_module("api_deployment", **options))["changed"] is False


def test_removing_a_policy_is_a_change(run_oci_module, oci_emulator, gateway):
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    options = {**deployment_options(gateway["id"]), "cors": None}
    options.pop("cors")
    result = assert_ok(run_oci_module("api_deployment", **options))
    assert result["changed"] is True
    assert "cors" not in live_items(oci_emulator, "Deployment")[0]["specification"]["requestPolicies"]
    assert assert_ok(run_oci_module("api_deployment", **options))["changed"] is False


def test_policy_only_change_updates_the_live_policy_and_keeps_routes(run_oci_module, oci_emulator, gateway):
    """Issue 11 item 6: with routes left out, a policy option is applied, never silently ignored."""
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    before = live_items(oci_emulator, "Deployment")[0]["specification"]
    options = {key: value for key, value in deployment_options(gateway["id"]).items()
               if key not in ("routes", "usage_plans", "cors", "logging", "path_prefix")}
    options["rate_limiting"] = {"rate_in_requests_per_second": 7, "rate_key": "TOTAL"}
    oci_emulator.reset_counts()
    predicted = assert_ok(run_oci_module("api_deployment", check_mode=True, **options))
    assert predicted["changed"] is True and oci_emulator.write_calls() == 0
    result = assert_ok(run_oci_module("api_deployment", diff=True, **options))
    assert result["changed"] is True and oci_emulator.write_calls() == 1
    after = live_items(oci_emulator, "Deployment")[0]["specification"]
    assert after["requestPolicies"]["rateLimiting"] == {"rateInRequestsPerSecond": 7, "rateKey": "TOTAL"}
    assert after["routes"] == before["routes"]
    assert after["requestPolicies"]["usagePlans"] == before["requestPolicies"]["usagePlans"]
    assert after["requestPolicies"]["cors"] == before["requestPolicies"]["cors"]
    assert after["loggingPolicies"] == before["loggingPolicies"]
    assert assert_ok(run_oci_module("api_deployment", **options))["changed"] is False
    logging_only = {**options, "logging": {"execution_log_level": "ERROR"}}
    logging_only.pop("rate_limiting")
    assert assert_ok(run_oci_module("api_deployment", **logging_only))["changed"] is True
    after = live_items(oci_emulator, "Deployment")[0]["specification"]
    assert after["loggingPolicies"]["executionLog"]["logLevel"] == "ERROR"
    assert after["requestPolicies"]["rateLimiting"]["rateInRequestsPerSecond"] == 7


def test_jwt_authentication_choice(run_oci_module, oci_emulator, gateway):
    jwt = {"issuers": ["https://idcs.example.com/"], "audiences": ["llmops"],
           "public_keys_uri": "https://idcs.example.com/admin/v1/SigningCert/jwk"}
    options = deployment_options(gateway["id"], jwt_authentication=jwt)
    options.pop("usage_plans")
    assert_ok(run_oci_module("api_deployment", **options))
    auth = live_items(oci_emulator, "Deployment")[0]["specification"]["requestPolicies"]["authentication"]
    assert auth["type"] == "JWT_AUTHENTICATION" and auth["publicKeys"]["type"] == "REMOTE_JWKS"
    assert auth["tokenAuthScheme"] == "Bearer" and auth["isAnonymousAccessAllowed"] is False
    assert assert_ok(run_oci_module("api_deployment", **options))["changed"] is False


def test_check_mode_is_exact(run_oci_module, oci_emulator, gateway):
    oci_emulator.reset_counts()
    created = run_oci_module("api_deployment", check_mode=True, **deployment_options(gateway["id"]))
    assert created["changed"] is True and oci_emulator.write_calls() == 0
    assert live_items(oci_emulator, "Deployment") == []
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    oci_emulator.reset_counts()
    options = deployment_options(gateway["id"], logging={"execution_log_level": "ERROR"})
    predicted = run_oci_module("api_deployment", check_mode=True, **options)
    assert predicted["changed"] is True
    assert predicted["deployment"]["specification"]["logging_policies"]["execution_log"]["log_level"] == "ERROR"
    assert run_oci_module("api_deployment", check_mode=True, **deployment_options(gateway["id"]))["changed"] is False
    assert oci_emulator.write_calls() == 0


def test_path_prefix_is_immutable(run_oci_module, oci_emulator, gateway):
    first = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))["deployment"]
    refused = run_oci_module("api_deployment", **deployment_options(gateway["id"], path_prefix="/v2"))
    assert refused["failed"] is True and "Cannot change path_prefix" in refused["msg"] and first["id"] in refused["msg"]
    assert oci_emulator.calls["UpdateDeployment"] == 0


def test_delete_and_delete_absent(run_oci_module, oci_emulator, gateway):
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    oci_emulator.reset_counts()
    gone = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"], state="absent")))
    assert gone["changed"] is True and live_items(oci_emulator, "Deployment") == []
    assert oci_emulator.calls["GetDeployment"] == 0  # deleting needs no full read
    again = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"], state="absent")))
    assert again["changed"] is False


def test_duplicate_names_fail_listing_both_ocids(run_oci_module, oci_emulator, gateway):
    first = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))["deployment"]
    twin = oci_emulator.put("apigateway", "Deployment", {**live_items(oci_emulator, "Deployment")[0],
                                                         "id": oci_emulator.new_ocid("apideployment")})
    oci_emulator.reset_counts()
    result = run_oci_module("api_deployment", **deployment_options(gateway["id"]))
    assert result["failed"] is True and first["id"] in result["msg"] and twin["id"] in result["msg"]
    assert f"2 API deployments on gateway {gateway['id']} are named" in result["msg"]
    assert oci_emulator.write_calls() == 0


def test_same_name_on_another_gateway_is_another_deployment(run_oci_module, oci_emulator, gateway):
    other = assert_ok(run_oci_module("api_gateway", compartment_id=FIXTURE_COMPARTMENT_ID, name="second",
                                     endpoint_type="PRIVATE", subnet_id="ocid1.subnet.oc1.iad.aaaaaaaasub2",
                                     wait_sleep=0.01))["gateway"]
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    assert assert_ok(run_oci_module("api_deployment", **deployment_options(other["id"])))["changed"] is True
    assert len(live_items(oci_emulator, "Deployment")) == 2


@pytest.mark.parametrize("fault", ["429", "503"])
def test_faults_on_update_are_retried(run_oci_module, oci_emulator, gateway, fault):
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    oci_emulator.inject("UpdateDeployment", fault, retry_after=0 if fault == "429" else None)
    oci_emulator.inject("ApiGatewayGetWorkRequest", fault, retry_after=0 if fault == "429" else None)
    options = deployment_options(gateway["id"], rate_limiting={"rate_in_requests_per_second": 7})
    assert assert_ok(run_oci_module("api_deployment", **options))["changed"] is True
    assert oci_emulator.calls["UpdateDeployment"] == 2


def test_client_errors_are_not_retried(run_oci_module, oci_emulator, gateway):
    # A missing gateway is now refused after a read (issue 25), so the create OCI refuses is a path prefix that
    # another deployment on the gateway holds (409, emulator rule deployment_path_prefix_unique).
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))
    oci_emulator.reset_counts()
    result = run_oci_module("api_deployment", **deployment_options(gateway["id"], name="second"))
    assert result["failed"] is True
    assert "409" in result["msg"] and "second" in result["msg"]
    assert oci_emulator.calls["CreateDeployment"] == 1


def test_failed_work_request_and_timeout(run_oci_module, oci_emulator, gateway):
    oci_emulator.inject("CreateDeployment", "fail_work_request", messages=("Backend URL is not reachable.",))
    failed = run_oci_module("api_deployment", **deployment_options(gateway["id"]))
    assert failed["failed"] is True and "Backend URL is not reachable." in failed["msg"]
    oci_emulator.inject("CreateDeployment", "stall_work_request")
    stalled = run_oci_module("api_deployment", **deployment_options(gateway["id"], wait_timeout=1))
    assert stalled["failed"] is True and "IN_PROGRESS" in stalled["msg"]
    assert stalled["work_request_id"] in stalled["msg"]


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"rate_limiting": {"rate_in_requests_per_second": 0}}, "rate_in_requests_per_second must be more than 0"),
    ({"rate_limiting": {"rate_in_requests_per_second": -3}}, "rate_in_requests_per_second must be more than 0"),
    ({"rate_limiting": {"rate_in_requests_per_second": 5, "rate_key": "USER"}}, "rate_key"),
    ({"gateway_id": "ocid1.subnet.oc1.iad.aaaaaaaanotagateway"}, "gateway_id must be an OCID of type apigateway"),
    ({"compartment_id": "compartment-1"}, "compartment_id must be an OCID"),
    ({"path_prefix": "llm"}, "path_prefix must start with '/'"),
    ({"routes": [{"path": "/v1/models", "backend_url": "10.0.0.1:8000"}]}, "backend_url must be an http"),
    ({"routes": [{"path": "/v1/models", "backend_url": "http://x", "read_timeout_in_seconds": 301}]},
     "read_timeout_in_seconds must be more than 0 and at most 300"),
    ({"routes": [{"path": "/a", "backend_url": "http://x"}, {"path": "/a", "backend_url": "http://y"}]}, "given twice"),
    ({"routes": []}, "routes must hold at least one route"),
    ({"usage_plans": {"token_locations": []}}, "token_locations must name at least one location"),
    # OCI's syntax is <context-table>[<name>] (UsagePlansPolicy.token_locations); the dotted form is refused by OCI.
    ({"usage_plans": {"token_locations": ["request.headers.x-api-key"]}}, "must look like request.headers[x-api-key]"),
    ({"usage_plans": {"token_locations": ["request.headers[x api key]"]}}, "must look like request.headers["),
    ({"usage_plans": {"token_locations": ["request.body[token]"]}}, "must look like request.headers[x-api-key]"),
    ({"jwt_authentication": {"issuers": ["i"], "audiences": ["a"], "public_keys_uri": "http://keys"}},
     "public_keys_uri must be an https:// URI"),
    # JwtAuthenticationPolicy.token_header: "The name of the header containing the authentication token" -- an
    # HTTP field name, which is an RFC 9110 (formerly RFC 7230) token: no spaces, no separators.
    ({"jwt_authentication": {"issuers": ["i"], "audiences": ["a"], "public_keys_uri": "https://keys",
                             "token_header": "X Api Key"}},
     "jwt_authentication.token_header must be an HTTP header name"),
    ({"jwt_authentication": {"issuers": ["i"], "audiences": ["a"], "public_keys_uri": "https://keys",
                             "token_header": "Authorization:"}},
     "jwt_authentication.token_header must be an HTTP header name"),
])
def test_bad_input_fails_before_any_call(run_oci_module, oci_emulator, overrides, needle):
    options = {**deployment_options("ocid1.apigateway.oc1.iad.aaaaaaaagw"), **overrides}
    result = run_oci_module("api_deployment", **options)
    assert result["failed"] is True and needle in result["msg"], result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


def test_info_lists_and_reads(run_oci_module, oci_emulator, gateway):
    created = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))["deployment"]
    oci_emulator.max_page_size = 1  # pagination is followed
    assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"], name="second", path_prefix="/b")))
    listed = assert_ok(run_oci_module("api_deployment_info", compartment_id=FIXTURE_COMPARTMENT_ID,
                                      gateway_id=gateway["id"]))
    assert [item["display_name"] for item in listed["deployments"]] == ["llmops-inference", "second"]
    assert listed["deployments"][0]["specification"]["routes"]
    one = assert_ok(run_oci_module("api_deployment_info", deployment_id=created["id"]))
    assert one["deployments"][0]["endpoint"] == created["endpoint"]
    summaries = assert_ok(run_oci_module("api_deployment_info", compartment_id=FIXTURE_COMPARTMENT_ID,
                                         name="second", summary_only=True))
    assert len(summaries["deployments"]) == 1 and "specification" not in summaries["deployments"][0]
    assert oci_emulator.calls["CreateDeployment"] == 2 and oci_emulator.calls["UpdateDeployment"] == 0
    bad = run_oci_module("api_deployment_info", deployment_id="nope")
    assert bad["failed"] is True and "deployment_id must be an OCID" in bad["msg"]


def test_gateway_with_deployments_cannot_be_deleted(run_oci_module, oci_emulator, gateway):
    deployment = assert_ok(run_oci_module("api_deployment", **deployment_options(gateway["id"])))["deployment"]
    refused = run_oci_module("api_gateway", compartment_id=FIXTURE_COMPARTMENT_ID, name=gateway["display_name"],
                             state="absent", wait_sleep=0.01)
    assert refused["failed"] is True
    assert "409" in refused["msg"] and gateway["id"] in refused["msg"] and deployment["id"] in refused["msg"]
    assert oci_emulator.calls["DeleteGateway"] == 1  # a 409 is not retried


def test_logging_says_what_it_sets_the_legacy_archive():
    """Issue 11 item 7: the logging policies push to the legacy archive (SDK docstring), not to OCI Logging."""
    for policy in (ag_models.AccessLogPolicy, ag_models.ExecutionLogPolicy):
        assert "legacy OCI Object Storage log archival bucket" in policy.is_enabled.__doc__
    option = yaml.safe_load(api_deployment.DOCUMENTATION)["options"]["logging"]
    text = " ".join(option["description"]) + " ".join(
        " ".join(sub["description"]) if isinstance(sub["description"], list) else sub["description"]
        for sub in option["suboptions"].values())
    assert "legacy" in text and "does not create logs in the OCI Logging service" in text
    role_spec = yaml.safe_load((Path(__file__).parents[4] / "roles/api_gateway/meta/argument_specs.yml").read_text())
    role_options = role_spec["argument_specs"]["main"]["options"]
    for name in ("api_gateway_access_log", "api_gateway_execution_log_level"):
        assert "legacy" in role_options[name]["description"] and "not OCI Logging" in role_options[name]["description"]


MISSING_GATEWAY = "ocid1.apigateway.oc1.iad.aaaaaaaanosuchgateway0001"


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_a_gateway_that_does_not_exist_is_refused_after_a_read(run_oci_module, oci_emulator, check_mode):
    result = run_oci_module("api_deployment", check_mode=check_mode, **deployment_options(MISSING_GATEWAY))
    assert result.get("failed") is True, result
    assert result["msg"].startswith(f"Cannot create API deployment 'llmops-inference' on gateway {MISSING_GATEWAY}: "
                                    "gateway_id names no API gateway OCI knows (GetGateway answered 404")
    assert oci_emulator.calls["GetGateway"] == 1
    assert oci_emulator.write_calls() == 0 and live_items(oci_emulator, "Deployment") == []


def test_a_deleted_gateway_is_refused_after_a_read(run_oci_module, oci_emulator, gateway):
    assert_ok(run_oci_module("api_gateway", compartment_id=FIXTURE_COMPARTMENT_ID, name=gateway["display_name"],
                             state="absent", wait_sleep=0.01))
    oci_emulator.reset_counts()
    result = run_oci_module("api_deployment", **deployment_options(gateway["id"]))
    assert result.get("failed") is True and "is DELETED" in result["msg"], result
    assert oci_emulator.write_calls() == 0
