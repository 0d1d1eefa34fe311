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


SHA = "ab" * 32
SOURCES = {
    "huggingface": {"vllm_preset": "rag", "vllm_model_revision": "0123456789abcdef0123456789abcdef01234567"},
    "url": {"vllm_preset": "llama31_8b", "vllm_model_source": "url", "vllm_model_url_secret": "model-par",
            "vllm_model_sha256": SHA},
    "url_shared_cache": {"vllm_model_source": "url", "vllm_model_url_secret": "model-par", "vllm_model_sha256": SHA,
                         "vllm_cache_pvc": "models-fss"},
    "pvc": {"vllm_model_source": "pvc", "vllm_model_pvc": "models-fss", "vllm_model_pvc_path": "llama-3.1-8b"},
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_each_model_source_renders_valid_manifests(source: str, tmp_path: Path) -> None:
    documents = render_role("vllm", tmp_path, SOURCES[source])
    assert_valid(documents)
    pod, server = _server(documents)
    args = args_map(server["args"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in server["volumeMounts"]}
    requests = server["resources"]["requests"]
    kinds = by_kind(documents)
    if source == "huggingface":
        # Pinned: the weights and the tokenizer at one commit.
        assert args["--model"] == "meta-llama/Llama-3.2-1B-Instruct"
        assert args["--revision"] == args["--tokenizer-revision"] == SOURCES[source]["vllm_model_revision"]
        # emptyDir cache: the rag preset's 3 GiB of weights + 1 GiB of room on the node's disk.
        assert requests["ephemeral-storage"] == "4Gi" and "emptyDir" in volumes["cache"]
        assert "initContainers" not in pod and "ConfigMap" not in kinds
    elif source.startswith("url"):
        assert args["--model"] == f"/cache/models/{SHA}" and "--revision" not in args
        (init,) = pod["initContainers"]
        assert init["command"][:3] == ["python3", "-m", "llmops.k8s.model_fetch"] and SHA in init["command"]
        env = {e["name"]: e for e in init["env"]}
        # The URL (a pre-authenticated request is a credential) comes from the Secret, never the manifest.
        assert env["LLMOPS_MODEL_URL"]["valueFrom"]["secretKeyRef"] == {"name": "model-par", "key": "url"}
        assert {m["mountPath"] for m in init["volumeMounts"]} == {"/cache", "/opt/llmops/llmops"}
        (config_map,) = kinds["ConfigMap"]
        assert volumes["model-fetch"]["configMap"]["name"] == config_map["metadata"]["name"] == "vllm-model-fetch"
        # The init container runs the collection's own code, byte for byte.
        module_utils = Path(__file__).resolve().parents[3] / "plugins" / "module_utils"
        items = {item["key"]: item["path"] for item in volumes["model-fetch"]["configMap"]["items"]}
        assert set(items.values()) >= {"k8s/model_fetch.py", "bench/fileio.py"}
        for key, path in items.items():
            expected = (module_utils / path).read_text().rstrip("\n") if path != "__init__.py" else ""
            assert config_map["data"][key] == expected, path
        if source == "url":
            # Archive and unpacked folder side by side: 2 x 16 GiB + 1 GiB.
            assert requests["ephemeral-storage"] == "33Gi"
        else:
            assert "ephemeral-storage" not in requests
            assert volumes["cache"]["persistentVolumeClaim"] == {"claimName": "models-fss"}
    else:
        assert args["--model"] == "/models/llama-3.1-8b"
        assert volumes["model"]["persistentVolumeClaim"] == {"claimName": "models-fss", "readOnly": True}
        assert mounts["model"] == {"name": "model", "mountPath": "/models", "readOnly": True}
        assert requests["ephemeral-storage"] == "1Gi" and "initContainers" not in pod


def test_an_unpinned_default_renders_no_revision(tmp_path: Path) -> None:
    _pod, server = _server(render_role("vllm", tmp_path, {}))
    assert "--revision" not in args_map(server["args"])


def test_the_rendered_init_container_fetches_the_model_once_from_a_loopback_server(tmp_path: Path) -> None:
    """Run what the manifests say: the ConfigMap's files where the pod mounts them, the init container's own command
    and environment (the cache path and the Secret's URL mapped to this machine), twice on one shared cache."""
    import hashlib
    import io
    import os
    import subprocess
    import sys
    import tarfile
    from http.server import BaseHTTPRequestHandler

    from local_http import serving

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b'{"architectures": ["LlamaForCausalLM"]}'
        info = tarfile.TarInfo("config.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = buffer.getvalue()
    digest = hashlib.sha256(archive).hexdigest()
    gets: list[str] = []

    class Objects(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            gets.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(archive)))
            self.end_headers()
            self.wfile.write(archive)

        def log_message(self, format: str, *args: object) -> None:
            pass

    documents = render_role("vllm", tmp_path, {"vllm_model_source": "url", "vllm_model_url_secret": "model-par",
                                               "vllm_model_sha256": digest, "vllm_cache_pvc": "models-fss"})
    pod, server = _server(documents)
    (config_map,) = by_kind(documents)["ConfigMap"]
    (init,) = pod["initContainers"]
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    root = tmp_path / "pod"
    code_dir = root / mounts["model-fetch"].lstrip("/")
    code_dir.mkdir(parents=True)
    volume = next(v for v in pod["volumes"] if v["name"] == "model-fetch")
    for item in volume["configMap"]["items"]:
        (code_dir / item["path"]).parent.mkdir(parents=True, exist_ok=True)
        (code_dir / item["path"]).write_text(config_map["data"][item["key"]])
    cache = root / mounts["cache"].lstrip("/")
    env = {item["name"]: item.get("value") for item in init["env"]}
    command = [sys.executable if part == "python3" else (str(cache) if part == mounts["cache"] else part)
               for part in init["command"]]
    with serving(Objects) as base:
        run_env = {**os.environ, "PYTHONPATH": str(root / env["PYTHONPATH"].lstrip("/")),
                   "LLMOPS_MODEL_URL": f"{base}/p/token/n/ns/b/models/o/llama.tar.gz"}
        results = [subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=120, check=False)
                   for _pod in range(2)]
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert gets == ["/p/token/n/ns/b/models/o/llama.tar.gz"]
    # vLLM's --model names the folder the init container filled.
    model = args_map(server["args"])["--model"]
    assert (root / model.lstrip("/") / "config.json").read_bytes() == data


NSG = "ocid1.networksecuritygroup.oc1.iad.aaaaaaaabackendslb"


@pytest.mark.parametrize("role", ["vllm", "llama_cpp"])
def test_the_backends_nsg_is_attached_to_the_internal_load_balancer(role: str, tmp_path: Path) -> None:
    """OCI's annotations (Summary of Annotations for Load Balancers): the NSG on the LB, security lists left alone;
    without an NSG neither annotation is there. Services validated against the Kubernetes schema."""
    extra = ({"llama_cpp_model_source": "pvc", "llama_cpp_model_pvc": "models", "llama_cpp_model_file": "m.gguf"}
             if role == "llama_cpp" else {})
    (tmp_path / "plain").mkdir()
    (tmp_path / "nsg").mkdir()
    plain = by_kind(render_role(role, tmp_path / "plain", extra))["Service"]
    services = by_kind(render_role(role, tmp_path / "nsg", {**extra, f"{role}_lb_nsg_ids": [NSG]}))["Service"]
    assert_valid(services)
    by_type = {s["spec"]["type"]: s for s in services}
    annotations = by_type["LoadBalancer"]["metadata"]["annotations"]
    assert annotations["oci.oraclecloud.com/oci-network-security-groups"] == NSG
    assert annotations["service.beta.kubernetes.io/oci-load-balancer-security-list-management-mode"] == "None"
    assert "annotations" not in by_type["ClusterIP"]["metadata"]
    plain_annotations = {s["spec"]["type"]: s for s in plain}["LoadBalancer"]["metadata"]["annotations"]
    assert "oci.oraclecloud.com/oci-network-security-groups" not in plain_annotations
    assert "service.beta.kubernetes.io/oci-load-balancer-security-list-management-mode" not in plain_annotations


@pytest.mark.parametrize("role", ["vllm", "llama_cpp"])
def test_an_nsg_id_that_is_not_one_is_refused_before_any_write(role: str, tmp_path: Path) -> None:
    extra = ({"llama_cpp_model_source": "pvc", "llama_cpp_model_pvc": "models", "llama_cpp_model_file": "m.gguf"}
             if role == "llama_cpp" else {})
    bad = "ocid1.subnet.oc1..aaaa"
    outcome = run_cases(role, {"bad": {**extra, f"{role}_lb_nsg_ids": [NSG, bad]}}, tmp_path)["bad"]
    assert outcome["failed"] is True and outcome["written"] == [], outcome
    assert outcome["message"] == (f"{role} refused: {role}_lb_nsg_ids must be an OCID of type networksecuritygroup, "
                                  f"got '{bad}'")


def test_the_nsg_opens_the_ports_the_services_listen_on() -> None:
    """backends_nsg_ports' default and the oke inventory's fallbacks are the vllm and llama_cpp Service ports."""
    import yaml

    root = Path(__file__).resolve().parents[3]

    def defaults(role: str) -> dict[str, Any]:
        return yaml.safe_load((root / "roles" / role / "defaults" / "main.yml").read_text())

    ports = [defaults("vllm")["vllm_port"], defaults("llama_cpp")["llama_cpp_port"]]
    assert defaults("backends_nsg")["backends_nsg_ports"] == ports
    inventory = yaml.safe_load((root / "inventories" / "oke" / "group_vars" / "all" / "provision.yml").read_text())
    assert inventory["backends_nsg_ports"] == [f"{{{{ vllm_port | default({ports[0]}) }}}}",
                                               f"{{{{ llama_cpp_port | default({ports[1]}) }}}}"]
