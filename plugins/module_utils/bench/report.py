# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report (Markdown and HTML, PNG plots), drawn from the run folder's own files.

Reading ``summary.json`` and the per-request CSVs (not in-memory state) means a report can be
redrawn for any past run: ``python -m ...bench report results/<run-id>`` (``run_folder.redraw``).
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

from .crosscheck import crosscheck_tables
from .fileio import atomic_write_text
from .saturation import short_text


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _level_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for level in summary["levels"]:
        s = level["summary"]
        rows.append([
            level["label"],
            str(s["num_completed_requests"]),
            f"{s['error_rate'] * 100:.1f}%",
            _ms(s["ttft_s"]["quantiles"]["p50"]),
            _ms(s["ttft_s"]["quantiles"]["p95"]),
            _ms(s["itl_s"]["mean"]),
            _ms(s["itl_s"]["quantiles"]["p95"]),
            _num(s["e2e_s"]["quantiles"]["p95"]),
            _num(s["output_throughput_token_per_s"], 1),
            _num(s["request_throughput_per_s"], 2),
            f"{s['goodput_fraction'] * 100:.0f}%",
            "yes" if s["slo_met"] else "no",
            short_text(s.get("machine")),
            (s.get("cache_state") or {}).get("state", "warm"),
        ])
    return rows


LEVEL_HEADER = ["level", "completed", "errors", "TTFT p50 ms", "TTFT p95 ms", "ITL mean ms", "ITL p95 ms",
                "E2E p95 s", "out tok/s", "req/s", "goodput", "SLO met", "machine", "cache"]


def text_table(summary: dict[str, Any]) -> list[str]:
    """The report's per-level table as aligned text lines, for a terminal (``llm_benchmark`` returns them)."""
    rows = [LEVEL_HEADER, *_level_rows(summary)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(LEVEL_HEADER))]
    return ["  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                      for column, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]


def _read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _plots(run_dir: Path, summary: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_dir = run_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    per_level = {}
    for level in summary["levels"]:
        rows = [r for r in _read_csv(level["files"]["requests_csv"]) if r["warmup"] == "0" and not r["error_code"]]
        per_level[level["label"]] = {
            "ttft": [float(r["ttft_s"]) * 1000 for r in rows if r["ttft_s"]],
            "itl": [float(r["itl_s"]) * 1000 for r in rows if r["itl_s"]],
        }
    paths = {}
    for key, title in (("ttft", "Time to first token (ms)"), ("itl", "Inter-token latency (ms)")):
        fig, ax = plt.subplots(figsize=(7, 4))
        for label, values in per_level.items():
            if values[key]:
                # one empirical CDF per level: levels stay readable where overlaid histograms hide each other
                ordered = sorted(values[key])
                ax.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], where="post", label=label)
        ax.set_xlabel(title)
        ax.set_ylabel("share of requests ≤ x")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{title}: CDF per level")
        if any(v[key] for v in per_level.values()):
            ax.legend()
        paths[f"{key}_distribution"] = _save(plt, fig, plot_dir, f"{key}_distribution")
    levels = [lv for lv in summary["levels"] if lv["summary"]["num_completed_requests"]]
    xs = [lv["concurrency"] if lv["mode"] == "closed" else lv["rate_rps"] for lv in levels]
    xlabel = "concurrency" if all(lv["mode"] == "closed" for lv in levels) else "offered rate (req/s)"
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, [lv["summary"]["output_throughput_token_per_s"] for lv in levels], marker="o")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("output tokens/s")
    ax.set_title("Throughput vs load")
    paths["throughput_vs_concurrency"] = _save(plt, fig, plot_dir, "throughput_vs_concurrency")
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (("ttft_s", "TTFT p95"), ("e2e_s", "E2E p95")):
        ax.plot(xs, [(lv["summary"][key]["quantiles"]["p95"] or 0) * 1000 for lv in levels], marker="o", label=label)
    ax.plot(xs, [(lv["summary"]["itl_s"]["quantiles"]["p95"] or 0) * 1000 for lv in levels], marker="o",
            label="ITL p95")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("ms (log)")
    ax.set_title("p95 latency vs load")
    ax.legend()
    paths["p95_latency_vs_concurrency"] = _save(plt, fig, plot_dir, "p95_latency_vs_concurrency")
    return paths


def _save(plt: Any, fig: Any, plot_dir: Path, key: str) -> str:
    """Write one figure as ``plots/<key>.png`` and close it; its path."""
    path = plot_dir / f"{key}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return str(path)


def _cache_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Prompt-cache share per level from the server's counters, warned where the shared prefix cannot explain it."""
    rows, warnings, sources = [], [], set()
    for level in summary["levels"]:
        cache = level["summary"].get("prompt_cache") or {}
        share, prefix = cache.get("share"), cache.get("shared_prefix_share")
        connect = (level["summary"].get("connect_s") or {}).get("quantiles", {}).get("p50")
        rows.append([level["label"], "not measured" if share is None else f"{share * 100:.1f}%",
                     "—" if prefix is None else f"{prefix * 100:.1f}%",
                     str(cache.get("prompt_tokens") or "—"), str(level["summary"].get("new_connections", "—")),
                     _ms(connect)])
        if cache.get("source"):
            sources.add(cache["source"])
        if cache.get("above_shared_prefix"):
            warnings.append(f"{level['label']} ({share * 100:.1f}% cached, prefix explains {prefix * 100:.1f}%)")
    if not rows:
        return []
    items: list[tuple[str, Any]] = [("h2", "Prompt cache and connections per level")]
    items.append(("table", (["level", "prompt tokens cached", "shared prefix share", "prompt tokens",
                             "new connections", "connect p50 ms"], rows)))
    reasons = sorted({(lv["summary"].get("prompt_cache") or {}).get("not_measured", "") for lv in summary["levels"]}
                     - {""})
    notes = []
    if sources:
        notes.append("Counted by the server: " + "; ".join(sorted(sources)) + ", read just before and after each "
                     "level's measured requests.")
    if reasons:
        notes.append("Not measured: " + "; ".join(reasons) + ".")
    notes.append("Connect time is part of TTFT for the requests that opened a connection; warm-up opens one per "
                 "user, so it should be rare.")
    items.append(("p", " ".join(notes)))
    if warnings:
        items.append(("p", "WARNING: the server reused more of the prompts than their shared prefix explains at "
                           + ", ".join(warnings) + ": TTFT there measures the prompt cache, not prefill."))
    return items


def _crosscheck_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Builtin engine beside LLMPerf (engine=crosscheck): both engines' figures, then the differences split."""
    check = summary.get("crosscheck")
    if not check:
        return []
    items: list[tuple[str, Any]] = [
        ("h2", "Cross-check: builtin engine vs LLMPerf"),
        ("p", f"Token counts: builtin — {check['tokenizers']['builtin']}; LLMPerf — {check['tokenizers']['llmperf']}.")]
    items.extend(("table", table) for table in crosscheck_tables(check))
    items.append(("p", " ".join(f"{name}: {text}." for name, text in check["definitions"].items())))
    return items


def _sections(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Report content as (kind, payload) items rendered to both Markdown and HTML."""
    return [*_header_section(summary), *_levels_section(summary), *_machine_section(summary),
            *_cache_section(summary),
            *_failures_section(summary), *_capacity_section(summary.get("capacity")),
            *_correctness_section(summary), *_crosscheck_section(summary), *_plots_section(),
            *_definitions_section(summary)]


def _header_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The title and what ran where: status, endpoint, backend, shape, token lengths and counting, version."""
    meta = summary.get("metadata", {})
    facts = [
        ("status", summary["status"]),
        ("endpoint", meta.get("endpoint", "")),
        ("backend / image", f"{meta.get('backend', '')} {meta.get('image', '')}".strip()),
        ("node shape / replicas", f"{meta.get('node_shape', '')} x {meta.get('replicas', '')}"),
        ("tokens in / out", f"{meta.get('mean_input_tokens')}±{meta.get('stddev_input_tokens')} / "
                            f"{meta.get('mean_output_tokens')}±{meta.get('stddev_output_tokens')}"),
        ("token counts", meta.get("token_count_method", "")),
        ("collection version", meta.get("collection_version", "")),
    ]
    return [("h1", f"Benchmark {summary['run_id']}: {meta.get('model', '')}"),
            ("table", (["", ""], [[k, str(v)] for k, v in facts]))]


def _levels_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The per-level table and the SLOs it was judged against."""
    slo = summary["levels"][0]["summary"]["slo"] if summary["levels"] else {}
    return [("h2", "Results per load level"), ("table", (LEVEL_HEADER, _level_rows(summary))),
            ("p", "SLOs: " + ", ".join(f"{k} ≤ {v}" for k, v in slo.items() if v is not None)
             if any(v is not None for v in slo.values()) else "No SLOs were set.")]


def _machine_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Per level: the host's load and the client's loop lag, the verdict, and the cache state it started from."""
    rows, flagged = [], []
    for level in summary["levels"]:
        m = level["summary"].get("machine") or {}
        lag = m.get("loop_lag_ms") or {}
        rows.append([level["label"], short_text(m or None), _num(m.get("runnable_per_cpu_mean")),
                     "—" if m.get("cpus") is None else str(m["cpus"]),
                     "—" if m.get("cpu_busy_share") is None else f"{m['cpu_busy_share'] * 100:.0f}%",
                     "—" if m.get("client_cpu_share") is None else f"{m['client_cpu_share'] * 100:.0f}%",
                     _num(m.get("load1_end")), _num(lag.get("p50"), 1), _num(lag.get("p99"), 1),
                     _num(lag.get("max"), 1), (level["summary"].get("cache_state") or {}).get("how", "")])
        if m.get("saturated"):
            flagged.append(f"{level['label']} ({'; '.join(m['reasons'])})")
    if not rows:
        return []
    items: list[tuple[str, Any]] = [
        ("h2", "Machine and cache state per level"),
        ("table", (["level", "machine", "runnable/CPU", "CPUs", "CPU busy", "client CPU", "load 1m", "loop lag p50 ms",
                    "loop lag p99 ms", "loop lag max ms", "cache state"], rows))]
    if flagged:
        items.append(("p", "WARNING: the machine, not only the server, limited these levels: " + ", ".join(flagged)
                      + ". Their latencies include waiting for a CPU or for the client; they stay in the capacity "
                        "figures, which are marked unreliable."))
    else:
        items.append(("p", "No level was flagged: the host's runnable tasks per CPU and the client's event-loop lag "
                           "stayed within their limits (or were not measured)."))
    return items


def _failures_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Levels that mostly failed, why the run failed, and the errors by code over all levels."""
    items: list[tuple[str, Any]] = []
    failed = [lv["label"] for lv in summary["levels"] if lv["summary"].get("mostly_failed")]
    if failed:
        items.append(("p", f"Mostly failed (more than half the requests errored; no SLO verdict, no capacity): "
                           f"{', '.join(failed)}."))
    if summary.get("error"):
        items.append(("p", f"Run failed: {summary['error']}"))
    errors: dict[str, int] = {}
    for level in summary["levels"]:
        for code, count in level["summary"]["errors_by_code"].items():
            errors[code] = errors.get(code, 0) + count
    if errors:
        items.append(("p", "Errors by code: " + ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))))
    return items


def _capacity_section(cap: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """Capacity per replica, the HPA targets, replicas for the target rate and the cost."""
    if not cap:
        return []
    rows = [["meets SLOs", "yes" if cap.get("meets_slo") else "no"]]
    if cap.get("saturated_levels"):
        rows.append(["reliable", "NO: drawn from levels where the host or the client was saturated ("
                     + ", ".join(cap["saturated_levels"]) + "); the server may do better on a quiet machine"])
    rows.append(["max concurrency per replica within SLOs", str(cap.get("max_concurrency_per_replica"))])
    if cap.get("requests_per_s_per_replica") is not None:
        rows.append(["requests/s per replica", _num(cap["requests_per_s_per_replica"])])
        rows.append(["output tokens/s per replica", _num(cap["output_tokens_per_s_per_replica"], 1)])
    rows += _hpa_rows(cap.get("hpa"))
    if cap.get("replicas_for_target") is not None:
        rows.append([f"replicas for {cap['target_rps']} req/s", str(cap["replicas_for_target"])])
    if cap.get("cost_per_million_output_tokens") is not None:
        rows.append(["cost per node-hour (USD)", _num(cap["cost_per_node_hour"], 4)])
        rows.append(["cost per 1M output tokens (USD)", _num(cap["cost_per_million_output_tokens"], 2)])
    if cap.get("cost_per_million_output_tokens_at_peak") is not None:
        rows.append(["cost per 1M output tokens at peak throughput, SLOs aside (USD)",
                     _num(cap["cost_per_million_output_tokens_at_peak"], 2)])
    if cap.get("decode_bandwidth_fraction") is not None:
        rows.append(["decode throughput / bandwidth bound", f"{cap['decode_bandwidth_fraction'] * 100:.0f}%"])
    rows.append(["prices dated", cap.get("prices_date", "")])
    return [("h2", "Capacity and cost"), ("table", (["", ""], rows))]


def _hpa_rows(hpa: dict[str, Any] | None) -> list[list[str]]:
    if not hpa:
        return []
    rows = [["HPA target: in-flight requests per pod", str(hpa["in_flight_per_pod"])],
            ["HPA target: queue depth per pod", str(hpa["queue_depth_per_pod"])]]
    slots = hpa.get("slots_for_queue_metric")
    if slots:
        rows.append(["server slots for a queue-depth HPA",
                     f"{slots} (this server ran {hpa['server_slots']}: past {slots} users the SLOs fail before "
                     "anything queues)"])
    return rows


def _correctness_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """LLMPerf's numbers test and the determinism test at temperature 0."""
    items: list[tuple[str, Any]] = []
    if summary.get("correctness"):
        c = summary["correctness"]
        items.append(("h2", "Correctness"))
        items.append(("p", f"Numbers as words → digits (LLMPerf): {c['num_mismatched_requests']} mismatched, "
                           f"{c['number_errors']} errored of {c['num_completed_requests']} "
                           f"(mismatch rate {c['mismatch_rate'] * 100:.1f}%)."))
    if summary.get("determinism"):
        d = summary["determinism"]
        items.append(("p", f"Determinism at temperature 0: {'holds' if d['deterministic'] else 'does NOT hold'} "
                           f"({d['stream_mismatches']} streamed≠non-streamed, {d['repeat_mismatches']} "
                           f"repeat mismatches over {d['num_prompts']} prompts; the first, uncached prefill of a "
                           f"prompt differed from the later answers {d.get('first_prefill_mismatches', 0)} "
                           "times, not judged)."))
    return items


def _plots_section() -> list[tuple[str, Any]]:
    return [("h2", "Plots")] + [
        ("img", (key.replace("_", " "), f"plots/{key}.png"))
        for key in ("ttft_distribution", "itl_distribution", "throughput_vs_concurrency", "p95_latency_vs_concurrency")]


def _definitions_section(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    definitions = summary.get("metadata", {}).get("definitions", {})
    return [("h2", "Definitions"), ("table", (["metric", "definition"], [[k, v] for k, v in definitions.items()]))]


def to_markdown(items: list[tuple[str, Any]]) -> str:
    out = []
    for kind, payload in items:
        if kind == "h1":
            out.append(f"# {payload}\n")
        elif kind == "h2":
            out.append(f"## {payload}\n")
        elif kind == "p":
            out.append(f"{payload}\n")
        elif kind == "img":
            out.append(f"![{payload[0]}]({payload[1]})\n")
        elif kind == "table":
            header, rows = payload
            cells = [[c.replace("|", "\\|") for c in row] for row in rows]
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join("---" for _index in header) + "|")
            out.extend("| " + " | ".join(row) + " |" for row in cells)
            out.append("")
    return "\n".join(out)


def to_html(items: list[tuple[str, Any]], title: str) -> str:
    body = []
    for kind, payload in items:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(str(payload))}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(str(payload))}</p>")
        elif kind == "img":
            body.append(f'<figure><img src="{html.escape(payload[1])}" alt="{html.escape(payload[0])}">'
                        f"<figcaption>{html.escape(payload[0])}</figcaption></figure>")
        elif kind == "table":
            header, rows = payload
            head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")


def render_report(run_dir: str | Path, summary: dict[str, Any]) -> dict[str, str]:
    """Write ``report.md``, ``report.html`` and ``plots/*.png`` for a run folder and its summary; returns their paths.

    Called through ``run_folder`` (``finish``, ``redraw``), which owns reading and writing ``summary.json``.
    """
    run_dir = Path(run_dir)
    paths = _plots(run_dir, summary) if summary["levels"] else {}
    items = _sections(summary)
    scaling_path = run_dir / "scaling.json"
    if scaling_path.exists():
        from .prom_sampler import scaling_section

        # Beside the load levels, before the plots: what the HPA would have done during this run.
        at = next((i for i, item in enumerate(items) if item == ("h2", "Plots")), len(items))
        items[at:at] = scaling_section(json.loads(scaling_path.read_text(encoding="utf-8")))
    atomic_write_text(run_dir / "report.md", to_markdown(items))
    atomic_write_text(run_dir / "report.html", to_html(items, f"Benchmark {summary['run_id']}"))
    paths.update({"markdown": str(run_dir / "report.md"), "html": str(run_dir / "report.html")})
    return paths
