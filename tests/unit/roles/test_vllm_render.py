"""vllm role: every preset renders valid manifests placed on the GPU pool, with secrets by reference only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bad_input_support import run_cases
from inference_render_support import args_map, by_kind, render_role
from k8s_support import assert_valid

pytestmark = pytest.mark.slow
PRESETS = {
    "default": {},
    "rag": {"vllm_preset": "rag"},
    "llama31_8b": {"vllm_preset": "llama31_8b", "vllm_api_key_secret": "vllm-api", "vllm_cache_pvc": "hf-cache"},
}


def _server(documents: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = by_kind(documents)["Deployment"][0]["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_renders_valid_manifests(preset: str, tmp_path: Path) -> None:
    documents = render_role("vllm", tmp_path, PRESETS[preset])
    assert_valid(documents)
    kinds = by_kind(documents)
    assert sorted(kinds) == ["Deployment", "PodDisruptionBudget", "Service"]
    services = {s["spec"]["type"]: s for s in kinds["Service"]}
    assert set(services) == {"ClusterIP", "LoadBalancer"}
    assert services["LoadBalancer"]["metadata"]["annotations"][
        "service.beta.kubernetes.io/oci-load-balancer-internal"] == "true"


def test_rag_preset_fits_2000_in_and_200_out_in_fp16(tmp_path: Path) -> None:
    _pod, server = _server(render_role("vllm", tmp_path, PRESETS["rag"]))
    args = args_map(server["args"])
    assert args["--model"] == "meta-llama/Llama-3.2-1B-Instruct" and args["--dtype"] == "float16"
    assert 2200 <= int(args["--max-model-len"]) <= 4096
    assert "--enable-prefix-caching" in args


def test_llama31_8b_preset_on_one_a10(tmp_path: Path) -> None:
    pod, server = _server(render_role("vllm", tmp_path, PRESETS["llama31_8b"]))
    args = args_map(server["args"])
    assert args["--model"] == "meta-llama/Llama-3.1-8B-Instruct" and args["--tensor-parallel-size"] == "1"
    assert float(args["--gpu-memory-utilization"]) <= 0.95
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "1"
    env = {e["name"]: e for e in server["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api", "key": "api-key"}
    assert next(v for v in pod["volumes"] if v["name"] == "cache")["persistentVolumeClaim"] == {"claimName": "hf-cache"}


def test_gpu_pool_placement_shm_probes_and_token_secret(tmp_path: Path) -> None:
    documents = render_role("vllm", tmp_path, PRESETS["default"])
    pod, server = _server(documents)
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "llmops.oke/pool", "operator": "In", "values": ["gpu-a10"]}]}]
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                   "effect": "NoSchedule"}]
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")["emptyDir"]
    assert shm["medium"] == "Memory"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in server["volumeMounts"]
    assert server["startupProbe"]["httpGet"]["path"] == "/health"
    assert server["startupProbe"]["periodSeconds"] * server["startupProbe"]["failureThreshold"] >= 1800
    env = {e["name"]: e for e in server["env"]}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token"}
    assert "VLLM_API_KEY" not in env
    assert server["securityContext"]["capabilities"]["drop"] == ["ALL"]
    annotations = by_kind(documents)["Deployment"][0]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"


def test_custom_gpu_pool_label_and_taint(tmp_path: Path) -> None:
    pod, _server_container = _server(render_role("vllm", tmp_path, {
        "vllm_node_label_value": "gpu-a10-2", "vllm_gpu_taint_key": "gpu", "vllm_gpu_taint_value": "yes"}))
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["gpu-a10-2"]
    assert pod["tolerations"][0]["key"] == "gpu" and pod["tolerations"][0]["value"] == "yes"


def test_unknown_preset_is_refused_by_argument_validation(tmp_path: Path) -> None:
    outcome = run_cases("vllm", {"chat": {"vllm_preset": "chat"}}, tmp_path)["chat"]
    assert outcome == {"failed": True, "written": [], "message": (
        "Validation of arguments failed:\nvalue of vllm_preset must be one of: , rag, llama31_8b, got: chat")}


@pytest.mark.parametrize("role", ["vllm", "llama_cpp"])
def test_hpa_managed_deployment_leaves_replicas_to_the_hpa(role: str, tmp_path: Path) -> None:
    extra = ({"llama_cpp_model_source": "pvc", "llama_cpp_model_pvc": "models", "llama_cpp_model_file": "m.gguf"}
             if role == "llama_cpp" else {})
    (tmp_path / "fixed").mkdir()
    (tmp_path / "hpa").mkdir()
    fixed = by_kind(render_role(role, tmp_path / "fixed", {f"{role}_replicas": 2, **extra}))["Deployment"][0]
    assert fixed["spec"]["replicas"] == 2
    hpa_vars = {f"{role}_replicas": 2, f"{role}_replicas_managed_by_hpa": True, **extra}
    managed = by_kind(render_role(role, tmp_path / "hpa", hpa_vars))
    assert "replicas" not in managed["Deployment"][0]["spec"]
    assert_valid(managed["Deployment"])
