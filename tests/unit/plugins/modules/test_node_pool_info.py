"""node_pool_info against the OCI emulator."""

from __future__ import annotations

from oci_emulator import FIXTURE_CLUSTER_ID, FIXTURE_COMPARTMENT_ID, OTHER_COMPARTMENT_ID
from test_node_pool import arm_pool


def test_lists_by_compartment_cluster_and_name_without_deleted(run_oci_module, oci_emulator):
    for name in ("a", "b", "gone"):
        run_oci_module("node_pool", **arm_pool(name=name))
    run_oci_module("node_pool", state="absent", **arm_pool(name="gone"))
    oci_emulator.reset_counts()
    listed = run_oci_module("node_pool_info", check_mode=True, compartment_id=FIXTURE_COMPARTMENT_ID,
                            cluster_id=FIXTURE_CLUSTER_ID)
    assert listed["changed"] is False
    assert sorted(pool["name"] for pool in listed["node_pools"]) == ["a", "b"]
    with_deleted = run_oci_module("node_pool_info", compartment_id=FIXTURE_COMPARTMENT_ID, include_deleted=True)
    assert sorted(pool["name"] for pool in with_deleted["node_pools"]) == ["a", "b", "gone"]
    one = run_oci_module("node_pool_info", compartment_id=FIXTURE_COMPARTMENT_ID, name="b")
    assert [pool["name"] for pool in one["node_pools"]] == ["b"]
    elsewhere = run_oci_module("node_pool_info", compartment_id=OTHER_COMPARTMENT_ID)
    assert elsewhere["node_pools"] == []
    assert oci_emulator.write_calls() == 0


def test_reads_one_pool_by_ocid(run_oci_module, oci_emulator):
    pool_id = run_oci_module("node_pool", **arm_pool())["node_pool"]["id"]
    result = run_oci_module("node_pool_info", node_pool_id=pool_id)
    assert [pool["id"] for pool in result["node_pools"]] == [pool_id]
    assert result["node_pools"][0]["node_shape_config"]["ocpus"] == 8.0


def test_errors_are_sentences(run_oci_module, oci_emulator):
    bad = run_oci_module("node_pool_info", compartment_id="compartment-1")
    assert bad["failed"] is True and "compartment_id must be an OCID" in bad["msg"]
    neither = run_oci_module("node_pool_info")
    assert neither["failed"] is True and "one of the following is required" in neither["msg"]
    assert sum(oci_emulator.calls.values()) == 0
    missing = run_oci_module("node_pool_info", node_pool_id="ocid1.nodepool.oc1.iad.aaaamissing")
    assert missing["failed"] is True
    assert "Cannot read node pool ocid1.nodepool.oc1.iad.aaaamissing" in missing["msg"] and "404" in missing["msg"]
    oci_emulator.inject("ListNodePools", "429", times=10, retry_after=0)
    exhausted = run_oci_module("node_pool_info", compartment_id=FIXTURE_COMPARTMENT_ID)
    assert exhausted["failed"] is True
    assert "6 attempts" in exhausted["msg"] and "429 TooManyRequests" in exhausted["msg"]
    assert oci_emulator.calls["ListNodePools"] == 6
