"""The preStop drain script (module_utils/k8s/drain.py) run by a real /bin/sh against a /metrics endpoint whose
in-flight gauges fall over time, in each server's exposition format. The real llama-server case is
tests/integration/test_drain_llama_server.py; vLLM's live drain waits for its CPU runtime (issue 23)."""

from __future__ import annotations

import subprocess
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest
from local_http import serving

from ansible_collections.llmops.oke.plugins.module_utils.k8s import drain

# The servers' own exposition: llama.cpp tools/server /metrics (plain gauges) and vLLM (labelled, floats).
FORMATS = {
    "llama_cpp": "# HELP llamacpp:requests_processing Number of requests processing.\n"
                 "# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing {running}\n"
                 "llamacpp:requests_deferred {waiting}\nllamacpp:n_busy_slots_per_decode 7\n",
    "vllm": '# TYPE vllm:num_requests_running gauge\n'
            'vllm:num_requests_running{{engine="0",model_name="m"}} {running}.0\n'
            'vllm:num_requests_waiting{{engine="0",model_name="m"}} {waiting}.0\n'
            'vllm:num_requests_running_total{{engine="0"}} 9.0\n',
}


def _metrics_handler(server: str, schedule: list[tuple[int, int]], seen: list[str]) -> type[BaseHTTPRequestHandler]:
    """/metrics answers the next (running, waiting) of ``schedule`` each read (the last one repeats)."""
    reads = iter(schedule)
    last = [schedule[-1]]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization") or "")
            running, waiting = next(reads, last[0])
            body = FORMATS[server].format(running=running, waiting=waiting).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _run(script: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=60, check=False,
                            env=env)
    return result, time.monotonic() - started


@pytest.mark.parametrize("server", sorted(drain.IN_FLIGHT_METRICS))
def test_waits_until_running_and_waiting_reach_zero(server: str) -> None:
    seen: list[str] = []
    with serving(_metrics_handler(server, [(2, 1), (1, 1), (1, 0), (0, 0)], seen)) as url:
        port = urllib.parse.urlsplit(url).port
        result, elapsed = _run(drain.prestop_script(server, port, 0, 30))
    assert result.returncode == 0 and "drain: 0 requests in flight" in result.stdout, result
    assert len(seen) == 4 and elapsed >= 3  # one read a second until the fourth read says 0


def test_gives_up_at_the_drain_timeout() -> None:
    with serving(_metrics_handler("llama_cpp", [(1, 0)], [])) as url:
        result, elapsed = _run(drain.prestop_script("llama_cpp", urllib.parse.urlsplit(url).port, 1, 2))
    assert result.returncode == 0 and "1 requests still in flight after 2 s" in result.stderr, result
    assert 3 <= elapsed < 15


def test_a_gone_server_ends_the_wait() -> None:
    with serving(_metrics_handler("llama_cpp", [(0, 0)], [])) as url:
        port = urllib.parse.urlsplit(url).port
    result, elapsed = _run(drain.prestop_script("llama_cpp", port, 0, 60))  # nothing listens there any more
    assert result.returncode == 0 and "server gone" in result.stderr and elapsed < 30, result


def test_sends_the_api_key_from_the_environment_only() -> None:
    seen: list[str] = []
    with serving(_metrics_handler("llama_cpp", [(0, 0)], seen)) as url:
        script = drain.prestop_script("llama_cpp", urllib.parse.urlsplit(url).port, 0, 5, "LLAMA_API_KEY")
        result, _elapsed = _run(script, env={"PATH": "/usr/bin:/bin", "LLAMA_API_KEY": "s3cret"})
    assert result.returncode == 0 and seen == ["Bearer s3cret"], (result, seen)
    assert "s3cret" not in script


def test_longest_request_the_slos_allow() -> None:
    assert drain.slo_longest_request_s("chatbot", 512) == 54   # 2 s + 0.1 s x 511
    assert drain.slo_longest_request_s("rag", 2304) == 119     # 3 s + 0.05 s x 2303
    with pytest.raises(drain.DrainError):
        drain.slo_longest_request_s("chat", 512)
