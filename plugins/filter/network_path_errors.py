# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: network_path_errors
short_description: What is wrong with the network path variables, each message naming its variable
version_added: 0.2.0
description:
  - Checks variables of the network path (the NSG between the API gateway subnet and the model servers' load
    balancers) before any change, by the end of each name; the same checks as the network_security_group module.
  - C(*_cidr) must be a CIDR block (Python's C(ipaddress), host bits clear), C(*_vcn_id) the OCID of a VCN,
    C(*_ports) a list of TCP ports 1-65535, C(*_nsg_ids) a list of network security group OCIDs.
  - Empty values are skipped (the variable is not set).
options:
  _input:
    description: Variable name to value.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a bad gateway subnet CIDR before any change
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('; ') }}"
  vars:
    __errors: "{{ {'backends_nsg_gateway_subnet_cidr': '10.0.3.0/33'} | llmops.oke.network_path_errors }}"
"""

RETURN = r"""
_value:
  description: One message per problem, naming the variable; empty when all is well.
  type: list
  elements: str
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import ocid_problems  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.oci.network import cidr_error, port_error  # noqa: E402


def network_path_errors(variables: Any) -> list[str]:
    if not isinstance(variables, dict):
        raise AnsibleFilterError(f"network_path_errors takes a dict of variable name to value, got {variables!r}")
    errors: list[str] = []
    for name, value in variables.items():
        if value is None or value == "" or value == []:
            continue
        if name.endswith("_cidr"):
            problem = cidr_error(name, value)
            errors += [problem] if problem else []
        elif name.endswith("_vcn_id"):
            errors += ocid_problems(name, value, "vcn")
        elif name.endswith(("_ports", "_nsg_ids")) and not isinstance(value, list):
            errors.append(f"{name} must be a list, got {value!r}")
        elif name.endswith("_ports"):
            errors += [problem for index, port in enumerate(value)
                       if (problem := port_error(f"{name}[{index}]", port))]
        elif name.endswith("_nsg_ids"):
            errors += ocid_problems(name, value, "networksecuritygroup")
        else:
            raise AnsibleFilterError(f"network_path_errors does not know how to check {name}")
    return errors


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"network_path_errors": network_path_errors}
