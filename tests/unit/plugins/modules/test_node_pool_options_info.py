"""node_pool_options_info against the OCI emulator."""

from __future__ import annotations

from oci_emulator import FIXTURE_CLUSTER_ID, FIXTURE_COMPARTMENT_ID


def test_reads_the_shapes_and_versions_in_one_call(run_oci_module, oci_emulator):
    result = run_oci_module("node_pool_options_info", check_mode=True, cluster_id=FIXTURE_CLUSTER_ID,
                            compartment_id=FIXTURE_COMPARTMENT_ID)
    assert result["changed"] is False, result
    options = result["node_pool_options"]
    assert "VM.GPU.A10.1" in options["shapes"] and "VM.Standard2.1" in options["shapes"]
    assert options["kubernetes_versions"] == ["v1.30.1", "v1.31.1"]
    assert all(source["image_id"].startswith("ocid1.image.") for source in options["sources"])
    assert dict(oci_emulator.calls) == {"GetNodePoolOptions": 1}


def test_a_missing_cluster_fails_naming_it(run_oci_module, oci_emulator):
    missing = "ocid1.cluster.oc1.iad.aaaaaaaanosuchcluster0001"
    result = run_oci_module("node_pool_options_info", cluster_id=missing)
    assert result["failed"] is True
    assert result["msg"].startswith(f"Cannot read the node pool options of cluster {missing}: OCI answered 404")


def test_bad_ocid_fails_before_any_call(run_oci_module, oci_emulator):
    result = run_oci_module("node_pool_options_info", cluster_id="ocid1.subnet.oc1.iad.aaaaaaaanotacluster")
    assert result["failed"] is True and "cluster_id must be an OCID of type cluster" in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0
