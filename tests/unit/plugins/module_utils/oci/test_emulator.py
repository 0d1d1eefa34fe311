"""The OCI emulator itself, driven by the real oci SDK: signatures, model validation, paging, work requests."""

from __future__ import annotations

import time

import oci
import oci.container_engine.models as ce_models
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oci_emulator import FIXTURE_CLUSTER_ID, FIXTURE_COMPARTMENT_ID, OTHER_COMPARTMENT_ID

SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaasubnet1"


def client_for(oci_test_identity, oci_emulator, key_file=None):
    config = oci.config.from_file(str(oci_test_identity.config_file))
    if key_file:
        config["key_file"] = str(key_file)
    return oci.container_engine.ContainerEngineClient(
        config, service_endpoint=oci_emulator.endpoint, retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy())


@pytest.fixture
def client(oci_test_identity, oci_emulator):
    return client_for(oci_test_identity, oci_emulator)


def pool_details(name="p", compartment=FIXTURE_COMPARTMENT_ID, **extra):
    return ce_models.CreateNodePoolDetails(
        compartment_id=compartment, cluster_id=FIXTURE_CLUSTER_ID, name=name, kubernetes_version="v1.31.1",
        node_shape="VM.Standard.E4.Flex", node_shape_config=ce_models.CreateNodeShapeConfigDetails(ocpus=1),
        node_config_details=ce_models.CreateNodePoolNodeConfigDetails(size=1, placement_configs=[
            ce_models.NodePoolPlacementConfigDetails(availability_domain="AD-1", subnet_id=SUBNET)]),
        **extra)


def test_requests_signed_with_another_key_are_rejected(oci_test_identity, oci_emulator, tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client_for(oci_test_identity, oci_emulator, other).get_cluster(FIXTURE_CLUSTER_ID)
    assert raised.value.status == 401
    assert oci_emulator.rejected_signatures == 1


def test_body_is_validated_against_the_sdk_model(client, oci_emulator):
    with pytest.raises(oci.exceptions.ServiceError) as unknown:
        client.base_client.call_api(
            resource_path="/nodePools", method="POST", header_params={"content-type": "application/json"},
            body={"compartmentId": FIXTURE_COMPARTMENT_ID, "clusterId": FIXTURE_CLUSTER_ID, "name": "x",
                  "nodeShape": "VM.Standard2.1", "nodeColour": "red"})
    assert unknown.value.status == 400 and unknown.value.code == "InvalidParameter"
    assert "nodeColour is not a known field" in unknown.value.message
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        client.base_client.call_api(resource_path="/nodePools", method="POST",
                                    header_params={"content-type": "application/json"},
                                    body={"compartmentId": FIXTURE_COMPARTMENT_ID, "name": "x"})
    assert "clusterId is required" in missing.value.message and "nodeShape is required" in missing.value.message
    with pytest.raises(oci.exceptions.ServiceError) as typed:
        client.base_client.call_api(resource_path="/nodePools", method="POST",
                                    header_params={"content-type": "application/json"},
                                    body={"compartmentId": FIXTURE_COMPARTMENT_ID, "clusterId": FIXTURE_CLUSTER_ID,
                                          "name": "x", "nodeShape": "s", "nodeConfigDetails": {"size": "two"}})
    assert "nodeConfigDetails.size must be of type int" in typed.value.message
    assert oci_emulator.items("containerengine", "NodePool") == []


def test_work_requests_advance_per_poll_and_state_is_per_compartment(client, oci_emulator):
    created = client.create_node_pool(pool_details())
    work_request_id = created.headers["opc-work-request-id"]
    statuses = [client.get_work_request(work_request_id).data.status for _poll in range(3)]
    assert statuses == ["IN_PROGRESS", "SUCCEEDED", "SUCCEEDED"]
    client.create_node_pool(pool_details(name="q", compartment=OTHER_COMPARTMENT_ID))
    mine = client.list_node_pools(FIXTURE_COMPARTMENT_ID).data
    assert [pool.name for pool in mine] == ["p"] and mine[0].lifecycle_state == "ACTIVE"
    other = client.list_node_pools(OTHER_COMPARTMENT_ID).data
    assert [pool.name for pool in other] == ["q"] and other[0].lifecycle_state == "CREATING"


def test_pagination_and_limit(client, oci_emulator):
    for index in range(5):
        client.create_node_pool(pool_details(name=f"p{index}"))
    first = client.list_node_pools(FIXTURE_COMPARTMENT_ID, limit=2)
    assert len(first.data) == 2 and first.has_next_page
    pages = oci.pagination.list_call_get_all_results(client.list_node_pools, FIXTURE_COMPARTMENT_ID, limit=2)
    assert sorted(pool.name for pool in pages.data) == [f"p{i}" for i in range(5)]
    assert oci_emulator.calls["ListNodePools"] == 4


def test_faults_counts_and_retry_tokens(client, oci_emulator):
    oci_emulator.inject("GetCluster", "429", retry_after=7)
    oci_emulator.inject("GetCluster", "500")
    with pytest.raises(oci.exceptions.ServiceError) as throttled:
        client.get_cluster(FIXTURE_CLUSTER_ID)
    assert throttled.value.status == 429 and throttled.value.headers["retry-after"] == "7"
    with pytest.raises(oci.exceptions.ServiceError) as broken:
        client.get_cluster(FIXTURE_CLUSTER_ID)
    assert broken.value.status == 500
    assert client.get_cluster(FIXTURE_CLUSTER_ID).data.name == "llmops"
    assert oci_emulator.calls["GetCluster"] == 3
    oci_emulator.inject("GetCluster", "slow", delay_s=0.3)
    started = time.monotonic()
    client.get_cluster(FIXTURE_CLUSTER_ID)
    assert time.monotonic() - started >= 0.3
    first = client.create_node_pool(pool_details(), opc_retry_token="token-1")
    again = client.create_node_pool(pool_details(), opc_retry_token="token-1")
    assert first.headers["opc-work-request-id"] == again.headers["opc-work-request-id"]
    assert len(oci_emulator.items("containerengine", "NodePool")) == 1
    assert oci_emulator.write_calls() == 2


def test_failed_work_request_exposes_errors(client, oci_emulator):
    oci_emulator.inject("CreateNodePool", "fail_work_request", messages=("capacity",))
    work_request_id = client.create_node_pool(pool_details()).headers["opc-work-request-id"]
    assert [client.get_work_request(work_request_id).data.status for _poll in range(2)] == ["IN_PROGRESS", "FAILED"]
    errors = client.list_work_request_errors(FIXTURE_COMPARTMENT_ID, work_request_id).data
    assert [error.message for error in errors] == ["capacity"]
    assert oci_emulator.items("containerengine", "NodePool")[0]["lifecycleState"] == "FAILED"


def test_standalone_process_with_control_api(tmp_path):
    """The emulator as a separate process, as playbook runs and benchmarks use it."""
    import json
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[4] / "fixtures"
    process = subprocess.Popen([sys.executable, "-m", "oci_emulator", str(tmp_path)], cwd=fixtures,
                               stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(process.stdout.readline())
        config = oci.config.from_file(info["config_file"])
        client = oci.container_engine.ContainerEngineClient(
            config, service_endpoint=info["endpoint"], retry_strategy=oci.retry.NoneRetryStrategy())
        request = urllib.request.Request(f"{info['endpoint']}/_emulator/faults", method="POST",
                                         data=json.dumps({"operation": "GetCluster", "kind": "503"}).encode())
        urllib.request.urlopen(request, timeout=10).close()
        with pytest.raises(oci.exceptions.ServiceError):
            client.get_cluster(FIXTURE_CLUSTER_ID)
        assert client.get_cluster(FIXTURE_CLUSTER_ID).data.id == FIXTURE_CLUSTER_ID
        with urllib.request.urlopen(f"{info['endpoint']}/_emulator/calls", timeout=10) as response:
            counts = json.loads(response.read())
        assert counts["calls"] == {"GetCluster": 2} and counts["write_calls"] == 0
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_seeded_child_resources_are_found_under_their_parent(client, oci_emulator):
    oci_emulator.put("containerengine", "Addon", {
        "name": "CertManager", "version": "v1", "lifecycleState": "ACTIVE", "configurations": [],
        "_parent": {"clusterId": FIXTURE_CLUSTER_ID}})
    assert client.get_addon(FIXTURE_CLUSTER_ID, "CertManager").data.version == "v1"
    assert [addon.name for addon in client.list_addons(FIXTURE_CLUSTER_ID).data] == ["CertManager"]
