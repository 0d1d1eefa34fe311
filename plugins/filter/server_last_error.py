# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: server_last_error
short_description: A server's own last error line in the log tail of a failed start
version_added: 0.1.0
description:
  - From the text of a failed start (M(llmops.oke.local_server)'s message ends with the log's last lines), the
    last exception line (a Python traceback's end, process prefixes such as C((EngineCore pid=12)) removed), else
    the last line logged at C(ERROR), else the last line.
options:
  _input:
    description: The failure text.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Say why the server did not start
  ansible.builtin.fail:
    msg: "vllm: the server did not start: {{ ansible_failed_result.msg | llmops.oke.server_last_error }}"
"""

RETURN = r"""
_value:
  description: One line.
  type: str
"""

from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_args import last_error_line  # noqa: E402


def server_last_error(text: str) -> str:
    return last_error_line(text)


class FilterModule:
    """Start-failure summary."""

    def filters(self):
        return {"server_last_error": server_last_error}
