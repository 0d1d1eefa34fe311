"""The progress line the module (progress.log) and the CLI (the Job's pod log) write, and the role reads back."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.oke.plugins.filter.benchmark_progress import FilterModule
from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import (
    format_progress,
    last_progress,
    parse_progress,
)

benchmark_progress = FilterModule().filters()["benchmark_progress"]


def _event(**fields: object) -> dict[str, object]:
    # the fields load.run_level's progress callback passes (load._Progress.emit)
    return {"level": "c8", "concurrency": 8, "completed": 12, "total": 40, "rate_rps": 3.2, "p50_ttft_s": 0.416,
            "errors": 0, "final": False, **fields}


def test_line_reads_as_the_role_readme_shows() -> None:
    clock = 1_700_000_000.0  # the time of day shown is the local one
    line = format_progress(_event(), clock)
    assert line.endswith("[c8] 12/40 done, 3.20 req/s, p50 TTFT 416.0 ms, errors 0")
    assert format_progress(_event(final=True, total=None, p50_ttft_s=None, errors=3), clock).endswith(
        "[c8] 12/? done, 3.20 req/s, p50 TTFT -, errors 3 (level done)")


@pytest.mark.parametrize("event", [_event(), _event(final=True), _event(total=None, p50_ttft_s=None, errors=7),
                                   _event(level="r0.5", rate_rps=0.0, completed=0), _event(p50_ttft_s=12.3456)])
def test_parse_reads_back_what_format_wrote(event: dict[str, object]) -> None:
    parsed = parse_progress(format_progress(event))
    assert parsed is not None
    assert {k: parsed[k] for k in ("level", "completed", "total", "errors", "final")} == {
        k: event[k] for k in ("level", "completed", "total", "errors", "final")}
    assert parsed["rate_rps"] == pytest.approx(event["rate_rps"], abs=0.005)
    if event["p50_ttft_s"] is None:
        assert parsed["p50_ttft_s"] is None
    else:
        assert parsed["p50_ttft_s"] == pytest.approx(event["p50_ttft_s"], abs=0.00005)


@pytest.mark.parametrize("line", [
    "", "Traceback (most recent call last):", "==== llmops.oke benchmark results begin ====",
    "H4sIAAAAAAAAA+3OMQ6CQBCF4dl4Ck9gGIG9hYUx1m6hpWYhmmhBMAYO4hX0nl5",  # the results stream
    "07:16:02 [c8] 12/40 done, 3.20 req/s, p50 TTFT 41",  # cut short
    "[c8] 12/40 done, 3.20 req/s, p50 TTFT 416.0 ms, errors 0",  # the old CLI line, without the clock
    "07:16:02 [c8] 12/40 done, 3.20 req/s, p50 TTFT 416.0 ms, errors 0 trailing",
])
def test_other_lines_are_not_progress(line: str) -> None:
    assert parse_progress(line) is None


def test_last_progress_of_a_pod_log() -> None:
    first, second = format_progress(_event(completed=3)), format_progress(_event(completed=7, final=True))
    log = ["Collecting prompts", first, "warning: slow", second + "\r", "==== llmops.oke benchmark results begin ====",
           "H4sIAAAAAAAAA+3OMQ6CQBCF4dl4"]
    assert last_progress(log) == second
    assert last_progress(["starting"]) == ""


def test_filter_takes_log_lines_or_a_text() -> None:
    line = format_progress(_event())
    assert benchmark_progress(["pulling", line, "more"]) == line
    assert benchmark_progress(f"pulling\n{line}\n") == line
    assert benchmark_progress([]) == benchmark_progress(None) == ""
    with pytest.raises(AnsibleFilterError, match="benchmark_progress expects"):
        benchmark_progress({"log": line})
