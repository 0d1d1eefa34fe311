"""Every fault kind becomes an error code on the request; the run goes on."""

from __future__ import annotations

import asyncio
import itertools
import socket

import pytest
from synthetic_llm_server import CLOSE_AFTER_S  # tests/fixtures, on the path by conftest.py

from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark_async
from ansible_collections.llmops.oke.plugins.module_utils.bench.client import Endpoint, OpenAIClient, RequestSpec

# asyncio's allowance for firing a timer (the close_after close) up to one clock resolution early (kept generous)
CLOCK_S = 0.001


def _one(base_url: str, fault: str, stall_timeout_s: float = 30.0, request_timeout_s: float = 30.0):
    async def main():
        client = OpenAIClient(Endpoint(base_url=base_url, model="m", stall_timeout_s=stall_timeout_s,
                                       request_timeout_s=request_timeout_s))
        watchdog = asyncio.ensure_future(client.watchdog())
        try:
            failed = await client.send(RequestSpec(prompt="x", max_tokens=8, headers={"X-Fault": fault}))
            after = await client.send(RequestSpec(prompt="x", max_tokens=3))
            return failed, after
        finally:
            watchdog.cancel()
            await client.close()

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("http_500", "http_500"),
        ("http_503", "http_503"),
        ("http_429", "http_429"),
        ("reset:3", "connection_reset"),
        ("close:3", "connection_closed"),
        ("malformed:2", "malformed_sse"),
        ("error_event:2", "server_error_event"),
    ],
)
def test_fault_is_recorded_and_the_next_request_succeeds(llm_server, fault: str, code: str) -> None:
    failed, after = _one(llm_server.base_url, fault)
    assert failed.error_code == code, failed.error_msg
    assert failed.end is not None
    assert after.ok and after.output_tokens == 3


def test_partial_stream_keeps_chunks_seen_before_the_fault(llm_server) -> None:
    failed, _after = _one(llm_server.base_url, "reset:3")
    assert len(failed.content_times) == 3 and failed.ttft_s is not None


def test_stall_past_the_timeout(llm_server) -> None:
    failed, after = _one(llm_server.base_url, "stall:2", stall_timeout_s=0.3, request_timeout_s=20.0)
    assert failed.error_code == "stall_timeout"
    # never before the stall timeout; and the stall watchdog, not the whole-request timeout, ended it
    assert 0.3 <= failed.e2e_s < 20.0
    assert after.ok


def test_whole_request_timeout(make_server) -> None:
    server = make_server(ttft_s=0.01, itl_s=0.1)
    failed, _after = _one(server.base_url, "none", request_timeout_s=0.35)
    assert failed.error_code == "request_timeout"


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    failed, after = _one(f"http://127.0.0.1:{port}", "none")
    assert failed.error_code == after.error_code == "connection_refused"


def test_a_run_with_mixed_faults_completes_and_counts_them(make_server, tmp_path) -> None:
    cycle = ["none", "http_500", "none", "reset:2", "none", "http_429", "none", "malformed:1", "none", "stall:1"]
    server = make_server(ttft_s=0.01, itl_s=0.002, fault_cycle=cycle)
    config = BenchmarkConfig(base_url=server.base_url, model="m", concurrency=[3], max_requests=20,
                             warmup_requests=0, mean_input_tokens=50, stddev_input_tokens=0, mean_output_tokens=5,
                             stddev_output_tokens=0, stall_timeout_s=0.3, results_dir=str(tmp_path), run_id="faults",
                             report=False, tokenizer="estimate")
    summary = asyncio.run(run_benchmark_async(config))
    level = summary["levels"][0]["summary"]
    assert summary["status"] == "complete"
    assert level["num_requests_started"] == 20
    assert level["errors_by_code"] == {"connection_reset": 2, "http_429": 2, "http_500": 2, "malformed_sse": 2,
                                       "stall_timeout": 2}
    assert level["num_completed_requests"] == 10 and level["error_rate"] == 0.5


def test_server_closing_kept_alive_connections_is_not_an_error(make_server) -> None:
    # llama.cpp's server closes the connection after a streamed response; a reused connection that dies
    # before any response byte is resent once on a fresh connection, timed from the resend
    server = make_server(ttft_s=0.005, itl_s=0.001, fault_cycle=["close_after"])

    async def main():
        client = OpenAIClient(Endpoint(base_url=server.base_url, model="m"))
        try:
            return [await client.send(RequestSpec(prompt="x", max_tokens=3, request_id=f"r{index}"))
                    for index in range(5)]
        finally:
            await client.close()

    records = asyncio.run(main())
    assert all(r.ok for r in records), [r.error_code for r in records]
    assert [r.retried_stale_connection for r in records] == [False, True, True, True, True]
    # Timed from the resend, by causality rather than a time window (the server runs in this process, on the
    # same CLOCK_MONOTONIC): the server closes the kept-alive connection CLOSE_AFTER_S after it wrote the
    # previous response (synthetic_llm_server.py, close_after), the client resends only once it sees that
    # close, and the answer's first chunk is written after the resend arrived. Timed from the first attempt,
    # start would lie before the close.
    truth = server.server.truth
    for previous, record in itertools.pairwise(records):
        closed_no_earlier_than = truth[previous.request_id].done_sent + CLOSE_AFTER_S - CLOCK_S
        assert closed_no_earlier_than <= record.start <= truth[record.request_id].chunk_sent[0], record.request_id
        assert record.ttft_s == record.first_content_at - record.start


def test_the_resend_after_a_stale_connection_opens_a_fresh_one(make_server) -> None:
    # After a concurrent round, several kept-alive connections sit idle; when the server closes them (llama.cpp
    # does after streamed responses), the resend must not take another idle one, which died the same way
    # (seen as connection_closed on the last request of a c4 level in issue 17's cross-check recording)
    server = make_server(ttft_s=0.005, itl_s=0.001)

    async def main():
        client = OpenAIClient(Endpoint(base_url=server.base_url, model="m", headers={"X-Fault": "close_on_reuse"}))
        try:
            first = await asyncio.gather(*(client.send(RequestSpec(prompt="x", max_tokens=3, request_id=f"a{index}"))
                                           for index in range(2)))
            last = await client.send(RequestSpec(prompt="x", max_tokens=3, request_id="b"))
            return first, last
        finally:
            await client.close()

    first, last = asyncio.run(main())
    assert all(r.ok for r in first), [r.error_code for r in first]
    assert last.ok, (last.error_code, last.error_msg)
    assert last.retried_stale_connection and last.new_connection
