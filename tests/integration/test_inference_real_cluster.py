"""The inference roles against a real Kubernetes cluster (skipped unless LLMOPS_KUBECONFIG names a kubeconfig).

llama_cpp needs an arm64 node carrying the A1 pool label/taint (or set LLMOPS_LLAMA_CPP_VARS to a JSON object
of role variables that matches your nodes) and a small GGUF: LLMOPS_TEST_GGUF_URL + LLMOPS_TEST_GGUF_SHA256.
vLLM needs a GPU node and runs only with LLMOPS_TEST_VLLM=1 (LLMOPS_VLLM_VARS adds role variables).
Each test applies its role (server-side apply, waits for the rollout), checks the Deployment is available and
both Services exist, then deletes what it applied.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow, pytest.mark.timeout(3600)]
REPO_ROOT = Path(__file__).resolve().parents[2]
KUBECONFIG = os.environ.get("LLMOPS_KUBECONFIG", "")
NAMESPACE = os.environ.get("LLMOPS_TEST_NAMESPACE", "llmops-test")


@pytest.fixture(scope="module")
def kubeconfig() -> str:
    if not KUBECONFIG:
        pytest.skip("LLMOPS_KUBECONFIG is not set: no Kubernetes cluster to deploy the inference roles to")
    from kubernetes import client, config

    config.load_kube_config(config_file=KUBECONFIG)
    core = client.CoreV1Api()
    if NAMESPACE not in {ns.metadata.name for ns in core.list_namespace().items}:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    return KUBECONFIG


def _play(tmp_path: Path, role: str, variables: dict[str, Any]) -> None:
    playbook = tmp_path / f"{role}.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        f"    - ansible.builtin.include_role:\n        name: llmops.oke.{role}\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", json.dumps({"llmops_kubeconfig": KUBECONFIG, **variables})],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=3000, check=False,
        env={**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def _check_and_delete(tmp_path: Path, role: str, name: str, variables: dict[str, Any]) -> None:
    from kubernetes import client

    try:
        _play(tmp_path, role, variables)
        deployment = client.AppsV1Api().read_namespaced_deployment(name, NAMESPACE)
        assert (deployment.status.available_replicas or 0) >= 1
        services = {s.metadata.name: s for s in client.CoreV1Api().list_namespaced_service(NAMESPACE).items}
        assert services[name].spec.type == "ClusterIP"
        assert services[f"{name}-internal-lb"].spec.type == "LoadBalancer"
    finally:
        _play(tmp_path, role, {**variables, f"{role}_state": "absent"})


def test_llama_cpp_deploys_on_the_a1_pool(kubeconfig: str, tmp_path: Path) -> None:
    url, sha256 = os.environ.get("LLMOPS_TEST_GGUF_URL", ""), os.environ.get("LLMOPS_TEST_GGUF_SHA256", "")
    if not (url and sha256):
        pytest.skip("LLMOPS_TEST_GGUF_URL and LLMOPS_TEST_GGUF_SHA256 are not set: no model to serve")
    variables = {"llama_cpp_namespace": NAMESPACE, "llama_cpp_name": "llama-cpp-itest", "llama_cpp_model_url": url,
                 "llama_cpp_model_sha256": sha256, "llama_cpp_ocpus": 2, "llama_cpp_memory_gib": 4,
                 **json.loads(os.environ.get("LLMOPS_LLAMA_CPP_VARS", "{}"))}
    _check_and_delete(tmp_path, "llama_cpp", variables["llama_cpp_name"], variables)


def test_vllm_deploys_on_the_gpu_pool(kubeconfig: str, tmp_path: Path) -> None:
    if os.environ.get("LLMOPS_TEST_VLLM") != "1":
        pytest.skip("LLMOPS_TEST_VLLM is not 1: no GPU pool to deploy vLLM to")
    variables = {"vllm_namespace": NAMESPACE, "vllm_name": "vllm-itest", "vllm_preset": "rag",
                 **json.loads(os.environ.get("LLMOPS_VLLM_VARS", "{}"))}
    _check_and_delete(tmp_path, "vllm", variables["vllm_name"], variables)
