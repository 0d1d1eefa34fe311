"""Streams survive a pod's stop on vLLM too: the rendered preStop drain and vLLM's own --shutdown-timeout, against
vLLM's real CPU build started by the vllm role's process runtime (issue 24, item 2).

Two vLLM "pods" (the role, rag preset, each on its own port) behind a round-robin front (tests/drain_support.py):
in the middle of a benchmark level, server A leaves the front (the endpoint removal), the preStop the vllm role
renders for Kubernetes runs against A until it returns, then A gets SIGTERM. The benchmark must count 0 failed
requests and every stream its full length. A second test SIGTERMs server B mid-stream with no preStop at all:
the role's --shutdown-timeout (vLLM's wait mode; its default 0 aborts) must let that stream finish. The two "pods"
are started once for both tests (each vLLM start costs 30-90 s here); B's preStop setting (vllm_drain_delay_s) is
not part of its command line, so B is the server a plain SIGTERM meets.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from drain_support import Front, metric, stop_mid_level, stream_then_sigterm
from k8s_support import load_documents, render_playbook
from vllm_support import RolePlay

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig

pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.timeout(3600)]
SEQUENCES = 2
OUTPUT_TOKENS = 200


def _in_flight(url: str) -> float:
    return metric(url, "vllm:num_requests_running") + metric(url, "vllm:num_requests_waiting")


@pytest.fixture(scope="module")
def two_pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RolePlay, RolePlay]]:
    pods = []
    try:
        for name in ("a", "b"):
            pod = RolePlay(tmp_path_factory.mktemp(f"drain-{name}"))
            pod.base.update({"vllm_name": f"drain-{name}", "vllm_max_num_seqs": SEQUENCES,
                             "vllm_drain_delay_s": 2})
            pods.append(pod)
            pod()
        yield pods[0], pods[1]
    finally:
        for pod in pods:
            pod.run(vllm_state="absent")


def _rendered_prestop(port: int, tmp_path: Path) -> list[str]:
    """The vllm role's own preStop for a pod whose server listens on ``port`` (rag preset, delay 2 s)."""
    playbook = tmp_path / "render-vllm.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.include_role:\n        name: llmops.oke.vllm\n")
    render_dir = tmp_path / "rendered"
    render_playbook(str(playbook), render_dir, timeout=600, extra_vars={
        "vllm_preset": "rag", "vllm_port": port, "vllm_drain_delay_s": 2})
    [manifest] = sorted(render_dir.glob("*.yaml"))
    deployment = next(d for d in load_documents(manifest) if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]


def _pid(pod: RolePlay) -> int:
    """The pid the role's local_server recorded for this pod's vLLM."""
    return json.loads((pod.run_dir / f"{pod.base['vllm_name']}.pid").read_text())["pid"]


def _sigterm(pod: RolePlay) -> int:
    """SIGTERM the pod's server and wait until it is gone; the exit code is not ours to see (not our child)."""
    pid = _pid(pod)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 120
    while os.path.exists(f"/proc/{pid}"):
        assert time.monotonic() < deadline, "vLLM did not stop within 120 s of SIGTERM"
        time.sleep(0.2)
    return 0


def test_prestop_drain_then_sigterm_mid_level_loses_no_stream(
        two_pods: tuple[RolePlay, RolePlay], tmp_path: Path) -> None:
    pod_a, pod_b = two_pods
    url_a, url_b = pod_a.url(""), pod_b.url("")
    prestop = _rendered_prestop(pod_a.port, tmp_path)
    # The role started vLLM with its own drain on SIGTERM (--shutdown-timeout, the drain timeout).
    assert b"--shutdown-timeout" in Path(f"/proc/{_pid(pod_a)}/cmdline").read_bytes()
    front = Front([url_a, url_b])
    config = BenchmarkConfig.from_dict({
        "base_url": front.url, "model": "llama-3.2-1b-instruct", "preset": "chatbot", "concurrency": [4],
        "max_requests": 12, "warmup_requests": 0, "mean_output_tokens": OUTPUT_TOKENS,
        "results_dir": str(tmp_path / "results"), "run_id": "drain", "node_shape": "VM.GPU.A10.1",
        "server_slots": SEQUENCES, "correctness_requests": 0, "determinism_prompts": 0, "report": False,
        "request_timeout_s": 300,
    })
    record = stop_mid_level(front, url_a, lambda: _in_flight(url_a), prestop, lambda: _sigterm(pod_a), config)
    print("vLLM drain record:", json.dumps(record))
    assert record["in_flight_at_stop"] >= 1, record  # the stop came with streams in flight on A
    assert record["prestop_returncode"] == 0 and "drain: 0 requests in flight" in record["prestop_stdout"], record
    assert record["in_flight_after_prestop"] == 0, record
    assert record["errors_by_code"] == {} and record["completed"] == 12, record
    assert record["output_tokens_min"] == record["output_tokens_max"] == OUTPUT_TOKENS, record


def test_vllms_own_shutdown_timeout_lets_a_running_stream_finish(two_pods: tuple[RolePlay, RolePlay]) -> None:
    """No preStop: SIGTERM lands 5 chunks into a stream on B; the role's --shutdown-timeout must let it end whole."""
    pod = two_pods[1]
    pid = _pid(pod)
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"--shutdown-timeout" in command and str(pod.port).encode() in command, "B runs with the role's drain"
    record = stream_then_sigterm(pod.port, "llama-3.2-1b-instruct", 300,
                                 lambda: os.kill(pid, signal.SIGTERM), timeout=120, after_chunks=5)
    print("vLLM SIGTERM record:", json.dumps(record))
    assert record["signalled"], "the stream ended before the SIGTERM"
    assert record["done"] and record["chunks_after"] > 0, \
        "vLLM cut the running stream on SIGTERM despite --shutdown-timeout"
