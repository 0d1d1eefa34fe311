# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One benchmark run: a sweep of load levels against one endpoint, written to ``results/<run-id>/``.

Per level: LLMPerf's ``<name>_c<N>_summary.json`` and ``_individual_responses.json`` and our
``requests_c<N>.csv``, written as soon as the level ends. Per run: ``summary.json`` (stricter
definitions, metadata, capacity and cost, correctness) and the Markdown/HTML report with plots.
SIGINT/SIGTERM stop the run and the files are written with ``"status": "interrupted"``.
"""

from __future__ import annotations

import asyncio
import datetime
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import COLLECTION_VERSION, run_folder
from .cache_state import WARM, reset_prompt_cache
from .capacity import DEFAULT_BANDWIDTH_BPS, PRICES_DATE, backend_economics, node_cost_per_hour
from .client import Endpoint, OpenAIClient, RequestSpec
from .correctness import determinism_test, numbers_test
from .fileio import atomic_write_text
from .load import LevelRun, LoadShape, ProgressCallback, run_level
from .metrics import SLO, cache_counters, llmperf_name, prompt_cache_summary, shared_prefix_share, summarize
from .options import BY_NAME, check_option, check_options, default_of
from .prompts import (
    ESTIMATE_METHOD,
    PRESETS,
    SERVER_METHOD,
    Prompt,
    PromptPool,
    estimate_tokens,
    sample_output_lengths,
    texts_to_count,
)
from .results import levels_csv
from .saturation import DEFINITION as MACHINE_DEFINITION
from .saturation import INTERVAL_S, MachineSampler

SCHEMA = "llmops.oke/bench-summary/v1"
DEFINITIONS = {
    "ttft_s": "first chunk with non-empty content minus request start (connect included on a new connection)",
    "e2e_s": "end of response minus request start",
    "itl_s": "(e2e_s - ttft_s) / (output_tokens - 1)",
    "output_tokens": "server usage.completion_tokens; count of content chunks where the server sent no usage",
    "chunk_gap_s": "every gap between consecutive content chunks",
    "goodput": "completed requests meeting every request SLO (ttft, itl, e2e), per second of the level",
    "slo_met": "p95 ttft, p95 itl and p95 e2e within their SLOs and the error rate within its SLO",
    "connect_s": "TCP (and TLS) connect time of the requests that opened a connection; included in their TTFT",
    "prompt_cache": "share of the level's prompt tokens the server reused from its cache, from its own /metrics "
                    "counters read just before and after the measured requests; shared_prefix_share is the most "
                    "the prompts' common leading text (and chat template) can explain",
    "mostly_failed": "more than half of the level's requests failed: it meets no SLO and feeds no capacity figure",
    "llmperf_files": "LLMPerf's definitions (its ITL = time to last content chunk / stream events received)",
    "machine": MACHINE_DEFINITION.format(interval_ms=INTERVAL_S * 1000),
    "cache_state": "warm: the level's measured requests start from the prompt cache earlier levels and its warm-up "
                   "left; cold: the server's prompt cache was emptied through its own API after the warm-up",
}


@dataclass
class BenchmarkConfig:
    """Everything a run needs; :meth:`from_dict` accepts the module's and the CLI's flat options."""

    base_url: str = default_of("base_url")
    model: str = default_of("model")
    api: str = default_of("api")
    api_key: str | None = default_of("api_key")
    api_key_header: str = default_of("api_key_header")
    headers: dict[str, str] = default_of("headers")  # noqa: RUF009 (a field from the table)
    preset: str | None = default_of("preset")
    mean_input_tokens: int = default_of("mean_input_tokens")
    stddev_input_tokens: int = default_of("stddev_input_tokens")
    mean_output_tokens: int = default_of("mean_output_tokens")
    stddev_output_tokens: int = default_of("stddev_output_tokens")
    concurrency: list[int] = default_of("concurrency")  # noqa: RUF009 (a field from the table)
    mode: str = default_of("mode")
    rates_rps: list[float] = default_of("rates_rps")  # noqa: RUF009 (a field from the table)
    arrival: str = default_of("arrival")
    max_requests: int | None = default_of("max_requests")
    duration_s: float | None = default_of("duration_s")
    warmup_requests: int = default_of("warmup_requests")
    seed: int = default_of("seed")
    cache_state: str = default_of("cache_state")
    host_load_limit: float = default_of("host_load_limit")
    loop_lag_limit_ms: float = default_of("loop_lag_limit_ms")
    request_timeout_s: float = default_of("request_timeout_s")
    stall_timeout_s: float = default_of("stall_timeout_s")
    connect_timeout_s: float = default_of("connect_timeout_s")
    server_extensions: bool = default_of("server_extensions")
    tokenizer: str = default_of("tokenizer")
    slo_ttft_s: float | None = default_of("slo_ttft_s")
    slo_itl_s: float | None = default_of("slo_itl_s")
    slo_e2e_s: float | None = default_of("slo_e2e_s")
    slo_error_rate: float | None = default_of("slo_error_rate")
    results_dir: str = default_of("results_dir")
    run_id: str | None = default_of("run_id")
    name: str | None = default_of("name")
    backend: str = default_of("backend")
    image: str = default_of("image")
    node_shape: str = default_of("node_shape")
    replicas: int = default_of("replicas")
    collection_version: str = default_of("collection_version")
    ocpus: float = default_of("ocpus")
    memory_gb: float = default_of("memory_gb")
    prices: dict[str, dict[str, float]] | None = default_of("prices")  # noqa: RUF009 (a field from the table)
    replicas_per_node: int = default_of("replicas_per_node")
    target_rps: float | None = default_of("target_rps")
    headroom: float = default_of("headroom")
    server_slots: int | None = default_of("server_slots")
    weights_bytes: float | None = default_of("weights_bytes")
    bandwidth_bps: float | None = default_of("bandwidth_bps")
    correctness_requests: int = default_of("correctness_requests")
    determinism_prompts: int = default_of("determinism_prompts")
    report: bool = default_of("report")

    def __post_init__(self) -> None:
        # one check for the CLI, the module and the Job: nothing runs (or is written) on a value that measures nothing
        check_options({name: getattr(self, name) for name in self.__dataclass_fields__})

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> BenchmarkConfig:
        """Build from flat options; a ``preset`` fills token lengths, concurrency and SLOs not given."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown benchmark options: {', '.join(unknown)}")
        if options.get("preset") not in (None, "") and options["preset"] not in PRESETS:
            check_option(BY_NAME["preset"], options["preset"])
        # None and "" mean "not given", so a preset can fill them
        values = {k: v for k, v in options.items() if v is not None and v != ""}
        preset = values.get("preset")
        if preset:
            for key, value in PRESETS[preset].items():
                if key in known and key not in values:
                    values[key] = value
            values.setdefault("backend", PRESETS[preset]["backend"])
        return cls(**values)

    def endpoint(self) -> Endpoint:
        return Endpoint(base_url=self.base_url, model=self.model, api=self.api, api_key=self.api_key,
                        api_key_header=self.api_key_header, headers=dict(self.headers),
                        request_timeout_s=self.request_timeout_s, stall_timeout_s=self.stall_timeout_s,
                        connect_timeout_s=self.connect_timeout_s,
                        server_extensions=self.server_extensions)

    def slo(self) -> SLO:
        return SLO(ttft_s=self.slo_ttft_s, itl_s=self.slo_itl_s, e2e_s=self.slo_e2e_s, error_rate=self.slo_error_rate)

    def shapes(self) -> list[LoadShape]:
        common = {"max_requests": self.max_requests, "duration_s": self.duration_s,
                  "warmup_requests": self.warmup_requests, "seed": self.seed}
        if self.mode == "open":
            cap = max(self.concurrency) if self.concurrency else 256
            return [LoadShape(mode="open", rate_rps=rate, concurrency=cap, arrival=self.arrival, **common)
                    for rate in self.rates_rps]
        return [LoadShape(mode="closed", concurrency=c, **common) for c in self.concurrency]

    def public_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["api_key"] = "***" if self.api_key else None
        data["headers"] = {k: ("***" if k.lower() in ("authorization", "x-api-key") else v)
                           for k, v in self.headers.items()}
        return data


async def _token_counter(client: OpenAIClient, config: BenchmarkConfig, count: int) -> tuple[Any, str]:
    """A token-count function for prompt building and the method it uses."""
    if config.tokenizer == "estimate" or await client.tokenize("hello world") is None:
        return estimate_tokens, ESTIMATE_METHOD
    outputs = sample_output_lengths(count, config.mean_output_tokens, config.stddev_output_tokens, config.seed)
    texts = texts_to_count(outputs)
    sem = asyncio.Semaphore(8)

    async def one(text: str) -> tuple[str, int | None]:
        async with sem:
            return text, await client.tokenize(text)

    counts = dict(await asyncio.gather(*(one(t) for t in set(texts))))
    if any(v is None for v in counts.values()):
        return estimate_tokens, ESTIMATE_METHOD

    def lookup(text: str) -> int:
        value = counts.get(text)
        return value if value is not None else estimate_tokens(text)

    return lookup, SERVER_METHOD


def _level_label(shape: LoadShape) -> str:
    return f"c{shape.concurrency}" if shape.mode == "closed" else f"r{shape.rate_rps:g}"


@dataclass
class _Run:
    """One run in progress: where it writes, what it calls its LLMPerf files, its client and its summary."""

    run_id: str
    run_dir: Path
    name: str
    client: OpenAIClient
    summary: dict[str, Any]


async def run_benchmark_async(config: BenchmarkConfig, progress: ProgressCallback | None = None,
                              stop_event: asyncio.Event | None = None) -> dict[str, Any]:
    """Run the sweep, write the run folder, return the content of ``summary.json``."""
    stop_event = stop_event or asyncio.Event()
    run = _start_run(config)
    try:
        pool = await _prompt_pool(run, config)
        if config.cache_state == "cold":
            # once before the sweep, so a server that cannot reset fails the run before any level, with the fix
            counters = await _read_cache_counters(run.client)
            await reset_prompt_cache(run.client, counters.get("source", "") if isinstance(counters, dict) else "")
        await _run_levels(run, config, pool, stop_event, progress)
        await _run_checks(run, config, pool, stop_event)
    finally:
        await run.client.close()
        _finish_run(run, config, stop_event)
    return run.summary


def _start_run(config: BenchmarkConfig) -> _Run:
    """The run folder, the LLMPerf-style name, the client and the summary in its "running" state."""
    run_id = config.run_id or run_folder.new_run_id()
    name = config.name or llmperf_name(config.model, config.mean_input_tokens, config.mean_output_tokens)
    summary = {"schema": SCHEMA, "run_id": run_id, "name": name, "status": "running",
               "started_at": datetime.datetime.now(datetime.UTC).isoformat(), "levels": []}
    return _Run(run_id, run_folder.run_dir(config.results_dir, run_id), name, OpenAIClient(config.endpoint()), summary)


async def _prompt_pool(run: _Run, config: BenchmarkConfig) -> PromptPool:
    """Every prompt of the run, counted with the server's tokenizer when it has one; the run's metadata."""
    per_level = (config.max_requests or 500) + config.warmup_requests
    prompt_count = per_level * max(1, len(config.shapes())) + config.determinism_prompts
    counter, method = await _token_counter(run.client, config, prompt_count)
    # one pool for the whole run: no prompt is sent twice (warm-up, every level, the determinism test);
    # the run id joins the seed so a rerun against the same server does not replay the last run either
    pool = PromptPool(config.mean_input_tokens, config.stddev_input_tokens, config.mean_output_tokens,
                      config.stddev_output_tokens, config.seed, counter, text_seed=f"{config.seed}:{run.run_id}")
    run.summary["metadata"] = _metadata(config, run.name, method)
    run.summary["metadata"]["timestamp_source"] = run.client.timestamp_source
    return pool


async def _run_levels(run: _Run, config: BenchmarkConfig, pool: PromptPool, stop_event: asyncio.Event,
                      progress: ProgressCallback | None) -> None:
    """Each load level in turn (until stopped), its files written as soon as it ends."""
    slo = config.slo()
    for shape in config.shapes():
        if stop_event.is_set():
            break
        label = _level_label(shape)
        sent: list[Prompt] = []

        # The loop's values are bound as defaults on purpose (no late binding across levels).
        # pylint: disable-next=dangerous-default-value
        def next_spec(label: str = label, sent: list[Prompt] = sent) -> RequestSpec:
            prompt = pool.take()
            sent.append(prompt)
            return RequestSpec(prompt=prompt.text, max_tokens=prompt.max_tokens, input_tokens=prompt.input_tokens,
                               request_id=f"{run.run_id}-{label}")

        counters: dict[str, Any] = {"cache_state": WARM if config.cache_state == "warm" else
                                    "cold: not reset, the level stopped before its measured requests"}
        sampler = MachineSampler(config.host_load_limit, config.loop_lag_limit_ms, server_url=config.base_url)

        # pylint: disable-next=dangerous-default-value
        async def read_before(counters: dict[str, Any] = counters, sampler: MachineSampler = sampler) -> None:
            if config.cache_state == "cold":
                counters["cache_state"] = await reset_prompt_cache(run.client)
            counters["before"] = await _read_cache_counters(run.client)
            sampler.start()

        window_start = time.time()
        level = await run_level(run.client, next_spec, shape, stop_event, progress,
                                level_info={"level": label, "concurrency": shape.concurrency},
                                before_measure=read_before)
        machine = await sampler.stop() if sampler.started else None
        counters["after"] = await _read_cache_counters(run.client)
        cache = _level_cache(level, sent, counters)
        cache_state = {"state": config.cache_state, "how": counters["cache_state"]}
        run.summary["levels"].append(_write_level(run.run_dir, run.name, label, level, run.summary["metadata"], slo,
                                                  cache, machine, cache_state))
        # Wall-clock span of the level (warmup included), to line it up with Prometheus's samples.
        run.summary["levels"][-1]["window"] = {"start_unix": window_start, "end_unix": time.time()}


async def _run_checks(run: _Run, config: BenchmarkConfig, pool: PromptPool, stop_event: asyncio.Event) -> None:
    """The correctness test, then the determinism test on fresh prompts (each repeats its prompt by design)."""
    if not stop_event.is_set() and config.correctness_requests:
        run.summary["correctness"] = await numbers_test(run.client, config.correctness_requests,
                                                        min(10, config.correctness_requests), config.seed)
    if not stop_event.is_set() and config.determinism_prompts:
        det_prompts = [pool.take().text for _index in range(config.determinism_prompts)]
        run.summary["determinism"] = await determinism_test(run.client, det_prompts)


def _finish_run(run: _Run, config: BenchmarkConfig, stop_event: asyncio.Event) -> None:
    """The run's status, capacity and levels.csv, then summary.json and the report (run_folder.finish)."""
    summary = run.summary
    summary["status"] = "interrupted" if stop_event.is_set() else "complete"
    failure = _no_success(summary["levels"])
    if failure and summary["status"] == "complete":
        summary["status"] = "failed"
        summary["error"] = failure
    summary["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat()
    summary.setdefault("metadata", _metadata(config, run.name, "not measured"))
    summary["capacity"] = _capacity(config, summary["levels"])
    summary["run_dir"] = str(run.run_dir)
    if summary["levels"]:
        atomic_write_text(run.run_dir / "levels.csv", levels_csv(summary["levels"]))
    run_folder.finish(run.run_dir, summary, config.report)


async def _read_cache_counters(client: OpenAIClient) -> dict[str, Any] | str:
    """The server's prompt-cache counters now, or why they cannot be read (a string)."""
    status, body = await client.fetch("GET", client.root_path + "/metrics", timeout_s=10.0)
    if status != 200:
        return f"/metrics unreachable (HTTP {status})" if status else "/metrics unreachable (no answer)"
    counters = cache_counters(body.decode("utf-8", "replace"))
    if counters is None:
        return "the endpoint's /metrics has no llama.cpp or vLLM prompt-cache counters"
    return counters


def _level_cache(level: LevelRun, sent: list[Prompt], counters: dict[str, Any]) -> dict[str, Any]:
    """The level's prompt-cache share (measured requests only) beside what their shared prefixes explain."""
    measured = [(r, sent[r.index].input_tokens, sent[r.index].shared_prefix_tokens)
                for r in level.records if not r.warmup and 0 <= r.index < len(sent)]
    before, after = counters.get("before"), counters.get("after")
    reason = next((c for c in (before, after) if isinstance(c, str)), "")
    if before is None and not reason:
        reason = "the level was stopped before its measured requests"
    return prompt_cache_summary(before if isinstance(before, dict) else None,
                                after if isinstance(after, dict) else None,
                                shared_prefix_share(measured), reason)


def _no_success(levels: list[dict[str, Any]]) -> str:
    """Why a run failed when none of its measured requests succeeded (the dominant error named); "" otherwise."""
    started = sum(lv["summary"]["num_requests_started"] for lv in levels)
    if any(lv["summary"]["num_completed_requests"] for lv in levels):
        return ""
    if not started:
        return "no measured request was sent"
    codes: dict[str, int] = {}
    examples: dict[str, str] = {}
    for lv in levels:
        for code, count in lv["summary"]["errors_by_code"].items():
            codes[code] = codes.get(code, 0) + count
        for code, text in lv["summary"].get("error_examples", {}).items():
            examples.setdefault(code, text)
    code, count = max(codes.items(), key=lambda item: item[1]) if codes else ("unknown", started)
    example = f": {examples[code]}" if examples.get(code) else ""
    return f"no request succeeded ({started} sent); dominant error {code} ({count} of {started}){example}"


def _metadata(config: BenchmarkConfig, name: str, token_method: str) -> dict[str, Any]:
    return {
        "model": config.model,
        "backend": config.backend,
        "image": config.image,
        "node_shape": config.node_shape,
        "replicas": config.replicas,
        "collection_version": config.collection_version or COLLECTION_VERSION,
        "endpoint": config.base_url,
        "api": config.api,
        "preset": config.preset,
        "load_mode": config.mode,
        "concurrency": config.concurrency,
        "rates_rps": config.rates_rps,
        "mean_input_tokens": config.mean_input_tokens,
        "stddev_input_tokens": config.stddev_input_tokens,
        "mean_output_tokens": config.mean_output_tokens,
        "stddev_output_tokens": config.stddev_output_tokens,
        "seed": config.seed,
        "token_count_method": token_method,
        "definitions": DEFINITIONS,
        "config": config.public_dict(),
        "llmperf_name": name,
    }


def _write_level(run_dir: Path, name: str, label: str, level: LevelRun, metadata: dict[str, Any],
                 slo: SLO, cache: dict[str, Any] | None = None, machine: dict[str, Any] | None = None,
                 cache_state: dict[str, Any] | None = None) -> dict[str, Any]:
    shape = level.shape
    llmperf_meta = {
        "model": metadata["model"],
        "mean_input_tokens": metadata["mean_input_tokens"],
        "stddev_input_tokens": metadata["stddev_input_tokens"],
        "mean_output_tokens": metadata["mean_output_tokens"],
        "stddev_output_tokens": metadata["stddev_output_tokens"],
        "num_concurrent_requests": shape.concurrency,
        "additional_sampling_params": {},
    }
    files = run_folder.write_level_files(run_dir, name, label, level.records, level.start, level.end, llmperf_meta,
                                         int(time.time()))
    level_summary = summarize(level.records, level.start, level.end, slo)
    level_summary["prewarmed_connections"] = level.prewarmed
    level_summary["prompt_cache"] = cache or prompt_cache_summary(None, None, None, "not read")
    # was the host or the client the bottleneck (bench/saturation.py); None when the measured requests never started
    level_summary["machine"] = machine
    level_summary["cache_state"] = cache_state or {"state": "warm", "how": WARM}
    return {"label": label, "mode": shape.mode, "concurrency": shape.concurrency, "rate_rps": shape.rate_rps,
            "interrupted": level.interrupted, "summary": level_summary, "files": files}


def _capacity(config: BenchmarkConfig, levels: list[dict[str, Any]]) -> dict[str, Any] | None:
    closed = [lv for lv in levels if lv["mode"] == "closed"]
    if not closed:
        return None
    result: dict[str, Any] = {"prices_date": PRICES_DATE}
    # a level whose requests mostly failed says nothing about capacity, whatever its throughput
    excluded = [lv["label"] for lv in closed if lv["summary"].get("mostly_failed")]
    closed = [lv for lv in closed if not lv["summary"].get("mostly_failed")]
    if excluded:
        result["levels_excluded_mostly_failed"] = excluded
    # Levels where the host or the client was saturated stay in: their latencies are inflated by the machine, so
    # the figures err low (a capacity the server beats), and dropping them would leave no capacity at all exactly
    # when a busy machine saturates every level; the capacity is marked unreliable and the report says why.
    saturated = [lv["label"] for lv in closed if (lv["summary"].get("machine") or {}).get("saturated")]
    result["reliable"] = not saturated
    if saturated:
        result["saturated_levels"] = saturated
    if not closed:
        result.update({"meets_slo": False, "max_concurrency_per_replica": None})
        return result
    cost = 0.0
    if config.node_shape:
        try:
            cost = node_cost_per_hour(config.node_shape, config.prices, config.ocpus, config.memory_gb)
        except (KeyError, ValueError) as exc:
            result["cost_error"] = str(exc)
    bandwidth = config.bandwidth_bps or DEFAULT_BANDWIDTH_BPS.get(config.node_shape)
    result.update(backend_economics(config.backend or config.node_shape or "backend", closed, cost,
                                    config.replicas_per_node, config.target_rps, config.headroom, config.server_slots,
                                    config.weights_bytes, bandwidth))
    if not cost:
        result["cost_per_million_output_tokens"] = None
        result["cost_per_million_output_tokens_at_peak"] = None
    return result


def run_benchmark(config: BenchmarkConfig, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Synchronous entry point; SIGINT/SIGTERM (main thread only) stop the run and keep partial results."""

    async def main() -> dict[str, Any]:
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop_event.set)
                handled.append(sig)
        try:
            return await run_benchmark_async(config, progress, stop_event)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    return asyncio.run(main())
