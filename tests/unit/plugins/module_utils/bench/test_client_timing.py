"""Client metric definitions timed against the independent aiohttp truth; protocol cases on the synthetic server."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from timing_truth_server import TruthServerThread  # tests/fixtures, on the path by conftest.py

from ansible_collections.llmops.oke.plugins.module_utils.bench.client import Endpoint, OpenAIClient, RequestSpec

# what a loaded shared machine may add to any wake-up; correctness here is ordering, not milliseconds
_SLACK_S = 2.0
# kernel stamps are CLOCK_REALTIME moved onto the monotonic clock by an offset read at connect
# (client.py); NTP may slew realtime by up to 500 ppm (adjtimex(2)) in between: 1 ms covers 2 s of it
_CLOCK_S = 0.001


def _send_all(base_url: str, specs: list[RequestSpec], api: str = "chat", api_key: str | None = None,
              kernel_timestamps: bool = True, api_key_header: str = "Authorization") -> list:
    async def main() -> list:
        client = OpenAIClient(Endpoint(base_url=base_url, model="m", api=api, api_key=api_key,
                                       api_key_header=api_key_header, kernel_timestamps=kernel_timestamps))
        assert client.timestamp_source == ("kernel" if kernel_timestamps else "event_loop")
        try:
            return [await client.send(spec) for spec in specs]
        finally:
            await client.close()

    return asyncio.run(main())


@pytest.mark.parametrize("kernel_timestamps", [True, False])
def test_streamed_chat_metrics_follow_the_independent_truth(kernel_timestamps: bool) -> None:
    """Ordering and structure against the aiohttp truth (no code shared with the client); no tight windows.

    Causality holds on any machine, however loaded: a chunk is seen after the server started writing it,
    and the client's TTFT contains the server's (its request was written before the server read it). The
    upper bounds are generous (a loaded CI may delay a wake-up by a second); precise error figures are
    measured in ``benchmarks/bench_client_accuracy.py`` and recorded in ``benchmarks/results/``.
    """
    with TruthServerThread(ttft_ms=50, itl_ms=10) as server:
        records = _send_all(server.base_url, [RequestSpec(prompt="hello there", max_tokens=20, request_id=f"t{i}")
                                              for i in range(3)], kernel_timestamps=kernel_timestamps)
        truth = dict(server.truth)
    for record in records:
        assert record.ok, record.error_msg
        seen = truth[record.request_id]
        written = [chunk["write_started_ns"] / 1e9 for chunk in seen["chunks"]]
        server_ttft = written[0] - seen["received_ns"] / 1e9
        # the truth opens with a role-only chunk: TTFT waits for the first non-empty content, sent >= 50 ms in
        assert server_ttft >= 0.05
        assert server_ttft - _CLOCK_S <= record.ttft_s < server_ttft + _SLACK_S
        assert record.start <= record.sent and record.start <= seen["received_ns"] / 1e9
        assert record.output_tokens == 20 and record.token_source == "usage"
        assert record.text.startswith(" ") and len(record.text.split()) == 20
        # one arrival per content chunk, in order, each after the server began writing it
        assert len(record.content_times) == len(written) == 20
        assert record.content_times == sorted(record.content_times)
        assert all(got >= sent - _CLOCK_S for got, sent in zip(record.content_times, written, strict=True))
        assert all(got - sent < _SLACK_S for got, sent in zip(record.content_times, written, strict=True))
        # the definitions: ITL spreads the rest of the stream over the 19 later tokens
        assert record.itl_s == (record.e2e_s - record.ttft_s) / 19
        assert record.chunk_gaps_s == [b - a for a, b in itertools.pairwise(record.content_times)]
        assert 0 < record.itl_s < 0.01 + _SLACK_S


def test_connection_is_reused_across_requests(llm_server) -> None:
    records = _send_all(llm_server.base_url, [RequestSpec(prompt="a", max_tokens=3) for _index in range(4)])
    assert [r.new_connection for r in records] == [True, False, False, False]


def test_completions_api_non_streaming_and_bearer_key(make_server) -> None:
    server = make_server(ttft_s=0.02, itl_s=0.005, api_key="sekret")
    streamed, whole = _send_all(server.base_url, [RequestSpec(prompt="one two", max_tokens=5),
                                                  RequestSpec(prompt="one two", max_tokens=5, stream=False)],
                                api="completions", api_key="sekret")
    assert streamed.ok and whole.ok
    assert streamed.text == whole.text and streamed.output_tokens == whole.output_tokens == 5
    assert streamed.input_tokens == whole.input_tokens == 2  # the usage the server reported
    # non-streamed: the answer arrives whole, so TTFT is the end-to-end time
    assert whole.ttft_s == whole.e2e_s and whole.e2e_s >= 0.02 + 4 * 0.005
    (denied,) = _send_all(server.base_url, [RequestSpec(prompt="x", max_tokens=2)], api="completions",
                          api_key="wrong")
    assert denied.error_code == "http_401" and "bad API key" in denied.error_msg


def test_api_gateway_token_header_carries_the_bare_key(make_server) -> None:
    server = make_server(ttft_s=0.01, itl_s=0.002, api_key="client-token", api_key_header="x-api-key")
    spec = RequestSpec(prompt="one two", max_tokens=3)
    (accepted,) = _send_all(server.base_url, [spec], api_key="client-token", api_key_header="x-api-key")
    assert accepted.ok and accepted.output_tokens == 3
    (as_bearer,) = _send_all(server.base_url, [spec], api_key="client-token")
    assert as_bearer.error_code == "http_401"


def test_request_body_asks_for_usage_and_exact_lengths() -> None:
    client = OpenAIClient(Endpoint(base_url="http://127.0.0.1:1/v1", model="m"))
    body = client.body(RequestSpec(prompt="p", max_tokens=7, temperature=0.0))
    assert body["stream_options"] == {"include_usage": True}
    assert body["ignore_eos"] is True and body["min_tokens"] == 7 and body["max_tokens"] == 7
    assert body["messages"] == [{"role": "user", "content": "p"}]
    assert client.completion_path == "/v1/chat/completions"
    strict = OpenAIClient(Endpoint(base_url="http://h:1", model="m", server_extensions=False, api="completions"))
    assert "ignore_eos" not in strict.body(RequestSpec(prompt="p", max_tokens=7))
    assert strict.completion_path == "/v1/completions"
    json.dumps(body)


def test_tokenize_uses_the_server_and_none_when_absent(llm_server) -> None:
    async def main() -> tuple:
        client = OpenAIClient(Endpoint(base_url=llm_server.base_url, model="m"))
        missing = OpenAIClient(Endpoint(base_url=llm_server.base_url + "/nothing", model="m"))
        try:
            return await client.tokenize("Shall I compare thee?"), await missing.tokenize("x")
        finally:
            await client.close()
            await missing.close()

    assert asyncio.run(main()) == (5, None)
