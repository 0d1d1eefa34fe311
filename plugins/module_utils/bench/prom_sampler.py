# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the HPA would have asked for during a benchmark: prometheus-adapter's own queries against a real
Prometheus, fed to the HPA model.

* ``expand_metrics_query`` expands an adapter ``metricsQuery`` template for a per-pod custom metric the way
  prometheus-adapter does (kubernetes-sigs/prometheus-adapter pkg/naming/metrics_query.go, ``Build``): the
  namespace matcher, then ``pod="name"`` for one pod or ``pod=~"a|b"`` for several, values quoted as Go's
  ``%q`` (pkg/client/helpers.go ``LabelEq``/``LabelMatches``), ``GroupBy`` = the pod label.
* ``sample`` evaluates those queries over the benchmark's window every ``step_s`` seconds (a Prometheus range
  query evaluates the same instant query at each step). A step where Prometheus had no sample (a failed
  scrape marks the series stale) stays a gap: None, never 0.
* ``replay`` applies the HPA algorithm of ``hpa_model`` (ratio to target, tolerance, the HPA's behavior:
  stabilization windows and rate policies) to each sample, from a Deployment at its minimum replicas.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import urllib.error
import urllib.parse
from typing import Any

from .fileio import http_get
from .hpa_model import HpaController, HpaPolicy

# The only fields our rules' templates use; any other template action would need Go's text/template.
_TEMPLATE_FIELD = re.compile(r"<<\s*\.(\w+)\s*>>")
_SUPPORTED_FIELDS = {"Series", "LabelMatchers", "GroupBy"}


class PrometheusQueryError(Exception):
    """Prometheus could not be reached or rejected a query."""


def go_quote(value: str) -> str:
    """A label value quoted as Go's %q does for printable ASCII (backslash and double quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def expand_metrics_query(template: str, series: str, namespace: str, pods: list[str],
                         namespace_label: str = "namespace", pod_label: str = "pod") -> str:
    """The PromQL prometheus-adapter sends for ``series`` of the given pods in ``namespace``."""
    if not pods:
        raise ValueError("expand_metrics_query needs at least one pod name")
    leftover = _TEMPLATE_FIELD.sub(lambda m: "" if m.group(1) in _SUPPORTED_FIELDS else m.group(0), template)
    if "<<" in leftover:
        raise ValueError(f"metricsQuery {template!r} uses template actions other than "
                         f"{', '.join(sorted(_SUPPORTED_FIELDS))}")
    pod_matcher = (f"{pod_label}={go_quote(pods[0])}" if len(pods) == 1
                   else f"{pod_label}=~{go_quote('|'.join(pods))}")
    fields = {"Series": series, "LabelMatchers": f"{namespace_label}={go_quote(namespace)},{pod_matcher}",
              "GroupBy": pod_label}
    return _TEMPLATE_FIELD.sub(lambda m: fields[m.group(1)], template)


def adapter_rule(rules: list[dict[str, Any]], custom_metric: str) -> tuple[dict[str, Any], str]:
    """The custom rule that serves ``custom_metric`` and the series it names (our rules match one series)."""
    for rule in rules:
        if rule.get("name", {}).get("as") == custom_metric:
            series = rule["name"]["matches"].removeprefix("^").removesuffix("$")
            return rule, series
    raise KeyError(f"no prometheus-adapter rule serves the custom metric {custom_metric!r}; rules serve: "
                   f"{', '.join(r.get('name', {}).get('as', '?') for r in rules) or 'none'}")


def hpa_pods_metric(hpa: dict[str, Any]) -> tuple[str, float]:
    """(custom metric name, AverageValue target) of an autoscaling/v2 HPA's Pods metric."""
    for metric in hpa["spec"].get("metrics", []):
        if metric.get("type") == "Pods":
            return metric["pods"]["metric"]["name"], parse_quantity(metric["pods"]["target"]["averageValue"])
    raise KeyError(f"HPA {hpa['metadata']['name']} has no Pods metric")


def parse_quantity(value: Any) -> float:
    """A Kubernetes quantity as the HPA reads an AverageValue ("2", "1500m", 2.5)."""
    text = str(value).strip()
    if text.endswith("m"):
        return float(text[:-1]) / 1000.0
    return float(text)


def hpa_policy(hpa: dict[str, Any], target_per_pod: float | None = None, sync_period_s: int = 15) -> HpaPolicy:
    """The hpa_model policy of an autoscaling/v2 HPA manifest (behavior with Pods-type policies)."""
    spec = hpa["spec"]
    _metric, target = hpa_pods_metric(hpa)
    behavior = spec.get("behavior", {})

    def pods_policy(direction: str) -> tuple[int | None, int]:
        policies = [p for p in behavior.get(direction, {}).get("policies", []) if p.get("type") == "Pods"]
        if not policies:
            return None, 60
        return int(policies[0]["value"]), int(policies[0]["periodSeconds"])

    up_pods, up_period = pods_policy("scaleUp")
    down_pods, down_period = pods_policy("scaleDown")
    return HpaPolicy(
        target_per_pod=float(target_per_pod if target_per_pod else target),
        min_replicas=int(spec.get("minReplicas", 1)), max_replicas=int(spec["maxReplicas"]),
        sync_period_s=sync_period_s,
        # Kubernetes defaults when behavior leaves a window out: 0 s up, 300 s down.
        scale_up_stabilization_s=int(behavior.get("scaleUp", {}).get("stabilizationWindowSeconds", 0)),
        scale_down_stabilization_s=int(behavior.get("scaleDown", {}).get("stabilizationWindowSeconds", 300)),
        scale_up_pods=up_pods, scale_up_period_s=up_period,
        scale_down_pods=down_pods, scale_down_period_s=down_period)


class PrometheusClient:
    """The few calls of Prometheus's HTTP API (/api/v1) we need."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with http_get(f"{self.url}{path}?{query}", self.timeout_s) as response:
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            with contextlib.suppress(ValueError):
                detail = json.loads(detail).get("error", detail)
            raise PrometheusQueryError(f"Prometheus {self.url}{path} answered {error.code}: {detail} "
                                       f"(params {params})") from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise PrometheusQueryError(f"Prometheus {self.url}{path} failed: {error}") from error
        if body.get("status") != "success":
            raise PrometheusQueryError(f"Prometheus {self.url}{path}: {body.get('error')} (params {params})")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._get("/api/v1/query", params)["result"]

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[dict[str, Any]]:
        return self._get("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step_s:g}"})["result"]

    def series(self, match: str, start: float, end: float) -> list[dict[str, str]]:
        return self._get("/api/v1/series", {"match[]": match, "start": f"{start:.3f}", "end": f"{end:.3f}"})


def step_times(start: float, end: float, step_s: float) -> list[float]:
    """The evaluation times of a range query: start, start + step, ... up to end (Prometheus's own grid)."""
    count = math.floor((end - start) / step_s) + 1
    return [round(start + i * step_s, 3) for i in range(max(count, 0))]


def per_pod_values(result: list[dict[str, Any]], times: list[float], pod_label: str = "pod"
                   ) -> dict[str, list[float | None]]:
    """pod -> value at each time of ``times`` (None where the range result has no point: a gap)."""
    by_pod: dict[str, list[float | None]] = {}
    for item in result:
        pod = item["metric"].get(pod_label, "")
        points = {round(float(t), 3): float(v) for t, v in item.get("values", [])}
        by_pod[pod] = [points.get(t) for t in times]
    return by_pod


def replay(times: list[float], values: dict[str, list[float | None]], policy: HpaPolicy, origin: float
           ) -> list[int | None]:
    """Replicas the HPA would ask for at each time, from a Deployment at min replicas.

    The Pods metric's value is the average over the pods that report one. The Deployment is never actually
    scaled here, so each sync starts from min replicas again and no scale event counts against the rate
    policies; stabilization windows use the recommendation history as the controller does. A time where no
    pod reports a value is a gap (None): the controller fails to get the metric and changes nothing.
    """
    controller = HpaController(policy)
    desired: list[int | None] = []
    for index, at in enumerate(times):
        reported = [series[index] for series in values.values() if series[index] is not None]
        if not reported:
            desired.append(None)
            continue
        average = sum(reported) / len(reported)
        current = policy.min_replicas
        # Pods the HPA scales are the reporting pods; the rest (min replicas beyond them) are counted as unready.
        ready = min(len(reported), current)
        answer = controller.step(round(at - origin), current, average, ready, current - ready)
        controller.scale_events.clear()
        desired.append(answer)
    return desired


def level_at(levels: list[dict[str, Any]], at: float) -> str | None:
    """Label of the level whose wall-clock window holds ``at``."""
    for level in levels:
        window = level.get("window") or {}
        if window.get("start_unix", math.inf) <= at <= window.get("end_unix", -math.inf):
            return level["label"]
    return None


def scaling_verdict(timeline: list[dict[str, Any]], min_replicas: int) -> dict[str, Any]:
    """Whether and when the HPA would have asked for more than min replicas, as one line."""
    above = [point for point in timeline if point["desired_replicas"] is not None
             and point["desired_replicas"] > min_replicas]
    gaps = sum(1 for point in timeline if point["desired_replicas"] is None)
    gap_note = f" ({gaps} samples without data)" if gaps else ""
    if not above:
        return {"triggered": False, "first_t_s": None, "first_level": None, "peak_replicas": min_replicas,
                "message": f"Scaling would not have triggered: the HPA kept {min_replicas} replica(s) "
                           f"throughout{gap_note}."}
    first = above[0]
    peak = max(point["desired_replicas"] for point in above)
    level = f" during level {first['level']}" if first["level"] else ""
    return {"triggered": True, "first_t_s": first["t_s"], "first_level": first["level"], "peak_replicas": peak,
            "message": f"Scaling would have triggered at +{first['t_s']:.0f}s{level}: the HPA asked for "
                       f"{first['desired_replicas']} replicas (peak {peak}){gap_note}."}


def scaling_section(scaling: dict[str, Any]) -> list[tuple[str, Any]]:
    """Report items (the report module's (kind, payload) format) for a scaling.json."""
    items: list[tuple[str, Any]] = [("h2", "Scaling: queue, in-flight requests and the HPA's answer")]
    items.append(("p", scaling["verdict"]["message"]))
    items.append(("p", f"Adapter query ({scaling['custom_metric']}): {scaling['adapter_query']} — "
                       f"HPA target {scaling['policy']['target_per_pod']:g} per pod, "
                       f"{scaling['policy']['min_replicas']}..{scaling['policy']['max_replicas']} replicas, "
                       f"sampled every {scaling['step_s']:g} s from {scaling['prometheus_url']}."))
    header = ["level", "SLOs met", "samples", "queue depth max", "in-flight max", "HPA replicas max", "gaps"]
    rows = []
    for level in scaling["per_level"]:
        slo = "-" if level["slo_met"] is None else ("yes" if level["slo_met"] else "no")
        rows.append([level["level"], slo, str(level["samples"]), _num(level["queue_max"]), _num(level["in_flight_max"]),
                     "-" if level["desired_max"] is None else str(level["desired_max"]), str(level["gaps"])])
    items.append(("table", (header, rows)))
    # The timeline at each change (level, a pod's queue or in-flight count, the HPA's answer): short, and exact.
    timeline_rows = []
    previous = None
    for point in scaling["timeline"]:
        for pod in sorted(set(point["queue"]) | set(point["in_flight"])) or [""]:
            row = [point["level"] or "-", pod, _num(point["queue"].get(pod)), _num(point["in_flight"].get(pod)),
                   "gap" if point["desired_replicas"] is None else str(point["desired_replicas"])]
            if row != previous:
                timeline_rows.append([f"{point['t_s']:.0f}", *row])
            previous = row
    items.append(("table", (["t (s)", "level", "pod", "queue depth", "in flight", "HPA replicas"], timeline_rows)))
    if scaling.get("plot"):
        items.append(("img", ("scaling timeline", scaling["plot"])))
    return items


def _num(value: float | None) -> str:
    return "gap" if value is None else f"{value:g}"


def observe(client: PrometheusClient, rules: list[dict[str, Any]], hpa: dict[str, Any], summary: dict[str, Any],
            step_s: float = 2.0, target_per_pod: float | None = None,
            in_flight_series: str | None = None) -> dict[str, Any]:
    """Sample the adapter's query for the HPA's metric over the benchmark's levels and replay the HPA."""
    windows = [lv["window"] for lv in summary.get("levels", []) if lv.get("window")]
    if not windows:
        raise ValueError(f"run {summary.get('run_id')} has no level with a wall-clock window to sample")
    start = min(w["start_unix"] for w in windows)
    end = max(w["end_unix"] for w in windows)
    custom_metric, _target = hpa_pods_metric(hpa)
    rule, series = adapter_rule(rules, custom_metric)
    namespace = hpa["metadata"]["namespace"]
    # The adapter's relist: the series its seriesQuery finds, and the pods of the HPA's namespace among them.
    found = client.series(rule["seriesQuery"], start, end)
    pods = sorted({s["pod"] for s in found if s.get("namespace") == namespace and s.get("pod")})
    if not pods:
        raise ValueError(f"the adapter's seriesQuery {rule['seriesQuery']} finds no pod in namespace {namespace} "
                         f"between the benchmark's start and end: is the model server scraped?")
    query = expand_metrics_query(rule["metricsQuery"], series, namespace, pods)
    times = step_times(start, end, step_s)
    queue = per_pod_values(client.query_range(query, start, end, step_s), times)
    in_flight: dict[str, list[float | None]] = {}
    in_flight_query = None
    if in_flight_series:
        in_flight_query = expand_metrics_query(rule["metricsQuery"], in_flight_series, namespace, pods)
        in_flight = per_pod_values(client.query_range(in_flight_query, start, end, step_s), times)
    policy = hpa_policy(hpa, target_per_pod)
    desired = replay(times, queue, policy, start)
    timeline = []
    for index, at in enumerate(times):
        timeline.append({
            "t_s": round(at - start, 3), "time_unix": at, "level": level_at(summary["levels"], at),
            "queue": {pod: values[index] for pod, values in queue.items()},
            "in_flight": {pod: values[index] for pod, values in in_flight.items()},
            "desired_replicas": desired[index]})
    per_level = [_level_peaks(level, timeline) for level in summary["levels"]]
    return {"prometheus_url": client.url, "custom_metric": custom_metric, "series": series, "pods": pods,
            "adapter_rule": rule, "hpa": hpa,
            "namespace": namespace, "adapter_query": query, "in_flight_query": in_flight_query, "step_s": step_s,
            "start_unix": start, "end_unix": end,
            "policy": {"target_per_pod": policy.target_per_pod, "min_replicas": policy.min_replicas,
                       "max_replicas": policy.max_replicas, "tolerance": policy.tolerance,
                       "scale_up_stabilization_s": policy.scale_up_stabilization_s,
                       "scale_down_stabilization_s": policy.scale_down_stabilization_s},
            "levels": [{"label": lv["label"], "start_unix": lv["window"]["start_unix"],
                        "end_unix": lv["window"]["end_unix"]} for lv in summary["levels"] if lv.get("window")],
            "timeline": timeline, "per_level": per_level,
            "verdict": slo_check(scaling_verdict(timeline, policy.min_replicas), per_level, policy.min_replicas)}


def _level_peaks(level: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """One level's samples: the highest queue and in-flight values and the HPA's answers."""
    points = [p for p in timeline if p["level"] == level["label"]]

    def peak(key: str) -> float | None:
        seen = [v for p in points for v in p[key].values() if v is not None]
        return max(seen) if seen else None

    answers = [p["desired_replicas"] for p in points if p["desired_replicas"] is not None]
    return {"level": level["label"], "concurrency": level.get("concurrency"),
            "slo_met": level["summary"].get("slo_met"), "samples": len(points),
            "queue_max": peak("queue"), "in_flight_max": peak("in_flight"),
            "desired_max": max(answers) if answers else None,
            "desired_min": min(answers) if answers else None,
            "gaps": sum(1 for p in points if p["desired_replicas"] is None)}


def slo_check(verdict: dict[str, Any], per_level: list[dict[str, Any]], min_replicas: int) -> dict[str, Any]:
    """Whether the target did what it is for: min replicas at every level that met the SLOs, more at every level
    that missed them. Levels without an SLO verdict or without data are not judged."""
    judged = [lv for lv in per_level if lv["desired_max"] is not None and lv["slo_met"] is not None]
    wrong = [lv["level"] for lv in judged if (lv["desired_max"] > min_replicas) == bool(lv["slo_met"])]
    verdict = dict(verdict, target_matches_slo=not wrong if judged else None, mismatched_levels=wrong)
    if wrong:
        verdict["message"] += (f" The target does not match the SLOs at level(s) {', '.join(wrong)}: it scaled where "
                               f"they held or held where they were missed.")
        blind = [lv["level"] for lv in judged if lv["level"] in wrong and not lv["slo_met"] and not lv.get("queue_max")]
        if blind:
            verdict["message"] += (f" Nothing waited at {', '.join(blind)} though the SLOs were missed: the server "
                                   f"runs more requests at once than meet them, which no queue-depth target can see; "
                                   f"cap its slots (llama.cpp --parallel, vLLM --max-num-seqs) at the concurrency that "
                                   f"met them.")
    elif judged:
        verdict["message"] += " The target matches the SLOs: min replicas where they held, more where they were missed."
    return verdict


def plot_scaling(scaling: dict[str, Any], path: str) -> str:
    """Queue depth and in-flight per pod and the HPA's replicas over time, levels shaded; returns path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = scaling["timeline"]
    ts = [p["t_s"] for p in timeline]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    for key, label in (("queue", "queue depth"), ("in_flight", "in flight")):
        for pod in sorted({pod for p in timeline for pod in p[key]}):
            # None stays a gap in the line, never a zero
            top.plot(ts, [math.nan if p[key].get(pod) is None else p[key][pod] for p in timeline],
                     label=f"{label} {pod}")
    top.set_ylabel("requests per pod")
    top.legend(fontsize="small")
    bottom.step(ts, [math.nan if p["desired_replicas"] is None else p["desired_replicas"] for p in timeline],
                where="post", label="HPA desired replicas")
    bottom.set_ylabel("replicas")
    bottom.set_xlabel("seconds since the first level started")
    start = scaling["start_unix"]
    for axis in (top, bottom):
        shade = False
        for level in scaling["levels"]:
            if shade:
                axis.axvspan(level["start_unix"] - start, level["end_unix"] - start, color="0.92")
            shade = not shade
    for level in scaling["levels"]:
        top.annotate(level["label"], ((level["start_unix"] + level["end_unix"]) / 2 - start, 1.0),
                     xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
