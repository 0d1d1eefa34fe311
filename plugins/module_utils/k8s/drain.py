# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a model-server pod stops without cutting a stream: the preStop drain and the grace period it needs.

Neither server drains by itself: llama-server b11434 stops generating at once on SIGTERM (issue 24, measured again
by tests/integration/test_drain_llama_server.py), and vLLM's --shutdown-timeout defaults to 0, abort (vLLM's
engine/arg_utils.py: "Shutdown timeout in seconds. 0 = abort, >0 = wait."; config/vllm.py: "Shutdown will be delayed
for up to this amount of time to allow already-running requests to complete"; the flag is in the pinned 0.34.0's own
list, roles/vllm/files/vllm-flags-0.34.0.txt). Kubernetes runs
a container's preStop hook before it sends SIGTERM, while the pod, now Terminating, leaves the Service's ready
endpoints (kubernetes.io, Pod Lifecycle: "Termination of Pods"). So the preStop waits until no new request can arrive
(``delay_s``), then until the server's own in-flight gauges read 0, then returns: the SIGTERM finds nothing to cut.
The grace period must cover the wait: Kubernetes kills the container when it runs out, preStop or not.
Plain Python, no Ansible imports (filters llmops.oke.drain_prestop, slo_longest_request_s, drain_minimum_grace_s).
"""

from __future__ import annotations

import math
import re
import shlex

from ansible_collections.llmops.oke.plugins.module_utils.bench.prompts import PRESETS

# The servers' own gauges of requests not finished: decoding (a slot or a running sequence) or queued for one.
# llama.cpp tools/server (--metrics); vLLM's /metrics (vllm/v1/metrics/loggers.py).
IN_FLIGHT_METRICS: dict[str, tuple[str, ...]] = {
    "llama_cpp": ("llamacpp:requests_processing", "llamacpp:requests_deferred"),
    "vllm": ("vllm:num_requests_running", "vllm:num_requests_waiting"),
}
# Seconds between the preStop's return and the end of the grace period: the server's own stop after SIGTERM.
STOP_MARGIN_S = 10


class DrainError(ValueError):
    """Settings a drain cannot be built from."""


def longest_request_s(slo_ttft_s: float, slo_itl_s: float, max_output_tokens: int) -> int:
    """Seconds the slowest request the SLOs allow takes: its first token at the TTFT SLO, each next one at the ITL SLO.

    ``max_output_tokens`` is the most a request can generate on the server (its context per sequence), so a stream
    the server accepts and generates within the SLOs ends inside this time.
    """
    if slo_ttft_s < 0 or slo_itl_s < 0 or max_output_tokens < 1:
        raise DrainError("longest_request_s needs SLOs >= 0 and max_output_tokens >= 1")
    return math.ceil(slo_ttft_s + slo_itl_s * (max_output_tokens - 1))


def slo_longest_request_s(preset: str, max_output_tokens: int) -> int:
    """:func:`longest_request_s` with the SLOs of the benchmark preset ``preset`` (bench/prompts.py PRESETS)."""
    if preset not in PRESETS:
        raise DrainError(f"no benchmark preset {preset!r}; presets: {', '.join(sorted(PRESETS))}")
    slo = PRESETS[preset]
    return longest_request_s(float(slo["slo_ttft_s"]), float(slo["slo_itl_s"]), int(max_output_tokens))


def minimum_grace_s(delay_s: int, drain_timeout_s: int) -> int:
    """The grace period a drain of ``drain_timeout_s`` after ``delay_s`` needs, the server's stop included."""
    return int(delay_s) + int(drain_timeout_s) + STOP_MARGIN_S


def prestop_script(server: str, port: int, delay_s: int, drain_timeout_s: int, api_key_env: str = "") -> str:
    """POSIX sh for the preStop hook: wait ``delay_s`` (the endpoint removal reaches every proxy), then poll the
    server's /metrics on 127.0.0.1:``port`` until its in-flight gauges sum to 0, at most ``drain_timeout_s``.

    Needs curl or wget and awk in the image. Three failed reads in a row end the wait (the server is gone).
    """
    if server not in IN_FLIGHT_METRICS:
        raise DrainError(f"no in-flight metrics known for server {server!r}")
    if not 1 <= int(port) <= 65535 or int(delay_s) < 0 or int(drain_timeout_s) < 0:
        raise DrainError("prestop_script needs a TCP port, delay_s >= 0 and drain_timeout_s >= 0")
    if api_key_env and not re.match(r"^[A-Z_][A-Z0-9_]*$", api_key_env):
        raise DrainError(f"api_key_env={api_key_env!r} is not an environment variable name")
    names = IN_FLIGHT_METRICS[server]
    pattern = "^(" + "|".join(re.escape(name) for name in names) + r")(\{|$)"
    url = shlex.quote(f"http://127.0.0.1:{int(port)}/metrics")
    key = f'"${{{api_key_env}:-}}"' if api_key_env else '""'
    return "\n".join([
        "# llmops.oke drain: no new request reaches this pod any more, then wait for in-flight 0 before SIGTERM",
        f"key={key}",
        "read_metrics() {",
        "  if command -v curl >/dev/null 2>&1; then",
        f'    if [ -n "$key" ]; then curl -fsS --max-time 10 -H "Authorization: Bearer $key" {url}; '
        f"else curl -fsS --max-time 10 {url}; fi",
        "  else",
        f'    if [ -n "$key" ]; then wget -qO- -T 10 --header "Authorization: Bearer $key" {url}; '
        f"else wget -qO- -T 10 {url}; fi",
        "  fi",
        "}",
        f"sleep {int(delay_s)}",
        f"deadline=$(( $(date +%s) + {int(drain_timeout_s)} ))",
        "failed=0",
        "while :; do",
        "  if body=$(read_metrics); then",
        "    failed=0",
        f"    n=$(printf '%s\\n' \"$body\" | awk '$1 ~ /{pattern}/ {{ s += $NF }} END {{ printf \"%d\", s }}')",
        '    if [ "$n" -eq 0 ]; then echo "drain: 0 requests in flight"; exit 0; fi',
        "  else",
        "    failed=$((failed + 1))",
        '    if [ "$failed" -ge 3 ]; then echo "drain: /metrics unreadable 3 times, server gone" >&2; exit 0; fi',
        "  fi",
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        '    echo "drain: ${n:-?} requests still in flight after ' + str(int(drain_timeout_s)) + ' s" >&2; exit 0',
        "  fi",
        "  sleep 1",
        "done",
    ]) + "\n"
