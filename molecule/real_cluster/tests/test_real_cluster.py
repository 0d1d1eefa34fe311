"""On a real cluster: the model servers roll out, and HPAs read their queue metric through the adapter."""

from __future__ import annotations

import os

import pytest

kubernetes = pytest.importorskip("kubernetes")

if not os.environ.get("LLMOPS_KUBECONFIG"):
    pytest.skip("LLMOPS_KUBECONFIG is not set: no cluster to verify", allow_module_level=True)


@pytest.fixture(scope="module")
def api_client():
    return kubernetes.config.new_client_from_config(config_file=os.environ["LLMOPS_KUBECONFIG"])


@pytest.mark.parametrize("name", ["vllm", "llama-cpp"])
def test_model_server_is_available(api_client, name: str) -> None:
    deployment = kubernetes.client.AppsV1Api(api_client).read_namespaced_deployment(name, "llmops")
    assert (deployment.status.available_replicas or 0) >= 1


@pytest.mark.parametrize("name", ["vllm", "llama-cpp"])
def test_hpa_reads_its_metric(api_client, name: str) -> None:
    hpa = kubernetes.client.AutoscalingV2Api(api_client).read_namespaced_horizontal_pod_autoscaler(name, "llmops")
    assert hpa.status.current_metrics, f"HPA {name} has no current metric: is prometheus-adapter serving it?"
