"""vllm role: the Deployment's container args come from the same builder as the process runtime's
(plugins/module_utils/server/vllm_args.py, kubernetes mode) and are what the template's own list rendered before.

tests/data/vllm_k8s_args_before.json holds, per case (every preset, every model source, the switches), the args
the template rendered with its own Jinja list before it used the vllm_args filter. All cases render in one
ansible-playbook run (one play each) to keep the test short.
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
from k8s_support import REPO_ROOT, load_documents

from ansible_collections.llmops.oke.plugins.module_utils.server.flags import parse_flag_list, unknown_flags
from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_args import server_args

pytestmark = pytest.mark.slow
BEFORE = json.loads((REPO_ROOT / "tests" / "data" / "vllm_k8s_args_before.json").read_text())["cases"]
IMAGE_VERSION = yaml.safe_load((REPO_ROOT / "roles" / "vllm" / "defaults" / "main.yml").read_text())[
    "vllm_image"].rsplit(":v", 1)[1]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    work = tmp_path_factory.mktemp("vllm-args")
    plays = [{"hosts": "localhost", "gather_facts": False,
              "tasks": [{"ansible.builtin.include_role": {"name": "llmops.oke.vllm"},
                         "vars": {**case["variables"], "llmops_render_dir": str(work / name)}}]}
             for name, case in BEFORE.items()]
    playbook = work / "render.yml"
    playbook.write_text(yaml.safe_dump(plays))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    args = {}
    for name in BEFORE:
        (manifest,) = sorted((work / name).glob("*.yaml"))
        deployment = next(d for d in load_documents(manifest) if d["kind"] == "Deployment")
        args[name] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


@pytest.mark.parametrize("case", sorted(BEFORE))
def test_the_deployment_args_are_what_the_template_rendered_before(case: str, rendered: dict[str, list[str]]) -> None:
    assert rendered[case] == BEFORE[case]["args"]


@pytest.mark.parametrize("case", sorted(BEFORE))
def test_the_deployment_args_are_flags_the_image_vllm_accepts(case: str, rendered: dict[str, list[str]]) -> None:
    flags = parse_flag_list((REPO_ROOT / "roles" / "vllm" / "files" / f"vllm-flags-{IMAGE_VERSION}.txt").read_text())
    assert unknown_flags(rendered[case], flags, underscores_as_dashes=True) == []


def _settings_of(args: list[str]) -> dict[str, Any]:
    """The builder's settings read back from a rendered arg list (value flags, then the switches)."""
    values = {"--model": "model", "--served-model-name": "served_model_name", "--port": "port", "--dtype": "dtype",
              "--gpu-memory-utilization": "gpu_memory_utilization", "--max-num-seqs": "max_num_seqs",
              "--tensor-parallel-size": "tensor_parallel_size", "--download-dir": "download_dir",
              "--revision": "revision", "--max-model-len": "max_model_len", "--shutdown-timeout": "shutdown_timeout"}
    settings: dict[str, Any] = {"enable_prefix_caching": "--enable-prefix-caching" in args}
    index = 0
    while index < len(args) and args[index] != "--shutdown-timeout":
        if args[index] in values:
            settings[values[args[index]]] = args[index + 1]
        index += 1
    settings["shutdown_timeout"] = args[index + 1]
    settings["extra_args"] = args[index + 2:]
    return settings


@pytest.mark.parametrize("case", sorted(BEFORE))
def test_the_process_runtime_builds_from_the_same_settings_without_the_gpu_flags(case: str) -> None:
    """Same builder, process mode: the GPU-only flags go (the CPU table), the rest keeps its place."""
    before = BEFORE[case]["args"]
    settings = _settings_of(before)
    assert server_args(settings, "kubernetes") == before
    process = server_args(settings, "process")
    for gpu_only in ("--gpu-memory-utilization", "--tensor-parallel-size", "--download-dir", "--revision"):
        assert gpu_only not in process
    assert process[process.index("--host") + 1] == "127.0.0.1" and "--enforce-eager" in process
    assert process[-len(settings["extra_args"]) or len(process):] == settings["extra_args"]
