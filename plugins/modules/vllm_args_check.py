#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: vllm_args_check
short_description: Have vLLM itself judge server arguments before a server starts
version_added: 0.1.0
description:
  - Runs, with the interpreter of an environment where vLLM is installed, vLLM's own C(vllm serve) argument
    parser, its serve-argument checks and its engine configuration validation (ranges such as
    C(--max-num-seqs >= 1) and C(0 < --gpu-memory-utilization <= 1)) on the full argument list, without loading
    weights or serving.
  - Fails with vLLM's own message when vLLM refuses the arguments, naming O(blame), the variable a user sets.
  - Changes nothing.
author:
  - llmops.oke maintainers (@llmops)
options:
  python:
    description: Interpreter of vLLM's environment (M(llmops.oke.vllm_cpu_install) returns it).
    type: path
    required: true
  args:
    description: Server arguments, as given to C(vllm serve) (the model folder must exist).
    type: list
    elements: str
    required: true
  blame:
    description: What the failure message names as the input to fix.
    type: str
    default: vllm_extra_args
  memo_dir:
    description: Remember accepted argument lists in this folder, so the same list is not judged twice.
    type: path
  timeout:
    description: Seconds the check may take.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Runs the same check (it changes nothing).
  diff_mode:
    support: none
    description: Nothing to diff.
"""

EXAMPLES = r"""
- name: Let vLLM judge the arguments
  llmops.oke.vllm_args_check:
    python: "{{ vllm_env.python }}"
    args: [--model, /models/demo, --max-num-seqs, "4", --max_num_batched_tokens=4096]
"""

RETURN = r"""
checked:
  description: Number of arguments vLLM judged.
  returned: always
  type: int
  sample: 12
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_check import CheckError, check_args


def main():
    module = AnsibleModule(
        argument_spec=dict(
            python=dict(type="path", required=True),
            args=dict(type="list", elements="str", required=True),
            blame=dict(type="str", default="vllm_extra_args"),
            timeout=dict(type="int", default=300),
            memo_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    try:
        verdict = check_args(module.params["python"], module.params["args"], module.params["timeout"],
                             memo_dir=module.params["memo_dir"])
    except (CheckError, OSError) as error:
        module.fail_json(msg=f"vllm_args_check: {error}")
    if not verdict["ok"]:
        module.fail_json(msg=f"{module.params['blame']}: vLLM refuses the server arguments: {verdict['error']}",
                         vllm_error=verdict["error"])
    module.exit_json(changed=False, checked=len(module.params["args"]))


if __name__ == "__main__":
    main()
