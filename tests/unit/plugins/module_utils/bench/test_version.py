"""The collection version recorded in every run's metadata stays equal to galaxy.yml's."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.llmops.oke.plugins.module_utils.bench import COLLECTION_VERSION

GALAXY = Path(__file__).resolve().parents[5] / "galaxy.yml"


def test_collection_version_matches_galaxy_yml() -> None:
    assert yaml.safe_load(GALAXY.read_text())["version"] == COLLECTION_VERSION
