# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load shapes: closed loop (N users, LLMPerf's model) and open loop (fixed or Poisson arrivals).

Warm-up requests run first, to completion, and are flagged so no metric counts them; then as many
connections as the level can use are opened (so no measured request pays a connect the first user
did not), and ``before_measure`` runs (the benchmark reads the server's cache counters there). A level
stops on a request count or a duration, whichever comes first; requests in flight at the
deadline finish (bounded by the request timeout). ``stop_event`` (set on SIGINT/SIGTERM) stops
issuing at once and marks in-flight requests ``interrupted`` so partial results can be written.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .client import OpenAIClient, RequestRecord, RequestSpec
from .metrics import quantile

ProgressCallback = Callable[[dict[str, Any]], None]
# A source of request specs: called once per request, in order (the benchmark hands out a fresh prompt each time)
SpecSource = Callable[[], RequestSpec]


@dataclass
class LoadShape:
    """How requests are issued for one level."""

    mode: str = "closed"  # "closed" or "open"
    concurrency: int = 1  # closed: users; open: cap on requests in flight
    rate_rps: float | None = None  # open loop only
    arrival: str = "poisson"  # open loop: "poisson" or "fixed"
    max_requests: int | None = None
    duration_s: float | None = None
    warmup_requests: int = 0
    seed: int = 11111

    def validate(self) -> None:
        if self.mode not in ("closed", "open"):
            raise ValueError(f"load mode must be 'closed' or 'open', not {self.mode!r}")
        if self.mode == "open" and not self.rate_rps:
            raise ValueError("open-loop load needs rate_rps > 0")
        if self.arrival not in ("poisson", "fixed"):
            raise ValueError(f"arrival must be 'poisson' or 'fixed', not {self.arrival!r}")
        if self.max_requests is None and self.duration_s is None:
            raise ValueError("a load level needs max_requests or duration_s to stop")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


@dataclass
class LevelRun:
    """The outcome of one level: every record (warm-up included, flagged) and the measured window."""

    shape: LoadShape
    records: list[RequestRecord] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    interrupted: bool = False
    prewarmed: int = 0  # connections opened after the warm-up requests so every user starts on a warm one


def arrival_offsets(shape: LoadShape, count: int) -> list[float]:
    """Send times (seconds from the start) for an open-loop level: fixed spacing or exponential gaps."""
    rate = float(shape.rate_rps or 1.0)
    if shape.arrival == "fixed":
        return [i / rate for i in range(count)]
    rng = random.Random(shape.seed)
    offsets, now = [], 0.0
    for _index in range(count):
        offsets.append(now)
        now += rng.expovariate(rate)
    return offsets


class _Progress:
    def __init__(self, callback: ProgressCallback | None, total: int | None, level: dict[str, Any]) -> None:
        self.callback = callback
        self.total = total
        self.level = level
        self.ttfts: list[float] = []
        self.completed = 0
        self.errors = 0
        self.window: list[float] = []

    def add(self, record: RequestRecord) -> None:
        if record.warmup:
            return
        self.completed += 1
        self.window.append(record.end or time.perf_counter())
        if record.ok and record.ttft_s is not None:
            self.ttfts.append(record.ttft_s)
        elif not record.ok:
            self.errors += 1

    def emit(self, final: bool = False) -> None:
        if self.callback is None:
            return
        now = time.perf_counter()
        self.window = [t for t in self.window if now - t <= 5.0]
        ttfts = sorted(self.ttfts)
        self.callback({
            **self.level,
            "completed": self.completed,
            "total": self.total,
            "rate_rps": len(self.window) / 5.0,
            "p50_ttft_s": quantile(ttfts, 0.5) if ttfts else None,
            "errors": self.errors,
            "final": final,
        })


def _in_flight_cap(shape: LoadShape) -> int:
    """The most requests a level can have in flight: its users, or the open loop's cap."""
    if shape.mode == "closed" or shape.max_requests is None:
        return shape.concurrency
    return min(shape.concurrency, shape.max_requests)


async def run_level(client: OpenAIClient, specs: Sequence[RequestSpec] | SpecSource, shape: LoadShape,
                    stop_event: asyncio.Event | None = None, progress: ProgressCallback | None = None,
                    progress_interval_s: float = 1.0, level_info: dict[str, Any] | None = None,
                    before_measure: Callable[[], Awaitable[Any]] | None = None) -> LevelRun:
    """Run one level; ``specs`` is a :data:`SpecSource` or a list used in order (cycled when a duration outlasts it)."""
    shape.validate()
    if not callable(specs) and not specs:
        raise ValueError("no request specs to send")
    stop_event = stop_event or asyncio.Event()
    run = LevelRun(shape=shape)
    next_spec = _numbered(specs)
    watchdog = asyncio.ensure_future(client.watchdog())
    tracker = _Progress(progress, shape.max_requests, level_info or {})
    ticker = asyncio.ensure_future(_tick(tracker, progress_interval_s)) if progress else None
    try:
        await _warm_up(client, shape, next_spec, run, stop_event, before_measure)
        run.start = time.perf_counter()
        deadline = run.start + shape.duration_s if shape.duration_s else None
        issued = {"n": 0}

        def may_issue() -> bool:
            if stop_event.is_set():
                return False
            if shape.max_requests is not None and issued["n"] >= shape.max_requests:
                return False
            return deadline is None or time.perf_counter() < deadline

        async def one(spec: RequestSpec, record: RequestRecord) -> None:
            await client.send(spec, record)
            run.records.append(record)
            tracker.add(record)

        if shape.mode == "closed":
            async def user() -> None:
                while may_issue():
                    issued["n"] += 1
                    spec, record = next_spec(False)
                    record.scheduled = time.perf_counter()
                    await one(spec, record)

            work = asyncio.gather(*(user() for _index in range(shape.concurrency)))
        else:
            work = asyncio.ensure_future(_open_loop(shape, run.start, may_issue, issued, next_spec, one, stop_event))
        await _until_stopped(work, stop_event, client)
        run.end = time.perf_counter()
        run.interrupted = stop_event.is_set()
    finally:
        watchdog.cancel()
        if ticker is not None:
            ticker.cancel()
        tracker.emit(final=True)
    return run


def _numbered(specs: Sequence[RequestSpec] | SpecSource) -> Callable[[bool], tuple[RequestSpec, RequestRecord]]:
    """The level's next request and its record, numbered in the order they are taken."""
    counter = {"next": 0}

    def next_spec(warmup: bool) -> tuple[RequestSpec, RequestRecord]:
        index = counter["next"]
        counter["next"] += 1
        spec = specs() if callable(specs) else specs[index % len(specs)]
        record = RequestRecord(request_id=f"{spec.request_id or 'r'}-{index}", index=index, warmup=warmup)
        if spec.request_id != record.request_id:
            spec = RequestSpec(**{**spec.__dict__, "request_id": record.request_id})
        return spec, record

    return next_spec


async def _warm_up(client: OpenAIClient, shape: LoadShape,
                   next_spec: Callable[[bool], tuple[RequestSpec, RequestRecord]], run: LevelRun,
                   stop_event: asyncio.Event, before_measure: Callable[[], Awaitable[Any]] | None) -> None:
    """The warm-up requests (run to completion at the level's concurrency, excluded from every metric), the
    connections opened ahead, then ``before_measure``."""
    if shape.warmup_requests:
        warm = [next_spec(True) for _index in range(shape.warmup_requests)]
        sem = asyncio.Semaphore(shape.concurrency)

        async def warm_one(spec: RequestSpec, record: RequestRecord) -> None:
            async with sem:
                if not stop_event.is_set():
                    await client.send(spec, record)
                    run.records.append(record)

        await _until_stopped(asyncio.gather(*(warm_one(s, r) for s, r in warm)), stop_event, client)
    if not stop_event.is_set():
        run.prewarmed = await client.prewarm(_in_flight_cap(shape))
    if before_measure is not None and not stop_event.is_set():
        await before_measure()


async def _open_loop(shape: LoadShape, start: float, may_issue: Callable[[], bool], issued: dict[str, int],
                     next_spec: Callable[[bool], tuple[RequestSpec, RequestRecord]],
                     one: Callable[[RequestSpec, RequestRecord], Any], stop_event: asyncio.Event) -> None:
    count = shape.max_requests or int((shape.duration_s or 0) * float(shape.rate_rps or 0) * 2 + 16)
    offsets = arrival_offsets(shape, count)
    cap = asyncio.Semaphore(shape.concurrency)
    tasks: list[asyncio.Future] = []

    async def capped(spec: RequestSpec, record: RequestRecord) -> None:
        try:
            await one(spec, record)
        finally:
            cap.release()

    for offset in offsets:
        delay = start + offset - time.perf_counter()
        while delay > 0 and not stop_event.is_set():
            # short sleeps so a stop is honoured quickly even between sparse arrivals
            await asyncio.sleep(min(delay, 0.05))
            delay = start + offset - time.perf_counter()
        if not may_issue():
            break
        await cap.acquire()  # beyond the cap, arrivals queue here and their lateness is recorded
        if not may_issue():
            cap.release()
            break
        issued["n"] += 1
        spec, record = next_spec(False)
        record.scheduled = start + offset
        tasks.append(asyncio.ensure_future(capped(spec, record)))
    if tasks:
        await asyncio.gather(*tasks)


async def _until_stopped(work: asyncio.Future, stop_event: asyncio.Event, client: OpenAIClient) -> None:
    """Wait for ``work``; when ``stop_event`` fires first, interrupt in-flight requests and let them unwind."""
    stopper = asyncio.ensure_future(stop_event.wait())
    done, _pending = await asyncio.wait([work, stopper], return_when=asyncio.FIRST_COMPLETED)
    if work not in done:
        client.interrupt_all()
        await work
    stopper.cancel()


async def _tick(tracker: _Progress, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        tracker.emit()
