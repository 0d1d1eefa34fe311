"""Run playbooks/provision.yml and teardown.yml with ansible-playbook against a local OCI emulator.

Shared by tests/integration/test_provision_playbook.py and benchmarks/oci_api_calls.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "fixtures"))

from oci_emulator import FIXTURE_CLUSTER_ID, FIXTURE_COMPARTMENT_ID, Emulator, register_container_engine  # noqa: E402
from oci_emulator.api_gateway import register_api_gateway  # noqa: E402
from oci_emulator.fixtures import OCITestIdentity, make_test_identity  # noqa: E402
from oci_emulator.identity import register_identity  # noqa: E402
from oci_emulator.vault import register_vault  # noqa: E402
from oci_emulator.virtual_network import register_virtual_network  # noqa: E402

BIN = Path(sys.executable).parent
RECAP = re.compile(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")

# What a tenancy's group_vars would hold, pointed at the emulator's seeded cluster.
TENANCY_VARS: dict[str, Any] = {
    "oke_compartment_id": FIXTURE_COMPARTMENT_ID,
    "oke_cluster_id": FIXTURE_CLUSTER_ID,
    "oke_ad_names": ["Uocm:US-ASHBURN-AD-1", "Uocm:US-ASHBURN-AD-2"],
    "oke_worker_subnet_id": "ocid1.subnet.oc1.iad.aaaaaaaaworkersubnet",
    "oke_pod_subnet_id": "ocid1.subnet.oc1.iad.aaaaaaaapodsubnet",
    "api_gateway_subnet_id": "ocid1.subnet.oc1.iad.aaaaaaaagatewaysubnet",
    "api_gateway_vllm_backend_url": "http://10.0.10.50:8000",
    "api_gateway_llama_cpp_backend_url": "http://10.0.10.51:8080",
    "api_gateway_cors_origins": "https://chat.example.com",
    "backends_nsg_vcn_id": "ocid1.vcn.oc1.iad.aaaaaaaaclustervcn",
    "backends_nsg_gateway_subnet_cidr": "10.0.3.0/24",
    "oke_node_pools_wait_sleep": 0.05,
    "api_gateway_wait_sleep": 0.05,
}


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    ok: int
    changed: int
    failed: int


def start_emulator(directory: Path) -> tuple[Emulator, OCITestIdentity]:
    """An emulator with Container Engine (seeded cluster), API Gateway, Identity and Vault, and the key that signs
    for it."""
    identity = make_test_identity(directory)
    emulator = Emulator(identity.public_key_pem, identity.key_id, region="us-ashburn-1")
    register_container_engine(emulator)
    register_api_gateway(emulator)
    register_identity(emulator)
    register_virtual_network(emulator)
    register_vault(emulator)
    return emulator.start(), identity


def run_playbook(playbook: str, emulator: Emulator, identity: OCITestIdentity, work: Path,
                 extra_vars: dict[str, Any] | None = None, check: bool = False, tags: str | None = None,
                 timeout: int = 900, diff: bool = False) -> PlaybookRun:
    """ansible-playbook <playbook> -i inventories/oke with the OCI_* environment pointing at the emulator."""
    import json

    variables = {**TENANCY_VARS, "api_gateway_client_token_file": str(work / "client_token"), **(extra_vars or {})}
    env = {
        **os.environ,
        "OCI_CONFIG_FILE": str(identity.config_file),
        "OCI_CONFIG_PROFILE": "DEFAULT",
        "OCI_API_ENDPOINT": emulator.endpoint,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / "build" / "collections"),
    }
    args = [str(BIN / "ansible-playbook"), str(REPO_ROOT / "playbooks" / playbook), "-i",
            str(REPO_ROOT / "inventories" / "oke"), "-e", json.dumps(variables)]
    if check:
        args.append("--check")
    if diff:
        args.append("--diff")
    if tags:
        args += ["--tags", tags]
    result = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = result.stdout + result.stderr
    recap = RECAP.search(output)
    ok, changed, _unreachable, failed = (int(value) for value in recap.groups()) if recap else (0, 0, 0, -1)
    return PlaybookRun(result.returncode, output, ok, changed, failed)


def live_resources(emulator: Emulator) -> dict[str, int]:
    """Number of stored resources per kind that are not DELETED (TERMINATED for NSGs; the seeded cluster excluded)."""
    counts = {}
    for (service, kind), table in emulator.store.items():
        if kind == "Cluster":
            continue
        counts[f"{service}/{kind}"] = sum(1 for item in table.values()
                                          if item.get("lifecycleState") not in ("DELETED", "TERMINATED"))
    return counts
