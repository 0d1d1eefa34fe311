# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: unknown_flags
short_description: The flags of an argument list that a server's own flag list lacks
version_added: 0.2.0
description:
  - Returns, in order and each once, the flags (C(-x), C(--name), C(--name=value)) among the input arguments that
    the given flag list does not hold. Values (C(0.5), C(-1)) are not flags.
  - The inference roles check C(vllm_extra_args) and C(llama_cpp_extra_args) with it against the lists
    C(hack/server_flags.py) generates from the servers themselves (vLLM's own argument parser,
    C(llama-server --help)), committed beside the roles and named by version.
options:
  _input:
    description: The server arguments.
    type: list
    elements: str
    required: true
  accepted:
    description: The accepted flags, as a list or as the text of a flag list file (one a line, C(#) comments).
    type: raw
    required: true
  underscores_as_dashes:
    description: Read C(--max_num_seqs) as C(--max-num-seqs) before looking it up, as vLLM's own parser does.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Refuse a flag llama-server does not know
  ansible.builtin.assert:
    that: (llama_cpp_extra_args | llmops.oke.unknown_flags(lookup('ansible.builtin.file', flags_file))) == []
"""

RETURN = r"""
_value:
  description: The unknown flags.
  type: list
  elements: str
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.server import flags as server_flags  # noqa: E402


def unknown_flags(arguments: Any, accepted: Any, underscores_as_dashes: bool = False) -> list[str]:
    if not isinstance(arguments, list):
        raise AnsibleFilterError(f"unknown_flags expects a list of arguments, got {type(arguments).__name__}")
    flags = server_flags.parse_flag_list(accepted) if isinstance(accepted, str) else list(accepted)
    if not flags:
        raise AnsibleFilterError("unknown_flags: the accepted flag list is empty")
    return server_flags.unknown_flags((str(a) for a in arguments), flags, bool(underscores_as_dashes))


class FilterModule:
    """Server flag checks."""

    def filters(self):
        return {"unknown_flags": unknown_flags}
