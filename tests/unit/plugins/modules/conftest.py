"""Harness for OCI module tests: run a module in-process as Ansible would, against the emulator.

    def test_x(run_oci_module, oci_emulator):
        result = run_oci_module("node_pool", name="gpu", ..., check_mode=True, diff=True)
        assert result["changed"] and oci_emulator.write_calls() == 0

``run_module(name, args)`` feeds ``args`` through ``ansible.module_utils.testing.patch_module_args``,
calls the module's ``main()`` and returns the JSON the module printed (``failed`` set on fail_json).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "fixtures"))

from oci_emulator.fixtures import (  # noqa: F401  # pylint: disable=unused-import
    oci_auth_args,
    oci_emulator,
    oci_emulator_server,
    oci_test_identity,
)


def run_module(module_name: str, args: dict[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    """Run ``llmops.oke.<module_name>`` in-process with ``args``; returns its result dict."""
    module = importlib.import_module(f"ansible_collections.llmops.oke.plugins.modules.{module_name}")
    full_args = {**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
    stdout = io.StringIO()
    with patch_module_args(full_args), contextlib.redirect_stdout(stdout), contextlib.suppress(SystemExit):
        module.main()
    output = stdout.getvalue()
    try:
        return json.loads(output)
    except json.JSONDecodeError as error:
        raise AssertionError(f"module {module_name} printed no JSON result: {output!r}") from error


@pytest.fixture
def run_oci_module(oci_auth_args: dict[str, Any]) -> Callable[..., dict[str, Any]]:  # noqa: F811
    """``run(module_name, check_mode=False, diff=False, **options)`` with the emulator auth options added."""

    def run(module_name: str, check_mode: bool = False, diff: bool = False, **options: Any) -> dict[str, Any]:
        return run_module(module_name, {**oci_auth_args, **options}, check_mode=check_mode, diff=diff)

    return run
