"""oke_node_pools role: every bad pool setting is refused in one preflight step, all pools at once (issue 16).

No OCI endpoint is configured here (OCI_CONFIG_FILE names a missing file): a bad value that slipped past the
preflight would end in the first module's configuration error, which does not name the variable. That no pool
is created is counted by the OCI emulator in tests/integration/test_provision_playbook.py.
"""

from __future__ import annotations

from pathlib import Path

from bad_input_support import assert_refused_before_oci, run_cases

BASE = {"oke_node_pools_compartment_id": "ocid1.compartment.oc1..aaaaaaaaexample",
        "oke_node_pools_cluster_id": "ocid1.cluster.oc1.iad.aaaaaaaaexample",
        "oke_node_pools_worker_subnet_id": "ocid1.subnet.oc1.iad.aaaaaaaaexample",
        "oke_node_pools_ad_names": ["Uocm:US-ASHBURN-AD-1"]}
TABLE = [
    ("oke_node_pools_gpu_size", {"oke_node_pools_gpu_size": -1}),
    ("oke_node_pools_cpu_size", {"oke_node_pools_cpu_size": -3}),
    ("oke_node_pools_cpu_ocpus", {"oke_node_pools_cpu_ocpus": 0}),
    ("oke_node_pools_cpu_memory_in_gbs", {"oke_node_pools_cpu_memory_in_gbs": 0}),
    ("oke_node_pools_gpu_boot_volume_size_in_gbs", {"oke_node_pools_gpu_boot_volume_size_in_gbs": 20}),
    ("oke_node_pools_cpu_boot_volume_size_in_gbs", {"oke_node_pools_cpu_boot_volume_size_in_gbs": 49}),
    ("oke_node_pools_gpu_autoscaler_min", {"oke_node_pools_gpu_autoscaler_min": 5}),  # above max 4
    ("oke_node_pools_cpu_autoscaler_max", {"oke_node_pools_cpu_autoscaler_max": 0}),
]


def test_each_bad_pool_setting_fails_in_the_preflight_naming_the_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OCI_AUTH_TYPE", "api_key")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "no-oci-config"))
    cases = {variable: {**BASE, **bad} for variable, bad in TABLE}
    cases["both pools at once"] = {**BASE, "oke_node_pools_gpu_size": -1, "oke_node_pools_cpu_ocpus": 0}
    cases["disabled pool not checked"] = {**BASE, "oke_node_pools_gpu_enabled": False,
                                          "oke_node_pools_gpu_size": -1}
    cases["valid"] = BASE
    outcomes = run_cases("oke_node_pools", cases, tmp_path)
    # Valid settings (and a disabled pool's) pass the preflight and fail only at the first OCI call.
    assert_refused_before_oci(outcomes, [variable for variable, _bad in TABLE],
                              passing=("valid", "disabled pool not checked"))
    both = outcomes["both pools at once"]["message"]
    assert "oke_node_pools_gpu_size" in both and "oke_node_pools_cpu_ocpus" in both, both


def test_bad_iam_input_fails_in_the_preflight_naming_the_variable(tmp_path: Path, monkeypatch) -> None:
    """Issue 25: the IAM the role generates (Grafana's dynamic group policy, model reads) is checked before any write:
    a value that would make a statement OCI's syntax refuses, or a malformed bucket / namespace / service account,
    is refused naming the variable."""
    monkeypatch.setenv("OCI_AUTH_TYPE", "api_key")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "no-oci-config"))
    model = {**BASE, "oke_node_pools_model_bucket": "llm-weights"}
    cases = {
        "group name with a space": {**BASE, "oke_node_pools_grafana_dynamic_group_name": "grafana nodes"},
        "bucket with a quote": {**model, "oke_node_pools_model_bucket": "weights'}"},
        "namespace upper case": {**model, "oke_node_pools_model_namespace": "LLMops"},
        "service account with a space": {**model, "oke_node_pools_model_service_account": "vllm reader"},
        "grafana off, bad name unchecked": {**BASE, "oke_node_pools_grafana_iam": False,
                                            "oke_node_pools_grafana_dynamic_group_name": "grafana nodes"},
        "valid model reads": model,
    }
    outcomes = run_cases("oke_node_pools", cases, tmp_path)
    message = outcomes["group name with a space"]["message"]
    assert "the IAM statement built from oke_node_pools_grafana_dynamic_group_name" in message, message
    assert "oke_node_pools_model_bucket must be 1 to 256 letters" in outcomes["bucket with a quote"]["message"]
    assert "oke_node_pools_model_namespace must be a Kubernetes namespace" in (
        outcomes["namespace upper case"]["message"])
    assert "oke_node_pools_model_service_account must be a Kubernetes service account" in (
        outcomes["service account with a space"]["message"])
    for case in ("grafana off, bad name unchecked", "valid model reads"):
        message = outcomes[case]["message"]
        assert outcomes[case]["failed"] and "no-oci-config" in message and "oke_node_pools_" not in message, message


def test_grafana_identity_domain_is_a_display_name(tmp_path: Path, monkeypatch) -> None:
    """The policy names the domain by display name ('<domain>'/'<group>'): an OCID or a quote in
    oke_node_pools_grafana_identity_domain is refused in the preflight, naming the variable; a display name passes."""
    monkeypatch.setenv("OCI_AUTH_TYPE", "api_key")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "no-oci-config"))
    cases = {
        "domain ocid": {**BASE, "oke_node_pools_grafana_identity_domain": "ocid1.domain.oc1..aaaaaaaaexample"},
        "domain with a quote": {**BASE, "oke_node_pools_grafana_identity_domain": "ML'Domain"},
        "domain name": {**BASE, "oke_node_pools_grafana_identity_domain": "ML-Domain"},
    }
    outcomes = run_cases("oke_node_pools", cases, tmp_path)
    assert "oke_node_pools_grafana_identity_domain must be the identity domain's display name" in (
        outcomes["domain ocid"]["message"])
    assert "oke_node_pools_grafana_identity_domain must not contain a quote" in (
        outcomes["domain with a quote"]["message"])
    passed = outcomes["domain name"]
    assert passed["failed"] and "no-oci-config" in passed["message"], passed
    assert "oke_node_pools_" not in passed["message"], passed
