"""Verify the offline OKE path: the emulator holds the provisioned topology, and the rendered stack is valid."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import oci

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "tests"))
import k8s_support  # noqa: E402

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaafixturecompartment0001"
CLUSTER = "ocid1.cluster.oc1.iad.aaaaaaaafixturecluster0001"
RENDERED = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "rendered"


def _client(client_class):
    config = oci.config.from_file(os.environ["OCI_CONFIG_FILE"])
    return client_class(config, service_endpoint=os.environ["OCI_API_ENDPOINT"])


def test_node_pools_carry_the_placement_labels() -> None:
    pools = _client(oci.container_engine.ContainerEngineClient).list_node_pools(
        compartment_id=COMPARTMENT, cluster_id=CLUSTER).data
    labels = {pool.name: {label.key: label.value for label in pool.initial_node_labels}
              for pool in pools if pool.lifecycle_state != "DELETED"}
    assert labels == {"gpu-a10": {"llmops.oke/pool": "gpu-a10"}, "cpu-a1": {"llmops.oke/pool": "cpu-a1"},
                      "system": {"llmops.oke/pool": "system"}}


def test_gateway_has_a_deployment_per_backend() -> None:
    deployments = _client(oci.apigateway.DeploymentClient).list_deployments(compartment_id=COMPARTMENT).data.items
    assert sorted(d.path_prefix for d in deployments if d.lifecycle_state == "ACTIVE") == ["/llama-cpp", "/vllm"]


def test_rendered_stack_is_valid() -> None:
    names = {p.name for p in RENDERED.glob("*.yaml")}
    assert {"vllm.yaml", "llama-cpp.yaml"} <= names, names
    documents = [doc for path in sorted(RENDERED.glob("*.yaml")) for doc in k8s_support.load_documents(path)]
    kinds = {doc["kind"] for doc in documents}
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds, kinds
    k8s_support.assert_valid(documents, extra_kinds={"ServiceMonitor", "PodMonitor", "ScaledObject"})
    assert list((RENDERED / "helm").glob("*.values.yaml")), "no Helm values were rendered"


def test_the_tenancy_side_is_in_place() -> None:
    """Issue 25: the network path, three tenants each with its own key (0600 file and Vault secret), and IAM."""
    network = _client(oci.core.VirtualNetworkClient)
    (nsg,) = [g for g in network.list_network_security_groups(compartment_id=COMPARTMENT).data
              if g.lifecycle_state == "AVAILABLE"]
    rules = network.list_network_security_group_security_rules(nsg.id).data
    assert sorted((r.source, r.tcp_options.destination_port_range.min) for r in rules) == [
        ("10.0.3.0/24", 8000), ("10.0.3.0/24", 8080)]
    subscribers = _client(oci.apigateway.SubscribersClient).list_subscribers(compartment_id=COMPARTMENT).data.items
    live = sorted(s.display_name for s in subscribers if s.lifecycle_state == "ACTIVE")
    assert [name for name in live if "tenant" in name] == [
        "llmops-gateway-tenant-team-a", "llmops-gateway-tenant-team-b", "llmops-gateway-tenant-team-c"], live
    keys = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "tenant_keys"
    assert sorted(p.name for p in keys.iterdir()) == ["team-a", "team-b", "team-c"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in keys.iterdir())
    secrets = _client(oci.vault.VaultsClient).list_secrets(compartment_id=COMPARTMENT).data
    assert sorted(s.secret_name for s in secrets if s.lifecycle_state == "ACTIVE") == [
        "llmops-gateway-tenant-team-a", "llmops-gateway-tenant-team-b", "llmops-gateway-tenant-team-c"]
    identity = _client(oci.identity.IdentityClient)
    tenancy = oci.config.from_file(os.environ["OCI_CONFIG_FILE"])["tenancy"]
    policies = {p.name for compartment in (COMPARTMENT, tenancy)
                for p in identity.list_policies(compartment_id=compartment).data}
    assert {"llmops-cluster-autoscaler", "llmops-grafana-metrics"} <= policies, policies
