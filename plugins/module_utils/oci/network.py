# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network security group rules: input checks (plain Python, also used by role preflights) and the comparison
of the rules a user gives with the rules OCI lists, as a set on the fields the user set."""

from __future__ import annotations

import ipaddress
from typing import Any

#: AddNetworkSecurityGroupSecurityRulesDetails.security_rules (oci SDK docstring): "You can add up to 25 rules in a
#: single AddNetworkSecurityGroupSecurityRules operation. Adding more than 25 rules requires multiple operations."
#: The same holds for RemoveNetworkSecurityGroupSecurityRules; writes are sent in batches of this size.
RULES_PER_CALL = 25
#: The protocols whose options a rule can carry (AddSecurityRuleDetails.protocol: "Options are supported only for
#: ICMP ("1"), TCP ("6"), UDP ("17"), and ICMPv6 ("58")"); we set port ranges for TCP and UDP only.
PORT_PROTOCOLS = {"6": "tcp_options", "17": "udp_options"}
PROTOCOL_NAMES = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "all": "all"}
#: the fields of a SecurityRule a user sets; the others (id, is_valid, time_created) are OCI's
RULE_FIELDS = ("direction", "protocol", "source", "source_type", "destination", "destination_type", "tcp_options",
               "udp_options", "is_stateless", "description")


def cidr_error(label: str, value: Any) -> str | None:
    """Why ``value`` is not a CIDR block (None when it is one, IPv4 or IPv6, host bits clear)."""
    text = str(value or "").strip()
    if "/" not in text:
        return f"{label} must be a CIDR block such as 10.0.1.0/24, got '{value}'"
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        return f"{label} must be a CIDR block such as 10.0.1.0/24, got '{value}' ({error})"
    return None


def port_error(label: str, value: Any) -> str | None:
    """Why ``value`` is not a TCP/UDP port (1-65535)."""
    if isinstance(value, bool):
        return f"{label} must be a port from 1 to 65535, got {value!r}"
    try:
        port = int(str(value).strip())
    except ValueError:
        return f"{label} must be a port from 1 to 65535, got {value!r}"
    if not 1 <= port <= 65535:
        return f"{label} must be a port from 1 to 65535, got {port}"
    return None


def protocol_number(protocol: Any) -> str:
    """OCI's protocol value: ``all`` or the IANA number as a string (``tcp`` -> ``6``)."""
    text = str(protocol).strip().lower()
    return PROTOCOL_NAMES.get(text, text)


def rule_errors(label: str, rule: dict[str, Any]) -> list[str]:
    """Problems of one rule as the module takes it (``label`` is ``security_rules[0]``), before any API call."""
    errors = []
    direction = rule.get("direction") or "INGRESS"
    peer, peer_type = ("source", "source_type") if direction == "INGRESS" else ("destination", "destination_type")
    kind = rule.get(peer_type) or "CIDR_BLOCK"
    if not rule.get(peer):
        errors.append(f"{label}.{peer} is required for an {direction} rule")
    elif kind == "CIDR_BLOCK":
        problem = cidr_error(f"{label}.{peer}", rule[peer])
        if problem:
            errors.append(problem)
    protocol = protocol_number(rule.get("protocol") or "6")
    if protocol != "all" and not (protocol.isdigit() and 0 <= int(protocol) <= 255):
        errors.append(f"{label}.protocol must be all, tcp, udp, icmp, icmpv6 or a protocol number, "
                      f"got '{rule.get('protocol')}'")
    ports = [rule.get("destination_port_min"), rule.get("destination_port_max")]
    if any(port is not None for port in ports):
        if protocol not in PORT_PROTOCOLS:
            errors.append(f"{label}.destination_port_min/max need protocol tcp or udp, got '{rule.get('protocol')}'")
        names = ("destination_port_min", "destination_port_max")
        port_problems = [problem for name, port in zip(names, ports, strict=True)
                         if port is not None and (problem := port_error(f"{label}.{name}", port))]
        errors += port_problems
        if not port_problems and None not in ports and int(ports[0]) > int(ports[1]):
            errors.append(f"{label}.destination_port_min ({ports[0]}) must not be more than "
                          f"destination_port_max ({ports[1]})")
    return errors


def rule_details(rule: dict[str, Any]) -> dict[str, Any]:
    """A module rule as the fields of AddSecurityRuleDetails (snake_case), only what the user set plus OCI's
    required type of the peer (CIDR_BLOCK unless given) and is_stateless (false unless given)."""
    direction = rule.get("direction") or "INGRESS"
    protocol = protocol_number(rule.get("protocol") or "6")
    details: dict[str, Any] = {"direction": direction, "protocol": protocol,
                               "is_stateless": bool(rule.get("is_stateless"))}
    if direction == "INGRESS":
        details.update(source=rule.get("source"), source_type=rule.get("source_type") or "CIDR_BLOCK")
    else:
        details.update(destination=rule.get("destination"),
                       destination_type=rule.get("destination_type") or "CIDR_BLOCK")
    low, high = rule.get("destination_port_min"), rule.get("destination_port_max")
    if low is not None or high is not None:
        low = int(low if low is not None else high)
        high = int(high if high is not None else low)
        details[PORT_PROTOCOLS[protocol]] = {"destination_port_range": {"min": low, "max": high}}
    if rule.get("description") is not None:
        details["description"] = rule["description"]
    return details


def rule_matches(want: dict[str, Any], have: dict[str, Any]) -> bool:
    """Whether OCI's rule ``have`` is the rule ``want`` on every field ``want`` sets (options compared whole)."""
    return all(have.get(field) == value for field, value in want.items())


def rules_plan(wanted: list[dict[str, Any]], current: list[dict[str, Any]]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(rules to add, OCI rules to remove, OCI rules kept): the rules compared as a set, each wanted rule
    matched by one OCI rule at most, every OCI rule no wanted rule matches removed."""
    unmatched = list(current)
    kept, to_add = [], []
    for want in wanted:
        match = next((have for have in unmatched if rule_matches(want, have)), None)
        if match is None:
            to_add.append(want)
        else:
            unmatched.remove(match)
            kept.append(match)
    return to_add, unmatched, kept


def comparable_rules(wanted: list[dict[str, Any]] | None, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OCI's rules in the shape of the wanted ones: a matched rule cut to the fields its wanted rule sets, an
    unmatched one to the fields a user can set (so it shows, and counts, as a difference)."""
    wanted = wanted or []
    result, unmatched = [], list(current)
    for want in wanted:
        match = next((have for have in unmatched if rule_matches(want, have)), None)
        if match is not None:
            unmatched.remove(match)
            result.append({field: match.get(field) for field in want})
    result += [{field: have[field] for field in RULE_FIELDS if have.get(field) is not None} for have in unmatched]
    return result
