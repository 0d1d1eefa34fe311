#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: hf_demo_model
short_description: Generate a deterministic demo model in Hugging Face format (Llama, random weights) for vLLM
version_added: 0.1.0
description:
  - Writes a folder with a Llama-architecture C(config.json), random float16 weights drawn from O(seed)
    (C(model.safetensors)), a byte-level BPE tokenizer trained offline on a text generated from the seed
    (C(tokenizer.json)) and a C(tokenizer_config.json) with a ChatML chat template, so vLLM loads, tokenizes,
    templates and decodes it as a real small Llama. No hub, no download. The twin of M(llmops.oke.gguf_demo_model).
  - The folder name carries a key hashed from the generator version and every parameter; a parameter set is
    generated once and reused from O(dest_dir). Written to a temporary folder first, then renamed.
  - The generation runs in O(python), an interpreter with C(tokenizers), C(safetensors) and C(numpy)
    (vLLM's environment from M(llmops.oke.vllm_cpu_install) has them).
author:
  - llmops.oke maintainers (@llmops)
options:
  python:
    description: Interpreter that runs the generation (needs tokenizers, safetensors, numpy).
    type: path
    required: true
  dest_dir:
    description: Directory that holds generated models (the cache).
    type: path
    required: true
  seed:
    description: Seed of the weights and of the tokenizer's training text.
    type: int
    default: 1234
  vocab_size:
    description: Tokenizer vocabulary size (at least 512).
    type: int
    default: 2048
  hidden_size:
    description: Hidden size.
    type: int
    default: 256
  num_hidden_layers:
    description: Transformer blocks.
    type: int
    default: 2
  num_attention_heads:
    description: Attention heads.
    type: int
    default: 4
  num_key_value_heads:
    description: Key/value heads (grouped-query attention).
    type: int
    default: 2
  intermediate_size:
    description: Feed-forward hidden size.
    type: int
    default: 704
  max_position_embeddings:
    description: Context length written in the config.
    type: int
    default: 4096
attributes:
  check_mode:
    support: full
    description: Reports whether the model would be generated, without writing it.
  diff_mode:
    support: none
    description: Nothing to diff; the result names the folder.
"""

EXAMPLES = r"""
- name: Generate (or reuse) the vLLM demo model
  llmops.oke.hf_demo_model:
    python: "{{ vllm_env.python }}"
    dest_dir: "{{ lookup('env', 'HOME') }}/.cache/llmops-oke/models"
  register: demo_model
"""

RETURN = r"""
path:
  description: The model folder (pass it to vLLM's --model).
  returned: always
  type: str
  sample: /home/me/.cache/llmops-oke/models/llmops-demo-hf-2x256-0df5e8ac0c0a91fe
key:
  description: Cache key (generator version and parameters).
  returned: always
  type: str
  sample: 0df5e8ac0c0a91fe
parameter_count:
  description: Number of weights (0 in check mode before the first generation).
  returned: always
  type: int
  sample: 2524416
size_bytes:
  description: Size of the folder's files (0 in check mode before the first generation).
  returned: always
  type: int
  sample: 5176488
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.local.hf_demo import DEFAULTS, DemoModelError, ensure_model


def main():
    # no_log=False: num_key_value_heads is a model size, not a secret.
    spec = {name: dict(type="int", default=value, no_log=False) for name, value in DEFAULTS.items()}
    module = AnsibleModule(
        argument_spec=dict(python=dict(type="path", required=True), dest_dir=dict(type="path", required=True),
                           **spec),
        supports_check_mode=True,
    )
    overrides = {name: module.params[name] for name in DEFAULTS}
    try:
        result = ensure_model(module.params["python"], module.params["dest_dir"], overrides,
                              check_mode=module.check_mode)
    except (DemoModelError, OSError, ValueError) as error:
        module.fail_json(msg="hf_demo_model in {}: {}".format(module.params["dest_dir"], error))
    result.pop("parameters")
    changed = result.pop("generated")
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
