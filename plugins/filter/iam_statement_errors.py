# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: iam_statement_errors
short_description: Why OCI's policy syntax refuses statements a role generates, naming the variables behind them
version_added: 0.2.0
description:
  - Checks each statement with the iam_policy module's own syntax check (module_utils/oci/identity.py, Oracle's
    "Policy Syntax" page) and returns one sentence per bad statement, naming the role variables it was built from,
    so a bad value is refused in the preflight before any write.
options:
  _input:
    description: The generated statements.
    type: list
    elements: str
    required: true
  variables:
    description: The role variables the statements are built from, named in each message.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a statement OCI would refuse before any change
  ansible.builtin.assert:
    that: (statements | llmops.oke.iam_statement_errors(['oke_node_pools_model_bucket'])) == []
"""

RETURN = r"""
_value:
  description: One sentence per statement OCI's syntax refuses; empty when all are well formed.
  type: list
  elements: str
"""

from typing import Any  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.oci.identity import statement_error  # noqa: E402


def iam_statement_errors(statements: Any, variables: Any) -> list[str]:
    names = ", ".join(variables if isinstance(variables, list) else [str(variables)])
    errors = []
    for statement in statements or []:
        problem = statement_error(str(statement))
        if problem:
            errors.append(f"the IAM statement built from {names} ('{' '.join(str(statement).split())}') {problem}")
    return errors


class FilterModule:
    """IAM statement checks for role preflights."""

    def filters(self):
        return {"iam_statement_errors": iam_statement_errors}
