"""Closed and open loop shapes, warm-up exclusion, stop conditions."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.client import Endpoint, OpenAIClient, RequestSpec
from ansible_collections.llmops.oke.plugins.module_utils.bench.load import LoadShape, arrival_offsets, run_level


def _run(base_url: str, shape: LoadShape, progress=None):
    async def main():
        client = OpenAIClient(Endpoint(base_url=base_url, model="m"))
        try:
            return await run_level(client, [RequestSpec(prompt="p", max_tokens=4, request_id="x")], shape,
                                   progress=progress, progress_interval_s=0.1)
        finally:
            await client.close()

    return asyncio.run(main())


def test_closed_loop_keeps_n_users_busy_and_excludes_warmup(llm_server) -> None:
    events = []
    run = _run(llm_server.base_url, LoadShape(concurrency=4, max_requests=12, warmup_requests=3), events.append)
    measured = [r for r in run.records if not r.warmup]
    assert len(measured) == 12 and sum(r.warmup for r in run.records) == 3
    assert all(r.start >= run.start for r in measured)
    # 4 users: three waves, not twelve in a row. Against this run's own request times, not a fixed window
    # (a loaded machine slows both): in a row, the level would last at least the sum of its requests.
    assert run.end - run.start < sum(r.e2e_s for r in measured) / 2
    in_flight_peak = max(sum(1 for o in measured if o.start <= r.start < o.end) for r in measured)
    assert in_flight_peak == 4
    assert events[-1]["final"] and events[-1]["completed"] == 12 and events[-1]["errors"] == 0
    assert events[-1]["p50_ttft_s"] > 0.05


def test_warmup_opens_a_connection_for_every_user(llm_server) -> None:
    # one warm-up request opens one connection; the other three users must not pay a connect in their TTFT
    run = _run(llm_server.base_url, LoadShape(concurrency=4, max_requests=4, warmup_requests=1))
    measured = [r for r in run.records if not r.warmup]
    assert len(measured) == 4 and run.prewarmed == 3
    assert [r.new_connection for r in measured] == [False] * 4


def test_spec_source_is_called_once_per_request(llm_server) -> None:
    async def main():
        client = OpenAIClient(Endpoint(base_url=llm_server.base_url, model="m"))
        counter = itertools.count()
        try:
            return await run_level(client, lambda: RequestSpec(prompt=f"p{next(counter)}", max_tokens=2), LoadShape(
                concurrency=2, max_requests=5, warmup_requests=2))
        finally:
            await client.close()

    run = asyncio.run(main())
    assert sorted(r.index for r in run.records) == list(range(7))


def test_duration_stop(llm_server) -> None:
    t0 = time.perf_counter()
    run = _run(llm_server.base_url, LoadShape(concurrency=2, duration_s=0.5))
    deadline = run.start + 0.5
    # users issue until the deadline and none after it (causal: no time window a loaded machine can miss)
    assert run.end >= deadline and len(run.records) >= 2
    assert all(r.start < deadline for r in run.records)
    # after the deadline only the requests in flight finish: this run's slowest request, plus generous slack
    assert run.end - deadline < max(r.e2e_s for r in run.records) + 2.0
    assert time.perf_counter() - t0 >= 0.5
    # no more than two users can complete: every request waits the server's 50 ms TTFT (conftest.llm_server)
    assert len(run.records) <= 2 * (int(0.5 / 0.05) + 1)


def test_open_loop_fixed_rate_sends_on_schedule(llm_server) -> None:
    run = _run(llm_server.base_url, LoadShape(mode="open", rate_rps=20, arrival="fixed", max_requests=10,
                                              concurrency=64))
    starts = sorted(r.start - run.start for r in run.records)
    assert len(starts) == 10
    # the schedule itself is exact (one request every 50 ms); sends follow it, never early, and late only by
    # what a loaded machine's wake-ups cost (generous: the schedule's precision is measured, not asserted here)
    scheduled = sorted(r.scheduled - run.start for r in run.records)
    assert scheduled == pytest.approx([i * 0.05 for i in range(10)], abs=1e-6)
    lags = [r.start - r.scheduled for r in run.records]
    assert min(lags) >= 0 and starts[-1] >= 0.45
    # open loop: a send does not wait for the previous answer (~80 ms each, every 50 ms: they overlap); serialised
    # sends would show no overlap whatever the machine's load
    measured = run.records
    assert max(sum(1 for o in measured if o.start <= r.start < o.end) for r in measured) >= 2
    assert max(lags) < 2.0  # a sanity bound only, generous for a loaded machine


def test_poisson_arrivals_have_the_requested_mean_rate() -> None:
    offsets = arrival_offsets(LoadShape(mode="open", rate_rps=10, max_requests=2000, seed=3), 2000)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert statistics.fmean(gaps) == pytest.approx(0.1, rel=0.08)
    assert statistics.pstdev(gaps) == pytest.approx(0.1, rel=0.15)  # exponential: stddev == mean
    assert arrival_offsets(LoadShape(mode="open", rate_rps=4, arrival="fixed", max_requests=3), 3) == [0, 0.25, 0.5]


@pytest.mark.parametrize("shape", [LoadShape(mode="sideways", max_requests=1), LoadShape(mode="open", max_requests=1),
                                   LoadShape(), LoadShape(concurrency=0, max_requests=1)])
def test_invalid_shapes_are_rejected(shape: LoadShape) -> None:
    with pytest.raises(ValueError):
        shape.validate()
