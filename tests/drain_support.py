"""Kubernetes' stop of a pod behind a Service, on this machine: a round-robin front over real server processes
(the Service), the endpoint removal, the rendered preStop, then SIGTERM, all in the middle of a benchmark level.

Shared by tests/integration/test_drain_*.py (issue 24: streams survive a rollout, a scale-down, a node drain).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark


def metric(url: str, name: str) -> float:
    """The server's own gauge ``name`` from its /metrics (summed over label sets)."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        values = [float(line.split()[-1]) for line in response.read().decode().splitlines()
                  if line.startswith(name + " ") or line.startswith(name + "{")]
    if not values:
        raise AssertionError(f"{name} not in {url}/metrics")
    return sum(values)


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


def stop_mid_level(front: Front, url: str, in_flight: Callable[[], float], prestop: list[str],
                   sigterm: Callable[[], int], config: BenchmarkConfig) -> dict[str, Any]:
    """Run one benchmark level through ``front``; once streams are in flight on the server at ``url``, stop it as
    the kubelet would: (1) remove it from the front, (2) run ``prestop`` until it returns, (3) ``sigterm()``
    (returns the exit code). Returns the record: in flight at the stop and after the hook, the hook's output and
    time, the level's completed requests, errors and output token spread, the exit code."""
    outcome: dict[str, Any] = {}
    bench = threading.Thread(target=lambda: outcome.update(summary=run_benchmark(config)), daemon=True)
    try:
        bench.start()
        deadline = time.monotonic() + 300
        while in_flight() < 1:
            assert bench.is_alive() and time.monotonic() < deadline, "no stream ever reached the server"
            time.sleep(0.05)
        in_flight_at_stop = in_flight()
        front.remove(url)                                                  # 1. the endpoint removal
        routed = front.routed[url]
        started = time.monotonic()
        hook = subprocess.run(prestop, capture_output=True, text=True, timeout=300, check=False)  # 2. preStop
        drained_s = time.monotonic() - started
        in_flight_after_hook = in_flight()
        exit_code = sigterm()                                              # 3. SIGTERM
        bench.join(600)
        assert not bench.is_alive(), "the benchmark level never ended"
    finally:
        front.close()
    level = outcome["summary"]["levels"][0]["summary"]
    return {"in_flight_at_stop": in_flight_at_stop, "prestop_s": round(drained_s, 1),
            "prestop_returncode": hook.returncode, "prestop_stdout": hook.stdout.strip(),
            "prestop_stderr": hook.stderr.strip(), "in_flight_after_prestop": in_flight_after_hook,
            "routed_to_stopped": routed, "completed": level["num_completed_requests"],
            "errors_by_code": level["errors_by_code"], "output_tokens_min": level["output_tokens"]["min"],
            "output_tokens_max": level["output_tokens"]["max"], "sigterm_exit": exit_code}


def stream_then_sigterm(port: int, model: str, max_tokens: int, sigterm: Callable[[], None], timeout: float,
                        after_chunks: int = 5, after_s: float = 0.0) -> dict[str, Any]:
    """Stream one chat completion from 127.0.0.1:``port`` and call ``sigterm()`` once ``after_chunks`` chunks and
    ``after_s`` seconds have passed; read on until the stream ends or breaks. Returns chunks before and after the
    signal, whether ``[DONE]`` came, whether the signal was sent, and seconds from it to the stream's end."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    body = json.dumps({"model": model, "stream": True, "max_tokens": max_tokens, "ignore_eos": True,
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
                if chunks_before >= after_chunks and time.monotonic() - started >= after_s:
                    sigterm()
                    signalled_at = time.monotonic()
            else:
                chunks_after += 1
    except (TimeoutError, OSError, http.client.HTTPException):
        pass  # the connection broke: what a client of a server that stopped mid-stream sees
    return {"chunks_before": chunks_before, "chunks_after": chunks_after, "done": done,
            "signalled": signalled_at is not None,
            "stream_ended_s_after_sigterm": round(time.monotonic() - (signalled_at or started), 1)}
