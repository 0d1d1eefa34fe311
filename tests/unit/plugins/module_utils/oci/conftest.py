"""The OCI emulator fixtures for the base's own tests (see tests/fixtures/oci_emulator/fixtures.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "fixtures"))

from oci_emulator.fixtures import (  # noqa: F401  # pylint: disable=unused-import
    oci_auth_args,
    oci_emulator,
    oci_emulator_server,
    oci_test_identity,
)
