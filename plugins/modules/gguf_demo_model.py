#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: gguf_demo_model
short_description: Generate a deterministic demo GGUF model (llama architecture, random weights)
version_added: 0.1.0
description:
  - Writes a llama-architecture GGUF model with random weights drawn from O(seed), a SentencePiece-style
    vocabulary (byte fallback, BOS/EOS, ChatML control tokens) and a ChatML chat template, so
    C(llama-server) tokenizes, templates and decodes exactly as for a real small Llama.
  - The file name carries a key hashed from the generator version and every parameter, so the model is
    generated once per parameter set and reused from O(dest_dir).
  - The written file is read back with gguf's reader and its architecture, sizes and vocab are checked.
  - The defaults give about 197 M parameters (about 210 MB at Q8_0), which decodes in the tens of
    tokens/s on two CPU cores, so a benchmark measures the server, not the client.
author:
  - llmops.oke maintainers (@llmops)
requirements:
  - gguf
  - numpy
options:
  dest_dir:
    description: Directory that holds generated models (the cache).
    type: path
    required: true
  seed:
    description: Seed of the random weights.
    type: int
    default: 1234
  vocab_size:
    description: Number of tokens (at least 512).
    type: int
    default: 8192
  embedding_length:
    description: Hidden size.
    type: int
    default: 1024
  block_count:
    description: Number of transformer blocks.
    type: int
    default: 16
  feed_forward_length:
    description: Feed-forward hidden size.
    type: int
    default: 2816
  head_count:
    description: Attention heads.
    type: int
    default: 16
  head_count_kv:
    description: Key/value heads (grouped-query attention).
    type: int
    default: 4
  context_length:
    description: Trained context length written in the metadata.
    type: int
    default: 4096
  weight_type:
    description: Storage type of the matrices.
    type: str
    choices: [q8_0, f16]
    default: q8_0
attributes:
  check_mode:
    support: full
    description: Reports whether the model would be generated, without writing it.
  diff_mode:
    support: none
    description: Nothing to diff; the result names the file.
"""

EXAMPLES = r"""
- name: Generate (or reuse) the demo model
  llmops.oke.gguf_demo_model:
    dest_dir: "{{ lookup('env', 'HOME') }}/.cache/llmops-oke/models"
  register: demo_model

- name: A tiny one for tests
  llmops.oke.gguf_demo_model:
    dest_dir: /tmp/models
    block_count: 2
    embedding_length: 256
    feed_forward_length: 512
    head_count: 4
    head_count_kv: 2
    vocab_size: 2048
"""

RETURN = r"""
path:
  description: Path of the model file.
  returned: always
  type: str
  sample: /home/me/.cache/llmops-oke/models/llmops-demo-16x1024-q8_0-6e1260e79fea8d3e.gguf
key:
  description: Cache key (generator version and parameters).
  returned: always
  type: str
  sample: 6e1260e79fea8d3e
size_bytes:
  description: File size (0 in check mode before the first generation).
  returned: always
  type: int
  sample: 209757280
parameter_count:
  description: Number of weights.
  returned: always
  type: int
  sample: 197166080
model:
  description: What gguf's reader found in the file (absent in check mode when the file does not exist).
  returned: when the file exists
  type: dict
  sample: {"architecture": "llama", "block_count": 16, "vocab_size": 8192, "tensor_count": 147}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import (
    GGUF_IMPORT_ERROR,
    HAS_GGUF,
    DemoModelError,
    describe_model,
    ensure_model,
)

PARAMETER_OPTIONS = ("seed", "vocab_size", "embedding_length", "block_count", "feed_forward_length", "head_count",
                     "head_count_kv", "context_length", "weight_type")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest_dir=dict(type="path", required=True),
            seed=dict(type="int", default=1234),
            vocab_size=dict(type="int", default=8192),
            embedding_length=dict(type="int", default=1024),
            block_count=dict(type="int", default=16),
            feed_forward_length=dict(type="int", default=2816),
            head_count=dict(type="int", default=16),
            head_count_kv=dict(type="int", default=4),
            context_length=dict(type="int", default=4096),
            weight_type=dict(type="str", choices=["q8_0", "f16"], default="q8_0"),
        ),
        supports_check_mode=True,
    )
    if not HAS_GGUF:
        module.fail_json(msg=missing_required_lib("gguf and numpy"), exception=str(GGUF_IMPORT_ERROR))
    overrides = {name: module.params[name] for name in PARAMETER_OPTIONS}
    try:
        result = ensure_model(module.params["dest_dir"], overrides, check_mode=module.check_mode)
        if result["size_bytes"]:
            result["model"] = describe_model(result["path"])
            expected = result["parameters"]
            found = result["model"]
            if (found["architecture"] != "llama" or found["block_count"] != expected["block_count"]
                    or found["vocab_size"] != expected["vocab_size"]
                    or found["parameters"] != result["parameter_count"]):
                module.fail_json(msg=f"gguf_demo_model: {result['path']} does not hold the expected model "
                                     f"(found {found})")
    except (DemoModelError, OSError, ValueError) as error:
        module.fail_json(msg="gguf_demo_model in {}: {}".format(module.params["dest_dir"], error))
    result.pop("parameters")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
