"""api_gateway role: every bad setting is refused in one preflight step before any OCI call (issue 16).

No OCI endpoint is configured here (OCI_CONFIG_FILE names a missing file, so nothing leaves the machine):
a bad value that slipped past the preflight would end in the first module's configuration error instead,
which does not name the variable, so the test tells the two apart by the message.
"""

from __future__ import annotations

from pathlib import Path

from bad_input_support import run_cases

BASE = {"api_gateway_compartment_id": "ocid1.compartment.oc1..aaaaaaaaexample",
        "api_gateway_subnet_id": "ocid1.subnet.oc1.iad.aaaaaaaaexample",
        "api_gateway_vllm_backend_url": "http://10.0.10.5:8000",
        "api_gateway_client_token": "tok-0123456789abcdef"}
TABLE = [
    ("api_gateway_rate_limit_per_second", {"api_gateway_rate_limit_per_second": 0}),
    ("api_gateway_usage_plan_rate_limit_per_second", {"api_gateway_usage_plan_rate_limit_per_second": -1}),
    ("api_gateway_usage_plan_quota", {"api_gateway_usage_plan_quota": -5}),
    ("api_gateway_usage_plan_quota", {"api_gateway_usage_plan_quota": 0}),  # "no quota" needs its own word
    ("api_gateway_read_timeout_s", {"api_gateway_read_timeout_s": 301}),
    ("api_gateway_connect_timeout_s", {"api_gateway_connect_timeout_s": 0}),
    ("api_gateway_token_header", {"api_gateway_token_header": "x api key"}),
    ("api_gateway_vllm_backend_url", {"api_gateway_vllm_backend_url": "10.0.10.5:8000"}),
    ("api_gateway_llama_cpp_backend_url", {"api_gateway_llama_cpp_backend_url": "llama:8080"}),
]


def test_each_bad_setting_fails_in_the_preflight_naming_the_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OCI_AUTH_TYPE", "api_key")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "no-oci-config"))
    cases = {f"{variable}={bad[variable]}": {**BASE, **bad} for variable, bad in TABLE}
    cases["two at once"] = {**BASE, "api_gateway_rate_limit_per_second": 0, "api_gateway_token_header": "a b"}
    cases["valid"] = BASE
    cases["no quota, said in words"] = {**BASE, "api_gateway_usage_plan_quota": 0,
                                        "api_gateway_usage_plan_no_quota": True}
    outcomes = run_cases("api_gateway", cases, tmp_path)
    for variable, bad in TABLE:
        outcome = outcomes[f"{variable}={bad[variable]}"]
        assert outcome["failed"] and variable in outcome["message"], (bad, outcome["message"])
    # The valid settings pass the preflight and fail only at the first OCI call (no endpoint configured here).
    for case in ("valid", "no quota, said in words"):
        message = outcomes[case]["message"]
        assert outcomes[case]["failed"] and "no-oci-config" in message, message
        assert not any(variable in message for variable, _bad in TABLE), message
    both = outcomes["two at once"]["message"]
    assert "api_gateway_rate_limit_per_second" in both and "api_gateway_token_header" in both, both


def test_bad_tenants_fail_in_the_preflight_naming_the_entry(tmp_path: Path, monkeypatch) -> None:
    """Issue 25: a tenant list OCI or the role cannot serve is refused before any OCI call, naming the entry."""
    monkeypatch.setenv("OCI_AUTH_TYPE", "api_key")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "no-oci-config"))
    team_a = {"name": "team-a", "rate_limit_per_second": 5, "quota": 1000, "quota_unit": "DAY"}
    jwt = {"api_gateway_auth": "jwt", "api_gateway_jwt_issuer": "https://idp.example.com/",
           "api_gateway_jwt_audience": "llmops", "api_gateway_jwt_jwks_uri": "https://idp.example.com/jwks"}
    cases = {
        "name twice": {**BASE, "api_gateway_tenants": [team_a, {**team_a, "quota": 5}]},
        "quota without unit": {**BASE, "api_gateway_tenants": [{"name": "team-b", "rate_limit_per_second": 5,
                                                                "quota": 100}]},
        "tenants with jwt": {**BASE, **jwt, "api_gateway_tenants": [team_a]},
        "valid tenants": {**BASE, "api_gateway_tenants": [team_a, {"name": "team-c", "rate_limit_per_second": 1,
                                                                   "no_quota": True}]},
    }
    outcomes = run_cases("api_gateway", cases, tmp_path)
    assert "api_gateway_tenants[1] (team-a).name team-a is used twice" in outcomes["name twice"]["message"]
    assert "api_gateway_tenants[0] (team-b).quota 100 has no unit" in outcomes["quota without unit"]["message"]
    assert "api_gateway_tenants need api_gateway_auth usage_plan" in outcomes["tenants with jwt"]["message"]
    valid = outcomes["valid tenants"]["message"]
    assert outcomes["valid tenants"]["failed"] and "no-oci-config" in valid and "api_gateway_tenants" not in valid


def test_a_vault_setting_of_another_type_fails_in_the_preflight_naming_the_variable(
        tmp_path: Path, monkeypatch) -> None:
    """Issue 25: the tenants' vault and key OCIDs are checked (type, both given) before any OCI call."""
    monkeypatch.setenv("OCI_AUTH_TYPE", "api_key")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "no-oci-config"))
    team_a = {"name": "team-a", "rate_limit_per_second": 5, "quota": 1000, "quota_unit": "DAY"}
    vault = "ocid1.vault.oc1.iad.aaaaaaaaexample"
    key = "ocid1.key.oc1.iad.aaaaaaaaexample"
    cases = {
        "key as vault": {**BASE, "api_gateway_tenants": [team_a], "api_gateway_tenant_vault_id": key,
                         "api_gateway_tenant_vault_key_id": key},
        "vault as key": {**BASE, "api_gateway_tenants": [team_a], "api_gateway_tenant_vault_id": vault,
                         "api_gateway_tenant_vault_key_id": vault},
        "no key": {**BASE, "api_gateway_tenants": [team_a], "api_gateway_tenant_vault_id": vault},
        "deletion days": {**BASE, "api_gateway_tenants": [team_a], "api_gateway_tenant_vault_id": vault,
                          "api_gateway_tenant_vault_key_id": key, "api_gateway_tenant_secret_deletion_days": 45},
        "valid vault": {**BASE, "api_gateway_tenants": [team_a], "api_gateway_tenant_vault_id": vault,
                        "api_gateway_tenant_vault_key_id": key},
    }
    outcomes = run_cases("api_gateway", cases, tmp_path)
    assert (f"api_gateway_tenant_vault_id must be an OCID of type vault, got '{key}'"
            in outcomes["key as vault"]["message"])
    assert (f"api_gateway_tenant_vault_key_id must be an OCID of type key, got '{vault}'"
            in outcomes["vault as key"]["message"])
    no_key = outcomes["no key"]["message"]
    assert "api_gateway_tenant_vault_key_id is required with api_gateway_tenant_vault_id" in no_key
    assert "api_gateway_tenant_secret_deletion_days must be 1 to 30" in outcomes["deletion days"]["message"]
    valid = outcomes["valid vault"]["message"]
    assert outcomes["valid vault"]["failed"] and "no-oci-config" in valid and "api_gateway_tenant_" not in valid
