"""server/vllm_args.py: one builder of vLLM's server arguments for the Kubernetes Deployment and the process runtime.

The Deployment's rendered args are pinned against what the template rendered before it used this builder by
tests/unit/roles/test_vllm_args_one_builder.py; these are the builder's own rules, judged against the flag lists
vLLM's own parsers produced (hack/server_flags.py): 0.34.0 (the image) for kubernetes, 0.32.0 (the CPU build) for
process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.oke.plugins.filter.vllm_args import vllm_args
from ansible_collections.llmops.oke.plugins.module_utils.server.flags import parse_flag_list, unknown_flags
from ansible_collections.llmops.oke.plugins.module_utils.server.vllm_args import (
    VllmArgsError,
    role_flag_conflicts,
    server_args,
)

FILES = Path(__file__).resolve().parents[5] / "roles" / "vllm" / "files"
# The rag preset's settings as the role passes them (tasks/process.yml, templates/deployment.yaml.j2).
RAG = {"model": "meta-llama/Llama-3.2-1B-Instruct", "served_model_name": "llama-3.2-1b-instruct", "port": 8000,
       "dtype": "float16", "gpu_memory_utilization": 0.9, "max_num_seqs": 64, "tensor_parallel_size": 1,
       "download_dir": "/cache/huggingface/hub", "model_source": "huggingface", "revision": "v1.0",
       "max_model_len": 2304, "enable_prefix_caching": True, "block_size": 32, "shutdown_timeout": 119,
       "extra_args": ["--max_num_batched_tokens=4096"]}


def _flags(version: str) -> list[str]:
    return parse_flag_list((FILES / f"vllm-flags-{version}.txt").read_text())


def test_kubernetes_mode_keeps_the_gpu_settings_and_leaves_the_block_size_to_vllm() -> None:
    args = server_args(RAG, "kubernetes")
    assert args == ["--model", "meta-llama/Llama-3.2-1B-Instruct", "--served-model-name", "llama-3.2-1b-instruct",
                    "--host", "0.0.0.0", "--port", "8000", "--dtype", "float16", "--gpu-memory-utilization", "0.9",
                    "--max-num-seqs", "64", "--tensor-parallel-size", "1", "--download-dir", "/cache/huggingface/hub",
                    "--revision", "v1.0", "--tokenizer-revision", "v1.0", "--max-model-len", "2304",
                    "--enable-prefix-caching", "--shutdown-timeout", "119", "--max_num_batched_tokens=4096"]
    assert unknown_flags(args, _flags("0.34.0"), underscores_as_dashes=True) == []


def test_process_mode_maps_the_cpu_table_and_sets_the_block_size() -> None:
    args = server_args({**RAG, "model": "/models/demo", "host": "127.0.0.1"}, "process")
    assert args == ["--model", "/models/demo", "--served-model-name", "llama-3.2-1b-instruct", "--host", "127.0.0.1",
                    "--port", "8000", "--dtype", "bfloat16", "--max-num-seqs", "64", "--max-model-len", "2304",
                    "--enable-prefix-caching", "--enforce-eager", "--block-size", "32", "--shutdown-timeout", "119",
                    "--max_num_batched_tokens=4096"]
    assert unknown_flags(args, _flags("0.32.0"), underscores_as_dashes=True) == []
    assert "--block-size" not in server_args({**RAG, "model": "/m", "block_size": 0}, "process"), "0 = vLLM's own"


@pytest.mark.parametrize("source", ["url", "pvc"])
def test_a_revision_pins_hub_weights_only(source: str) -> None:
    args = server_args({**RAG, "model_source": source, "model": "/models/m"}, "kubernetes")
    assert "--revision" not in args and "--tokenizer-revision" not in args


def test_the_deployment_always_states_its_shutdown_timeout_the_process_only_when_set() -> None:
    assert server_args({**RAG, "shutdown_timeout": 0}, "kubernetes")[-3:-1] == ["--shutdown-timeout", "0"]
    assert "--shutdown-timeout" not in server_args({**RAG, "model": "/m", "shutdown_timeout": 0}, "process")


def test_an_unknown_mode_or_a_missing_setting_is_refused_naming_it() -> None:
    with pytest.raises(VllmArgsError, match="mode 'gpu' is not one of kubernetes, process"):
        server_args(RAG, "gpu")
    with pytest.raises(VllmArgsError, match="vllm_model is empty"):
        server_args({**RAG, "model": ""}, "kubernetes")
    settings = {key: value for key, value in RAG.items() if key != "gpu_memory_utilization"}
    with pytest.raises(AnsibleFilterError, match="vllm_args: the setting 'gpu_memory_utilization' is missing"):
        vllm_args(settings, "kubernetes")
    assert vllm_args({**RAG, "model": "/m"}) == server_args({**RAG, "model": "/m"}, "process"), "process by default"


@pytest.mark.parametrize("argument", ["--block-size", "--block_size=64"])
def test_the_block_size_is_the_roles_on_the_process_runtime_only(argument: str) -> None:
    (message,) = role_flag_conflicts([argument, "64"], "process")
    assert message == f"vllm_extra_args: {argument} is set by the role; use vllm_cpu_block_size (process runtime)"
    assert role_flag_conflicts([argument, "64"]) == [], "on Kubernetes vllm_extra_args may set it"
