# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: drain_prestop
short_description: The preStop script that drains a model server before Kubernetes sends it SIGTERM
version_added: 0.2.0
description:
  - Returns a POSIX sh script for a container's preStop hook. It waits O(delay_s) seconds (the Terminating pod's
    removal from the Service's endpoints reaches every proxy), then polls the server's own /metrics on 127.0.0.1
    until its in-flight gauges (llama.cpp C(llamacpp:requests_processing) + C(llamacpp:requests_deferred); vLLM
    C(vllm:num_requests_running) + C(vllm:num_requests_waiting)) sum to 0, at most O(drain_timeout_s) seconds.
  - C(llmops.oke.slo_longest_request_s) gives the default drain timeout, C(llmops.oke.drain_minimum_grace_s) the grace
    period a drain needs.
options:
  _input:
    description: The server, C(llama_cpp) or C(vllm).
    type: str
    required: true
  port:
    description: The server's port inside the pod.
    type: int
    required: true
  delay_s:
    description: Seconds to wait before the first read.
    type: int
    required: true
  drain_timeout_s:
    description: Seconds to wait at most for in-flight 0.
    type: int
    required: true
  api_key_env:
    description: Environment variable holding the API key /metrics needs (llama.cpp with an API key), or empty.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: A llama.cpp preStop
  ansible.builtin.debug:
    msg: "{{ 'llama_cpp' | llmops.oke.drain_prestop(8080, 10, 54, 'LLAMA_API_KEY') }}"
"""

RETURN = r"""
_value:
  description: The script.
  type: str
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.k8s import drain  # noqa: E402


def drain_prestop(server: Any, port: Any, delay_s: Any, drain_timeout_s: Any, api_key_env: Any = "") -> str:
    try:
        return drain.prestop_script(str(server), int(port), int(delay_s), int(drain_timeout_s), str(api_key_env or ""))
    except (drain.DrainError, ValueError) as error:
        raise AnsibleFilterError(f"drain_prestop: {error}") from None


class FilterModule:
    """Drain of a model-server pod."""

    def filters(self):
        return {"drain_prestop": drain_prestop}
