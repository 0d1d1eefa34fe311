"""The vllm role in process mode for tests: a play that includes it with a free port and its own run folder.

Shared by tests/integration/test_vllm_process.py, test_drain_vllm.py and the session's shared server
(tests/integration/conftest.py: vllm_server).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from local_http import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]


def _torch_wheel_dir() -> str:
    """This project's CI machines keep the torch CPU wheel in /opt/wheels (pip finds it there by itself too)."""
    return "/opt/wheels" if Path("/opt/wheels").is_dir() else ""


class RolePlay:
    """Runs the vllm role in process mode (rag preset) with a free port and its own run dir."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.run_dir = tmp_path / "run"
        self.playbook = tmp_path / "vllm.yml"
        self.playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                                 "    - ansible.builtin.include_role:\n        name: llmops.oke.vllm\n")
        self.base = {"vllm_runtime": "process", "vllm_preset": "rag", "vllm_port": self.port, "vllm_name": "itest",
                     "vllm_run_dir": str(self.run_dir), "vllm_max_num_seqs": 4,
                     "vllm_cpu_torch_wheel_dir": _torch_wheel_dir()}

    def run(self, *options: str, **variables: Any) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1"}
        return subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", *options,
             str(self.playbook), "-e", json.dumps({**self.base, **variables})],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3000, check=False)

    def __call__(self, *options: str, **variables: Any) -> tuple[int, str]:
        result = self.run(*options, **variables)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        changed = int(re.search(r"localhost\s*:.*changed=(\d+)", result.stdout).group(1))
        return changed, result.stdout

    def refused(self, **variables: Any) -> str:
        result = self.run(**variables)
        assert result.returncode != 0, result.stdout[-3000:]
        return result.stdout

    @property
    def pid(self) -> int:
        return json.loads((self.run_dir / "itest.pid").read_text())["pid"]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"
