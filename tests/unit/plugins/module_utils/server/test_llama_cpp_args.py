"""The one llama-server argument builder (used by the Kubernetes template and the local process)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.oke.plugins.filter.llama_cpp_args import FilterModule
from ansible_collections.llmops.oke.plugins.module_utils.server.llama_cpp_args import ServerArgsError, build_server_args


def _pairs(args: list[str]) -> dict[str, str]:
    return {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")
            and not args[i + 1].startswith("--")}


def test_full_settings_become_flags_with_context_per_slot_multiplied() -> None:
    args = build_server_args({"model": "/m/x.gguf", "alias": "chat", "host": "0.0.0.0", "port": 8080, "threads": 16,
                              "parallel": 8, "ctx_size_per_slot": 512, "batch_size": 512, "ubatch_size": 256,
                              "cont_batching": True, "metrics": True, "flash_attn": "on", "extra_args": ["--mlock"]})
    pairs = _pairs(args)
    assert pairs["--model"] == "/m/x.gguf" and pairs["--alias"] == "chat" and pairs["--host"] == "0.0.0.0"
    assert pairs["--threads"] == "16" and pairs["--parallel"] == "8"
    assert pairs["--ctx-size"] == "4096"  # 512 per slot x 8 slots
    assert pairs["--batch-size"] == "512" and pairs["--ubatch-size"] == "256" and pairs["--flash-attn"] == "on"
    assert "--cont-batching" in args and "--metrics" in args
    assert args[-1] == "--mlock", "extra args come last so they can override"


def test_zero_and_empty_leave_server_defaults() -> None:
    args = build_server_args({"model": "/m.gguf", "threads": 0, "threads_batch": "", "parallel": None,
                              "ctx_size_per_slot": 0, "flash_attn": "auto", "metrics": None})
    assert args == ["--model", "/m.gguf"]


def test_ctx_without_parallel_is_one_slot() -> None:
    assert _pairs(build_server_args({"model": "/m.gguf", "ctx_size_per_slot": 2048}))["--ctx-size"] == "2048"


def test_string_values_from_jinja_are_accepted() -> None:
    args = build_server_args({"model": "/m.gguf", "parallel": "4", "ctx_size_per_slot": "1024",
                              "cont_batching": "False", "metrics": "True"})
    assert _pairs(args)["--ctx-size"] == "4096"
    assert "--no-cont-batching" in args and "--metrics" in args


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "needs a model"),
    ({"model": "/m", "threads": -1}, "threads must be >= 0"),
    ({"model": "/m", "parallel": "many"}, "parallel must be an integer"),
    ({"model": "/m", "batch_size": 128, "ubatch_size": 256}, "cannot exceed batch_size"),
    ({"model": "/m", "flash_attn": "maybe"}, "flash_attn must be one of"),
    ({"model": "/m", "api_key": "secret"}, "unknown llama_cpp server settings: api_key"),
])
def test_invalid_settings_are_refused_with_the_setting_named(settings: dict, message: str) -> None:
    with pytest.raises(ServerArgsError, match=message):
        build_server_args(settings)


def test_filter_wraps_errors_for_ansible() -> None:
    llama_cpp_args = FilterModule().filters()["llama_cpp_args"]
    assert llama_cpp_args({"model": "/m.gguf", "port": 9000}) == ["--model", "/m.gguf", "--port", "9000"]
    with pytest.raises(AnsibleFilterError, match="needs a model"):
        llama_cpp_args({})
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        llama_cpp_args(["--model"])


def test_cache_reset_settings_add_their_flags_only_when_set() -> None:
    args = build_server_args({"model": "/m/x.gguf", "slot_save_path": "/tmp", "cache_ram_mib": 0})
    assert _pairs(args)["--slot-save-path"] == "/tmp" and _pairs(args)["--cache-ram"] == "0"
    unset = build_server_args({"model": "/m/x.gguf", "slot_save_path": "", "cache_ram_mib": ""})
    assert "--slot-save-path" not in unset and "--cache-ram" not in unset
    assert unset == build_server_args({"model": "/m/x.gguf"})
