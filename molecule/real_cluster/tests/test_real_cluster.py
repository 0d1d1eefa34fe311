"""On a real cluster: the model servers roll out, HPAs read their queue metric through the adapter, and the
benchmark's Kubernetes runner brings a Job's results back to the controller."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

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


def test_benchmark_job_results_came_back() -> None:
    results = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "results"
    summary = json.loads((results / "real-cluster-job" / "summary.json").read_text())
    assert summary["status"] == "complete" and [lv["label"] for lv in summary["levels"]] == ["c1", "c2"]
    galaxy = yaml.safe_load((Path(__file__).resolve().parents[3] / "galaxy.yml").read_text())
    assert summary["metadata"]["collection_version"] == galaxy["version"]
    # the pod wrote its progress lines (what the wait printed) into the log kept beside the run folder
    log = (results / "real-cluster-job.job.log").read_text()
    assert "[c2] 8/8 done" in log and "(level done)" in log
