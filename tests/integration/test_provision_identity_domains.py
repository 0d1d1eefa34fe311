"""playbooks/provision.yml (node pools stage) in a tenancy with identity domains, against the OCI emulator: Grafana's
dynamic group goes to the identity domain through the Identity Domains (SCIM) API, its policy names it as Oracle's
policy syntax says, and a second run writes nothing."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from provision_support import FIXTURE_COMPARTMENT_ID, live_resources, run_playbook, start_emulator

# The emulator's package is importable once provision_support has put tests/fixtures on sys.path.
domain = importlib.import_module("oci_emulator.identity").domain
groups = importlib.import_module("oci_emulator.identity_domains").groups

pytestmark = pytest.mark.slow

WRITE_PREFIXES = ("Create", "Update", "Delete", "Install", "Disable", "Add", "Remove", "Put")


@pytest.fixture(scope="module")
def emulator_and_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    emulator, identity = start_emulator(tmp_path_factory.mktemp("provision-domains"))
    yield emulator, identity
    emulator.stop()


def writes(calls: dict[str, int]) -> dict[str, int]:
    return {op: count for op, count in calls.items() if op.startswith(WRITE_PREFIXES)}


def grafana_policy(emulator) -> dict:
    (policy,) = [item for item in emulator.items("identity", "Policy")
                 if item["name"] == "llmops-grafana-metrics" and item["lifecycleState"] != "DELETED"]
    return policy


@pytest.mark.parametrize(("chosen", "key", "subject"), [
    ("", "default", "dynamic-group llmops-grafana-nodes"),
    ("ML-Domain", "mldomain", "dynamic-group 'ML-Domain'/'llmops-grafana-nodes'"),
], ids=["default-domain", "named-domain"])
def test_grafana_group_in_an_identity_domain_converges_and_reruns_without_writes(emulator_and_identity, tmp_path: Path,
                                                                                 chosen, key, subject) -> None:
    emulator, identity = emulator_and_identity
    emulator.reset()
    emulator.identity_domains = [domain("Default"), domain("ML-Domain")]
    extra = {"oke_node_pools_grafana_identity_domain": chosen}
    first = run_playbook("provision.yml", emulator, identity, tmp_path, extra_vars=extra, tags="node_pools")
    assert first.returncode == 0, first.output[-6000:]
    (group,) = groups(emulator)
    assert group["_domain"] == key and group["displayName"] == "llmops-grafana-nodes"
    assert group["matchingRule"] == f"ALL {{instance.compartment.id = '{FIXTURE_COMPARTMENT_ID}'}}"
    assert live_resources(emulator)["identity/DynamicGroup"] == 0  # nothing in the classic IAM API
    assert grafana_policy(emulator)["statements"] == [
        f"Allow {subject} to read metrics in compartment id {FIXTURE_COMPARTMENT_ID}",
        f"Allow {subject} to read compartments in tenancy"]

    emulator.reset_counts()
    second = run_playbook("provision.yml", emulator, identity, tmp_path, extra_vars=extra, tags="node_pools")
    assert second.returncode == 0 and second.changed == 0, second.output[-6000:]
    assert writes(emulator.calls) == {}
    assert emulator.calls["ListDynamicResourceGroups"] == 1 and emulator.calls["ListDomains"] == 1
