# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: drain_minimum_grace_s
short_description: The terminationGracePeriodSeconds a preStop drain needs
version_added: 0.2.0
description:
  - The drain's delay, plus its timeout, plus 10 s for the server's own stop after SIGTERM. Kubernetes kills the
    container when the grace period ends, preStop or not.
options:
  _input:
    description: The drain's delay in seconds.
    type: int
    required: true
  drain_timeout_s:
    description: The drain's timeout in seconds.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: 74 s for a 10 s delay and a 54 s drain
  ansible.builtin.debug:
    msg: "{{ 10 | llmops.oke.drain_minimum_grace_s(54) }}"
"""

RETURN = r"""
_value:
  description: Seconds.
  type: int
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.k8s import drain  # noqa: E402


def drain_minimum_grace_s(delay_s: Any, drain_timeout_s: Any) -> int:
    try:
        return drain.minimum_grace_s(int(delay_s), int(drain_timeout_s))
    except ValueError as error:
        raise AnsibleFilterError(f"drain_minimum_grace_s: {error}") from None


class FilterModule:
    """The grace period of a drain."""

    def filters(self):
        return {"drain_minimum_grace_s": drain_minimum_grace_s}
