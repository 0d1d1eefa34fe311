"""Every preset of every inference role against every shipped inventory's pools (issue 24, item 1).

One ansible-playbook run per inventory includes each role's tasks/fit.yml once per preset (and, for vLLM, once per
GPU shape we price) and records the llmops.oke.pod_node_fit result: the same task the preflights assert on and the
observe stage reads replicas per node from. Before the fix, the shipped OKE inventory's A1 pool (8 OCPUs) could not
hold the chatbot preset's 16-OCPU llama.cpp pod.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.llmops.oke.plugins.module_utils.k8s import node_fit

REPO_ROOT = Path(__file__).resolve().parents[3]
INVENTORIES = sorted(p.name for p in (REPO_ROOT / "inventories").iterdir() if (p / "hosts.yml").exists())
GPU_SHAPES = sorted(shape for shape, spec in node_fit.SHAPES.items() if spec["gpus"] > 0)


def _presets(role: str) -> list[str]:
    role_vars = yaml.safe_load((REPO_ROOT / "roles" / role / "vars" / "main.yml").read_text())
    return sorted(role_vars[f"__{role}_presets"])


def _fits(inventory: str, tmp_path: Path) -> dict[str, Any]:
    """{case: fit} for every preset (and GPU shape) under ``inventory``'s variables."""
    out = tmp_path / "fits.json"
    cases: list[tuple[str, str, dict[str, Any]]] = []
    for preset in _presets("llama_cpp"):
        cases.append((f"llama_cpp/{preset}", "llama_cpp",
                      {"llama_cpp_preset": preset, "llama_cpp_runtime": "kubernetes"}))
    for preset in _presets("vllm"):
        cases.append((f"vllm/{preset}", "vllm", {"vllm_preset": preset}))
        for shape in GPU_SHAPES:
            cases.append((f"vllm/{preset}/{shape}", "vllm",
                          {"vllm_preset": preset, "vllm_node_shape": shape, "oke_node_pools_gpu_shape": shape}))
    tasks: list[dict[str, Any]] = []
    for name, role, variables in cases:
        tasks += [
            {"ansible.builtin.include_role": {"name": f"llmops.oke.{role}", "tasks_from": "fit"}, "vars": variables},
            {"ansible.builtin.set_fact": {
                "__fits": "{{ __fits | default({}) | combine({" + json.dumps(name) + f": {role}_node_fit" + "}) }}"}},
        ]
    tasks.append({"ansible.builtin.copy": {"content": "{{ __fits | to_json }}", "dest": str(out), "mode": "0644"}})
    playbook = tmp_path / "fits.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                         "tasks": tasks}]))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook),
               "-i", str(REPO_ROOT / "inventories" / inventory)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
                            env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    assert result.returncode == 0 and out.exists(), f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    return json.loads(out.read_text())


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_preset_fits_the_pools_of_every_shipped_inventory(inventory: str, tmp_path: Path) -> None:
    fits = _fits(inventory, tmp_path)
    # the cases that name a GPU shape themselves test the shapes; those that do not test the inventory's pools
    misfits = {case: fit["problems"] for case, fit in fits.items() if not fit["fits"]}
    assert misfits == {}, json.dumps(misfits, indent=1)
    if inventory == "oke":
        # the OKE inventory names its pools, so the check really ran (it is no 'pool unknown' pass)
        assert not any(fit.get("unknown_pool") for fit in fits.values()), fits
        for case, fit in fits.items():
            assert fit["replicas_per_node"] >= 1, (case, fit)
        for preset in _presets("vllm"):
            assert [fits[f"vllm/{preset}/{shape}"]["replicas_per_node"] for shape in GPU_SHAPES] == [4, 1, 2]
    else:
        # the local inventory runs llama-server as a process: no pool, nothing to fit
        assert all(fit.get("unknown_pool") for case, fit in fits.items() if case.count("/") == 1), fits
