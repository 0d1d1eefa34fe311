"""llama_cpp role, Kubernetes runtime: every preset renders valid manifests with the A1 placement and probes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from inference_render_support import SHA256, args_map, by_kind, render_role
from k8s_support import assert_valid

pytestmark = pytest.mark.slow
PRESETS = {
    "default": {"llama_cpp_model_url": "https://models.example/m.gguf", "llama_cpp_model_sha256": SHA256},
    "chatbot": {"llama_cpp_preset": "chatbot", "llama_cpp_model_sha256": SHA256},
    "chatbot-upstream-pvc-apikey": {"llama_cpp_preset": "chatbot", "llama_cpp_image_flavor": "upstream",
                                    "llama_cpp_model_source": "pvc", "llama_cpp_model_pvc": "models",
                                    "llama_cpp_api_key_secret": "llama-api", "llama_cpp_replicas": 3,
                                    "llama_cpp_lb_subnet_ocid": "ocid1.subnet.oc1..private"},
}


def _deployment(documents: list[dict[str, Any]]) -> dict[str, Any]:
    return by_kind(documents)["Deployment"][0]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_renders_valid_manifests(preset: str, tmp_path: Path) -> None:
    documents = render_role("llama_cpp", tmp_path, PRESETS[preset])
    assert_valid(documents)
    kinds = by_kind(documents)
    assert sorted(kinds) == ["Deployment", "PodDisruptionBudget", "Service"]
    assert {s["spec"]["type"] for s in kinds["Service"]} == {"ClusterIP", "LoadBalancer"}


def test_chatbot_runs_q8r16_on_the_ampere_image_in_the_a1_pool(tmp_path: Path) -> None:
    documents = render_role("llama_cpp", tmp_path, PRESETS["chatbot"])
    pod = _deployment(documents)["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["image"].startswith("docker.io/amperecomputingai/llama.cpp:")
    assert not server["image"].endswith(":latest"), "image tags are pinned"
    assert server["command"] == ["/llm/llama-server"]
    args = args_map(server["args"])
    assert args["--model"] == "/models/Llama-3.1-8B-Instruct-Q8R16.gguf"
    assert args["--threads"] == "16", "threads = OCPUs by default"
    assert server["resources"]["requests"]["cpu"] == server["resources"]["limits"]["cpu"] == "16"
    assert int(args["--ctx-size"]) // int(args["--parallel"]) >= 200, "each slot holds 100 in + 100 out"
    assert "--metrics" in args and "--cont-batching" in args
    assert pod["nodeSelector"] == {"kubernetes.io/arch": "arm64", "llmops.oke/pool": "cpu-a1"}
    assert pod["tolerations"] == [{"key": "llmops.oke/pool", "operator": "Equal", "value": "cpu-a1",
                                   "effect": "NoSchedule"}]
    assert {p: server[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe")} == {
        "startupProbe": "/health", "readinessProbe": "/health", "livenessProbe": "/health"}
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 1800, "probe sized for download + load"


def test_the_init_container_verifies_the_sha256_before_the_server_starts(tmp_path: Path) -> None:
    pod = _deployment(render_role("llama_cpp", tmp_path, PRESETS["chatbot"]))["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    script = init["args"][0]
    assert SHA256 in script and "sha256sum" in script and "mismatch" in script
    assert {"name": "MODEL_URL", "value": (
        "https://huggingface.co/AmpereComputing/llama-3.1-8b-instruct-gguf/resolve/main/"
        "Llama-3.1-8B-Instruct-Q8R16.gguf")} in init["env"]
    # the server mounts the verified cache read-only
    mount = pod["containers"][0]["volumeMounts"][0]
    assert mount == {"name": "models", "mountPath": "/models", "readOnly": True}
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == "models")


def test_the_init_script_rejects_a_wrong_digest(tmp_path: Path) -> None:
    """Run the rendered init script with sh against a local file:// URL (curl is on this machine)."""
    model = tmp_path / "source.gguf"
    model.write_bytes(b"not the vetted model")
    documents = render_role("llama_cpp", tmp_path, {"llama_cpp_model_url": model.as_uri(),
                                                    "llama_cpp_model_file": "m.gguf",
                                                    "llama_cpp_model_sha256": SHA256})
    script = _deployment(documents)["spec"]["template"]["spec"]["initContainers"][0]["args"][0]
    cache = tmp_path / "models"
    cache.mkdir()
    script = script.replace("/models/", f"{cache}/")
    result = subprocess.run(["sh", "-ec", script], env={"MODEL_URL": model.as_uri(), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "sha256 mismatch" in result.stderr
    assert not (cache / "m.gguf").exists() and not (cache / "m.gguf.partial").exists()


def test_upstream_pvc_and_api_key_variant(tmp_path: Path) -> None:
    documents = render_role("llama_cpp", tmp_path, PRESETS["chatbot-upstream-pvc-apikey"])
    deployment = _deployment(documents)
    pod = deployment["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["image"].startswith("ghcr.io/ggml-org/llama.cpp:server-")
    assert server["command"] == ["/app/llama-server"]
    secret_ref = {"secretKeyRef": {"name": "llama-api", "key": "api-key"}}
    assert server["env"] == [{"name": "LLAMA_API_KEY", "valueFrom": secret_ref}]
    assert all("api" not in arg.lower() for arg in server["args"]), "the key never becomes an argument"
    assert next(v for v in pod["volumes"] if v["name"] == "models")["persistentVolumeClaim"] == {"claimName": "models"}
    assert "missing on the PVC" in pod["initContainers"][0]["args"][0]
    assert deployment["spec"]["replicas"] == 3
    pdb = by_kind(documents)["PodDisruptionBudget"][0]
    # issue 24: one pod down at most, so with 3 replicas two keep serving through a node drain
    assert pdb["spec"] == {**pdb["spec"], "maxUnavailable": 1} and "minAvailable" not in pdb["spec"]
    lb = next(s for s in by_kind(documents)["Service"] if s["spec"]["type"] == "LoadBalancer")
    assert lb["metadata"]["annotations"]["service.beta.kubernetes.io/oci-load-balancer-subnet1"] == (
        "ocid1.subnet.oc1..private")


def test_internal_flexible_load_balancer_for_the_gateway(tmp_path: Path) -> None:
    documents = render_role("llama_cpp", tmp_path, PRESETS["default"])
    services = {s["spec"]["type"]: s for s in by_kind(documents)["Service"]}
    annotations = services["LoadBalancer"]["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/oci-load-balancer-internal"] == "true"
    assert annotations["service.beta.kubernetes.io/oci-load-balancer-shape"] == "flexible"
    assert int(annotations["service.beta.kubernetes.io/oci-load-balancer-shape-flex-min"]) <= int(
        annotations["service.beta.kubernetes.io/oci-load-balancer-shape-flex-max"])
    selector = services["ClusterIP"]["spec"]["selector"]
    assert services["LoadBalancer"]["spec"]["selector"] == selector
    assert _deployment(documents)["spec"]["template"]["metadata"]["labels"].items() >= selector.items()
    # a single replica must not block node drains: maxUnavailable 1 lets its one pod be evicted
    assert by_kind(documents)["PodDisruptionBudget"][0]["spec"]["maxUnavailable"] == 1


def test_custom_pool_labels_and_taints_from_the_provisioning_inventory(tmp_path: Path) -> None:
    documents = render_role("llama_cpp", tmp_path, {**PRESETS["default"], "llama_cpp_node_label_key": "pool",
                                                    "llama_cpp_node_label_value": "arm", "llama_cpp_taint_key": "arm",
                                                    "llama_cpp_taint_value": "true", "llama_cpp_ocpus": 6})
    pod = _deployment(documents)["spec"]["template"]["spec"]
    assert pod["nodeSelector"]["pool"] == "arm"
    assert pod["tolerations"][0]["key"] == "arm" and pod["tolerations"][0]["value"] == "true"
    assert args_map(pod["containers"][0]["args"])["--threads"] == "6"


def test_a_url_without_sha256_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="llama_cpp_model_sha256"):
        render_role("llama_cpp", tmp_path, {"llama_cpp_model_url": "https://models.example/m.gguf"})
