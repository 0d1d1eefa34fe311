"""gguf_demo_model module: generate once, reuse, verify with gguf's reader, exact check mode."""

from __future__ import annotations

from pathlib import Path

from conftest import run_module

TINY = {"vocab_size": 1024, "embedding_length": 64, "block_count": 2, "feed_forward_length": 128,
        "head_count": 4, "head_count_kv": 2, "context_length": 512}


def test_generates_then_reuses(tmp_path: Path) -> None:
    options = {"dest_dir": str(tmp_path), **TINY}
    predicted = run_module("gguf_demo_model", options, check_mode=True)
    assert predicted["changed"] and not Path(predicted["path"]).exists() and "model" not in predicted
    created = run_module("gguf_demo_model", options)
    assert created["changed"] and created["path"] == predicted["path"] and created["size_bytes"] > 0
    assert created["model"]["architecture"] == "llama" and created["model"]["vocab_size"] == 1024
    again = run_module("gguf_demo_model", options)
    assert not again["changed"] and again["path"] == created["path"]
    assert not run_module("gguf_demo_model", options, check_mode=True)["changed"]


def test_a_corrupt_cached_file_is_reported(tmp_path: Path) -> None:
    options = {"dest_dir": str(tmp_path), **TINY}
    path = Path(run_module("gguf_demo_model", options, check_mode=True)["path"])
    path.write_bytes(b"GGUF not really")
    result = run_module("gguf_demo_model", options)
    assert result["failed"] and str(tmp_path) in result["msg"]


def test_bad_parameters_fail_clearly(tmp_path: Path) -> None:
    result = run_module("gguf_demo_model", {"dest_dir": str(tmp_path), **TINY, "head_count_kv": 3})
    assert result["failed"] and "head_count_kv" in result["msg"]
