"""OCI API calls of playbooks/provision.yml against the local OCI emulator, per operation.

Runs the real ``ansible-playbook playbooks/provision.yml -i inventories/oke`` four times against a fresh
emulator with every switchable rule on (list-after-create lag, work requests listing several entities, an
empty list read back as null, the deployment defaults OCI fills in; see tests/fixtures/oci_emulator/rules.py):
first converge, no-op converge, converge after the cluster autoscaler resized a pool, check-mode converge; then
twice (first and no-op converge) against a fresh emulator whose tenancy has identity domains. It counts the
emulator's calls by operation for each and writes a Markdown table:

    .venv/bin/python benchmarks/oci_api_calls.py [--output benchmarks/results/oci_api_calls.md]

Goal for the no-op converge: one read per resource (list, plus a get where the list summary lacks a
compared field), zero writes, zero work-request polls.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

importlib.import_module("conftest")  # links the checkout as ansible_collections.llmops.oke
from provision_support import live_resources, run_playbook, start_emulator  # noqa: E402

domain = importlib.import_module("oci_emulator.identity").domain  # tests/fixtures is on sys.path now
groups = importlib.import_module("oci_emulator.identity_domains").groups

WRITE_PREFIXES = ("Create", "Update", "Delete", "Install", "Disable", "Add", "Remove", "Put")
POLL_OPERATIONS = ("GetWorkRequest", "ApiGatewayGetWorkRequest")
# Three tenants, each with its own usage plan and subscriber (api_gateway_tenants, issue 25).
TENANTS = [
    {"name": "team-a", "rate_limit_per_second": 5, "quota": 10000, "quota_unit": "DAY"},
    {"name": "team-b", "rate_limit_per_second": 20, "quota": 500, "quota_unit": "MINUTE"},
    {"name": "team-c", "rate_limit_per_second": 2, "no_quota": True},
]
# Each tenant's key also in its own Vault secret (api_gateway_tenant_vault_id, issue 25).
VAULT = {"api_gateway_tenant_vault_id": "ocid1.vault.oc1.iad.aaaaaaaabenchvault",
         "api_gateway_tenant_vault_key_id": "ocid1.key.oc1.iad.aaaaaaaabenchvaultkey"}
# Resources the provision playbook manages: 3 node pools (GPU, CPU and the untainted system pool of issue 24), 1 add-on,
# 1 gateway, 2 deployments, 1 plan, 1 subscriber, the cluster autoscaler's IAM policy, Grafana's dynamic group and IAM
# policy (the inventory's grafana_oci_auth instance_principal), the backends NSG (issue 25), and per tenant 1 plan,
# 1 subscriber and 1 Vault secret.
MANAGED_RESOURCES = 13 + 3 * len(TENANTS)
# The tenancy of the last two runs: identity domains Default and ML-Domain (the common case since 2023).
DOMAINS = "identity domains"
# The inventory's pool the autoscaler grows from 1 to 3 nodes between two runs (emulator rule autoscaler_resizes_pool).
AUTOSCALED_POOL = "gpu-a10"


@dataclass
class ConvergeRun:
    label: str
    calls: Counter[str]
    elapsed_s: float
    changed: int
    alive: dict[str, int]


def kind_of(operation: str) -> str:
    if operation in POLL_OPERATIONS:
        return "work-request poll"
    if operation.startswith(WRITE_PREFIXES):
        return "write"
    return "read"


def measure() -> list[ConvergeRun]:
    """The four runs in a tenancy without identity domains, then a first and a no-op converge in a fresh tenancy
    with identity domains (Default and ML-Domain), where Grafana's dynamic group goes to the Default domain."""
    runs = []
    plans = [("first converge", False, False), ("no-op converge", False, False),
             ("after autoscaler resize", False, False), ("check-mode converge", True, False),
             (f"{DOMAINS}: first converge", False, True), (f"{DOMAINS}: no-op converge", False, True)]
    for with_domains in (False, True):
        with tempfile.TemporaryDirectory(prefix="oci-api-calls-") as directory:
            work = Path(directory)
            emulator, identity = start_emulator(work)
            emulator.switch_on("all")
            if with_domains:
                emulator.identity_domains = [domain("Default"), domain("ML-Domain")]
            try:
                for label, check, domains_run in plans:
                    if domains_run != with_domains:
                        continue
                    if label == "after autoscaler resize":
                        emulator.action_resize_node_pool(name=AUTOSCALED_POOL, size=3)
                    emulator.reset_counts()
                    started = time.monotonic()
                    run = run_playbook("provision.yml", emulator, identity, work, check=check,
                                       extra_vars={"api_gateway_tenants": TENANTS, **VAULT,
                                                   "api_gateway_tenant_token_dir": str(work / "tenant-keys")})
                    elapsed = time.monotonic() - started
                    if run.returncode != 0:
                        raise SystemExit(f"{label} failed:\n{run.output[-4000:]}")
                    alive = {**live_resources(emulator), "identity_domains/DynamicResourceGroup": len(groups(emulator))}
                    runs.append(ConvergeRun(label, Counter(emulator.calls), elapsed, run.changed, alive))
            finally:
                emulator.stop()
    return runs


def report(runs: list[ConvergeRun]) -> str:
    for noop in (runs[1], runs[5]):
        alive = sum(noop.alive.values())
        if alive != MANAGED_RESOURCES:
            raise SystemExit(f"the {noop.label} left {alive} resources alive, not the {MANAGED_RESOURCES} counted "
                             f"here: {noop.alive}")
    operations = sorted({op for run in runs for op in run.calls}, key=lambda op: (kind_of(op), op))
    noop_reads = sum(count for op, count in runs[1].calls.items() if kind_of(op) == "read")
    domain_noop_reads = sum(count for op, count in runs[5].calls.items() if kind_of(op) == "read")
    lines = [
        "# OCI API calls of `playbooks/provision.yml` (emulator)",
        "",
        "Measured with `.venv/bin/python benchmarks/oci_api_calls.py` — the real `ansible-playbook "
        "playbooks/provision.yml -i inventories/oke` against the local OCI emulator (tests/fixtures/oci_emulator), "
        "which counts every request by operation. The emulator finishes a work request on its 2nd poll. Every "
        "switchable emulator rule is on (list lag, several entities per work request, [] read back as null, "
        f"deployment defaults); before the third run the autoscaler grows `{AUTOSCALED_POOL}` to 3 nodes.",
        f"Python {platform.python_version()}, {platform.machine()}; {MANAGED_RESOURCES} managed resources "
        "(3 node pools, ClusterAutoscaler add-on and its IAM policy, Grafana's dynamic group and IAM policy, the "
        "backends NSG with its 2 rules, gateway, 2 deployments, usage plan, subscriber, and for each of "
        f"{len(TENANTS)} tenants its usage plan, subscriber and Vault secret).",
        "",
        "| operation | kind | " + " | ".join(run.label for run in runs) + " |",
        "|---|---|" + "---:|" * len(runs),
    ]
    for op in operations:
        lines.append(f"| {op} | {kind_of(op)} | " + " | ".join(str(run.calls.get(op, 0)) for run in runs) + " |")
    for kind in ("read", "write", "work-request poll"):
        totals = [sum(count for op, count in run.calls.items() if kind_of(op) == kind) for run in runs]
        lines.append(f"| **total {kind}s** | | " + " | ".join(f"**{total}**" for total in totals) + " |")
    lines.append("| tasks changed | | " + " | ".join(str(run.changed) for run in runs) + " |")
    lines.append("| wall time (s) | | " + " | ".join(f"{run.elapsed_s:.1f}" for run in runs) + " |")
    lines += [
        "",
        "Reading it:",
        "- No-op converge: zero writes and zero polls. Reads are one list per resource, plus one get where the "
        "list summary lacks what must be compared: node pools (node metadata: the cloud-init that registers the "
        "taints), deployments (the API specification), the usage plan (entitlement targets), the subscriber (its "
        "clients' token digests: the role keeps OCI on the token it exports); the add-on is read by name "
        "(one get); each IAM policy or dynamic group is found after reading the tenancy's home region (region "
        "subscriptions), the dynamic group also after listing the identity domains; "
        "each Vault secret is listed and its current bundle read, so its content is compared without printing it; "
        "the backends NSG is one list and one list of its security rules (they are compared as a set). "
        "Once per run the node pool options are read (GetNodePoolOptions), so both pools' shapes are "
        "checked against what OCI offers before the first pool is written. "
        f"No-op total: {noop_reads} reads for {MANAGED_RESOURCES} resources "
        f"({noop_reads / MANAGED_RESOURCES:.2f} per resource).",
        "- First converge: each create waits on its work request (2 polls each in the emulator) and re-reads the "
        "resource once; the node pool and add-on creates also read the cluster first (a missing one is refused "
        "before any write), the add-on create the add-ons OCI offers (ListAddonOptions), the deployment creates "
        "their gateway.",
        "- After the autoscaler resized a pool: zero writes, the same reads as a no-op; the role marks the "
        "autoscaler's pools `size_managed_by_autoscaler`, so their size is left to it.",
        "- Check mode reads what a no-op reads and writes nothing.",
        f"- In a tenancy with {DOMAINS} (Default and ML-Domain; the last two columns, a fresh tenancy), Grafana's "
        "dynamic group is a dynamic resource group of the Default domain, written and found through the Identity "
        "Domains (SCIM) API at the domain's URL (CreateDynamicResourceGroup, ListDynamicResourceGroups filtered by "
        "displayName) instead of the classic IAM API; the no-op reads the same number of calls for it (the domains, "
        "then one SCIM list). "
        f"No-op total there: {domain_noop_reads} reads for {MANAGED_RESOURCES} resources "
        f"({domain_noop_reads / MANAGED_RESOURCES:.2f} per resource), "
        f"{sum(c for op, c in runs[5].calls.items() if kind_of(op) == 'write')} writes.",
        "",
        f"Resources alive after the runs: {runs[-1].alive}",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "oci_api_calls.md")
    args = parser.parse_args()
    text = report(measure())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
