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
