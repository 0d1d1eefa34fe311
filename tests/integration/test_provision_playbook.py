"""ansible-playbook playbooks/provision.yml -i inventories/oke against the OCI emulator: converge, no-op, teardown."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from provision_support import (
    FIXTURE_CLUSTER_ID,
    FIXTURE_COMPARTMENT_ID,
    live_resources,
    run_playbook,
    start_emulator,
)

pytestmark = pytest.mark.slow

WRITE_PREFIXES = ("Create", "Update", "Delete", "Install", "Disable", "Add", "Remove")
# No Kubernetes cluster here: teardown's Kubernetes part is skipped (rendered stacks are tested elsewhere).
NO_CLUSTER = {"teardown_kubernetes": False}


@pytest.fixture(scope="module")
def emulator_and_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    emulator, identity = start_emulator(tmp_path_factory.mktemp("provision-identity"))
    yield emulator, identity
    emulator.stop()


def writes(calls: dict[str, int]) -> dict[str, int]:
    return {op: count for op, count in calls.items() if op.startswith(WRITE_PREFIXES)}


def test_converge_noop_and_teardown(emulator_and_identity, tmp_path: Path) -> None:
    emulator, identity = emulator_and_identity
    emulator.reset()

    checked = run_playbook("provision.yml", emulator, identity, tmp_path, check=True)
    assert checked.returncode == 0, checked.output[-6000:]
    assert writes(emulator.calls) == {}, "check mode wrote"

    first = run_playbook("provision.yml", emulator, identity, tmp_path)
    assert first.returncode == 0, first.output[-6000:]
    # pools (loop), autoscaler IAM policy, Grafana's dynamic group and policy (issue 25: grafana_oci_auth
    # instance_principal in the inventory), add-on, backends NSG, gateway, deployments (loop), plan, subscriber
    assert first.changed == 10
    assert live_resources(emulator) == {
        "containerengine/NodePool": 3, "containerengine/Addon": 1, "apigateway/Gateway": 1,
        "apigateway/Deployment": 2, "apigateway/UsagePlan": 1, "apigateway/Subscriber": 1,
        "identity/Policy": 2, "identity/DynamicGroup": 1, "vault/Secret": 0,
        "virtual_network/NetworkSecurityGroup": 1,
    }
    # The network path: only the API gateway subnet, to the vLLM and llama.cpp listener ports (issue 25).
    (nsg,) = emulator.items("virtual_network", "NetworkSecurityGroup")
    assert nsg["vcnId"] == "ocid1.vcn.oc1.iad.aaaaaaaaclustervcn"
    assert sorted((rule["direction"], rule["source"], rule["tcpOptions"]["destinationPortRange"]["min"])
                  for rule in nsg["_rules"]) == [("INGRESS", "10.0.3.0/24", 8000), ("INGRESS", "10.0.3.0/24", 8080)]
    policies = {item["name"]: item for item in emulator.items("identity", "Policy")}
    assert policies["llmops-grafana-metrics"]["statements"] == [
        f"Allow dynamic-group llmops-grafana-nodes to read metrics in compartment id {FIXTURE_COMPARTMENT_ID}",
        "Allow dynamic-group llmops-grafana-nodes to read compartments in tenancy"]
    group = emulator.items("identity", "DynamicGroup")[0]
    assert (group["name"], group["matchingRule"]) == (
        "llmops-grafana-nodes", f"ALL {{instance.compartment.id = '{FIXTURE_COMPARTMENT_ID}'}}")
    statements = policies["llmops-cluster-autoscaler"]["statements"]
    assert statements[0] == (
        f"Allow any-user to manage cluster-node-pools in compartment id {FIXTURE_COMPARTMENT_ID} where all "
        "{request.principal.type = 'workload', request.principal.namespace = 'kube-system', "
        f"request.principal.service_account = 'cluster-autoscaler', request.principal.cluster_id = "
        f"'{FIXTURE_CLUSTER_ID}'}}")
    assert len(statements) == 6
    pools = {pool["name"]: pool for pool in emulator.items("containerengine", "NodePool")}
    assert {label["key"]: label["value"] for label in pools["gpu-a10"]["initialNodeLabels"]} == {
        "llmops.oke/pool": "gpu-a10"}
    taints = {"gpu-a10": "nvidia.com/gpu=present:NoSchedule", "cpu-a1": "llmops.oke/pool=cpu-a1:NoSchedule"}
    for name, taint in taints.items():
        user_data = base64.b64decode(pools[name]["nodeMetadata"]["user_data"]).decode()
        assert user_data.startswith("#!/bin/bash\n") and f"--register-with-taints={taint}" in user_data
    # issue 24: the untainted system pool (Prometheus, KEDA, the benchmark Job...) and Oracle's reservations on every
    # node, the figures the fit check takes off; the A1 pool holds one chatbot pod (was 8 OCPUs / 48 GB, too small)
    system_data = base64.b64decode(pools["system"]["nodeMetadata"]["user_data"]).decode()
    assert "--register-with-taints" not in system_data
    for pool in pools.values():
        user_data = base64.b64decode(pool["nodeMetadata"]["user_data"]).decode()
        assert "--kube-reserved=cpu=500m,memory=1Gi --system-reserved=cpu=100m,memory=100Mi" in user_data
    assert pools["cpu-a1"]["nodeShapeConfig"] == {"ocpus": 17, "memoryInGBs": 32}
    assert pools["system"]["nodeShapeConfig"] == {"ocpus": 2, "memoryInGBs": 32}
    # The boot volume's filesystem is grown at first boot, after the OKE init script, on every pool (issue 24).
    for pool in pools.values():
        lines = base64.b64decode(pool["nodeMetadata"]["user_data"]).decode().splitlines()
        assert lines[-1] == "/usr/libexec/oci-growfs -y" and lines.index("/usr/libexec/oci-growfs -y") > next(
            i for i, line in enumerate(lines) if line.startswith("bash /var/run/oke-init.sh"))
    addon = emulator.items("containerengine", "Addon")[0]
    nodes = next(item["value"] for item in addon["configurations"] if item["key"] == "nodes")
    assert sorted(nodes.split(",")) == sorted([f"1:4:{pools['gpu-a10']['id']}", f"1:6:{pools['cpu-a1']['id']}",
                                               f"1:3:{pools['system']['id']}"])
    token = (tmp_path / "client_token").read_text().split()[0]
    subscriber = emulator.items("apigateway", "Subscriber")[0]
    assert subscriber["clients"][0]["token"] == token
    assert token not in first.output

    emulator.reset_counts()
    second = run_playbook("provision.yml", emulator, identity, tmp_path)
    assert second.returncode == 0, second.output[-6000:]
    assert second.changed == 0, second.output[-6000:]
    assert writes(emulator.calls) == {}
    assert emulator.rejected_signatures == 0

    # A lost token file means a new token: the subscriber follows, so the exported token stays valid.
    (tmp_path / "client_token").unlink()
    rotated = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway")
    assert rotated.returncode == 0 and rotated.changed == 1, rotated.output[-6000:]
    new_token = (tmp_path / "client_token").read_text().split()[0]
    assert new_token != token
    assert emulator.items("apigateway", "Subscriber")[0]["clients"][0]["token"] == new_token

    emulator.reset_counts()
    checked_again = run_playbook("provision.yml", emulator, identity, tmp_path, check=True)
    assert checked_again.returncode == 0 and checked_again.changed == 0, checked_again.output[-6000:]

    torn = run_playbook("teardown.yml", emulator, identity, tmp_path, extra_vars=NO_CLUSTER)
    assert torn.returncode == 0, torn.output[-6000:]
    assert set(live_resources(emulator).values()) == {0}, live_resources(emulator)
    again = run_playbook("teardown.yml", emulator, identity, tmp_path, extra_vars=NO_CLUSTER)
    assert again.returncode == 0 and again.changed == 0, again.output[-6000:]


def test_second_run_is_zero_writes_with_what_a_real_run_meets(emulator_and_identity, tmp_path: Path) -> None:
    """Every switchable emulator rule on (list lag, several entities per work request, [] read back as null,
    deployment defaults OCI fills in) and the autoscaler resizing a pool between two runs: still 0 writes."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    emulator.switch_on("all")
    first = run_playbook("provision.yml", emulator, identity, tmp_path)
    assert first.returncode == 0, (emulator.items("apigateway", "Subscriber"), dict(emulator.calls))
    deployment = emulator.items("apigateway", "Deployment")[0]
    assert deployment["specification"]["requestPolicies"]["usagePlans"] == {
        "tokenLocations": ["request.headers[x-api-key]"]}

    emulator.action_resize_node_pool(name="gpu-a10", size=3)
    emulator.reset_counts()
    second = run_playbook("provision.yml", emulator, identity, tmp_path)
    assert second.returncode == 0, second.output[-6000:]
    assert (second.changed, writes(emulator.calls)) == (0, {}), second.output[-6000:]
    pools = {pool["name"]: pool for pool in emulator.items("containerengine", "NodePool")}
    assert pools["gpu-a10"]["nodeConfigDetails"]["size"] == 3  # the autoscaler's, not the inventory's 1


def test_one_bad_pool_creates_nothing(emulator_and_identity, tmp_path: Path) -> None:
    """A bad GPU pool size used to fail after the CPU pool was created (issue 16): now nothing is written."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    run = run_playbook("provision.yml", emulator, identity, tmp_path, extra_vars={"oke_node_pools_gpu_size": -1})
    assert run.returncode != 0 and "oke_node_pools_gpu_size must be 0 or more, got -1" in run.output, \
        run.output[-4000:]
    assert writes(emulator.calls) == {} and set(live_resources(emulator).values()) == {0}


def test_bad_gateway_input_creates_no_pool(emulator_and_identity, tmp_path: Path) -> None:
    """The gateway is the stage's second role: its bad input used to fail after both pools and the add-on were
    created. Now the stage's first step checks both roles: zero writes, the message names the variable."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    run = run_playbook("provision.yml", emulator, identity, tmp_path,
                       extra_vars={"api_gateway_rate_limit_per_second": 0})
    assert run.returncode != 0 and "api_gateway_rate_limit_per_second" in run.output, run.output[-4000:]
    assert writes(emulator.calls) == {} and set(live_resources(emulator).values()) == {0}


NETWORK_BAD = [
    ({"backends_nsg_gateway_subnet_cidr": "10.0.3.0"},
     "backends_nsg_gateway_subnet_cidr must be a CIDR block such as 10.0.1.0/24, got '10.0.3.0'"),
    ({"backends_nsg_gateway_subnet_cidr": "10.0.3.0/33"}, "backends_nsg_gateway_subnet_cidr must be a CIDR block"),
    ({"backends_nsg_ports": [8000, 70000]}, "backends_nsg_ports[1] must be a port from 1 to 65535, got 70000"),
    ({"backends_nsg_ports": [0]}, "backends_nsg_ports[0] must be a port from 1 to 65535, got 0"),
    ({"backends_nsg_vcn_id": "ocid1.subnet.oc1..aaaa"}, "backends_nsg_vcn_id must be an OCID of type vcn"),
]


@pytest.mark.parametrize(("bad", "message"), NETWORK_BAD,
                         ids=[str(next(iter(item[0].values()))) for item in NETWORK_BAD])
def test_bad_network_path_input_is_refused_before_any_write(emulator_and_identity, tmp_path: Path, bad,
                                                            message) -> None:
    """A CIDR that is not one, a port outside 1-65535, a VCN OCID of another kind: refused by the stage's first
    step (before the node pools), naming the variable."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    run = run_playbook("provision.yml", emulator, identity, tmp_path, extra_vars=bad)
    assert run.returncode != 0 and message in run.output, run.output[-4000:]
    assert "Check the network path settings" in run.output
    assert writes(emulator.calls) == {} and set(live_resources(emulator).values()) == {0}


SITE_BAD = [("autoscaling_vllm_min_replicas", 0), ("benchmark_max_requests", 0)]


@pytest.mark.parametrize(("variable", "value"), SITE_BAD, ids=["observe-stage", "benchmark-stage"])
def test_site_checks_every_stage_before_provisioning(emulator_and_identity, tmp_path: Path, variable: str,
                                                     value: int) -> None:
    """site.yml: a bad input of a later stage (observe, benchmark) stops the run before provision writes to OCI."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    run = run_playbook("site.yml", emulator, identity, tmp_path, extra_vars={variable: value})
    assert run.returncode != 0 and variable in run.output, run.output[-4000:]
    assert "Check the input of every role of every stage" in run.output
    assert writes(emulator.calls) == {} and set(live_resources(emulator).values()) == {0}


def test_no_quota_is_said_in_words(emulator_and_identity, tmp_path: Path) -> None:
    """A quota of 0 used to store a plan with no quota: now it is refused before any write, and no quota is
    api_gateway_usage_plan_no_quota: true (the plan OCI holds then has no quota, the rate limit stays)."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    refused = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway",
                           extra_vars={"api_gateway_usage_plan_quota": 0})
    assert refused.returncode != 0, refused.output[-4000:]
    assert "api_gateway_usage_plan_quota must be 1 or more, got 0" in refused.output, refused.output[-4000:]
    assert writes(emulator.calls) == {}
    unlimited = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway",
                             extra_vars={"api_gateway_usage_plan_quota": 0, "api_gateway_usage_plan_no_quota": True})
    assert unlimited.returncode == 0, unlimited.output[-4000:]
    entitlement = emulator.items("apigateway", "UsagePlan")[0]["entitlements"][0]
    assert entitlement.get("quota") is None and entitlement["rateLimit"]["value"] == 10, entitlement


def test_jwt_choice_and_missing_settings(emulator_and_identity, tmp_path: Path) -> None:
    emulator, identity = emulator_and_identity
    emulator.reset()
    jwt = {"api_gateway_auth": "jwt", "api_gateway_jwt_issuer": "https://idcs.example.com/",
           "api_gateway_jwt_audience": "llmops", "api_gateway_jwt_jwks_uri": "https://idcs.example.com/jwks",
           "api_gateway_llama_cpp_backend_url": "", "api_gateway_execution_log_level": "OFF"}
    run = run_playbook("provision.yml", emulator, identity, tmp_path, extra_vars=jwt, tags="api_gateway")
    assert run.returncode == 0, run.output[-6000:]
    deployments = emulator.items("apigateway", "Deployment")
    assert [item["pathPrefix"] for item in deployments] == ["/vllm"]
    policies = deployments[0]["specification"]["requestPolicies"]
    assert policies["authentication"]["type"] == "JWT_AUTHENTICATION" and "usagePlans" not in policies
    assert deployments[0]["specification"]["loggingPolicies"] == {"accessLog": {"isEnabled": True},
                                                                  "executionLog": {"isEnabled": False,
                                                                                   "logLevel": "WARN"}}
    alive = live_resources(emulator)
    assert alive["apigateway/UsagePlan"] == 0 and alive["apigateway/Subscriber"] == 0
    assert alive["containerengine/NodePool"] == 0  # the tag limited the run to the gateway

    missing = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway",
                           extra_vars={**jwt, "api_gateway_jwt_jwks_uri": ""})
    assert missing.returncode != 0 and "api_gateway_jwt_jwks_uri" in missing.output


def test_a_fixed_cpu_shape_converges_without_shape_config(emulator_and_identity, tmp_path: Path) -> None:
    """A fixed CPU shape used to fail after the GPU pool was created (issue 25): OCPUs and memory are only for Flex."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    run = run_playbook("provision.yml", emulator, identity, tmp_path,
                       extra_vars={"oke_node_pools_cpu_shape": "VM.Standard2.1"})
    assert run.returncode == 0, run.output[-6000:]
    pools = {pool["name"]: pool for pool in emulator.items("containerengine", "NodePool")}
    assert pools["cpu-a1"]["nodeShape"] == "VM.Standard2.1" and not pools["cpu-a1"].get("nodeShapeConfig")


def test_a_shape_oci_does_not_offer_creates_no_pool(emulator_and_identity, tmp_path: Path) -> None:
    """Both pools' shapes are checked against GetNodePoolOptions before the first pool is written (issue 25)."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    run = run_playbook("provision.yml", emulator, identity, tmp_path,
                       extra_vars={"oke_node_pools_cpu_shape": "VM.Nonsense.9"})
    refusal = "oke_node_pools_cpu_shape is VM.Nonsense.9, which OCI does not offer"
    assert run.returncode != 0 and refusal in run.output, run.output[-4000:]
    assert writes(emulator.calls) == {} and set(live_resources(emulator).values()) == {0}


TENANTS = [
    {"name": "team-a", "rate_limit_per_second": 5, "quota": 10000, "quota_unit": "DAY"},
    {"name": "team-b", "rate_limit_per_second": 20, "quota": 500, "quota_unit": "MINUTE"},
    {"name": "team-c", "rate_limit_per_second": 2, "no_quota": True},
]


def test_tenants_each_get_a_plan_a_subscriber_and_their_own_key(emulator_and_identity, tmp_path: Path) -> None:
    """Issue 25: three tenants converge, a second run makes no write, a changed tenant touches only itself and a
    removed one deletes only its own subscriber and plan; each key is its own, kept 0600 and never printed."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    token_dir = tmp_path / "tenant-keys"
    tenants = {"api_gateway_tenants": TENANTS, "api_gateway_tenant_token_dir": str(token_dir)}
    checked = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway", extra_vars=tenants,
                           check=True)
    assert checked.returncode == 0 and writes(emulator.calls) == {}, checked.output[-6000:]
    first = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway", extra_vars=tenants)
    assert first.returncode == 0, first.output[-6000:]
    keys = {path.name: path.read_text().strip() for path in token_dir.iterdir()}
    assert sorted(keys) == ["team-a", "team-b", "team-c"] and len(set(keys.values())) == 3
    assert all((token_dir / name).stat().st_mode & 0o777 == 0o600 for name in keys)
    assert all(key not in first.output for key in keys.values())
    subscribers = {item["displayName"]: item for item in emulator.items("apigateway", "Subscriber")}
    plans = {item["displayName"]: item for item in emulator.items("apigateway", "UsagePlan")}
    for tenant in TENANTS:
        name = f"llmops-gateway-tenant-{tenant['name']}"
        assert [client["token"] for client in subscribers[name]["clients"]] == [keys[tenant["name"]]]
        assert subscribers[name]["usagePlans"] == [plans[name]["id"]]
        entitlement = plans[name]["entitlements"][0]
        assert entitlement["rateLimit"]["value"] == tenant["rate_limit_per_second"]
        assert (entitlement.get("quota") or {}).get("value") == tenant.get("quota")
        assert len(entitlement["targets"]) == 2  # both deployments

    emulator.reset_counts()
    second = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway", extra_vars=tenants)
    assert second.returncode == 0 and (second.changed, writes(emulator.calls)) == (0, {}), second.output[-6000:]
    rechecked = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway", extra_vars=tenants,
                             check=True)
    assert rechecked.returncode == 0 and rechecked.changed == 0, rechecked.output[-6000:]

    changed = [TENANTS[0], {**TENANTS[1], "rate_limit_per_second": 40}, TENANTS[2]]
    emulator.reset_counts()
    third = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway",
                         extra_vars={**tenants, "api_gateway_tenants": changed})
    assert third.returncode == 0 and writes(emulator.calls) == {"UpdateUsagePlan": 1}, third.output[-6000:]

    removed = [TENANTS[0], changed[1], {"name": "team-c", "state": "absent"}]
    emulator.reset_counts()
    fourth = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway",
                          extra_vars={**tenants, "api_gateway_tenants": removed})
    assert fourth.returncode == 0, fourth.output[-6000:]
    assert writes(emulator.calls) == {"DeleteSubscriber": 1, "DeleteUsagePlan": 1}, fourth.output[-6000:]
    alive = {item["displayName"] for item in emulator.items("apigateway", "Subscriber")
             if item["lifecycleState"] != "DELETED"}
    assert alive == {"llmops-clients", "llmops-gateway-tenant-team-a", "llmops-gateway-tenant-team-b"}

    torn = run_playbook("teardown.yml", emulator, identity, tmp_path, tags="api_gateway",
                        extra_vars={**NO_CLUSTER, **tenants, "api_gateway_tenants": removed})
    assert torn.returncode == 0, torn.output[-6000:]
    assert set(live_resources(emulator).values()) == {0}, live_resources(emulator)


@pytest.mark.parametrize(("tenants", "needle"), [
    ([TENANTS[0], {**TENANTS[1], "name": "team-a"}], "(team-a).name team-a is used twice"),
    ([{"name": "team-a", "rate_limit_per_second": 5, "quota": 100}], "(team-a).quota 100 has no unit"),
], ids=["name-twice", "quota-without-unit"])
def test_bad_tenants_are_refused_before_any_write(emulator_and_identity, tmp_path: Path, tenants, needle) -> None:
    emulator, identity = emulator_and_identity
    emulator.reset()
    run = run_playbook("provision.yml", emulator, identity, tmp_path, extra_vars={"api_gateway_tenants": tenants})
    assert run.returncode != 0 and needle in run.output and "api_gateway_tenants[" in run.output, run.output[-4000:]
    assert writes(emulator.calls) == {} and set(live_resources(emulator).values()) == {0}


VAULT_ID = "ocid1.vault.oc1.iad.aaaaaaaatenantvault"
VAULT_KEY_ID = "ocid1.key.oc1.iad.aaaaaaaatenantvaultkey"


def test_tenant_keys_go_to_vault_secrets_and_a_removed_tenant_schedules_only_its_secret(
        emulator_and_identity, tmp_path: Path) -> None:
    """Issue 25: with a vault, each tenant's key is also a Vault secret holding exactly the key (never printed); a
    second run rewrites none (content compared through the bundle); removing a tenant schedules only its secret's
    deletion, and teardown schedules the rest."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    token_dir = tmp_path / "tenant-keys"
    tenants = {"api_gateway_tenants": TENANTS, "api_gateway_tenant_token_dir": str(token_dir),
               "api_gateway_tenant_vault_id": VAULT_ID, "api_gateway_tenant_vault_key_id": VAULT_KEY_ID}
    checked = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway", extra_vars=tenants,
                           check=True)
    assert checked.returncode == 0 and writes(emulator.calls) == {}, checked.output[-6000:]
    first = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway", extra_vars=tenants)
    assert first.returncode == 0, first.output[-6000:]
    keys = {path.name: path.read_text().strip() for path in token_dir.iterdir()}
    assert all(key not in first.output for key in keys.values())
    secrets = {item["secretName"]: item for item in emulator.items("vault", "Secret")}
    assert sorted(secrets) == [f"llmops-gateway-tenant-{name}" for name in ("team-a", "team-b", "team-c")]
    for name, key in keys.items():
        stored = secrets[f"llmops-gateway-tenant-{name}"]
        assert base64.b64decode(stored["secretContent"]["content"]).decode() == key
        assert stored["vaultId"] == VAULT_ID and stored["keyId"] == VAULT_KEY_ID

    emulator.reset_counts()
    second = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway", extra_vars=tenants)
    assert second.returncode == 0 and (second.changed, writes(emulator.calls)) == (0, {}), second.output[-6000:]
    assert emulator.calls["GetSecretBundle"] == 3 and emulator.calls["ListSecrets"] == 3

    removed = [TENANTS[0], TENANTS[1], {"name": "team-c", "state": "absent"}]
    emulator.reset_counts()
    third = run_playbook("provision.yml", emulator, identity, tmp_path, tags="api_gateway",
                         extra_vars={**tenants, "api_gateway_tenants": removed})
    assert third.returncode == 0, third.output[-6000:]
    assert writes(emulator.calls) == {"DeleteSubscriber": 1, "DeleteUsagePlan": 1}, third.output[-6000:]
    assert emulator.calls["ScheduleSecretDeletion"] == 1
    states = {item["secretName"]: item["lifecycleState"] for item in emulator.items("vault", "Secret")}
    assert states == {"llmops-gateway-tenant-team-a": "ACTIVE", "llmops-gateway-tenant-team-b": "ACTIVE",
                      "llmops-gateway-tenant-team-c": "PENDING_DELETION"}

    torn = run_playbook("teardown.yml", emulator, identity, tmp_path, tags="api_gateway",
                        extra_vars={**NO_CLUSTER, **tenants, "api_gateway_tenants": removed})
    assert torn.returncode == 0, torn.output[-6000:]
    assert {item["lifecycleState"] for item in emulator.items("vault", "Secret")} == {"PENDING_DELETION"}
    assert {kind: count for kind, count in live_resources(emulator).items() if kind != "vault/Secret"} == {
        kind: 0 for kind in live_resources(emulator) if kind != "vault/Secret"}


def test_model_reads_policy_from_the_provision_variables_and_teardown_removes_it(
        emulator_and_identity, tmp_path: Path) -> None:
    """Issue 25: with a model bucket named, the workload-identity policy of Oracle's "Granting Workloads Access to OCI
    Resources" is written in the home region, shown with --diff, unchanged on a second run and removed by teardown;
    oke_node_pools_grafana_iam: false writes no Grafana dynamic group or policy."""
    emulator, identity = emulator_and_identity
    emulator.reset()
    model = {"oke_node_pools_model_bucket": "llm-weights", "oke_node_pools_model_service_account": "vllm",
             "oke_node_pools_grafana_iam": False}
    first = run_playbook("provision.yml", emulator, identity, tmp_path, tags="node_pools", extra_vars=model)
    assert first.returncode == 0, first.output[-6000:]
    policies = {item["name"]: item for item in emulator.items("identity", "Policy")}
    assert sorted(policies) == ["llmops-cluster-autoscaler", "llmops-model-reads"]
    assert emulator.items("identity", "DynamicGroup") == []
    assert policies["llmops-model-reads"]["statements"] == [
        f"Allow any-user to read objects in compartment id {FIXTURE_COMPARTMENT_ID} where all "
        "{request.principal.type = 'workload', request.principal.namespace = 'llmops', "
        f"request.principal.service_account = 'vllm', request.principal.cluster_id = '{FIXTURE_CLUSTER_ID}', "
        "target.bucket.name = 'llm-weights'}"]

    emulator.reset_counts()
    moved = run_playbook("provision.yml", emulator, identity, tmp_path, tags="node_pools", check=True, diff=True,
                         extra_vars={**model, "oke_node_pools_model_bucket": "other-weights"})
    assert moved.returncode == 0 and moved.changed == 1 and writes(emulator.calls) == {}, moved.output[-6000:]
    assert "target.bucket.name = 'other-weights'" in moved.output and "'llm-weights'" in moved.output
    second = run_playbook("provision.yml", emulator, identity, tmp_path, tags="node_pools", extra_vars=model)
    assert second.returncode == 0 and (second.changed, writes(emulator.calls)) == (0, {}), second.output[-6000:]

    torn = run_playbook("teardown.yml", emulator, identity, tmp_path, tags="node_pools",
                        extra_vars={**NO_CLUSTER, **model})
    assert torn.returncode == 0, torn.output[-6000:]
    assert live_resources(emulator)["identity/Policy"] == 0
