# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: slo_longest_request_s
short_description: Seconds the slowest request a benchmark preset's SLOs allow takes
version_added: 0.2.0
description:
  - Its first token at the preset's TTFT SLO, each further one at its ITL SLO, for the most tokens a request can
    generate on the server; rounded up. The inference roles' default (and floor) of the preStop drain timeout.
options:
  _input:
    description: The benchmark preset (C(chatbot), C(rag)) whose SLOs apply.
    type: str
    required: true
  max_output_tokens:
    description: The most tokens one request can generate (the context of a slot or sequence).
    type: int
    required: true
"""

EXAMPLES = r"""
- name: 54 s for chatbot on a 512-token slot (2 s + 0.1 s x 511)
  ansible.builtin.debug:
    msg: "{{ 'chatbot' | llmops.oke.slo_longest_request_s(512) }}"
"""

RETURN = r"""
_value:
  description: Seconds.
  type: int
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.k8s import drain  # noqa: E402


def slo_longest_request_s(preset: Any, max_output_tokens: Any) -> int:
    try:
        return drain.slo_longest_request_s(str(preset), int(max_output_tokens))
    except (drain.DrainError, ValueError) as error:
        raise AnsibleFilterError(f"slo_longest_request_s: {error}") from None


class FilterModule:
    """The longest request the SLOs allow."""

    def filters(self):
        return {"slo_longest_request_s": slo_longest_request_s}
