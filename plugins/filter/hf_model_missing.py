# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: hf_model_missing
short_description: What a Hugging Face model folder lacks for vLLM to serve it
version_added: 0.1.0
description:
  - Lists the files a local model folder needs and lacks (C(config.json), C(model.safetensors), C(tokenizer.json),
    C(tokenizer_config.json)), and a chat template when C(tokenizer_config.json) has none and no
    C(chat_template.jinja) sits beside it. Empty when the folder is complete.
options:
  _input:
    description: The model folder.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Refuse a model folder without a tokenizer or chat template
  ansible.builtin.assert:
    that: (vllm_process_model_path | llmops.oke.hf_model_missing) | length == 0
"""

RETURN = r"""
_value:
  description: What is missing, one entry each (the folder itself when it does not exist).
  type: list
  elements: str
"""

import os  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.local.hf_demo import missing_files  # noqa: E402


def hf_model_missing(path: str) -> list[str]:
    folder = os.path.expanduser(str(path))
    if not os.path.isdir(folder):
        return [f"the folder {folder}"]
    return missing_files(folder)


class FilterModule:
    """Model folder check for vLLM's process runtime."""

    def filters(self):
        return {"hf_model_missing": hf_model_missing}
