"""network_security_group against the OCI emulator (the real SDK's VirtualNetworkClient): lifecycle, rules compared
as a set on what the user set, check mode exact, --diff of the rules, the 25-rules-a-call limit, bad CIDRs/ports."""

from __future__ import annotations

from typing import Any

import pytest
from oci_emulator import FIXTURE_COMPARTMENT_ID
from oci_emulator.virtual_network import ensure_virtual_network, rules_of

VCN = "ocid1.vcn.oc1.iad.aaaaaaaatestvcn"
GATEWAY_SUBNET = "10.0.3.0/24"


@pytest.fixture(autouse=True)
def virtual_network_registered(oci_emulator_server):
    return ensure_virtual_network(oci_emulator_server)


def rule(port: int, **overrides: Any) -> dict[str, Any]:
    return {"source": GATEWAY_SUBNET, "destination_port_min": port, **overrides}


def nsg(**overrides: Any) -> dict[str, Any]:
    return {"compartment_id": FIXTURE_COMPARTMENT_ID, "vcn_id": VCN, "name": "llmops-backends-lb",
            "security_rules": [rule(80), rule(8080, description="llama.cpp")], **overrides}


def live(emulator) -> list[dict[str, Any]]:
    return [item for item in emulator.items("virtual_network", "NetworkSecurityGroup")
            if item["lifecycleState"] != "TERMINATED"]


def ports(emulator, ocid: str) -> list[tuple[str, int, int]]:
    return sorted((r["source"], r["tcpOptions"]["destinationPortRange"]["min"],
                   r["tcpOptions"]["destinationPortRange"]["max"]) for r in rules_of(emulator, ocid))


def test_create_rerun_change_rules_and_delete(run_oci_module, oci_emulator):
    predicted = run_oci_module("network_security_group", check_mode=True, diff=True, **nsg())
    assert predicted["changed"] is True and oci_emulator.write_calls() == 0, predicted
    assert [r["tcp_options"] for r in predicted["diff"]["after"]["security_rules"]] == [
        {"destination_port_range": {"min": 80, "max": 80}}, {"destination_port_range": {"min": 8080, "max": 8080}}]

    created = run_oci_module("network_security_group", **nsg())
    assert created["changed"] is True, created
    ocid = created["network_security_group"]["id"]
    assert created["network_security_group"]["lifecycle_state"] == "AVAILABLE"
    assert ports(oci_emulator, ocid) == [(GATEWAY_SUBNET, 80, 80), (GATEWAY_SUBNET, 8080, 8080)]
    assert oci_emulator.calls["CreateNetworkSecurityGroup"] == 1
    assert oci_emulator.calls["AddNetworkSecurityGroupSecurityRules"] == 1
    # What check mode predicted is what was created (rules shaped as OCI returns them).
    assert len(created["network_security_group"]["security_rules"]) == 2

    oci_emulator.reset_counts()
    assert run_oci_module("network_security_group", check_mode=True, **nsg())["changed"] is False
    again = run_oci_module("network_security_group", diff=True, **nsg(security_rules=[rule(8080), rule(80)]))
    assert again["changed"] is False and oci_emulator.write_calls() == 0, again
    # Two reads per no-op run: the NSG list and its rules.
    assert oci_emulator.calls["ListNetworkSecurityGroups"] == 2
    assert oci_emulator.calls["ListNetworkSecurityGroupSecurityRules"] == 2

    # One port changes: check mode predicts it exactly, --diff shows the rules, the run adds then removes one.
    oci_emulator.reset_counts()
    wanted = nsg(security_rules=[rule(80), rule(8000)])
    checked = run_oci_module("network_security_group", check_mode=True, diff=True, **wanted)
    assert checked["changed"] is True and oci_emulator.write_calls() == 0
    changed = run_oci_module("network_security_group", diff=True, **wanted)
    assert changed["diff"] == checked["diff"]
    before, after = (sorted(r["tcp_options"]["destination_port_range"]["min"]
                            for r in changed["diff"][side]["security_rules"]) for side in ("before", "after"))
    assert (before, after) == ([80, 8080], [80, 8000]), changed["diff"]
    assert ports(oci_emulator, ocid) == [(GATEWAY_SUBNET, 80, 80), (GATEWAY_SUBNET, 8000, 8000)]
    assert oci_emulator.calls["AddNetworkSecurityGroupSecurityRules"] == 1
    assert oci_emulator.calls["RemoveNetworkSecurityGroupSecurityRules"] == 1
    assert oci_emulator.calls.get("UpdateNetworkSecurityGroup", 0) == 0
    assert run_oci_module("network_security_group", **wanted)["changed"] is False

    gone = run_oci_module("network_security_group", state="absent", **wanted)
    assert gone["changed"] is True and live(oci_emulator) == []
    assert run_oci_module("network_security_group", state="absent", **wanted)["changed"] is False


def test_a_rule_added_outside_is_removed_and_check_mode_says_so(run_oci_module, oci_emulator, oci_test_identity):
    created = run_oci_module("network_security_group", **nsg())
    ocid = created["network_security_group"]["id"]
    from oci.core.models import AddNetworkSecurityGroupSecurityRulesDetails as AddRules
    from oci.core.models import AddSecurityRuleDetails, PortRange, TcpOptions

    # Someone opens SSH from anywhere by hand (through the real SDK).
    client = _client(oci_emulator, oci_test_identity)
    client.add_network_security_group_security_rules(ocid, AddRules(security_rules=[
        AddSecurityRuleDetails(direction="INGRESS", protocol="6", source="0.0.0.0/0", source_type="CIDR_BLOCK",
                               tcp_options=TcpOptions(destination_port_range=PortRange(min=22, max=22)))]))
    oci_emulator.reset_counts()
    checked = run_oci_module("network_security_group", check_mode=True, diff=True, **nsg())
    assert checked["changed"] is True and oci_emulator.write_calls() == 0
    assert len(checked["network_security_group"]["security_rules"]) == 2
    assert any(r.get("source") == "0.0.0.0/0" for r in checked["diff"]["before"]["security_rules"])
    fixed = run_oci_module("network_security_group", **nsg())
    assert fixed["changed"] is True and oci_emulator.calls["RemoveNetworkSecurityGroupSecurityRules"] == 1
    assert oci_emulator.calls.get("AddNetworkSecurityGroupSecurityRules", 0) == 0
    assert ports(oci_emulator, ocid) == [(GATEWAY_SUBNET, 80, 80), (GATEWAY_SUBNET, 8080, 8080)]


def _client(emulator, identity):
    import oci

    config = oci.config.from_file(str(identity.config_file))
    return oci.core.VirtualNetworkClient(config, service_endpoint=emulator.endpoint,
                                         retry_strategy=oci.retry.NoneRetryStrategy())


def test_more_than_25_rules_go_in_batches(run_oci_module, oci_emulator):
    many = nsg(security_rules=[rule(port) for port in range(9000, 9030)])
    created = run_oci_module("network_security_group", **many)
    assert created["changed"] is True, created
    assert oci_emulator.calls["AddNetworkSecurityGroupSecurityRules"] == 2
    assert len(rules_of(oci_emulator, created["network_security_group"]["id"])) == 30
    assert run_oci_module("network_security_group", **many)["changed"] is False


def test_tags_and_name_update_in_place_without_touching_rules(run_oci_module, oci_emulator):
    run_oci_module("network_security_group", **nsg())
    oci_emulator.reset_counts()
    tagged = run_oci_module("network_security_group", diff=True, **nsg(freeform_tags={"team": "llm"}))
    assert tagged["changed"] is True and oci_emulator.calls["UpdateNetworkSecurityGroup"] == 1
    assert tagged["diff"]["after"] == {"freeform_tags": {"team": "llm"}}
    assert oci_emulator.calls.get("AddNetworkSecurityGroupSecurityRules", 0) == 0
    # Rules not given: left as they are.
    assert run_oci_module("network_security_group", **nsg(security_rules=None,
                                                          freeform_tags={"team": "llm"}))["changed"] is False


BAD = [
    ({"source": "10.0.3.0"}, "security_rules[1].source must be a CIDR block such as 10.0.1.0/24, got '10.0.3.0'"),
    ({"source": "10.0.3.300/24"}, "security_rules[1].source must be a CIDR block"),
    ({"source": "10.0.3.5/24"}, "has host bits set"),
    ({"source": "gateway-subnet"}, "security_rules[1].source must be a CIDR block"),
    ({"destination_port_min": 0}, "security_rules[1].destination_port_min must be a port from 1 to 65535, got 0"),
    ({"destination_port_min": 70000}, "destination_port_min must be a port from 1 to 65535, got 70000"),
    ({"destination_port_min": 90, "destination_port_max": 80}, "destination_port_min (90) must not be more than"),
    ({"protocol": "icmp"}, "security_rules[1].destination_port_min/max need protocol tcp or udp"),
    ({"protocol": "tcpp"}, "security_rules[1].protocol must be all, tcp, udp"),
]


@pytest.mark.parametrize(("override", "message"), BAD, ids=[str(item[0]) for item in BAD])
def test_bad_rules_are_refused_before_any_call(run_oci_module, oci_emulator, override, message):
    result = run_oci_module("network_security_group", **nsg(security_rules=[rule(80), rule(8080, **override)]))
    assert result.get("failed") is True, result
    assert result["msg"].startswith("Invalid options for network security group 'llmops-backends-lb': ")
    assert message in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


def test_bad_vcn_ocid_is_refused_naming_the_option(run_oci_module, oci_emulator):
    result = run_oci_module("network_security_group", **nsg(vcn_id="ocid1.subnet.oc1..aaaa"))
    assert result["failed"] is True and "vcn_id must be an OCID of type vcn" in result["msg"]
    assert sum(oci_emulator.calls.values()) == 0


def test_the_emulator_refuses_what_oci_refuses(run_oci_module, oci_emulator, oci_test_identity):
    """Rules nsg_rules_per_call, nsg_rule_peer and nsg_port_range, through the real SDK (what the module spares)."""
    import oci
    from oci.core.models import AddNetworkSecurityGroupSecurityRulesDetails as AddRules
    from oci.core.models import AddSecurityRuleDetails, PortRange, TcpOptions

    ocid = run_oci_module("network_security_group", **nsg(security_rules=[]))["network_security_group"]["id"]
    client = _client(oci_emulator, oci_test_identity)

    def add(*rules):
        client.add_network_security_group_security_rules(
            ocid, AddRules(security_rules=list(rules)))

    def tcp(source, low, high=None, source_type="CIDR_BLOCK"):
        return AddSecurityRuleDetails(direction="INGRESS", protocol="6", source=source, source_type=source_type,
                                      tcp_options=TcpOptions(destination_port_range=PortRange(
                                          min=low, max=high or low)))

    for rules in ([tcp(GATEWAY_SUBNET, port) for port in range(1, 27)], [tcp("10.0.3.0", 80)],
                  [tcp(GATEWAY_SUBNET, 80, None, None)], [tcp(GATEWAY_SUBNET, 90, 80)], [tcp(GATEWAY_SUBNET, 0)]):
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            add(*rules)
        assert refused.value.status == 400
    assert rules_of(oci_emulator, ocid) == []
    add(*[tcp(GATEWAY_SUBNET, port) for port in range(1, 26)])
    assert len(rules_of(oci_emulator, ocid)) == 25
