# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: api_gateway_tenant_errors
short_description: Every problem of an API Gateway tenant list, each naming the entry
version_added: 0.2.0
description:
  - Checks the C(api_gateway_tenants) list of the api_gateway role before any change and returns one sentence
    per problem, naming the entry (C(api_gateway_tenants[1] (team-b).quota ...)); an empty list means valid.
  - A name is 1 to 63 lowercase letters, digits and hyphens (it names the usage plan, the subscriber and the token
    file) and is used once; the rate limit is more than 0; a quota is 1 or more with a C(quota_unit), or the
    entry says C(no_quota=true) (and then sets no quota).
options:
  _input:
    description: The tenants (dicts with name, rate_limit_per_second, quota, quota_unit, no_quota, state).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a bad tenant list before any change
  ansible.builtin.assert:
    that: (api_gateway_tenants | llmops.oke.api_gateway_tenant_errors) == []
"""

RETURN = r"""
_value:
  description: One sentence per problem; empty when the list is valid.
  type: list
  elements: str
"""

import re  # noqa: E402
from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
QUOTA_UNITS = ("MINUTE", "HOUR", "DAY", "WEEK", "MONTH")  # oci SDK docstring: Quota.unit


def api_gateway_tenant_errors(tenants: Any) -> list[str]:
    if not isinstance(tenants, list):
        raise AnsibleFilterError(f"api_gateway_tenant_errors expects a list, got {type(tenants).__name__}")
    errors: list[str] = []
    seen: dict[str, int] = {}
    for index, tenant in enumerate(tenants):
        if not isinstance(tenant, dict):
            errors.append(f"api_gateway_tenants[{index}] must be a mapping with a name, got {tenant!r}")
            continue
        name = tenant.get("name")
        where = f"api_gateway_tenants[{index}] ({name})"
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(f"{where}.name must be 1 to 63 lowercase letters, digits and hyphens, got {name!r}")
        elif name in seen:
            errors.append(f"{where}.name {name} is used twice (also api_gateway_tenants[{seen[name]}])")
        else:
            seen[name] = index
        if tenant.get("state", "present") not in ("present", "absent"):
            errors.append(f"{where}.state must be present or absent, got {tenant.get('state')!r}")
        if tenant.get("state", "present") == "absent":
            continue
        rate = tenant.get("rate_limit_per_second")
        if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
            errors.append(f"{where}.rate_limit_per_second must be an integer more than 0, got {rate!r}")
        quota, unit, no_quota = tenant.get("quota"), tenant.get("quota_unit"), tenant.get("no_quota", False)
        if no_quota is True:
            if quota is not None or unit is not None:
                errors.append(f"{where} sets no_quota: true and a quota; keep one")
        elif quota is None:
            errors.append(f"{where} needs a quota and quota_unit, or no_quota: true for no quota at all")
        elif not isinstance(quota, int) or isinstance(quota, bool) or quota < 1:
            errors.append(f"{where}.quota must be an integer of 1 or more, got {quota!r} "
                          "(for no quota at all set no_quota: true)")
        elif unit is None:
            errors.append(f"{where}.quota {quota} has no unit: set quota_unit to {', '.join(QUOTA_UNITS)}")
        if unit is not None and unit not in QUOTA_UNITS:
            errors.append(f"{where}.quota_unit must be one of {', '.join(QUOTA_UNITS)}, got {unit!r}")
    return errors


class FilterModule:
    """API Gateway tenant checks."""

    def filters(self):
        return {"api_gateway_tenant_errors": api_gateway_tenant_errors}
