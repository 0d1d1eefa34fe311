"""The generated demo GGUF: deterministic, readable by gguf's reader, with a working tokenizer layout."""

from __future__ import annotations

import hashlib
from pathlib import Path

import gguf
import pytest

from ansible_collections.llmops.oke.plugins.module_utils.local import gguf_demo

TINY = {"vocab_size": 1024, "embedding_length": 64, "block_count": 2, "feed_forward_length": 128,
        "head_count": 4, "head_count_kv": 2, "context_length": 512}


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_same_parameters_and_seed_give_identical_bytes(tmp_path: Path) -> None:
    first = gguf_demo.ensure_model(str(tmp_path / "a"), TINY)
    second = gguf_demo.ensure_model(str(tmp_path / "b"), TINY)
    assert first["changed"] and second["changed"]
    assert Path(first["path"]).name == Path(second["path"]).name
    assert _digest(first["path"]) == _digest(second["path"])
    other_seed = gguf_demo.ensure_model(str(tmp_path / "a"), {**TINY, "seed": 99})
    assert other_seed["key"] != first["key"] and _digest(other_seed["path"]) != _digest(first["path"])


def test_second_call_reuses_the_cached_file(tmp_path: Path) -> None:
    first = gguf_demo.ensure_model(str(tmp_path), TINY)
    mtime = Path(first["path"]).stat().st_mtime_ns
    again = gguf_demo.ensure_model(str(tmp_path), TINY)
    assert not again["changed"] and Path(again["path"]).stat().st_mtime_ns == mtime


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    result = gguf_demo.ensure_model(str(tmp_path), TINY, check_mode=True)
    assert result["changed"] and result["size_bytes"] == 0 and not Path(result["path"]).exists()


@pytest.mark.parametrize("weight_type", ["q8_0", "f16"])
def test_reader_sees_a_llama_model_with_tokenizer_and_template(tmp_path: Path, weight_type: str) -> None:
    result = gguf_demo.ensure_model(str(tmp_path), {**TINY, "weight_type": weight_type})
    found = gguf_demo.describe_model(result["path"])
    assert found["architecture"] == "llama" and found["tokenizer_model"] == "llama"
    assert found["block_count"] == 2 and found["vocab_size"] == 1024 and found["has_chat_template"]
    assert (found["bos_token_id"], found["eos_token_id"]) == (1, 2)
    assert found["tensor_count"] == 3 + 9 * 2
    assert found["parameters"] == result["parameter_count"]
    reader = gguf.GGUFReader(result["path"])
    types = {t.tensor_type for t in reader.tensors if t.name.endswith("attn_q.weight")}
    assert types == {gguf.GGMLQuantizationType.Q8_0 if weight_type == "q8_0" else gguf.GGMLQuantizationType.F16}


def test_vocab_has_control_byte_and_word_pieces() -> None:
    tokens, scores, types = gguf_demo.build_vocab(2048)
    assert len(tokens) == len(scores) == len(types) == 2048 and len(set(tokens)) == 2048
    assert tokens[:5] == ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    assert tokens[5] == "<0x00>" and tokens[260] == "<0xFF>"
    assert types.count(int(gguf.TokenType.BYTE)) == 256
    assert "\u2581the" in tokens and "\u2581server" in tokens
    # whole words score higher than the letters they are made of, so the tokenizer prefers them
    assert scores[tokens.index("\u2581the")] > scores[tokens.index("th")]


def test_default_model_is_sized_to_keep_the_server_busy() -> None:
    params = gguf_demo.normalized_parameters()
    assert 150e6 < gguf_demo.parameter_count(params) < 300e6


@pytest.mark.parametrize(("overrides", "message"), [
    ({"weight_type": "q4"}, "weight_type must be one of"),
    ({"embedding_length": 100, "head_count": 16}, "multiple of head_count"),
    ({"head_count": 16, "head_count_kv": 5}, "multiple of head_count_kv"),
    ({"vocab_size": 100}, "at least 512"),
    ({"layers": 3}, "unknown demo model parameter"),
    ({"embedding_length": 80, "head_count": 4, "head_count_kv": 2}, "multiples of 32"),
])
def test_invalid_parameters_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(gguf_demo.DemoModelError, match=message):
        gguf_demo.normalized_parameters(overrides)
