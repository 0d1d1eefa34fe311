"""Bad input is refused whole, before any change, in the words of the variable the user set (issues 15, 16).

Table-driven: per role, each bad input runs through the role in render mode (one ansible-playbook run
per role, see bad_input_support). Every case must fail, its message must name the variable (the table's
key), and the case's render directory must stay empty. A valid baseline case per role proves the harness
can tell success from failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from bad_input_support import run_cases
from chart_mirror import mirror_url, repo_url_vars

pytestmark = pytest.mark.slow
SHA256 = "0123456789abcdef" * 4
VALUES_TEMPLATE = "TMP/values.yaml.j2"  # replaced by a real template in the test's folder
MIRROR = "MIRROR"  # replaced by the URL of the local chart mirror (chart_mirror), as are the roles' chart URLs
HELM_RELEASE = {"helm_release_name": "demo", "helm_release_namespace": "demo",
                "helm_release_repo_url": MIRROR, "helm_release_chart": "prometheus",
                "helm_release_chart_version": "29.27.0", "helm_release_values_template": VALUES_TEMPLATE}

# role -> (variables every case starts from, [(variable the message must name, the bad input)])
TABLES: dict[str, tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]] = {
    "manifests": ({"manifests_component": "demo", "manifests_templates": [VALUES_TEMPLATE]}, [
        ("manifests_component", {"manifests_component": None}),
        ("manifests_templates", {"manifests_templates": None}),
        ("manifests_component", {"manifests_component": ""}),
        ("manifests_templates", {"manifests_templates": []}),
        ("manifests_templates", {"manifests_templates": ["relative/deployment.yaml.j2"]}),
        ("manifests_wait_timeout", {"manifests_wait_timeout": 0}),
        ("manifests_state", {"manifests_state": "latest"}),
    ]),
    "helm_release": (HELM_RELEASE, [
        ("helm_release_name", {"helm_release_name": None}),
        ("helm_release_namespace", {"helm_release_namespace": None}),
        ("helm_release_repo_url", {"helm_release_repo_url": None}),
        ("helm_release_chart", {"helm_release_chart": None}),
        ("helm_release_chart_version", {"helm_release_chart_version": None}),
        ("helm_release_values_template", {"helm_release_values_template": None}),
        ("helm_release_name", {"helm_release_name": ""}),
        ("helm_release_namespace", {"helm_release_namespace": ""}),
        ("helm_release_repo_url", {"helm_release_repo_url": "charts.example"}),
        ("helm_release_chart", {"helm_release_chart": ""}),
        ("helm_release_chart_version", {"helm_release_chart_version": ""}),
        ("helm_release_values_template", {"helm_release_values_template": "values.yaml.j2"}),
        ("helm_release_values_template", {"helm_release_values_template": "/nonexistent/values.yaml.j2"}),
        ("helm_release_wait_timeout", {"helm_release_wait_timeout": -1}),
    ]),
    "vllm": ({}, [
        ("vllm_preset", {"vllm_preset": "chat"}),
        ("vllm_gpus", {"vllm_gpus": 0}),
        ("vllm_tensor_parallel_size", {"vllm_tensor_parallel_size": 0}),
        ("vllm_tensor_parallel_size", {"vllm_tensor_parallel_size": 2, "vllm_gpus": 1}),
        ("vllm_replicas", {"vllm_replicas": -1}),
        ("vllm_replicas", {"vllm_replicas": 0}),
        ("vllm_port", {"vllm_port": 70000}),
        ("vllm_port", {"vllm_port": 0}),
        ("vllm_max_model_len", {"vllm_max_model_len": -1}),
        ("vllm_gpu_memory_utilization", {"vllm_gpu_memory_utilization": 0}),
        ("vllm_gpu_memory_utilization", {"vllm_gpu_memory_utilization": 1.5}),
        ("vllm_max_num_seqs", {"vllm_max_num_seqs": 0}),
        ("vllm_cpu", {"vllm_cpu": 0}),
        ("vllm_memory_gib", {"vllm_memory_gib": 0}),
        ("vllm_shm_size_gib", {"vllm_shm_size_gib": -8}),
        ("vllm_cache_size_gib", {"vllm_cache_size_gib": 0}),
        ("vllm_startup_timeout", {"vllm_startup_timeout": 0}),
        ("vllm_pdb_max_unavailable", {"vllm_pdb_max_unavailable": 0}),
        ("vllm_rollout_max_surge", {"vllm_rollout_max_surge": 0, "vllm_rollout_max_unavailable": 0}),
        ("vllm_drain_timeout_s", {"vllm_drain_timeout_s": 30}),
        ("vllm_termination_grace_s", {"vllm_termination_grace_s": 30}),
        ("vllm_apply_wait_s", {"vllm_apply_wait_s": 600}),
        ("vllm_tensor_parallel_size", {"vllm_node_shape": "VM.GPU.A10.1", "vllm_gpus": 2,
                                       "vllm_tensor_parallel_size": 2}),
        ("vllm_memory_gib", {"vllm_node_shape": "VM.GPU.A10.1", "vllm_memory_gib": 240}),
        ("vllm_lb_shape_min_mbps", {"vllm_lb_shape_min_mbps": 200, "vllm_lb_shape_max_mbps": 100}),
        ("vllm_model", {"vllm_model": ""}),
        # Models arrive from where the user keeps them (issue 24): each source names what it lacks.
        ("vllm_model_url_secret", {"vllm_model_source": "url", "vllm_model_sha256": SHA256}),
        ("vllm_model_sha256", {"vllm_model_source": "url", "vllm_model_url_secret": "par"}),
        ("vllm_model_sha256", {"vllm_model_source": "url", "vllm_model_url_secret": "par",
                               "vllm_model_sha256": "ABC"}),
        ("vllm_model_pvc", {"vllm_model_source": "pvc"}),
        ("vllm_model_pvc_path", {"vllm_model_source": "pvc", "vllm_model_pvc": "fss",
                                 "vllm_model_pvc_path": "../other"}),
        ("vllm_model_revision", {"vllm_model_revision": "main"}),
        ("vllm_model_revision", {"vllm_model_revision": "0123abc"}),
        ("vllm_model_source", {"vllm_model_source": "s3"}),
        ("vllm_cache_size_gib", {"vllm_preset": "llama31_8b", "vllm_cache_size_gib": 16}),
        ("vllm_replicas", {"vllm_replicas": "two"}),
        # vLLM 0.32's CPU attention takes multiples of 32 only (benchmarks/results/vllm_cpu_block_size.md: 16 fails
        # the start); the process runtime sets --block-size itself.
        ("vllm_cpu_block_size", {"vllm_cpu_block_size": 16}),
        ("vllm_cpu_block_size", {"vllm_cpu_block_size": -32}),
        ("vllm_cpu_block_size", {"vllm_runtime": "process", "vllm_extra_args": ["--block_size=64"]}),
    ]),
    "llama_cpp": ({"llama_cpp_model_url": "https://models.example/m.gguf", "llama_cpp_model_sha256": SHA256}, [
        ("llama_cpp_preset", {"llama_cpp_preset": "chat"}),
        ("llama_cpp_port", {"llama_cpp_port": 70000}),
        ("llama_cpp_parallel", {"llama_cpp_parallel": 0}),
        ("llama_cpp_threads", {"llama_cpp_threads": -1}),
        ("llama_cpp_threads_batch", {"llama_cpp_threads_batch": -4}),
        ("llama_cpp_ctx_size_per_slot", {"llama_cpp_ctx_size_per_slot": -1024}),
        ("llama_cpp_batch_size", {"llama_cpp_batch_size": -1}),
        ("llama_cpp_ubatch_size", {"llama_cpp_ubatch_size": 1024, "llama_cpp_batch_size": 512}),
        ("llama_cpp_replicas", {"llama_cpp_replicas": -1}),
        ("llama_cpp_replicas", {"llama_cpp_replicas": 0}),
        ("llama_cpp_ocpus", {"llama_cpp_ocpus": 0}),
        ("llama_cpp_memory_gib", {"llama_cpp_memory_gib": 0}),
        ("llama_cpp_cache_size_gib", {"llama_cpp_cache_size_gib": -20}),
        ("llama_cpp_startup_timeout", {"llama_cpp_startup_timeout": 0}),
        ("llama_cpp_pdb_max_unavailable", {"llama_cpp_pdb_max_unavailable": 0}),
        ("llama_cpp_rollout_max_surge", {"llama_cpp_rollout_max_surge": 0, "llama_cpp_rollout_max_unavailable": 0}),
        ("llama_cpp_drain_timeout_s", {"llama_cpp_drain_timeout_s": 30}),
        ("llama_cpp_termination_grace_s", {"llama_cpp_termination_grace_s": 30}),
        ("llama_cpp_apply_wait_s", {"llama_cpp_apply_wait_s": 600}),
        ("llama_cpp_metrics", {"llama_cpp_metrics": False}),
        ("llama_cpp_node_ocpus=8", {"llama_cpp_ocpus": 16, "llama_cpp_node_ocpus": 8, "llama_cpp_node_memory_gb": 48}),
        ("llama_cpp_lb_shape_min_mbps", {"llama_cpp_lb_shape_min_mbps": 0}),
        ("llama_cpp_model_sha256", {"llama_cpp_model_sha256": "abc"}),
        ("llama_cpp_model_pvc", {"llama_cpp_model_source": "pvc"}),
        ("llama_cpp_image_flavor", {"llama_cpp_image_flavor": "arm"}),
        ("llama_cpp_health_timeout", {"llama_cpp_runtime": "process", "llama_cpp_health_timeout": 0}),
        ("llama_cpp_demo_block_count", {"llama_cpp_runtime": "process", "llama_cpp_demo_block_count": 0}),
    ]),
    "autoscaling": ({}, [
        ("autoscaling_vllm_min_replicas", {"autoscaling_vllm_min_replicas": 0}),
        ("autoscaling_vllm_max_replicas", {"autoscaling_vllm_max_replicas": 0}),
        ("autoscaling_vllm_target_waiting", {"autoscaling_vllm_target_waiting": 0}),
        ("autoscaling_llama_cpp_min_replicas", {"autoscaling_llama_cpp_min_replicas": -1}),
        ("autoscaling_llama_cpp_max_replicas", {"autoscaling_llama_cpp_min_replicas": 5,
                                                "autoscaling_llama_cpp_max_replicas": 3}),
        ("autoscaling_llama_cpp_target_waiting", {"autoscaling_llama_cpp_target_waiting": -2}),
        ("autoscaling_gpu_pool_max_nodes", {"autoscaling_vllm_max_replicas": 8}),
        ("autoscaling_vllm_replicas_per_node", {"autoscaling_vllm_replicas_per_node": 0}),
        ("autoscaling_vllm_scale_up_window_s", {"autoscaling_vllm_scale_up_window_s": -1}),
        ("autoscaling_llama_cpp_scale_down_window_s", {"autoscaling_llama_cpp_scale_down_window_s": 7200}),
        ("autoscaling_vllm_scale_up_pods", {"autoscaling_vllm_scale_up_pods": 0}),
        ("autoscaling_llama_cpp_scale_down_pods", {"autoscaling_llama_cpp_scale_down_pods": 0}),
        ("autoscaling_vllm_scale_up_period_s", {"autoscaling_vllm_scale_up_period_s": 0}),
        ("autoscaling_llama_cpp_scale_down_period_s", {"autoscaling_llama_cpp_scale_down_period_s": 3600}),
        ("autoscaling_keda_polling_interval", {"autoscaling_mode": "keda", "autoscaling_keda_polling_interval": 0}),
        ("autoscaling_prometheus_port", {"autoscaling_prometheus_port": 70000}),
        ("autoscaling_cpu_pool_min_nodes", {"autoscaling_cpu_pool_min_nodes": 7}),
        ("autoscaling_gpu_pool_max_nodes", {"autoscaling_gpu_pool_max_nodes": 0}),
        ("autoscaling_mode", {"autoscaling_mode": "vpa"}),
        # scale to zero needs its word, and KEDA (an HPA cannot go below 1)
        ("autoscaling_vllm_min_replicas", {"autoscaling_mode": "keda", "autoscaling_vllm_min_replicas": 0}),
        ("autoscaling_llama_cpp_min_replicas", {"autoscaling_llama_cpp_min_replicas": 0,
                                                "autoscaling_llama_cpp_allow_zero_replicas": True}),
    ]),
    "monitoring": ({}, [
        ("monitoring_scrape_interval", {"monitoring_scrape_interval": "15"}),
        ("monitoring_scrape_interval", {"monitoring_scrape_interval": "0s"}),
        ("monitoring_evaluation_interval", {"monitoring_evaluation_interval": "a minute"}),
        ("monitoring_retention", {"monitoring_retention": "-15d"}),
        ("monitoring_storage_size", {"monitoring_storage_size": "50 GB"}),
        ("monitoring_storage_size", {"monitoring_storage_size": "0Gi"}),
        ("monitoring_alert_waiting_per_pod", {"monitoring_alert_waiting_per_pod": 0}),
        ("monitoring_alert_kv_cache_usage", {"monitoring_alert_kv_cache_usage": 1.5}),
        ("monitoring_alert_kv_cache_usage", {"monitoring_alert_kv_cache_usage": 0}),
        ("monitoring_process_health_timeout", {"monitoring_runtime": "process",
                                               "monitoring_process_health_timeout": 0}),
        ("monitoring_process_scrape_interval", {"monitoring_runtime": "process",
                                                "monitoring_process_scrape_interval": "1"}),
        ("monitoring_runtime", {"monitoring_runtime": "docker"}),
        # Alertmanager's webhook receiver takes http(s) URLs only (issue 24).
        ("monitoring_alert_receiver_url", {"monitoring_alert_receiver_url": "ftp://alerts.example/hook"}),
        ("monitoring_alert_receiver_url", {"monitoring_alert_receiver_url": "alerts.example/hook"}),
        ("monitoring_alert_receiver_url", {"monitoring_alert_receiver_url": "https:///hook"}),
        ("monitoring_alert_for", {"monitoring_alert_for": "ten minutes"}),
        ("monitoring_alert_error_ratio", {"monitoring_alert_error_ratio": 0}),
        ("monitoring_alert_ttft_p95_s", {"monitoring_alert_ttft_p95_s": 0}),
        ("monitoring_alert_receiver_name", {"monitoring_alert_receiver_name": "on call"}),
    ]),
    "grafana": ({}, [
        ("grafana_namespace", {"grafana_namespace": "Monitoring"}),
        ("grafana_release_name", {"grafana_release_name": "grafana_main"}),
        ("grafana_chart_repo_url", {"grafana_chart_repo_url": "grafana-community.github.io/helm-charts"}),
        ("grafana_prometheus_url", {"grafana_prometheus_url": "prometheus-server.monitoring.svc"}),
        ("grafana_storage_size", {"grafana_storage_size": "0Gi"}),
        ("grafana_storage_size", {"grafana_storage_size": "10 GB"}),
        ("grafana_dashboard_label", {"grafana_dashboard_label": ""}),
        ("grafana_oci_plugin_version", {"grafana_oci_plugin_version": "latest"}),
        ("grafana_oci_region", {"grafana_oci_region": "Ashburn"}),
        ("grafana_oci_secret_name", {"grafana_oci_auth": "user_principal", "grafana_oci_secret_name": ""}),
    ]),
    "opencost": ({}, [
        ("opencost_namespace", {"opencost_namespace": "cost monitoring"}),
        ("opencost_release_name", {"opencost_release_name": "x" * 54}),
        ("opencost_chart_repo_url", {"opencost_chart_repo_url": "opencost.github.io/opencost-helm-chart"}),
        ("opencost_cluster_id", {"opencost_cluster_id": ""}),
        ("opencost_prometheus_service", {"opencost_prometheus_service": "prometheus_server"}),
        ("opencost_prometheus_namespace", {"opencost_prometheus_namespace": ""}),
        ("opencost_prometheus_port", {"opencost_prometheus_port": 70000}),
        ("opencost_prometheus_port", {"opencost_prometheus_port": 0}),
        ("opencost_dashboard_namespace", {"opencost_dashboard_namespace": "-bad"}),
        ("opencost_token_namespace", {"opencost_token_namespace": "LLMOPS"}),
    ]),
}
# Inputs that must still work (so a role refusing everything cannot pass).
VALID: dict[str, dict[str, Any]] = {
    "helm_release": {},
    "manifests": {},
    "monitoring": {"monitoring_scrape_interval": "1m30s", "monitoring_storage_size": "1.5Ti",
                   "monitoring_alert_receiver_url": "https://alerts.example:8443/hooks/llm?team=serving"},
    "autoscaling": {"autoscaling_llama_cpp_enabled": False, "autoscaling_llama_cpp_min_replicas": 0},
    "llama_cpp": {"llama_cpp_replicas": 0, "llama_cpp_allow_zero_replicas": True},
    "vllm": {"vllm_replicas": 0, "vllm_allow_zero_replicas": True},
    "grafana": {"grafana_persistence_enabled": False, "grafana_storage_size": ""},
    "opencost": {"opencost_prometheus_port": 9090},
}


def _case_name(variable: str, bad: dict[str, Any]) -> str:
    return f"{variable}: {bad}"


@pytest.mark.parametrize("role", sorted(TABLES))
def test_each_bad_input_fails_naming_the_variable_and_writes_nothing(role: str, tmp_path: Path) -> None:
    base, table = TABLES[role]
    # None in the table means "left unset": the case starts from the base without that variable.
    cases = {_case_name(variable, bad): {**{k: v for k, v in base.items() if k not in bad},
                                         **{k: v for k, v in bad.items() if v is not None}}
             for variable, bad in table}
    if role in VALID:
        cases["valid"] = {**base, **VALID[role]}
    # A Kubernetes object for manifests, chart values the pinned Prometheus chart knows for helm_release.
    (tmp_path / "values.yaml.j2").write_text("server:\n  retention: 7d\n" if role == "helm_release" else
                                             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n")
    template, url, chart_urls = str(tmp_path / "values.yaml.j2"), mirror_url(), repo_url_vars()
    placeholders = {VALUES_TEMPLATE: template, MIRROR: url}
    for variables in cases.values():
        for name, value in variables.items():
            if value == [VALUES_TEMPLATE]:
                variables[name] = [template]
            elif isinstance(value, str):
                variables[name] = placeholders.get(value, value)
        variables.update({name: value for name, value in chart_urls.items() if name not in variables})
    outcomes = run_cases(role, cases, tmp_path)
    problems = []
    for variable, bad in table:
        name = _case_name(variable, bad)
        outcome = outcomes[name]
        if not outcome["failed"]:
            problems.append(f"{name}: accepted")
        elif variable not in outcome["message"]:
            problems.append(f"{name}: message does not name {variable}: {outcome['message']!r}")
        if outcome["written"]:
            problems.append(f"{name}: wrote {outcome['written']}")
    if role in VALID:
        assert not outcomes["valid"]["failed"], outcomes["valid"]["message"]
        assert outcomes["valid"]["written"], "the valid case wrote nothing"
    assert not problems, f"{role}: of {len(table)} bad inputs, not refused cleanly:\n" + "\n".join(problems)


def test_keda_scales_to_zero_when_told(tmp_path: Path) -> None:
    """min 0 with autoscaling_mode keda and the backend's allow_zero_replicas: a ScaledObject with minReplicaCount 0
    (the other backend keeps its 1)."""
    told = {"autoscaling_mode": "keda", "autoscaling_keda_install": False, "autoscaling_vllm_min_replicas": 0,
            "autoscaling_vllm_allow_zero_replicas": True}
    outcome = run_cases("autoscaling", {"told": told}, tmp_path)["told"]
    assert not outcome["failed"], outcome["message"]
    documents = list(yaml.safe_load_all((tmp_path / "case0" / "autoscaling.yaml").read_text()))
    counts = {doc["metadata"]["name"]: doc["spec"]["minReplicaCount"] for doc in documents
              if doc and doc["kind"] == "ScaledObject"}
    assert counts == {"vllm": 0, "llama-cpp": 1}, counts
