"""playbooks/observe.yml renders the whole observe-and-scale stack offline, and what it renders is valid."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from chart_mirror import repo_url_vars
from k8s_support import assert_valid, load_documents, render_playbook, validate_schema
from observe_support import (
    DATA_DIR,
    chart_references,
    chart_values,
    manifests,
    metric_names,
    promql_expressions,
    rendered,
)

pytestmark = pytest.mark.slow
VARIANTS = ["adapter", "keda"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_whole_stack_is_rendered(variant: str) -> None:
    render_dir = rendered(variant)
    assert {p.name for p in render_dir.glob("*.yaml")} == {"monitoring.yaml", "autoscaling.yaml", "grafana.yaml",
                                                           "opencost.yaml"}
    releases = {"prometheus", "dcgm-exporter", "grafana", "opencost"} | (
        {"prometheus-adapter"} if variant == "adapter" else {"keda"})
    assert set(chart_values(render_dir)) == releases
    assert set(chart_references(render_dir)) == releases


@pytest.mark.parametrize("variant", VARIANTS)
def test_manifests_validate_against_kubernetes_schemas_and_policy(variant: str) -> None:
    # ScaledObject is a CRD: checked against its own schema below.
    assert_valid(manifests(rendered(variant)), extra_kinds={"ScaledObject"})


def test_scaled_objects_validate_against_the_keda_crd_schema() -> None:
    schema = json.loads((DATA_DIR / "crds" / "keda-scaledobject-v1alpha1.schema.json").read_text())
    scaled = [d for d in manifests(rendered("keda")) if d["kind"] == "ScaledObject"]
    assert {d["metadata"]["name"] for d in scaled} == {"vllm", "llama-cpp"}
    for document in scaled:
        jsonschema.validate(document, schema)


def test_the_crd_schema_rejects_unknown_fields() -> None:
    # The check would be worthless if a misspelt field passed.
    schema = json.loads((DATA_DIR / "crds" / "keda-scaledobject-v1alpha1.schema.json").read_text())
    document = next(d for d in manifests(rendered("keda")) if d["kind"] == "ScaledObject")
    document["spec"]["maxReplicas"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_hpas_scale_each_backend_on_its_adapter_metric() -> None:
    render_dir = rendered("adapter")
    hpas = {d["metadata"]["name"]: d for d in manifests(render_dir) if d["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == {"vllm", "llama-cpp"}
    custom_rules = chart_values(render_dir)["prometheus-adapter"]["rules"]["custom"]
    adapter_rules = {rule["name"]["as"]: rule for rule in custom_rules}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        (metric,) = hpa["spec"]["metrics"]
        assert metric["type"] == "Pods" and metric["pods"]["target"]["type"] == "AverageValue"
        assert metric["pods"]["metric"]["name"] in adapter_rules
        behavior = hpa["spec"]["behavior"]
        # Minutes-long model loads: scale down far slower than up.
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] > behavior["scaleUp"]["stabilizationWindowSeconds"]
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    vllm_rule = adapter_rules[hpas["vllm"]["spec"]["metrics"][0]["pods"]["metric"]["name"]]
    # Engine series only: the API server process can expose the same name without model_name.
    assert 'model_name!=""' in vllm_rule["seriesQuery"] and 'model_name!=""' in vllm_rule["metricsQuery"]
    assert vllm_rule["seriesQuery"].startswith("vllm:num_requests_waiting{")
    assert adapter_rules["llamacpp_requests_deferred"]["seriesQuery"].startswith("llamacpp:requests_deferred{")


def test_keda_variant_uses_the_chosen_llama_cpp_signal() -> None:
    scaled = {d["metadata"]["name"]: d for d in manifests(rendered("keda")) if d["kind"] == "ScaledObject"}
    query = scaled["llama-cpp"]["spec"]["triggers"][0]["metadata"]["query"]
    assert query.startswith("sum(llamacpp:requests_processing{")
    for document in scaled.values():
        trigger = document["spec"]["triggers"][0]
        assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
        assert document["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["name"] == document["metadata"]["name"]
    assert not [d for d in manifests(rendered("keda")) if d["kind"] == "HorizontalPodAutoscaler"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_release_is_rendered_in_full_by_helm_and_strictly_valid(variant: str) -> None:
    render_dir = rendered(variant)
    for release in chart_references(render_dir):
        documents = load_documents(render_dir / "helm" / f"{release}.manifests.yaml")
        assert any(d["kind"] in {"Deployment", "DaemonSet", "StatefulSet"} for d in documents), release
        errors = []
        for document in documents:
            try:
                validate_schema(document)
            except kubernetes_validate.ValidationError as error:
                errors.append(f"{release}: {document['kind']}/{document['metadata']['name']}: {error}")
        assert not errors, "\n".join(errors)


def test_prometheus_adapter_apiservice_uses_the_served_api_version() -> None:
    # Without --api-versions the chart falls back to apiregistration.k8s.io/v1beta1 (gone since Kubernetes 1.22).
    documents = load_documents(rendered("adapter") / "helm" / "prometheus-adapter.manifests.yaml")
    (service,) = [d for d in documents if d["kind"] == "APIService"]
    assert service["apiVersion"] == "apiregistration.k8s.io/v1"


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_release_renders_the_chart_its_pin_names(variant: str) -> None:
    # The chart label Helm charts stamp on their objects (helm.sh/chart: <name>-<version>) is the pin.
    render_dir = rendered(variant)
    for release, reference in chart_references(render_dir).items():
        assert reference["values_file"] == f"{release}.values.yaml"
        assert reference["manifests_file"] == f"{release}.manifests.yaml"
        assert reference["digest"].startswith("sha256:") and reference["namespace"]
        documents = load_documents(render_dir / "helm" / reference["manifests_file"])
        top_level = {d["metadata"].get("labels", {}).get("helm.sh/chart") for d in documents
                     if d["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == release}
        assert f"{reference['chart']}-{reference['version']}" in top_level, (release, top_level)


AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


@pytest.mark.parametrize("variant", VARIANTS)
def test_alertmanager_is_deployed_with_the_receiver_and_amtool_accepts_its_config(
        variant: str, tmp_path: Path) -> None:
    documents = load_documents(rendered(variant) / "helm" / "prometheus.manifests.yaml")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert ("StatefulSet", "prometheus-alertmanager") in kinds
    (config_map,) = [d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] ==
                     "prometheus-alertmanager"]
    text = config_map["data"]["alertmanager.yml"]
    config = yaml.safe_load(text)
    (receiver,) = config["receivers"]
    assert config["route"]["receiver"] == receiver["name"] == "llmops-oncall"
    # The keda variant sets monitoring_alert_receiver_url; the default leaves the receiver without a webhook.
    hooks = [hook["url"] for hook in receiver.get("webhook_configs", [])]
    assert hooks == (["https://alerts.example/llmops"] if variant == "keda" else [])
    # Alertmanager's own checker (Debian's amtool, same release as the local path's Alertmanager).
    (tmp_path / "alertmanager.yml").write_text(text)
    result = subprocess.run([AMTOOL, "check-config", str(tmp_path / "alertmanager.yml")], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # The server sends to it: the chart wires Alertmanager discovery into prometheus.yml once it is enabled.
    (server,) = [d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "prometheus-server"]
    alerting = yaml.safe_load(server["data"]["prometheus.yml"])["alerting"]
    assert alerting["alertmanagers"][0]["kubernetes_sd_configs"] == [{"role": "pod"}]


def test_dcgm_exporter_runs_on_the_gpu_pool_scraped_by_prometheus_and_counts_what_the_dashboards_chart() -> None:
    documents = load_documents(rendered() / "helm" / "dcgm-exporter.manifests.yaml")
    (daemonset,) = [d for d in documents if d["kind"] == "DaemonSet"]
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"llmops.oke/pool": "gpu-a10"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    # No prometheus-operator here: no ServiceMonitor; the prometheus chart's service-endpoints job scrapes it.
    assert not [d for d in documents if d["kind"] == "ServiceMonitor"]
    (service,) = [d for d in documents if d["kind"] == "Service"]
    assert service["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": "9400"}
    # Every DCGM series the dashboards use is a counter the chart's own metrics ConfigMap collects.
    (counters,) = [d for d in documents if d["kind"] == "ConfigMap" and "metrics" in d.get("data", {})]
    collected = {line.split(",")[0].strip() for line in counters["data"]["metrics"].splitlines()
                 if line.strip() and not line.strip().startswith("#")}
    used = {name for _origin, expression in promql_expressions(rendered()) for name in metric_names(expression)
            if name.startswith("DCGM_")}
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE"} <= used
    assert used <= collected, used - collected


def _oci_datasource(grafana_values: dict) -> dict:
    sources = grafana_values["datasources"]["datasources.yaml"]["datasources"]
    return next(d for d in sources if d["type"] == "oci-metrics-datasource")


def test_user_principal_reads_its_key_from_the_secret_only() -> None:
    render_dir = rendered("keda")
    values = chart_values(render_dir)["grafana"]
    (mount,) = values["extraSecretMounts"]
    assert mount["secretName"] == "grafana-oci-user-principal" and mount["readOnly"] is True
    oci = _oci_datasource(values)
    assert oci["jsonData"]["environment"] == "local"
    assert all(value.startswith(f"$__file{{{mount['mountPath']}/") for value in oci["secureJsonData"].values())
    everything = "\n".join(p.read_text() for p in render_dir.rglob("*.yaml"))
    # PEM armour, not the words: the KEDA CRDs' field descriptions mention "a PRIVATE KEY block".
    assert "-----BEGIN" not in everything
    assert not [d for d in manifests(render_dir) if d["kind"] == "Secret"]


def test_instance_principal_is_the_default() -> None:
    values = chart_values(rendered("adapter"))["grafana"]
    oci = _oci_datasource(values)
    assert oci["jsonData"] == {"profile0": "DEFAULT", "environment": "OCI Instance"}
    assert "extraSecretMounts" not in values and "secureJsonData" not in oci


def test_max_replicas_beyond_the_node_pool_is_refused(tmp_path: Path) -> None:
    refusal = (r"autoscaling refused: autoscaling_vllm_max_replicas=9 does not fit "
               r"autoscaling_gpu_pool_max_nodes \(4\) x autoscaling_vllm_replicas_per_node")
    with pytest.raises(AssertionError, match=refusal):
        render_playbook("playbooks/observe.yml", tmp_path, inventory="inventories/oke",
                        extra_vars={**repo_url_vars(), "autoscaling_vllm_max_replicas": 9,
                                    "autoscaling_gpu_pool_max_nodes": 4})


def test_inventory_documents_every_knob() -> None:
    inventory = Path(__file__).resolve().parents[3] / "inventories" / "oke" / "group_vars" / "all" / "observe.yml"
    lines = inventory.read_text().splitlines()
    settings = yaml.safe_load(inventory.read_text())
    undocumented = []
    for index, line in enumerate(lines):
        key = line.split(":", 1)[0]
        if key in settings and not line.startswith((" ", "#")):
            # A comment on the line above, or the knob belongs to a commented block directly above.
            previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            if not previous.startswith("#") and previous.split(":", 1)[0] not in settings:
                undocumented.append(key)
    assert not undocumented, f"knobs without a comment: {undocumented}"
