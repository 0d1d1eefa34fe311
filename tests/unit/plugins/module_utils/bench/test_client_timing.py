"""Metric definitions measured against the synthetic server's known timings and its own send record."""

from __future__ import annotations

import asyncio
import json

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.client import Endpoint, OpenAIClient, RequestSpec


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
def test_streamed_chat_metrics_match_the_server_schedule_and_truth(llm_server, kernel_timestamps: bool) -> None:
    records = _send_all(llm_server.base_url, [RequestSpec(prompt="hello there", max_tokens=20, request_id=f"t{i}")
                                              for i in range(3)], kernel_timestamps=kernel_timestamps)
    for record in records:
        assert record.ok, record.error_msg
        truth = llm_server.server.truth[record.request_id]
        # the fixture opens with a role-only chunk: TTFT must wait for the first non-empty content
        assert 0.05 <= record.ttft_s < 0.05 + 0.03
        assert record.output_tokens == 20 and record.token_source == "usage"
        assert record.input_tokens == 2
        assert abs(record.itl_s - 0.01) < 0.002
        assert record.itl_s == (record.e2e_s - record.ttft_s) / 19
        assert len(record.chunk_gaps_s) == 19
        # every content chunk is seen after the server sent it, and not much later
        assert len(truth.chunk_sent) == len(record.content_times) == 20
        lags = [seen - sent for seen, sent in zip(record.content_times, truth.chunk_sent, strict=True)]
        assert min(lags) >= 0
        assert sorted(lags)[len(lags) // 2] < 0.005
        assert record.text.startswith(" ")


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
