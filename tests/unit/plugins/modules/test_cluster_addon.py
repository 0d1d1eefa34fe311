"""cluster_addon against the OCI emulator: the cluster autoscaler lifecycle, faults and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from oci_emulator import FIXTURE_CLUSTER_ID

GPU_POOL = "ocid1.nodepool.oc1.iad.aaaaaaaagpupool1"
ARM_POOL = "ocid1.nodepool.oc1.iad.aaaaaaaaarmpool1"


def autoscaler(**overrides: Any) -> dict[str, Any]:
    options = {
        "cluster_id": FIXTURE_CLUSTER_ID,
        "addon_name": "ClusterAutoscaler",
        "autoscaler_node_pools": [{"node_pool_id": GPU_POOL, "min": 1, "max": 4},
                                  {"node_pool_id": ARM_POOL, "min": 1, "max": 6}],
        "configurations": {"authType": "workload", "scaleDownDelayAfterAdd": "10m", "balanceSimilarNodeGroups": True},
        "wait_sleep": 0.01,
    }
    options.update(overrides)
    return options


def stored_config(emulator) -> dict[str, str]:
    addons = [a for a in emulator.items("containerengine", "Addon") if a["lifecycleState"] != "DELETED"]
    assert len(addons) == 1
    return {pair["key"]: pair["value"] for pair in addons[0]["configurations"]}


def test_enable_autoscaler_renders_nodes_and_tuning(run_oci_module, oci_emulator):
    result = run_oci_module("cluster_addon", **autoscaler())
    assert result["changed"] is True, result
    assert result["addon"]["lifecycle_state"] == "ACTIVE"
    assert stored_config(oci_emulator) == {
        "nodes": f"1:4:{GPU_POOL},1:6:{ARM_POOL}",
        "authType": "workload",
        "scaleDownDelayAfterAdd": "10m",
        "balanceSimilarNodeGroups": "true",
    }
    assert oci_emulator.calls["InstallAddon"] == 1


def test_rerun_is_a_no_op_with_one_read(run_oci_module, oci_emulator):
    run_oci_module("cluster_addon", **autoscaler())
    oci_emulator.reset_counts()
    result = run_oci_module("cluster_addon", **autoscaler())
    assert result["changed"] is False, result
    assert dict(oci_emulator.calls) == {"GetAddon": 1}


def test_update_bounds_keeps_other_keys_and_check_mode_predicts(run_oci_module, oci_emulator):
    run_oci_module("cluster_addon", **autoscaler())
    oci_emulator.reset_counts()
    new_pools = [{"node_pool_id": GPU_POOL, "min": 0, "max": 8}]
    predicted = run_oci_module("cluster_addon", check_mode=True, diff=True,
                               **autoscaler(autoscaler_node_pools=new_pools, configurations=None))
    assert predicted["changed"] is True
    assert predicted["diff"] == {"before": {"configurations": {"nodes": f"1:4:{GPU_POOL},1:6:{ARM_POOL}"}},
                                 "after": {"configurations": {"nodes": f"0:8:{GPU_POOL}"}}}
    assert oci_emulator.write_calls() == 0
    result = run_oci_module("cluster_addon", **autoscaler(autoscaler_node_pools=new_pools, configurations=None))
    assert result["changed"] is True
    assert oci_emulator.calls["UpdateAddon"] == 1
    config = stored_config(oci_emulator)
    assert config["nodes"] == f"0:8:{GPU_POOL}" and config["authType"] == "workload"
    assert {pair["key"]: pair["value"] for pair in predicted["addon"]["configurations"]} == config


def test_disable_and_disable_absent(run_oci_module, oci_emulator):
    run_oci_module("cluster_addon", **autoscaler())
    checked = run_oci_module("cluster_addon", check_mode=True, state="absent", **autoscaler())
    assert checked["changed"] is True and oci_emulator.calls["DisableAddon"] == 0
    result = run_oci_module("cluster_addon", state="absent", **autoscaler())
    assert result["changed"] is True and oci_emulator.calls["DisableAddon"] == 1
    again = run_oci_module("cluster_addon", state="absent", **autoscaler())
    assert again["changed"] is False
    reinstalled = run_oci_module("cluster_addon", **autoscaler())
    assert reinstalled["changed"] is True and oci_emulator.calls["InstallAddon"] == 2


def test_faults_are_retried_and_failed_work_request_is_reported(run_oci_module, oci_emulator):
    oci_emulator.inject("GetAddon", "503")
    oci_emulator.inject("InstallAddon", "429", retry_after=0.1)
    oci_emulator.inject("InstallAddon", "fail_work_request", messages=("nodes references a missing node pool",))
    result = run_oci_module("cluster_addon", **autoscaler())
    assert result["failed"] is True
    assert "nodes references a missing node pool" in result["msg"]
    assert "add-on 'ClusterAutoscaler'" in result["msg"]
    assert oci_emulator.calls["InstallAddon"] == 2


def test_timeout_names_work_request_and_state(run_oci_module, oci_emulator):
    oci_emulator.inject("InstallAddon", "stall_work_request")
    result = run_oci_module("cluster_addon", **autoscaler(wait_timeout=1, wait_sleep=0.2))
    assert result["failed"] is True
    assert result["work_request_id"] in result["msg"] and "IN_PROGRESS" in result["msg"]


def test_unknown_cluster_is_a_clear_error(run_oci_module, oci_emulator):
    result = run_oci_module("cluster_addon", **autoscaler(cluster_id="ocid1.cluster.oc1.iad.aaaamissing"))
    assert result["failed"] is True
    assert "404" in result["msg"] and "ocid1.cluster.oc1.iad.aaaamissing" in result["msg"]
    # Refused after reading the cluster, not by sending the install (issue 25).
    assert oci_emulator.calls["GetCluster"] == 1 and oci_emulator.calls["InstallAddon"] == 0


BAD_INPUT = [
    ({"cluster_id": "cluster-1"}, "cluster_id must be an OCID"),
    ({"autoscaler_node_pools": [{"node_pool_id": "np-1", "min": 1, "max": 2}]}, "OCID of type nodepool"),
    ({"autoscaler_node_pools": [{"node_pool_id": GPU_POOL, "min": -1, "max": 2}]}, "min must be 0 or more"),
    ({"autoscaler_node_pools": [{"node_pool_id": GPU_POOL, "min": 3, "max": 2}]}, "max must be at least min"),
    ({"autoscaler_node_pools": [{"node_pool_id": GPU_POOL, "min": 1, "max": 2}] * 2}, "twice"),
    ({"addon_name": "CertManager"}, "applies only to addon_name ClusterAutoscaler"),
    ({"configurations": {"nodes": "1:2:x"}}, "not both"),
    ({"autoscaler_node_pools": None, "configurations": {"nodes": "1-2"}}, "must be min:max:<node pool OCID>"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT, ids=[m for _o, m in BAD_INPUT])
def test_bad_input_fails_before_any_api_call(run_oci_module, oci_emulator, overrides, message):
    options = {key: value for key, value in autoscaler(**overrides).items() if value is not None}
    result = run_oci_module("cluster_addon", **options)
    assert result["failed"] is True
    assert message in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


MISSING_CLUSTER = "ocid1.cluster.oc1.iad.aaaaaaaanosuchcluster0001"


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_an_addon_the_cluster_is_not_offered_is_refused_before_any_write(run_oci_module, oci_emulator, check_mode):
    # ListAddonOptions lists the add-ons OCI offers for the cluster's Kubernetes version.
    result = run_oci_module("cluster_addon", check_mode=check_mode,
                            **autoscaler(addon_name="NoSuchAddon", autoscaler_node_pools=None))
    assert result.get("failed") is True, result
    assert "addon_name NoSuchAddon is not among the add-ons OCI offers for Kubernetes v1.31.1" in result["msg"]
    assert "ClusterAutoscaler" in result["msg"]
    assert oci_emulator.calls["ListAddonOptions"] == 1 and oci_emulator.write_calls() == 0


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_a_cluster_that_does_not_exist_is_refused_after_a_read(run_oci_module, oci_emulator, check_mode):
    result = run_oci_module("cluster_addon", check_mode=check_mode, **autoscaler(cluster_id=MISSING_CLUSTER))
    assert result.get("failed") is True, result
    assert result["msg"].startswith(f"Cannot create add-on 'ClusterAutoscaler' of cluster {MISSING_CLUSTER}: "
                                    "cluster_id names no cluster OCI knows (GetCluster answered 404")
    assert oci_emulator.calls["GetCluster"] == 1 and oci_emulator.write_calls() == 0
