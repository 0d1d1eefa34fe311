"""playbooks/awx_setup.yml: syntax, ansible-lint production profile, and its input checks run for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO_ROOT / "playbooks" / "awx_setup.yml"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _run(args: list[str], extra_env: dict[str, str] | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(extra_env or {})}
    for name in ("CONTROLLER_HOST", "CONTROLLER_OAUTH_TOKEN", "CONTROLLER_USERNAME", "CONTROLLER_PASSWORD"):
        env.pop(name, None)
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_syntax_check() -> None:
    result = _run([str(BIN / "ansible-playbook"), "--syntax-check", str(PLAYBOOK)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_production_profile() -> None:
    result = _run([str(BIN / "ansible-lint"), "--offline", "--profile", "production", str(PLAYBOOK)])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def test_missing_inputs_fail_before_any_controller_call() -> None:
    """Without a controller or a repository URL the first task stops the run and says what to set."""
    result = _run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK)])
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Check the required inputs" in output
    assert "awx_setup_scm_url" in output and "CONTROLLER_HOST" in output
    assert "Register the execution environment" not in output


def test_half_given_oci_inputs_are_refused() -> None:
    result = _run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK),
                   "-e", "awx_setup_scm_url=https://git.invalid/oke.git", "-e", "awx_setup_ee_image=ee:1",
                   "-e", "awx_setup_oci_user_ocid=ocid1.user.oc1..x"],
                  {"CONTROLLER_HOST": "https://127.0.0.1:9", "CONTROLLER_OAUTH_TOKEN": "t"})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "either all five OCI inputs" in output
