# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one progress line of a running sweep, written and read back.

Written by the module into the run's ``progress.log`` (the controller runner) and by the CLI on stderr, which
is the benchmark pod's log (the Kubernetes runner). The role reads both back through the ``benchmark_progress``
filter, which keeps only lines this module wrote, so what the play prints is the same on either runner:
``07:16:02 [c8] 12/40 done, 3.20 req/s, p50 TTFT 416.0 ms, errors 0`` (`` (level done)`` on a level's last).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

LEVEL_DONE = " (level done)"
_LINE = re.compile(
    r"(?P<clock>\d\d:\d\d:\d\d) \[(?P<level>[^\]\s]+)\] (?P<completed>\d+)/(?P<total>\d+|\?) done, "
    r"(?P<rate_rps>\d+\.\d\d) req/s, p50 TTFT (?:-|(?P<p50_ms>\d+\.\d) ms), errors (?P<errors>\d+)"
    r"(?P<final> \(level done\))?$")


def format_progress(event: dict[str, Any], clock: float | None = None) -> str:
    """One line (no newline) from a progress event of ``load.run_level``; ``clock`` is the epoch time shown."""
    p50 = event["p50_ttft_s"]
    total = "?" if event["total"] is None else event["total"]
    return "{} [{}] {}/{} done, {:.2f} req/s, p50 TTFT {}, errors {}{}".format(
        time.strftime("%H:%M:%S", time.localtime(clock)), event["level"], event["completed"], total,
        event["rate_rps"], "-" if p50 is None else f"{p50 * 1000:.1f} ms", event["errors"],
        LEVEL_DONE if event.get("final") else "")


def parse_progress(line: str) -> dict[str, Any] | None:
    """The fields of a line :func:`format_progress` wrote, or None for any other line."""
    match = _LINE.fullmatch(line.strip())
    if match is None:
        return None
    fields = match.groupdict()
    return {"clock": fields["clock"], "level": fields["level"], "completed": int(fields["completed"]),
            "total": None if fields["total"] == "?" else int(fields["total"]),
            "rate_rps": float(fields["rate_rps"]),
            "p50_ttft_s": None if fields["p50_ms"] is None else float(fields["p50_ms"]) / 1000,
            "errors": int(fields["errors"]), "final": fields["final"] is not None}


def last_progress(lines: Iterable[str]) -> str:
    """The last progress line among ``lines`` (a log: other lines are skipped), stripped; '' when there is none."""
    found = ""
    for line in lines:
        if parse_progress(line) is not None:
            found = line.strip()
    return found
