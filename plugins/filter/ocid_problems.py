# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ocid_problems
short_description: Why a role variable is not an OCID of the type it needs (empty when it is)
version_added: 0.2.0
description:
  - The roles' wording of a malformed OCID, the same as the modules' (module_utils/oci/common.py ocid_problems), naming
    the variable the user set, e.g. C(api_gateway_tenant_vault_id must be an OCID of type vault, got 'ocid1.key...').
  - An empty string or null is unset (no problem); a list is checked item by item.
options:
  _input:
    description: The variable's value (an OCID, a list of OCIDs, empty or null).
    type: raw
    required: true
  label:
    description: The variable's name, as the user set it.
    type: str
    required: true
  resource_type:
    description: The OCID type(s) accepted, e.g. C(vault) or C([compartment, tenancy]).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a vault OCID of another type before any change
  ansible.builtin.assert:
    that: (api_gateway_tenant_vault_id | llmops.oke.ocid_problems('api_gateway_tenant_vault_id', 'vault')) == []
"""

RETURN = r"""
_value:
  description: One sentence per value that is not an OCID of the type; empty when all are.
  type: list
  elements: str
"""

from typing import Any  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import ocid_problems as _ocid_problems  # noqa: E402


def ocid_problems(value: Any, label: str, resource_type: Any) -> list[str]:
    if value in ("", None, []):
        return []
    kind = resource_type if isinstance(resource_type, str) else tuple(resource_type)
    return _ocid_problems(label, value, kind)


class FilterModule:
    """OCID checks for role preflights."""

    def filters(self):
        return {"ocid_problems": ocid_problems}
