"""A stage checks the input of every role it will run before its first change (issue 16).

Each stage playbook (and site.yml) first runs every role's tasks/preflight.yml (argument spec + the role's own
rules), so a bad input for the SECOND role of a stage stops the run before the FIRST role changes anything:
nothing is written under llmops_render_dir (deploy, observe). For provision and site the OCI emulator counts
zero writes (tests/integration/test_provision_playbook.py). Before this, observe.yml rendered the monitoring
stack and deploy.yml rendered vLLM before the second role refused its input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chart_mirror import repo_url_vars

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _stage(playbook: str, tmp_path: Path, extra: dict, tags: str | None = None) -> tuple[int, str, list[str]]:
    """ansible-playbook playbooks/<playbook> -i inventories/oke in render mode; (rc, output, files rendered)."""
    render = tmp_path / "rendered"
    variables = {**repo_url_vars(), "llmops_render_dir": str(render), **extra}
    extra_file = tmp_path / "extra.yml"
    extra_file.write_text(yaml.safe_dump(variables))
    command = [str(BIN / "ansible-playbook"), str(REPO_ROOT / "playbooks" / playbook), "-i",
               str(REPO_ROOT / "inventories" / "oke"), "-e", f"@{extra_file}"]
    if tags:
        command += ["--tags", tags]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections")}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    written = sorted(str(p.relative_to(render)) for p in render.rglob("*") if p.is_file()) if render.exists() else []
    return result.returncode, result.stdout + result.stderr, written


# (playbook, the variable the message must name, bad input for a role that runs AFTER the stage's first one)
SECOND_ROLE_BAD = [
    ("observe.yml", "autoscaling_vllm_min_replicas", {"autoscaling_vllm_min_replicas": 0}),
    ("observe.yml", "autoscaling_vllm_max_replicas", {"autoscaling_vllm_max_replicas": "four"}),  # argument spec type
    ("observe.yml", "grafana_namespace", {"grafana_namespace": "Monitoring"}),
    ("observe.yml", "opencost_prometheus_port", {"opencost_prometheus_port": 70000}),
    ("deploy.yml", "llama_cpp_replicas", {"llama_cpp_replicas": -1}),
    ("deploy.yml", "llama_cpp_parallel", {"llama_cpp_parallel": "many"}),  # argument spec type
    # was checked in kubernetes.yml, after the role's other checks
    ("deploy.yml", "llama_cpp_model_sha256", {"llama_cpp_model_source": "url", "llama_cpp_model_sha256": "abc",
                                              "llama_cpp_model_url": "https://models.example/m.gguf"}),
    # issue 24: a pod its pool cannot hold (the A1 pool shipped before the fix), tensor parallel above the shape's GPUs
    ("deploy.yml", "oke_node_pools_cpu_ocpus=8", {"oke_node_pools_cpu_ocpus": 8}),
    ("deploy.yml", "vllm_tensor_parallel_size=2", {"vllm_tensor_parallel_size": 2, "vllm_gpus": 2}),
    ("observe.yml", "oke_node_pools_cpu_ocpus=8", {"oke_node_pools_cpu_ocpus": 8}),
]


@pytest.mark.parametrize(("playbook", "variable", "bad"), SECOND_ROLE_BAD,
                         ids=[f"{case[0]}-{case[1]}" for case in SECOND_ROLE_BAD])
def test_bad_input_of_a_later_role_stops_the_stage_before_its_first_change(
        playbook: str, variable: str, bad: dict, tmp_path: Path) -> None:
    rc, output, written = _stage(playbook, tmp_path, bad)
    assert rc != 0, output[-3000:]
    assert variable in output, output[-3000:]
    assert written == [], f"{playbook} wrote {written} before refusing {variable}"


def test_a_switched_off_role_is_not_checked_and_the_others_still_render(tmp_path: Path) -> None:
    """deploy_llama_cpp=false: llama.cpp's bad input is not the stage's business; vLLM renders (the harness can
    tell a refusal from a run that writes)."""
    rc, output, written = _stage("deploy.yml", tmp_path, {"deploy_llama_cpp": False, "llama_cpp_replicas": -1})
    assert rc == 0, output[-3000:]
    assert written and not any("llama" in name for name in written), written


def test_only_the_tagged_roles_are_checked(tmp_path: Path) -> None:
    """--tags vllm runs (and checks) vLLM only: llama.cpp's bad input does not stop it."""
    rc, output, written = _stage("deploy.yml", tmp_path, {"llama_cpp_replicas": -1}, tags="vllm")
    assert rc == 0, output[-3000:]
    assert written, output[-3000:]


# The benchmark stage hands each backend's URL to the role as benchmark_base_url; the refusal must name the
# variable the user set (benchmark_<backend>_base_url), and come before the first backend is benchmarked.
BENCHMARK_URL_BAD = [
    ("benchmark_llama_cpp_base_url", {"benchmark_vllm_base_url": "http://127.0.0.1:9",
                                      "benchmark_llama_cpp_base_url": ""}),
    ("benchmark_llama_cpp_base_url", {"benchmark_vllm_base_url": "http://127.0.0.1:9",
                                      "benchmark_llama_cpp_base_url": "not a url"}),
    ("benchmark_vllm_base_url", {"benchmark_vllm_base_url": "127.0.0.1:8000",
                                 "benchmark_llama_cpp_base_url": "http://127.0.0.1:9"}),
]


@pytest.mark.parametrize(("variable", "bad"), BENCHMARK_URL_BAD, ids=[str(i) for i in range(len(BENCHMARK_URL_BAD))])
def test_benchmark_stage_names_the_url_variable_the_user_set(variable: str, bad: dict, tmp_path: Path) -> None:
    rc, output, _written = _stage("benchmark.yml", tmp_path, bad)
    assert rc != 0, output[-3000:]
    assert f"benchmark refused: {variable}=" in output, output[-3000:]
    assert "TASK [Benchmark vLLM" not in output, "vLLM was benchmarked before the stage refused its input"
