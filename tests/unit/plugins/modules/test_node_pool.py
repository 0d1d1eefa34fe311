"""node_pool against the OCI emulator: lifecycle, check mode, diff, faults and bad input."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from oci_emulator import FIXTURE_CLUSTER_ID, FIXTURE_COMPARTMENT_ID, OKE_IMAGES

SUBNET_AD1 = "ocid1.subnet.oc1.iad.aaaaaaaaworkersubnet1"
SUBNET_AD2 = "ocid1.subnet.oc1.iad.aaaaaaaaworkersubnet2"
POD_SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaapodsubnet1"
NSG = "ocid1.networksecuritygroup.oc1.iad.aaaaaaaanodensg1"
FAST = {"wait_sleep": 0.01}


def gpu_pool(**overrides: Any) -> dict[str, Any]:
    options = {
        "compartment_id": FIXTURE_COMPARTMENT_ID,
        "cluster_id": FIXTURE_CLUSTER_ID,
        "name": "gpu-a10",
        "kubernetes_version": "v1.31.1",
        "node_shape": "VM.GPU.A10.1",
        "size": 2,
        "boot_volume_size_in_gbs": 200,
        "placement_configs": [
            {"availability_domain": "Uocm:US-ASHBURN-AD-1", "subnet_id": SUBNET_AD1,
             "fault_domains": ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2"]},
            {"availability_domain": "Uocm:US-ASHBURN-AD-2", "subnet_id": SUBNET_AD2},
        ],
        "nsg_ids": [NSG],
        "initial_node_labels": {"llmops.oke/pool": "gpu"},
        "ssh_public_key": "ssh-ed25519 AAAAC3Nza test@example",
        "user_data": "#cloud-config\nruncmd: [echo hi]\n",
        "node_cycling": {"is_node_cycling_enabled": True, "maximum_surge": "1", "maximum_unavailable": "0"},
        "freeform_tags": {"app": "llmops"},
        **FAST,
    }
    options.update(overrides)
    return options


def arm_pool(**overrides: Any) -> dict[str, Any]:
    options = {
        "compartment_id": FIXTURE_COMPARTMENT_ID,
        "cluster_id": FIXTURE_CLUSTER_ID,
        "name": "cpu-a1",
        "node_shape": "VM.Standard.A1.Flex",
        "node_shape_config": {"ocpus": 8, "memory_in_gbs": 48},
        "size": 3,
        "placement_configs": [{"availability_domain": "Uocm:US-ASHBURN-AD-1", "subnet_id": SUBNET_AD1}],
        "pod_network_options": {"cni_type": "OCI_VCN_IP_NATIVE", "pod_subnet_ids": [POD_SUBNET],
                                "max_pods_per_node": 31},
        **FAST,
    }
    options.update(overrides)
    return options


def live_pools(emulator) -> list[dict[str, Any]]:
    return [item for item in emulator.items("containerengine", "NodePool") if item["lifecycleState"] != "DELETED"]


def test_create_gpu_pool_picks_newest_gpu_image_and_waits(run_oci_module, oci_emulator):
    result = run_oci_module("node_pool", **gpu_pool())
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    pool = result["node_pool"]
    assert pool["lifecycle_state"] == "ACTIVE"
    newest_gpu = dict(OKE_IMAGES)["Oracle-Linux-8.10-Gpu-2025.02.28-0-OKE-1.31.1-800"]
    assert pool["node_source_details"]["image_id"] == newest_gpu
    assert pool["node_config_details"]["size"] == 2
    assert len(result["work_request_ids"]) == 1
    stored = live_pools(oci_emulator)
    assert len(stored) == 1
    assert base64.b64decode(stored[0]["nodeMetadata"]["user_data"]).decode().startswith("#cloud-config")
    assert oci_emulator.calls["CreateNodePool"] == 1
    assert oci_emulator.calls["GetWorkRequest"] == 2  # ACCEPTED -> IN_PROGRESS -> SUCCEEDED
    assert oci_emulator.rejected_signatures == 0


def test_rerun_is_a_no_op_with_reads_only(run_oci_module, oci_emulator):
    run_oci_module("node_pool", **arm_pool())
    oci_emulator.reset_counts()
    result = run_oci_module("node_pool", **arm_pool())
    assert result["changed"] is False, result
    assert oci_emulator.write_calls() == 0
    assert oci_emulator.calls["ListNodePools"] == 1
    assert sum(oci_emulator.calls.values()) == 1


def test_arm_pool_gets_aarch64_image_and_shape_config(run_oci_module, oci_emulator):
    result = run_oci_module("node_pool", **arm_pool())
    assert result["changed"] is True, result
    assert "aarch64" in result["node_pool"]["node_source"]["source_name"]
    assert result["node_pool"]["kubernetes_version"] == "v1.31.1"  # the cluster's version
    assert result["node_pool"]["node_shape_config"] == {"ocpus": 8.0, "memory_in_gbs": 48.0}


def test_update_in_place_changes_only_what_differs(run_oci_module, oci_emulator):
    created = run_oci_module("node_pool", **arm_pool())
    oci_emulator.reset_counts()
    result = run_oci_module("node_pool", diff=True, **arm_pool(size=5, freeform_tags={"app": "llmops", "tier": "cpu"}))
    assert result["changed"] is True, result
    assert result["node_pool"]["id"] == created["node_pool"]["id"]
    assert result["node_pool"]["node_config_details"]["size"] == 5
    # the size change kept placement and pod networking
    assert result["node_pool"]["node_config_details"]["placement_configs"][0]["subnet_id"] == SUBNET_AD1
    assert result["node_pool"]["node_config_details"]["node_pool_pod_network_option_details"]["cni_type"] == (
        "OCI_VCN_IP_NATIVE")
    assert sorted(result["diff"]["after"]) == ["freeform_tags", "node_config_details"]
    assert result["diff"]["before"]["node_config_details"]["size"] == 3
    assert oci_emulator.calls["UpdateNodePool"] == 1
    assert oci_emulator.calls["CreateNodePool"] == 0
    assert len(live_pools(oci_emulator)) == 1


def test_check_mode_predicts_create_and_update_without_writes(run_oci_module, oci_emulator):
    predicted = run_oci_module("node_pool", check_mode=True, diff=True, **gpu_pool())
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == {}
    assert oci_emulator.write_calls() == 0
    assert live_pools(oci_emulator) == []

    run_oci_module("node_pool", **gpu_pool())
    oci_emulator.reset_counts()
    same = run_oci_module("node_pool", check_mode=True, **gpu_pool())
    assert same["changed"] is False
    changed = run_oci_module("node_pool", check_mode=True, diff=True, **gpu_pool(size=4))
    assert changed["changed"] is True
    assert changed["node_pool"]["node_config_details"]["size"] == 4
    assert changed["diff"]["after"] == {"node_config_details": {
        "size": 4, "nsg_ids": [NSG], "placement_configs": gpu_pool()["placement_configs"]}}
    assert oci_emulator.write_calls() == 0
    assert live_pools(oci_emulator)[0]["nodeConfigDetails"]["size"] == 2


def test_delete_and_delete_absent(run_oci_module, oci_emulator):
    run_oci_module("node_pool", **arm_pool())
    check = run_oci_module("node_pool", check_mode=True, state="absent", **arm_pool())
    assert check["changed"] is True and oci_emulator.calls["DeleteNodePool"] == 0
    gone = run_oci_module("node_pool", state="absent", **arm_pool())
    assert gone["changed"] is True, gone
    assert oci_emulator.calls["DeleteNodePool"] == 1
    assert live_pools(oci_emulator) == []
    again = run_oci_module("node_pool", state="absent", **arm_pool())
    assert again["changed"] is False
    assert oci_emulator.calls["DeleteNodePool"] == 1


def test_duplicate_names_fail_listing_both_ocids(run_oci_module, oci_emulator):
    first = run_oci_module("node_pool", **arm_pool())["node_pool"]["id"]
    twin = dict(oci_emulator.items("containerengine", "NodePool")[0], id="ocid1.nodepool.oc1.iad.aaaatwin1")
    oci_emulator.put("containerengine", "NodePool", twin)
    result = run_oci_module("node_pool", **arm_pool(size=9))
    assert result["failed"] is True
    assert first in result["msg"] and "ocid1.nodepool.oc1.iad.aaaatwin1" in result["msg"]
    assert oci_emulator.calls["UpdateNodePool"] == 0


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_transient_faults_are_retried_to_success(run_oci_module, oci_emulator, kind):
    oci_emulator.inject("CreateNodePool", kind, times=1, retry_after=0.2 if kind == "429" else None)
    oci_emulator.inject("ListNodePools", kind, times=1, retry_after=0.2 if kind == "429" else None)
    result = run_oci_module("node_pool", **arm_pool())
    assert result["changed"] is True, result
    assert oci_emulator.calls["CreateNodePool"] == 2
    assert oci_emulator.calls["ListNodePools"] >= 2
    assert len(live_pools(oci_emulator)) == 1


def test_validation_errors_are_not_retried(run_oci_module, oci_emulator):
    result = run_oci_module("node_pool", **gpu_pool(cluster_id="ocid1.cluster.oc1.iad.aaaaunknowncluster",
                                                    node_image_id=OKE_IMAGES[0][1]))
    assert result["failed"] is True
    # The unknown cluster is found by reading it first (a 404, not retried), no longer by a create OCI refuses.
    assert "404" in result["msg"] and "cluster_id names no cluster" in result["msg"]
    assert oci_emulator.calls["GetCluster"] == 1 and oci_emulator.calls["CreateNodePool"] == 0


def test_failed_work_request_reports_its_own_errors(run_oci_module, oci_emulator):
    oci_emulator.inject("CreateNodePool", "fail_work_request", messages=("Out of host capacity for VM.GPU.A10.1.",))
    result = run_oci_module("node_pool", **gpu_pool())
    assert result["failed"] is True
    assert "Out of host capacity for VM.GPU.A10.1." in result["msg"]
    assert "node pool 'gpu-a10'" in result["msg"] and result["work_request_id"] in result["msg"]


def test_timeout_names_ocid_work_request_and_last_state(run_oci_module, oci_emulator):
    run_oci_module("node_pool", **arm_pool())
    oci_emulator.inject("UpdateNodePool", "stall_work_request")
    result = run_oci_module("node_pool", **arm_pool(size=7, wait_timeout=1, wait_sleep=0.2))
    assert result["failed"] is True
    pool_id = live_pools(oci_emulator)[0]["id"]
    assert pool_id in result["msg"] and result["work_request_id"] in result["msg"]
    assert "IN_PROGRESS" in result["msg"]


def test_no_wait_returns_the_creating_pool(run_oci_module, oci_emulator):
    result = run_oci_module("node_pool", wait=False, **arm_pool())
    assert result["changed"] is True
    assert oci_emulator.calls["GetWorkRequest"] == 0
    assert result["node_pool"]["lifecycle_state"] == "CREATING"


def test_cni_change_is_refused_unless_force_replace(run_oci_module, oci_emulator):
    first = run_oci_module("node_pool", **arm_pool())["node_pool"]["id"]
    flannel = arm_pool(pod_network_options={"cni_type": "FLANNEL_OVERLAY"})
    oci_emulator.reset_counts()
    refused = run_oci_module("node_pool", **flannel)
    assert refused["failed"] is True
    assert "node_config_details.node_pool_pod_network_option_details.cni_type" in refused["msg"]
    assert "force_replace" in refused["msg"]
    assert oci_emulator.write_calls() == 0
    oci_emulator.reset_counts()
    predicted = run_oci_module("node_pool", check_mode=True, force_replace=True, **flannel)
    assert predicted["changed"] is True and predicted["replaced"] is True
    assert oci_emulator.write_calls() == 0
    replaced = run_oci_module("node_pool", force_replace=True, **flannel)
    assert replaced["changed"] is True and replaced["replaced"] is True, replaced
    assert replaced["node_pool"]["id"] != first
    assert len(live_pools(oci_emulator)) == 1


def test_kubernetes_upgrade_moves_to_the_matching_image(run_oci_module, oci_emulator):
    run_oci_module("node_pool", **gpu_pool(kubernetes_version="v1.30.1"))
    result = run_oci_module("node_pool", **gpu_pool(kubernetes_version="v1.31.1"))
    assert result["changed"] is True, result
    assert result["node_pool"]["node_source_details"]["image_id"] == dict(OKE_IMAGES)[
        "Oracle-Linux-8.10-Gpu-2025.02.28-0-OKE-1.31.1-800"]


def test_pagination_finds_pools_beyond_the_first_page(run_oci_module, oci_emulator):
    for index in range(3):
        run_oci_module("node_pool", **arm_pool(name=f"pool-{index}"))
    oci_emulator.max_page_size = 1
    oci_emulator.reset_counts()
    result = run_oci_module("node_pool_info", compartment_id=FIXTURE_COMPARTMENT_ID, cluster_id=FIXTURE_CLUSTER_ID)
    assert sorted(pool["name"] for pool in result["node_pools"]) == ["pool-0", "pool-1", "pool-2"]
    assert oci_emulator.calls["ListNodePools"] == 3


def test_encrypted_key_with_pass_phrase_is_not_logged(run_oci_module, oci_emulator, oci_test_identity):
    from oci_emulator.fixtures import TEST_PASS_PHRASE

    result = run_oci_module("node_pool", config_profile_name="ENCRYPTED", api_user_key_pass_phrase=TEST_PASS_PHRASE,
                            **arm_pool())
    assert result["changed"] is True, result
    assert TEST_PASS_PHRASE not in repr(result)


BAD_INPUT = [
    ({"node_shape_config": {"ocpus": 2}}, "applies only to flexible shapes"),
    ({"compartment_id": "not-an-ocid"}, "compartment_id must be an OCID"),
    ({"cluster_id": "ocid1.subnet.oc1.iad.aaaaaaaa1"}, "cluster_id must be an OCID of type cluster"),
    ({"node_image_id": "ami-123"}, "node_image_id must be an OCID"),
    ({"size": -1}, "size must be 0 or more"),
    ({"boot_volume_size_in_gbs": 10}, "boot_volume_size_in_gbs must be at least 50"),
    ({"kubernetes_version": "1.31"}, "kubernetes_version must look like"),
    ({"nsg_ids": ["sg-1"]}, "nsg_ids must be an OCID of type networksecuritygroup"),
    ({"placement_configs": [{"availability_domain": "AD-1", "subnet_id": "subnet-1"}]}, "OCID of type subnet"),
    ({"placement_configs": [{"availability_domain": "AD-1", "subnet_id": SUBNET_AD1, "fault_domains": ["FD-9"]}]},
     "fault_domains"),
    ({"pod_network_options": {"cni_type": "FLANNEL_OVERLAY", "max_pods_per_node": 10}}, "apply only to cni_type"),
    ({"pod_network_options": {"cni_type": "OCI_VCN_IP_NATIVE"}}, "pod_subnet_ids is required"),
    ({"node_shape": "VM.Standard.E4.Flex"}, "ocpus is required for the flexible shape"),
    ({"compartment_id": None}, "missing required arguments: compartment_id"),
    ({"unknown_option": 1}, "Unsupported parameters"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT, ids=[m for _o, m in BAD_INPUT])
def test_bad_input_fails_before_any_api_call(run_oci_module, oci_emulator, overrides, message):
    options = {key: value for key, value in {**gpu_pool(), **overrides}.items() if value is not None}
    result = run_oci_module("node_pool", **options)
    assert result["failed"] is True
    assert message in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


IN_PLACE_CHANGES = [
    ({"initial_node_labels": {"llmops.oke/pool": "gpu", "nvidia.com/gpu": "true"}}, "initial_node_labels"),
    ({"ssh_public_key": "ssh-ed25519 BBBB other@example"}, "ssh_public_key"),
    ({"user_data": "#cloud-config\nruncmd: [echo bye]\n"}, "node_metadata"),
    ({"node_cycling": {"is_node_cycling_enabled": True, "maximum_surge": "2"}}, "node_pool_cycling_details"),
    ({"node_eviction": {"eviction_grace_duration": "PT30M"}}, "node_eviction_node_pool_settings"),
    ({"nsg_ids": []}, "node_config_details"),
    ({"placement_configs": [{"availability_domain": "Uocm:US-ASHBURN-AD-3", "subnet_id": SUBNET_AD1,
                             "fault_domains": ["FAULT-DOMAIN-3"]}]}, "node_config_details"),
    ({"boot_volume_size_in_gbs": 300}, "node_source_details"),
    ({"node_image_id": OKE_IMAGES[0][1]}, "node_source_details"),
    ({"freeform_tags": {}}, "freeform_tags"),
    ({"defined_tags": {"ops": {"team": "ml"}}}, "defined_tags"),
    ({"name": "gpu-a10"}, None),
]


@pytest.mark.parametrize(("change", "field"), IN_PLACE_CHANGES, ids=[str(f) for _c, f in IN_PLACE_CHANGES])
def test_each_attribute_updates_in_place_and_converges(run_oci_module, oci_emulator, change, field):
    created = run_oci_module("node_pool", **gpu_pool())["node_pool"]
    oci_emulator.reset_counts()
    predicted = run_oci_module("node_pool", check_mode=True, diff=True, **gpu_pool(**change))
    assert oci_emulator.write_calls() == 0
    result = run_oci_module("node_pool", diff=True, **gpu_pool(**change))
    assert result["changed"] is (field is not None), result
    assert predicted["changed"] is result["changed"]
    if field is not None:
        assert list(result["diff"]["after"]) == [field]
        assert predicted["diff"] == result["diff"]
        assert oci_emulator.calls["UpdateNodePool"] == 1
    assert oci_emulator.calls["CreateNodePool"] == 0 and oci_emulator.calls["DeleteNodePool"] == 0
    assert result["node_pool"]["id"] == created["id"]
    again = run_oci_module("node_pool", **gpu_pool(**change))
    assert again["changed"] is False, again


def test_slow_answers_are_waited_for(run_oci_module, oci_emulator):
    oci_emulator.inject("ListNodePools", "slow", delay_s=1.0)
    oci_emulator.inject("GetWorkRequest", "slow", delay_s=0.5)
    result = run_oci_module("node_pool", **arm_pool())
    assert result["changed"] is True, result
    assert oci_emulator.calls["ListNodePools"] == 1


def test_size_managed_by_autoscaler_is_only_used_to_create(run_oci_module, oci_emulator):
    created = run_oci_module("node_pool", size_managed_by_autoscaler=True, **arm_pool(size=1))
    assert created["node_pool"]["node_config_details"]["size"] == 1
    pool = oci_emulator.items("containerengine", "NodePool")[0]
    pool["nodeConfigDetails"]["size"] = 4  # the autoscaler scaled it out
    oci_emulator.put("containerengine", "NodePool", pool)
    oci_emulator.reset_counts()
    rerun = run_oci_module("node_pool", size_managed_by_autoscaler=True, **arm_pool(size=1))
    assert rerun["changed"] is False and oci_emulator.write_calls() == 0
    other_change = run_oci_module("node_pool", size_managed_by_autoscaler=True,
                                  **arm_pool(size=1, freeform_tags={"a": "b"}))
    assert other_change["changed"] is True
    assert other_change["node_pool"]["node_config_details"]["size"] == 4
    fixed = run_oci_module("node_pool", **arm_pool(size=1))
    assert fixed["changed"] is True and fixed["node_pool"]["node_config_details"]["size"] == 1


def test_created_pool_is_read_back_by_its_own_entity_type(run_oci_module, oci_emulator):
    # The work request also lists the cluster (UPDATED) and a node instance (CREATED) before... or after the pool:
    # the read-back must take the node pool's identifier, not the first CREATED entry of any type.
    oci_emulator.switch_on("work_request_several_entities")
    result = run_oci_module("node_pool", **gpu_pool())
    assert result.get("failed") is not True, result
    assert result["node_pool"]["id"].startswith("ocid1.nodepool.")
    assert oci_emulator.calls["GetNodePool"] == 1 and oci_emulator.calls.get("ListNodePools", 0) == 1


def test_write_while_the_pool_is_updating_waits_and_retries(run_oci_module, oci_emulator):
    """OKE answers 409 while another operation (the autoscaler's resize) runs: wait for ACTIVE, then update."""
    assert run_oci_module("node_pool", **gpu_pool()).get("failed") is not True
    oci_emulator.action_resize_node_pool(name="gpu-a10", size=2, busy_polls=3)
    result = run_oci_module("node_pool", **gpu_pool(initial_node_labels={"llmops.oke/pool": "gpu2"}))
    assert result.get("failed") is not True, result
    assert result["changed"] is True and oci_emulator.calls["UpdateNodePool"] == 2  # 409, then accepted
    assert live_pools(oci_emulator)[0]["initialNodeLabels"] == [{"key": "llmops.oke/pool", "value": "gpu2"}]


def test_a_pool_that_stays_busy_fails_naming_it_and_its_state(run_oci_module, oci_emulator):
    assert run_oci_module("node_pool", **gpu_pool()).get("failed") is not True
    oci_emulator.action_resize_node_pool(name="gpu-a10", size=2, busy_polls=10_000)
    result = run_oci_module("node_pool", **gpu_pool(size=3, wait_timeout=1))
    assert result["failed"] is True
    assert "node pool 'gpu-a10'" in result["msg"] and "stayed UPDATING" in result["msg"], result["msg"]


def test_a_409_on_a_settled_pool_is_reported_not_retried(run_oci_module, oci_emulator):
    assert run_oci_module("node_pool", **gpu_pool()).get("failed") is not True
    oci_emulator.inject(operation="UpdateNodePool", kind="409", times=5)
    result = run_oci_module("node_pool", **gpu_pool(size=3))
    assert result["failed"] is True and "409 Conflict" in result["msg"], result["msg"]
    assert oci_emulator.calls["UpdateNodePool"] == 1


def test_autoscaler_resize_between_runs_is_left_alone(run_oci_module, oci_emulator):
    assert run_oci_module("node_pool", **gpu_pool(size_managed_by_autoscaler=True)).get("failed") is not True
    oci_emulator.action_resize_node_pool(name="gpu-a10", size=3)
    oci_emulator.reset_counts()
    result = run_oci_module("node_pool", **gpu_pool(size_managed_by_autoscaler=True))
    assert result["changed"] is False and oci_emulator.write_calls() == 0
    assert result["node_pool"]["node_config_details"]["size"] == 3


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_create_without_shape_and_placement_fails_naming_both(run_oci_module, oci_emulator, check_mode):
    options = {key: value for key, value in gpu_pool().items() if key not in ("node_shape", "placement_configs")}
    result = run_oci_module("node_pool", check_mode=check_mode, **options)
    assert result["failed"] is True
    assert result["msg"] == (f"Cannot create node pool 'gpu-a10' in cluster {FIXTURE_CLUSTER_ID}: node_shape and "
                             "placement_configs are required to create a node pool.")
    assert oci_emulator.write_calls() == 0
    assert live_pools(oci_emulator) == []


MISSING_CLUSTER = "ocid1.cluster.oc1.iad.aaaaaaaanosuchcluster0001"


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_a_shape_the_node_pool_options_do_not_list_is_refused_before_any_write(
        run_oci_module, oci_emulator, check_mode):
    # GetNodePoolOptions lists the shapes OCI offers the cluster's node pools (NodePoolOptions.shapes).
    result = run_oci_module("node_pool", check_mode=check_mode, **gpu_pool(node_shape="VM.Nonsense.9"))
    assert result.get("failed") is True, result
    assert "node_shape VM.Nonsense.9 is not among the shapes OCI offers node pools of cluster" in result["msg"]
    assert "VM.GPU.A10.1" in result["msg"]  # the shapes it does offer are listed
    assert oci_emulator.calls["GetNodePoolOptions"] == 1
    assert oci_emulator.write_calls() == 0 and live_pools(oci_emulator) == []


def test_changing_to_an_unlisted_shape_is_refused_before_the_update(run_oci_module, oci_emulator):
    run_oci_module("node_pool", **gpu_pool())
    result = run_oci_module("node_pool", **gpu_pool(node_shape="VM.Nonsense.9"))
    assert result.get("failed") is True and "node_shape VM.Nonsense.9 is not among" in result["msg"], result
    assert oci_emulator.calls["UpdateNodePool"] == 0


def test_a_fixed_shape_the_options_list_is_created_without_shape_config(run_oci_module, oci_emulator):
    options = {key: value for key, value in arm_pool(node_shape="VM.Standard2.1").items() if key != "node_shape_config"}
    result = run_oci_module("node_pool", **options)
    assert result["changed"] is True and result["node_pool"]["node_shape"] == "VM.Standard2.1", result


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_a_cluster_that_does_not_exist_is_refused_after_a_read(run_oci_module, oci_emulator, check_mode):
    result = run_oci_module("node_pool", check_mode=check_mode, **gpu_pool(cluster_id=MISSING_CLUSTER))
    assert result.get("failed") is True, result
    assert result["msg"].startswith(f"Cannot create node pool 'gpu-a10' in cluster {MISSING_CLUSTER}: cluster_id "
                                    f"names no cluster OCI knows (GetCluster answered 404")
    assert oci_emulator.calls["GetCluster"] == 1
    assert oci_emulator.write_calls() == 0 and oci_emulator.calls["CreateNodePool"] == 0
