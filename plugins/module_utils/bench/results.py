# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Result files for one run folder, each written atomically (temporary file + ``os.replace``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from .client import RequestRecord

CSV_FIELDS = ("request_id", "index", "warmup", "start_s", "scheduled_lag_s", "ttft_s", "itl_s", "e2e_s",
              "input_tokens", "output_tokens", "token_source", "content_chunks", "max_chunk_gap_s", "http_status",
              "error_code", "error_msg", "finish_reason", "new_connection", "connect_s", "cached_tokens",
              "stream_events")
LEVEL_CSV_FIELDS = ("level", "mode", "concurrency", "rate_rps", "completed", "error_rate", "mostly_failed",
                    "ttft_p50_s", "ttft_p95_s", "connect_p50_s", "new_connections", "output_token_per_s",
                    "slo_met", "prompt_cache_share", "shared_prefix_share", "cache_prompt_tokens",
                    "cache_cached_tokens", "cache_above_shared_prefix", "cache_state", "machine_saturated",
                    "runnable_per_cpu", "loop_lag_p99_ms")


def records_csv(records: Sequence[RequestRecord], run_start: float) -> str:
    """One row per request (warm-up included, flagged), times in seconds."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in sorted(records, key=lambda rec: rec.start):
        gaps = r.chunk_gaps_s
        writer.writerow({
            "request_id": r.request_id,
            "index": r.index,
            "warmup": int(r.warmup),
            "start_s": f"{r.start - run_start:.6f}",
            "scheduled_lag_s": f"{r.start - r.scheduled:.6f}" if r.scheduled else "",
            "ttft_s": _fmt(r.ttft_s),
            "itl_s": _fmt(r.itl_s),
            "e2e_s": _fmt(r.e2e_s),
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "token_source": r.token_source,
            "content_chunks": len(r.content_times),
            "max_chunk_gap_s": _fmt(max(gaps) if gaps else None),
            "http_status": r.http_status if r.http_status is not None else "",
            "error_code": r.error_code or "",
            "error_msg": r.error_msg.replace("\n", " ")[:200],
            "finish_reason": r.finish_reason or "",
            "new_connection": int(r.new_connection),
            "connect_s": _fmt(r.connect_s),
            "cached_tokens": "" if r.cached_tokens is None else r.cached_tokens,
            "stream_events": r.stream_events,
        })
    return out.getvalue()


def levels_csv(levels: Sequence[dict[str, Any]]) -> str:
    """One row per level of a run: the headline figures and the prompt-cache share ("not measured" where unread)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=LEVEL_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for level in levels:
        s = level["summary"]
        cache = s.get("prompt_cache") or {}
        machine = s.get("machine") or {}
        measured = cache.get("share") is not None
        writer.writerow({
            "level": level["label"], "mode": level["mode"], "concurrency": level["concurrency"],
            "rate_rps": "" if level.get("rate_rps") is None else level["rate_rps"],
            "completed": s["num_completed_requests"], "error_rate": f"{s['error_rate']:.4f}",
            "mostly_failed": int(bool(s.get("mostly_failed"))),
            "ttft_p50_s": _fmt(s["ttft_s"]["quantiles"]["p50"]), "ttft_p95_s": _fmt(s["ttft_s"]["quantiles"]["p95"]),
            "connect_p50_s": _fmt((s.get("connect_s") or {}).get("quantiles", {}).get("p50")),
            "new_connections": s.get("new_connections", ""),
            "output_token_per_s": _fmt(s["output_throughput_token_per_s"]), "slo_met": int(bool(s["slo_met"])),
            "prompt_cache_share": f"{cache['share']:.4f}" if measured else "not measured",
            "shared_prefix_share": "" if cache.get("shared_prefix_share") is None
            else f"{cache['shared_prefix_share']:.4f}",
            "cache_prompt_tokens": cache.get("prompt_tokens") if measured else "",
            "cache_cached_tokens": cache.get("cached_tokens") if measured else "",
            "cache_above_shared_prefix": "" if cache.get("above_shared_prefix") is None
            else int(cache["above_shared_prefix"]),
            "cache_state": (s.get("cache_state") or {}).get("state", "warm"),
            "machine_saturated": "" if not machine else int(bool(machine.get("saturated"))),
            "runnable_per_cpu": _fmt(machine.get("runnable_per_cpu_mean")),
            "loop_lag_p99_ms": _fmt((machine.get("loop_lag_ms") or {}).get("p99")),
        })
    return out.getvalue()


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"
