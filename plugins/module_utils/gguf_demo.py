# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deterministic demo GGUF model: llama architecture, random weights, a real SentencePiece-style vocab.

Plain Python over the ``gguf`` and ``numpy`` packages (no Ansible imports) so the module
``gguf_demo_model``, the tests and the benchmark share it. The weights are noise, so the text is
nonsense, but the tokenizer, the chat template and the compute per token are those of a real model:
the server does the same work it would do for a small Llama.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

from .bench.demo_vocab import DEFAULT_PARAMETERS, MIN_VOCAB_SIZE, DemoModelError, build_vocab

try:
    import gguf
    import numpy as np

    HAS_GGUF = True
    GGUF_IMPORT_ERROR = None
except ImportError as error:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_GGUF = False
    GGUF_IMPORT_ERROR = error

# Bump when the bytes written for the same parameters change: it is part of the cache key.
GENERATOR_VERSION = 1
WEIGHT_TYPES = ("q8_0", "f16")
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def normalized_parameters(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults merged with overrides, type-checked; the dict that defines the model."""
    params = dict(DEFAULT_PARAMETERS)
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in DEFAULT_PARAMETERS:
            raise DemoModelError(f"unknown demo model parameter {name!r}")
        params[name] = value if name == "weight_type" else int(value)
    if params["weight_type"] not in WEIGHT_TYPES:
        raise DemoModelError(f"weight_type must be one of {', '.join(WEIGHT_TYPES)}, not {params['weight_type']!r}")
    if params["embedding_length"] % params["head_count"]:
        raise DemoModelError("embedding_length must be a multiple of head_count")
    if params["head_count"] % params["head_count_kv"]:
        raise DemoModelError("head_count must be a multiple of head_count_kv")
    if params["weight_type"] == "q8_0" and (params["embedding_length"] % 32 or params["feed_forward_length"] % 32):
        raise DemoModelError("q8_0 needs embedding_length and feed_forward_length to be multiples of 32")
    if params["vocab_size"] < MIN_VOCAB_SIZE:
        raise DemoModelError(f"vocab_size must be at least {MIN_VOCAB_SIZE}")
    return params


def model_key(params: dict[str, Any]) -> str:
    """Cache key: generator version + every parameter (seed included)."""
    material = json.dumps({"generator": GENERATOR_VERSION, **params}, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def model_filename(params: dict[str, Any]) -> str:
    """File name carrying the size and the key, e.g. ``llmops-demo-16x1024-q8_0-<key>.gguf``."""
    return (f"llmops-demo-{params['block_count']}x{params['embedding_length']}-{params['weight_type']}-"
            f"{model_key(params)}.gguf")


def parameter_count(params: dict[str, Any]) -> int:
    """Number of weights the model holds."""
    embd, ff, vocab = params["embedding_length"], params["feed_forward_length"], params["vocab_size"]
    kv = embd // params["head_count"] * params["head_count_kv"]
    per_block = 2 * embd * embd + 2 * embd * kv + 3 * embd * ff + 2 * embd
    return 2 * vocab * embd + params["block_count"] * per_block + embd


def _weights(rng, rows, cols, weight_type):
    # 0.02 is the usual init scale: activations stay finite through every block, so no NaN slows a kernel.
    data = rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(0.02)
    if weight_type == "f16":
        return data.astype(np.float16), None
    return gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0), gguf.GGMLQuantizationType.Q8_0


def write_model(path: str, params: dict[str, Any]) -> None:
    """Write the model for ``params`` to ``path`` atomically (the file appears complete or not at all)."""
    if not HAS_GGUF:
        raise DemoModelError(f"the gguf and numpy Python packages are required: {GGUF_IMPORT_ERROR}")
    rng = np.random.default_rng(params["seed"])
    embd, ff = params["embedding_length"], params["feed_forward_length"]
    heads, heads_kv = params["head_count"], params["head_count_kv"]
    kv = embd // heads * heads_kv
    tokens, scores, types = build_vocab(params["vocab_size"])
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=directory, prefix=".partial-", suffix=".gguf")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(partial, "llama")
        writer.add_name(f"llmops demo {model_key(params)}")
        writer.add_description(f"Random weights (seed {params['seed']}), generated by llmops.oke gguf_demo "
                               f"v{GENERATOR_VERSION}")
        writer.add_context_length(params["context_length"])
        writer.add_embedding_length(embd)
        writer.add_block_count(params["block_count"])
        writer.add_feed_forward_length(ff)
        writer.add_rope_dimension_count(embd // heads)
        writer.add_head_count(heads)
        writer.add_head_count_kv(heads_kv)
        writer.add_layer_norm_rms_eps(1e-5)
        writer.add_rope_freq_base(10000.0)
        writer.add_vocab_size(len(tokens))
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if params["weight_type"] == "q8_0"
                             else gguf.LlamaFileType.MOSTLY_F16)
        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
        writer.add_unk_token_id(0)
        writer.add_eot_token_id(4)
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(False)
        writer.add_chat_template(CHATML_TEMPLATE)

        def add(name, rows, cols):
            data, raw_dtype = _weights(rng, rows, cols, params["weight_type"])
            writer.add_tensor(name, data, raw_dtype=raw_dtype)

        add("token_embd.weight", len(tokens), embd)
        for block in range(params["block_count"]):
            writer.add_tensor(f"blk.{block}.attn_norm.weight", np.ones(embd, dtype=np.float32))
            add(f"blk.{block}.attn_q.weight", embd, embd)
            add(f"blk.{block}.attn_k.weight", kv, embd)
            add(f"blk.{block}.attn_v.weight", kv, embd)
            add(f"blk.{block}.attn_output.weight", embd, embd)
            writer.add_tensor(f"blk.{block}.ffn_norm.weight", np.ones(embd, dtype=np.float32))
            add(f"blk.{block}.ffn_gate.weight", ff, embd)
            add(f"blk.{block}.ffn_up.weight", ff, embd)
            add(f"blk.{block}.ffn_down.weight", embd, ff)
        writer.add_tensor("output_norm.weight", np.ones(embd, dtype=np.float32))
        add("output.weight", len(tokens), embd)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def describe_model(path: str) -> dict[str, Any]:
    """Read a GGUF back with gguf's reader: architecture, sizes, tokenizer facts and tensor count."""
    if not HAS_GGUF:
        raise DemoModelError(f"the gguf and numpy Python packages are required: {GGUF_IMPORT_ERROR}")
    reader = gguf.GGUFReader(path)

    def scalar(key):
        field = reader.get_field(key)
        return None if field is None else field.contents()

    tokens = reader.get_field("tokenizer.ggml.tokens")
    return {
        "architecture": scalar("general.architecture"),
        "block_count": scalar("llama.block_count"),
        "embedding_length": scalar("llama.embedding_length"),
        "context_length": scalar("llama.context_length"),
        "tokenizer_model": scalar("tokenizer.ggml.model"),
        "vocab_size": 0 if tokens is None else len(tokens.data),
        "bos_token_id": scalar("tokenizer.ggml.bos_token_id"),
        "eos_token_id": scalar("tokenizer.ggml.eos_token_id"),
        "has_chat_template": reader.get_field("tokenizer.chat_template") is not None,
        "tensor_count": len(reader.tensors),
        "parameters": int(sum(int(tensor.n_elements) for tensor in reader.tensors)),
    }


def ensure_model(directory: str, overrides: dict[str, Any] | None = None, check_mode: bool = False) -> dict[str, Any]:
    """Make sure the model for these parameters exists in directory; return a result dict.

    Keys: changed, path, key, size_bytes, parameters (model parameters), parameter_count.
    The file name carries the key, so an existing file with that name is the right model.
    """
    params = normalized_parameters(overrides)
    path = os.path.join(os.path.abspath(directory), model_filename(params))
    changed = not os.path.isfile(path)
    if changed and not check_mode:
        write_model(path, params)
    return {
        "changed": changed,
        "path": path,
        "key": model_key(params),
        "size_bytes": os.path.getsize(path) if os.path.isfile(path) else 0,
        "parameters": params,
        "parameter_count": parameter_count(params),
    }
