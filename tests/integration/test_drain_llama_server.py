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

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from drain_support import Front, metric, stop_mid_level, stream_then_sigterm
from k8s_support import load_documents, render_playbook
from local_http import free_port

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig
from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import ensure_model
from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import ensure_llama_server
from ansible_collections.llmops.oke.plugins.module_utils.local.process import health_ok

pytestmark = [pytest.mark.slow, pytest.mark.llama_server]
CACHE = os.environ.get("LLMOPS_CACHE") or os.path.expanduser("~/.cache/llmops-oke")
SLOTS = 2


class Server:
    """One llama-server process: one 'pod'."""

    def __init__(self, binary: str, model: str, log: Path) -> None:
        self.port = free_port()
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

    def in_flight() -> float:
        return metric(server_a.url, "llamacpp:requests_processing")

    def sigterm() -> int:
        server_a.proc.send_signal(signal.SIGTERM)
        return server_a.proc.wait(60)

    record = stop_mid_level(front, server_a.url, in_flight, prestop, sigterm, config)
    print("drain record:", json.dumps(record))
    assert record["in_flight_at_stop"] >= 1, record  # the stop really came with streams in flight on A
    assert record["prestop_returncode"] == 0 and "drain: 0 requests in flight" in record["prestop_stdout"], record
    assert record["prestop_s"] >= 2, record  # the hook waited (delay, then the streams)
    assert record["in_flight_after_prestop"] == 0, record
    assert record["errors_by_code"] == {} and record["completed"] == 16, record
    assert record["output_tokens_min"] == record["output_tokens_max"] == 64, record  # no stream cut short


def test_bare_sigterm_cuts_a_stream(binary_and_model: tuple[str, str], tmp_path: Path) -> None:
    """What the drain is for: llama-server alone, SIGTERMed 1 s into a stream, does not finish it."""
    binary, model = binary_and_model
    server = Server(binary, model, tmp_path / "bare.log")
    try:
        server.wait_healthy()
        record = stream_then_sigterm(server.port, "demo", 400, lambda: server.proc.send_signal(signal.SIGTERM),
                                     timeout=45, after_chunks=5, after_s=1.0)
        print("bare SIGTERM record:", json.dumps({**record, "exit": server.proc.wait(60)}))
        assert record["signalled"], "the stream ended before the SIGTERM"
        assert not record["done"] and record["chunks_before"] + record["chunks_after"] < 400, \
            "llama-server finished the stream by itself"
    finally:
        server.stop()
