# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deterministic demo model in Hugging Face format (Llama architecture, random weights), for vLLM on CPU.

The twin of ``gguf_demo`` (llama.cpp's demo model): a folder with ``config.json``, ``model.safetensors``
(random weights drawn from the seed), a byte-level BPE tokenizer trained offline on a text generated from the
seed (``tokenizer.json``), and ``tokenizer_config.json`` with a ChatML chat template, so vLLM loads, tokenizes,
templates and decodes it as a real small Llama. No hub, no download.

Standalone on purpose (no imports from the collection): the generation needs ``tokenizers``, ``safetensors`` and
``numpy``, which live in vLLM's environment, not in Ansible's; ``ensure_model`` runs this very file there with
that environment's interpreter. The folder name carries a key hashed from the generator version and every
parameter, so a parameter set is generated once and reused.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

GENERATOR_VERSION = 1
DEFAULTS: dict[str, Any] = {
    "seed": 1234,
    "vocab_size": 2048,
    "hidden_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 704,
    "max_position_embeddings": 4096,
}
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]
# ChatML, as the GGUF demo model's template: the answer follows "<|im_start|>assistant\n" and ends at <|im_end|>.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


class DemoModelError(Exception):
    """The model could not be generated or is incomplete."""


def model_key(params: dict[str, Any]) -> str:
    material = json.dumps({"generator": GENERATOR_VERSION, **params}, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def model_dir(dest_dir: str, params: dict[str, Any]) -> str:
    name = f"llmops-demo-hf-{params['num_hidden_layers']}x{params['hidden_size']}-{model_key(params)}"
    return os.path.join(dest_dir, name)


def check_params(params: dict[str, Any]) -> None:
    if params["hidden_size"] % params["num_attention_heads"]:
        raise DemoModelError(f"hidden_size {params['hidden_size']} is not a multiple of num_attention_heads "
                             f"{params['num_attention_heads']}")
    if params["num_attention_heads"] % params["num_key_value_heads"]:
        raise DemoModelError("num_attention_heads must be a multiple of num_key_value_heads")
    if params["vocab_size"] < 512:
        raise DemoModelError(f"vocab_size {params['vocab_size']} is below 512")
    if params["num_hidden_layers"] < 1:
        raise DemoModelError("num_hidden_layers must be 1 or more")


def missing_files(path: str) -> list[str]:
    """What a model folder lacks to be served (also: a tokenizer_config.json without a chat template)."""
    missing = [name for name in REQUIRED_FILES if not os.path.isfile(os.path.join(path, name))]
    config = os.path.join(path, "tokenizer_config.json")
    if "tokenizer_config.json" not in missing:
        with open(config, encoding="utf-8") as handle:
            if not json.load(handle).get("chat_template") and not os.path.isfile(
                    os.path.join(path, "chat_template.jinja")):
                missing.append("a chat template (tokenizer_config.json chat_template or chat_template.jinja)")
    return missing


def _corpus(seed: int, words: int = 60000) -> list[str]:
    """Deterministic English-like text: syllables drawn from the seed, plus the words a chat prompt uses."""
    import random

    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ten", "ra", "su", "vo", "ne", "tar", "el", "on", "is", "an", "the", "re", "in",
                 "er", "at", "st", "ou", "ing", "ed", "and", "to", "of", "a", "que", "ry", "da", "ta"]
    common = ["the", "a", "an", "of", "to", "and", "in", "is", "for", "on", "with", "as", "by", "at", "from", "this",
              "that", "what", "how", "why", "answer", "question", "context", "document", "user", "assistant", "system",
              "you", "your", "please", "summarise", "explain", "retrieve", "passage"]
    lines, line = [], []
    for _word in range(words):
        word = rng.choice(common) if rng.random() < 0.3 else "".join(
            rng.choice(syllables) for _syllable in range(rng.randint(1, 3)))
        line.append(word.capitalize() if not line else word)
        if len(line) >= rng.randint(6, 16):
            lines.append(" ".join(line) + rng.choice([".", ".", "?", ",", ":"]))
            line = []
    return lines


def generate(path: str, params: dict[str, Any]) -> dict[str, Any]:
    """Write the model folder at ``path`` (runs inside vLLM's environment)."""
    import numpy as np
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=params["vocab_size"], special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(_corpus(params["seed"]), trainer=trainer)
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    vocab = tokenizer.get_vocab_size()
    bos, eos = tokenizer.token_to_id("<|begin_of_text|>"), tokenizer.token_to_id("<|im_end|>")
    os.makedirs(path, exist_ok=True)
    tokenizer.save(os.path.join(path, "tokenizer.json"))
    hidden, layers = params["hidden_size"], params["num_hidden_layers"]
    heads, kv_heads, inter = params["num_attention_heads"], params["num_key_value_heads"], params["intermediate_size"]
    head_dim = hidden // heads
    rng = np.random.default_rng(params["seed"])

    def normal(*shape: int) -> Any:
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)

    tensors = {"model.embed_tokens.weight": normal(vocab, hidden), "model.norm.weight": np.ones(hidden, np.float16),
               "lm_head.weight": normal(vocab, hidden)}
    for layer in range(layers):
        prefix = f"model.layers.{layer}."
        tensors.update({
            prefix + "input_layernorm.weight": np.ones(hidden, np.float16),
            prefix + "post_attention_layernorm.weight": np.ones(hidden, np.float16),
            prefix + "self_attn.q_proj.weight": normal(heads * head_dim, hidden),
            prefix + "self_attn.k_proj.weight": normal(kv_heads * head_dim, hidden),
            prefix + "self_attn.v_proj.weight": normal(kv_heads * head_dim, hidden),
            prefix + "self_attn.o_proj.weight": normal(hidden, heads * head_dim),
            prefix + "mlp.gate_proj.weight": normal(inter, hidden),
            prefix + "mlp.up_proj.weight": normal(inter, hidden),
            prefix + "mlp.down_proj.weight": normal(hidden, inter),
        })
    save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
        "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "head_dim": head_dim, "hidden_act": "silu",
        "max_position_embeddings": params["max_position_embeddings"], "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "vocab_size": vocab, "bos_token_id": bos, "eos_token_id": eos, "tie_word_embeddings": False,
        "torch_dtype": "float16", "attention_bias": False, "mlp_bias": False,
    }
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    with open(os.path.join(path, "generation_config.json"), "w", encoding="utf-8") as handle:
        json.dump({"bos_token_id": bos, "eos_token_id": eos}, handle, indent=2)
    with open(os.path.join(path, "tokenizer_config.json"), "w", encoding="utf-8") as handle:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>",
                   "eos_token": "<|im_end|>", "pad_token": "<|end_of_text|>", "add_bos_token": False,
                   "model_max_length": params["max_position_embeddings"], "chat_template": CHAT_TEMPLATE},
                  handle, indent=2)
    count = sum(int(np.prod(t.shape)) for t in tensors.values())
    return {"vocab_size": vocab, "parameter_count": count}


def ensure_model(python: str, dest_dir: str, overrides: dict[str, Any] | None = None,
                 check_mode: bool = False, timeout: float = 900) -> dict[str, Any]:
    """Return {path, key, generated, parameter_count, size_bytes}, generating the folder with ``python`` first
    when ``dest_dir`` lacks it (written to a temporary folder, then renamed: never half a model)."""
    params = {**DEFAULTS, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    check_params(params)
    path = model_dir(dest_dir, params)
    result = {"path": path, "key": model_key(params), "generated": False, "parameters": params}
    if os.path.isfile(os.path.join(path, "model.json")) and not missing_files(path):
        with open(os.path.join(path, "model.json"), encoding="utf-8") as handle:
            result.update(json.load(handle))
        return result
    if check_mode:
        result.update(generated=True, parameter_count=0, size_bytes=0)
        return result
    os.makedirs(dest_dir, exist_ok=True)
    staged = tempfile.mkdtemp(prefix=".partial-", dir=dest_dir)
    try:
        source = inspect.getsource(sys.modules[__name__])
        run = subprocess.run([python, "-c", source, os.path.join(staged, "model"), json.dumps(params)],
                             capture_output=True, text=True, timeout=timeout, check=False)
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            raise DemoModelError(f"generating with {python} failed: {last}")
        info = json.loads(run.stdout.strip().splitlines()[-1])
        info["size_bytes"] = sum(os.path.getsize(os.path.join(staged, "model", name))
                                 for name in os.listdir(os.path.join(staged, "model")))
        with open(os.path.join(staged, "model", "model.json"), "w", encoding="utf-8") as handle:
            json.dump(info, handle)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(os.path.join(staged, "model"), path)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    result.update(info, generated=True)
    return result


if __name__ == "__main__":
    sys.stdout.write(json.dumps(generate(sys.argv[1], json.loads(sys.argv[2]))) + "\n")
