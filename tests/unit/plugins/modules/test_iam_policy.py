"""iam_policy against the OCI emulator: lifecycle, --diff of statements, home region, statement syntax."""

from __future__ import annotations

from typing import Any

import pytest
from oci_emulator import FIXTURE_CLUSTER_ID, FIXTURE_COMPARTMENT_ID
from oci_emulator.identity import ensure_identity


@pytest.fixture(autouse=True)
def identity_registered(oci_emulator_server):
    """Every test here needs the Identity service on the shared emulator (home region = its region)."""
    return ensure_identity(oci_emulator_server)


AUTOSCALER = (f"Allow any-user to manage cluster-node-pools in compartment id {FIXTURE_COMPARTMENT_ID} where ALL "
              "{request.principal.type = 'workload', request.principal.namespace = 'kube-system', "
              f"request.principal.service_account = 'cluster-autoscaler', request.principal.cluster_id = "
              f"'{FIXTURE_CLUSTER_ID}'}}")
GRAFANA = f"Allow dynamic-group llmops-grafana to read metrics in compartment id {FIXTURE_COMPARTMENT_ID}"


def policy(**overrides: Any) -> dict[str, Any]:
    return {"compartment_id": FIXTURE_COMPARTMENT_ID, "name": "llmops", "statements": [AUTOSCALER, GRAFANA],
            **overrides}


def live(emulator) -> list[dict[str, Any]]:
    return [item for item in emulator.items("identity", "Policy") if item["lifecycleState"] != "DELETED"]


def test_create_rerun_update_and_delete(run_oci_module, oci_emulator):
    predicted = run_oci_module("iam_policy", check_mode=True, diff=True, **policy())
    assert predicted["changed"] is True and oci_emulator.write_calls() == 0, predicted
    assert predicted["diff"]["after"]["statements"] == [AUTOSCALER, GRAFANA]
    created = run_oci_module("iam_policy", **policy())
    assert created["changed"] is True and created["policy"]["statements"] == [AUTOSCALER, GRAFANA], created
    assert oci_emulator.calls["CreatePolicy"] == 1 and len(live(oci_emulator)) == 1

    oci_emulator.reset_counts()
    again = run_oci_module("iam_policy", check_mode=True, **policy())
    assert again["changed"] is False
    again = run_oci_module("iam_policy", **policy())
    assert again["changed"] is False and oci_emulator.write_calls() == 0
    # Two reads per no-op: the home region (region subscriptions) and the list.
    assert oci_emulator.calls["ListPolicies"] == 2 and oci_emulator.calls["ListRegionSubscriptions"] == 2

    changed = run_oci_module("iam_policy", diff=True, **policy(statements=[AUTOSCALER]))
    assert changed["changed"] is True and oci_emulator.calls["UpdatePolicy"] == 1
    assert changed["diff"] == {"before": {"statements": [AUTOSCALER, GRAFANA]}, "after": {"statements": [AUTOSCALER]}}
    assert live(oci_emulator)[0]["statements"] == [AUTOSCALER]

    gone = run_oci_module("iam_policy", state="absent", **policy())
    assert gone["changed"] is True and live(oci_emulator) == []
    assert run_oci_module("iam_policy", state="absent", **policy())["changed"] is False


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_a_region_that_is_not_home_is_refused_before_any_write(run_oci_module, oci_emulator, check_mode):
    oci_emulator.home_region = "eu-frankfurt-1"  # the tenancy's home; the modules aim at us-ashburn-1
    result = run_oci_module("iam_policy", check_mode=check_mode, **policy())
    assert result.get("failed") is True, result
    assert result["msg"] == ("Cannot manage IAM policy 'llmops': IAM writes go to the tenancy's home region "
                             "eu-frankfurt-1, but region is us-ashburn-1; set region (or OCI_REGION) to "
                             "eu-frankfurt-1.")
    assert oci_emulator.write_calls() == 0 and oci_emulator.calls.get("ListPolicies", 0) == 0


def test_the_emulator_refuses_iam_writes_outside_the_home_region(oci_emulator, oci_test_identity):
    """Rule iam_writes_home_region_only, through the real SDK (what the module's check spares a real run)."""
    import oci
    from oci.identity.models import CreatePolicyDetails

    oci_emulator.home_region = "eu-frankfurt-1"
    config = oci.config.from_file(str(oci_test_identity.config_file))
    client = oci.identity.IdentityClient(config, service_endpoint=oci_emulator.endpoint,
                                         retry_strategy=oci.retry.NoneRetryStrategy())
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.create_policy(CreatePolicyDetails(compartment_id=FIXTURE_COMPARTMENT_ID, name="x", description="x",
                                                 statements=[GRAFANA]))
    assert refused.value.status == 403


BAD_STATEMENTS = [
    "Allow group Admins manage all-resources in tenancy",              # no "to"
    "Allow group Admins to administer all-resources in tenancy",       # not a verb
    "Allow Admins to manage all-resources in tenancy",                 # subject without group/dynamic-group
    "Allow group Admins to manage all-resources in region us-ashburn-1",  # not a location
    "Allow any-user to read buckets in tenancy where all {request.principal.type = 'workload'",  # unbalanced
    "Permit group Admins to manage all-resources in tenancy",
]


@pytest.mark.parametrize("statement", BAD_STATEMENTS)
def test_a_statement_oci_syntax_refuses_is_refused_before_any_call(run_oci_module, oci_emulator, statement):
    result = run_oci_module("iam_policy", **policy(statements=[GRAFANA, statement]))
    assert result.get("failed") is True, result
    assert result["msg"].startswith("Invalid options for IAM policy 'llmops': statements[1] '")
    assert sum(oci_emulator.calls.values()) == 0


def test_statements_the_syntax_page_shows_are_accepted(run_oci_module, oci_emulator):
    statements = [
        "Allow group A-Admins, B-Admins to manage all-resources in compartment Projects-A-and-B",
        "Allow group id ocid1.group.oc1..aaaaaaaaexample to manage all-resources in compartment Project-A",
        "Allow any-group to inspect users in tenancy",
        "Allow group 'Default'/'Admins' to {INSTANCE_READ, INSTANCE_UPDATE} in compartment a:b:c",
        GRAFANA, AUTOSCALER,
    ]
    result = run_oci_module("iam_policy", **policy(statements=statements))
    assert result["changed"] is True, result


def test_bad_ocid_and_empty_statements(run_oci_module, oci_emulator):
    result = run_oci_module("iam_policy", **policy(compartment_id="ocid1.subnet.oc1..aaaa", statements=[]))
    assert result["failed"] is True
    assert "compartment_id must be an OCID" in result["msg"] and "statements must hold at least one" in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0
