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
from bad_input_support import run_cases

pytestmark = pytest.mark.slow
SHA256 = "0123456789abcdef" * 4
VALUES_TEMPLATE = "TMP/values.yaml.j2"  # replaced by a real template in the test's folder
HELM_RELEASE = {"helm_release_name": "demo", "helm_release_namespace": "demo",
                "helm_release_repo_url": "https://charts.example", "helm_release_chart": "demo",
                "helm_release_chart_version": "1.0.0", "helm_release_values_template": VALUES_TEMPLATE}

# role -> (variables every case starts from, [(variable the message must name, the bad input)])
TABLES: dict[str, tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]] = {
    "manifests": ({"manifests_component": "demo", "manifests_templates": []}, [
        ("manifests_component", {"manifests_component": None}),
        ("manifests_templates", {"manifests_templates": None}),
    ]),
    "helm_release": (HELM_RELEASE, [
        ("helm_release_name", {"helm_release_name": None}),
        ("helm_release_namespace", {"helm_release_namespace": None}),
        ("helm_release_repo_url", {"helm_release_repo_url": None}),
        ("helm_release_chart", {"helm_release_chart": None}),
        ("helm_release_chart_version", {"helm_release_chart_version": None}),
        ("helm_release_values_template", {"helm_release_values_template": None}),
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
        ("vllm_pdb_min_available", {"vllm_pdb_min_available": -1}),
        ("vllm_lb_shape_min_mbps", {"vllm_lb_shape_min_mbps": 200, "vllm_lb_shape_max_mbps": 100}),
        ("vllm_model", {"vllm_model": ""}),
        ("vllm_replicas", {"vllm_replicas": "two"}),
    ]),
}
# Inputs that must still work (so a role refusing everything cannot pass).
VALID: dict[str, dict[str, Any]] = {
    "helm_release": {},
    "vllm": {"vllm_replicas": 0, "vllm_allow_zero_replicas": True},
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
    (tmp_path / "values.yaml.j2").write_text("replicas: 1\n")
    for variables in cases.values():
        variables.update({k: str(tmp_path / "values.yaml.j2") for k, v in variables.items() if v == VALUES_TEMPLATE})
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
