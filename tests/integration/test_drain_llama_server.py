"""Streams survive a pod's stop: the rendered preStop drain against a real llama-server (issue 24, item 2).

What Kubernetes does when it stops a pod behind a Service, done here the same way, in the same order:
1. the Terminating pod leaves the Service's endpoints: the front below (two llama-server "pods" behind one
   round-robin proxy, like kube-proxy) stops routing new requests to server A;
2. the kubelet runs the container's preStop hook: the exact ``/bin/sh -c`` command the llama_cpp role renders
   (rendered here with server A's port), run against A until it returns;
3. the kubelet sends SIGTERM.
All in the middle of a benchmark level with streams in flight on A. The benchmark must count 0 failed requests.

The control measures what llama-server does by itself on a bare SIGTERM mid-stream (the issue: it stops generating
at once and the stream hangs until the connection breaks).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from k8s_support import load_documents, render_playbook

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import ensure_model
from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import ensure_llama_server
from ansible_collections.llmops.oke.plugins.module_utils.local.process import health_ok

pytestmark = [pytest.mark.slow, pytest.mark.llama_server]
CACHE = os.environ.get("LLMOPS_CACHE") or os.path.expanduser("~/.cache/llmops-oke")
SLOTS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.split()[-1])
    raise AssertionError(f"{name} not in {url}/metrics")


class Server:
    """One llama-server process: one 'pod'."""

    def __init__(self, binary: str, model: str, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [binary, "-m", model, "--host", "127.0.0.1", "--port", str(self.port), "-np", str(SLOTS),
             "-c", str(512 * SLOTS), "-a", "demo", "--metrics", "-t", "1"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 240
        while not health_ok(self.url + "/health"):
            assert self.proc.poll() is None, f"llama-server exited with {self.proc.returncode}"
            assert time.monotonic() < deadline, "llama-server never became healthy"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


class Front:
    """A round-robin reverse proxy over the ready 'pods' (the Service); remove() is the endpoint removal."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = list(backends)
        self.lock = threading.Lock()
        self.turn = 0
        self.routed: dict[str, int] = dict.fromkeys(backends, 0)
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _proxy(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                backend = front.pick()
                target = urllib.parse.urlsplit(backend)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                while True:
                    chunk = response.read1(65536)
                    if not chunk:
                        break
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True
                upstream.close()

            do_GET = _proxy
            do_POST = _proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pick(self) -> str:
        with self.lock:
            backend = self.backends[self.turn % len(self.backends)]
            self.turn += 1
            self.routed[backend] += 1
            return backend

    def remove(self, backend: str) -> None:
        with self.lock:
            self.backends.remove(backend)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def binary_and_model() -> tuple[str, str]:
    return ensure_llama_server(CACHE)["path"], ensure_model(os.path.join(CACHE, "models"))["path"]


@pytest.fixture
def two_pods(binary_and_model: tuple[str, str], tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    binary, model = binary_and_model
    servers = (Server(binary, model, tmp_path / "a.log"), Server(binary, model, tmp_path / "b.log"))
    try:
        for server in servers:
            server.wait_healthy()
        yield servers
    finally:
        for server in servers:
            server.stop()


def _rendered_prestop(port: int, tmp_path: Path) -> list[str]:
    """The llama_cpp role's own preStop for a pod whose server listens on ``port`` (chatbot preset, delay 2 s)."""
    playbook = tmp_path / "render-llama_cpp.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.include_role:\n        name: llmops.oke.llama_cpp\n")
    render_dir = tmp_path / "rendered"
    render_playbook(str(playbook), render_dir, timeout=600, extra_vars={
        "llama_cpp_preset": "chatbot", "llama_cpp_model_sha256": "0" * 64, "llama_cpp_port": port,
        "llama_cpp_drain_delay_s": 2})
    [manifest] = sorted(render_dir.glob("*.yaml"))
    deployment = next(d for d in load_documents(manifest) if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]


def test_prestop_drain_then_sigterm_mid_level_loses_no_stream(
        two_pods: tuple[Server, Server], tmp_path: Path) -> None:
    server_a, server_b = two_pods
    prestop = _rendered_prestop(server_a.port, tmp_path)
    front = Front([server_a.url, server_b.url])
    config = BenchmarkConfig.from_dict({
        "base_url": front.url, "model": "demo", "preset": "chatbot", "concurrency": [4], "max_requests": 16,
        "warmup_requests": 0, "mean_output_tokens": 64, "results_dir": str(tmp_path / "results"), "run_id": "drain",
        "node_shape": "VM.Standard.A1.Flex", "ocpus": 2, "memory_gb": 8, "server_slots": SLOTS,
        "correctness_requests": 0, "determinism_prompts": 0, "report": False, "request_timeout_s": 300,
    })
    outcome: dict[str, Any] = {}
    bench = threading.Thread(target=lambda: outcome.update(summary=run_benchmark(config)), daemon=True)
    try:
        bench.start()
        # mid-level: streams are decoding on A
        deadline = time.monotonic() + 240
        while _metric(server_a.url, "llamacpp:requests_processing") < 1:
            assert bench.is_alive() and time.monotonic() < deadline, "no stream ever reached server A"
            time.sleep(0.2)
        time.sleep(1.0)
        in_flight_at_stop = _metric(server_a.url, "llamacpp:requests_processing")
        front.remove(server_a.url)                                      # 1. the endpoint removal
        routed_to_a = front.routed[server_a.url]
        started = time.monotonic()
        hook = subprocess.run(prestop, capture_output=True, text=True, timeout=300, check=False)  # 2. preStop
        drained_s = time.monotonic() - started
        in_flight_after_hook = _metric(server_a.url, "llamacpp:requests_processing")
        server_a.proc.send_signal(signal.SIGTERM)                       # 3. SIGTERM
        server_a.proc.wait(60)
        bench.join(600)
        assert not bench.is_alive(), "the benchmark level never ended"
    finally:
        front.close()
    summary = outcome["summary"]
    level = summary["levels"][0]["summary"]
    record = {"in_flight_on_a_at_stop": in_flight_at_stop, "prestop_s": round(drained_s, 1),
              "prestop_stdout": hook.stdout.strip(), "prestop_stderr": hook.stderr.strip(),
              "in_flight_on_a_after_prestop": in_flight_after_hook, "routed_to_a": routed_to_a,
              "completed": level["num_completed_requests"], "errors_by_code": level["errors_by_code"],
              "sigterm_exit": server_a.proc.returncode}
    print("drain record:", json.dumps(record))
    assert in_flight_at_stop >= 1, record  # the stop really came with streams in flight on A
    assert hook.returncode == 0 and "drain: 0 requests in flight" in hook.stdout, record
    assert drained_s >= 2, record  # the hook waited (delay, then the streams)
    assert in_flight_after_hook == 0, record
    assert level["errors_by_code"] == {} and level["num_completed_requests"] == 16, record
    assert level["output_tokens"]["min"] == level["output_tokens"]["max"] == 64, record  # no stream cut short


def test_bare_sigterm_cuts_a_stream(binary_and_model: tuple[str, str], tmp_path: Path) -> None:
    """What the drain is for: llama-server alone, SIGTERMed 1 s into a stream, does not finish it."""
    binary, model = binary_and_model
    server = Server(binary, model, tmp_path / "bare.log")
    try:
        server.wait_healthy()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=45)
        body = json.dumps({"model": "demo", "stream": True, "max_tokens": 400, "ignore_eos": True,
                           "messages": [{"role": "user", "content": "Count to one thousand."}]})
        connection.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        chunks_before = chunks_after = 0
        done = False
        started = time.monotonic()
        signalled_at = None
        try:
            while True:
                line = response.fp.readline()
                if not line:
                    break
                if line.startswith(b"data: [DONE]"):
                    done = True
                    break
                if not line.startswith(b"data: "):
                    continue
                if signalled_at is None:
                    chunks_before += 1
                    if time.monotonic() - started >= 1.0 and chunks_before >= 5:
                        server.proc.send_signal(signal.SIGTERM)
                        signalled_at = time.monotonic()
                else:
                    chunks_after += 1
        except (TimeoutError, OSError, http.client.HTTPException):
            pass
        ended_s = round(time.monotonic() - (signalled_at or started), 1)
        print("bare SIGTERM record:", json.dumps({"chunks_before": chunks_before, "chunks_after": chunks_after,
                                                  "done": done, "stream_ended_s_after_sigterm": ended_s,
                                                  "exit": server.proc.wait(60)}))
        assert signalled_at is not None, "the stream ended before the SIGTERM"
        assert not done and chunks_before + chunks_after < 400, "llama-server finished the stream by itself"
    finally:
        server.stop()
