"""The observe stage against a real OKE cluster (skipped unless LLMOPS_KUBECONFIG names a kubeconfig).

Needs the helm binary on PATH and cluster-admin rights; deploys Prometheus, prometheus-adapter, Grafana and
OpenCost, then checks that the custom metrics API serves the queue metric the vLLM HPA reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]
REPO_ROOT = Path(__file__).resolve().parents[2]
KUBECONFIG = os.environ.get("LLMOPS_KUBECONFIG", "")


@pytest.fixture(scope="module")
def kubeconfig() -> str:
    if not KUBECONFIG:
        pytest.skip("LLMOPS_KUBECONFIG is not set: no Kubernetes cluster to deploy the observe stage to")
    if not shutil.which("helm"):
        pytest.skip("the helm binary is not on PATH: kubernetes.core.helm needs it")
    return KUBECONFIG


def test_observe_stage_deploys_and_serves_the_queue_metric(kubeconfig: str) -> None:
    playbook = [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO_ROOT / "playbooks" / "observe.yml"),
                "-i", str(REPO_ROOT / "inventories" / "oke"), "-e", json.dumps({"llmops_kubeconfig": kubeconfig})]
    result = subprocess.run(playbook, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]

    from kubernetes import client, config

    config.load_kube_config(config_file=kubeconfig)
    hpa = client.AutoscalingV2Api().read_namespaced_horizontal_pod_autoscaler("vllm", "llmops")
    assert hpa.spec.metrics[0].pods.metric.name == "vllm_num_requests_waiting"
    api = client.ApiClient()
    deadline = time.monotonic() + 300
    names: set[str] = set()
    while time.monotonic() < deadline:
        response = api.call_api("/apis/custom.metrics.k8s.io/v1beta1", "GET", response_type="object",
                                auth_settings=["BearerToken"], _return_http_data_only=True)
        names = {resource["name"] for resource in response.get("resources", [])}
        if "pods/vllm_num_requests_waiting" in names:
            break
        time.sleep(15)
    assert "pods/vllm_num_requests_waiting" in names, sorted(names)
