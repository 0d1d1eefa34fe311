"""The dashboards provisioned as code are valid Grafana dashboard JSON wired to provisioned datasources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart_mirror import repo_url_vars
from k8s_support import render_playbook
from observe_support import all_panels, chart_values, dashboards, manifests, rendered

pytestmark = pytest.mark.slow
VARIANTS = ["adapter", "keda"]
# Dashboard JSON schema versions of Grafana 10/11 (the pinned chart runs Grafana 11.2).
SCHEMA_VERSIONS = range(36, 40)


def _provisioned_datasources(variant: str) -> dict[str, str]:
    values = chart_values(rendered(variant))["grafana"]
    return {d["uid"]: d["type"] for d in values["datasources"]["datasources.yaml"]["datasources"]}


def _overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    horizontal = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
    return horizontal and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_both_dashboards_are_provisioned(variant: str) -> None:
    found = dashboards(rendered(variant))
    assert set(found) == {"llm-serving.json", "llm-cost.json"}
    assert len({d["uid"] for d in found.values()}) == 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_dashboards_are_valid_grafana_json(variant: str) -> None:
    datasources = _provisioned_datasources(variant)
    problems: list[str] = []
    for name, dashboard in dashboards(rendered(variant)).items():
        for key in ("uid", "title", "panels", "templating", "time"):
            if key not in dashboard:
                problems.append(f"{name}: no {key}")
        if dashboard.get("schemaVersion") not in SCHEMA_VERSIONS:
            problems.append(f"{name}: schemaVersion {dashboard.get('schemaVersion')}")
        panels = list(all_panels(dashboard))
        ids = [panel.get("id") for panel in panels]
        if len(set(ids)) != len(ids) or not all(isinstance(i, int) for i in ids):
            problems.append(f"{name}: panel ids not unique integers: {ids}")
        for panel in panels:
            problems += _panel_problems(name, panel, datasources)
        boxes = [(p["title"], p["gridPos"]) for p in panels if "gridPos" in p]
        for i, (title_a, box_a) in enumerate(boxes):
            problems += [f"{name}: panels {title_a!r} and {title_b!r} overlap"
                         for title_b, box_b in boxes[i + 1:] if _overlaps(box_a, box_b)]
        for variable in dashboard["templating"]["list"]:
            source = variable.get("datasource")
            if source and source["uid"] not in datasources:
                problems.append(f"{name}: variable {variable['name']} uses unprovisioned datasource {source['uid']}")
    assert not problems, "\n".join(problems)


def _panel_problems(name: str, panel: dict[str, Any], datasources: dict[str, str]) -> list[str]:
    where = f"{name} panel {panel.get('id')} {panel.get('title')!r}"
    problems = []
    grid = panel.get("gridPos", {})
    if set(grid) != {"h", "w", "x", "y"} or not all(isinstance(v, int) for v in grid.values()):
        problems.append(f"{where}: bad gridPos {grid}")
    elif grid["x"] + grid["w"] > 24:
        problems.append(f"{where}: wider than the 24-column grid")
    if panel.get("type") == "row":
        return problems
    source = panel.get("datasource", {})
    if datasources.get(source.get("uid")) != source.get("type"):
        problems.append(f"{where}: datasource {source} is not provisioned")
    targets = panel.get("targets", [])
    if not targets:
        problems.append(f"{where}: no targets")
    ref_ids = [t.get("refId") for t in targets]
    if len(set(ref_ids)) != len(ref_ids) or None in ref_ids:
        problems.append(f"{where}: refIds {ref_ids}")
    for target in targets:
        if target.get("datasource") != source:
            problems.append(f"{where}: target {target.get('refId')} uses another datasource")
        if source.get("type") == "prometheus" and not target.get("expr"):
            problems.append(f"{where}: target {target.get('refId')} has no expr")
        if source.get("type") == "oci-metrics-datasource" and not (target.get("queryText") and target.get("rawQuery")):
            problems.append(f"{where}: target {target.get('refId')} has no raw MQL query")
    return problems


def test_serving_dashboard_covers_the_issue_panels() -> None:
    serving = dashboards(rendered("adapter"))["llm-serving.json"]
    expressions = " ".join(t.get("expr", t.get("queryText", "")) for p in all_panels(serving)
                           for t in p.get("targets", []))
    for needle in ("vllm:time_to_first_token_seconds_bucket", "vllm:inter_token_latency_seconds_bucket",
                   "vllm:generation_tokens_total", "vllm:num_requests_running", "vllm:num_requests_waiting",
                   "vllm:kv_cache_usage_perc", "llamacpp:tokens_predicted_total", "llamacpp:requests_processing",
                   "kube_horizontalpodautoscaler_status_desired_replicas", "kube_deployment_status_replicas_available",
                   "HttpRequests", 'httpStatusCode = "429"', 'httpStatusCode =~ "5*"', "Latency[1m]"):
        assert needle in expressions, needle


def test_cost_per_million_tokens_joins_cost_with_token_counters() -> None:
    cost = dashboards(rendered("adapter"))["llm-cost.json"]
    panel = next(p for p in cost["panels"] if p["title"].startswith("Cost per million output tokens"))
    expr = panel["targets"][0]["expr"]
    for needle in ("container_cpu_allocation", "node_cpu_hourly_cost", "container_gpu_allocation",
                   "node_gpu_hourly_cost", "vllm:generation_tokens_total", "llamacpp:tokens_predicted_total",
                   "1000000", "3600"):
        assert needle in expr, needle
    titles = {p["title"] for p in cost["panels"]}
    assert {"Hourly cost by namespace", "Hourly cost by deployment", "Hourly cost by node shape (node pool)"} <= titles


def test_oci_panels_drop_out_when_the_oci_datasource_is_off(tmp_path: Path) -> None:
    render_playbook("playbooks/observe.yml", tmp_path, inventory="inventories/oke",
                    extra_vars={**repo_url_vars(), "grafana_oci_enabled": False}, timeout=900)
    serving = dashboards(tmp_path)["llm-serving.json"]
    assert all(p.get("datasource", {}).get("type") != "oci-metrics-datasource" for p in all_panels(serving))
    values = chart_values(tmp_path)["grafana"]
    assert "plugins" not in values
    assert [d["type"] for d in values["datasources"]["datasources.yaml"]["datasources"]] == ["prometheus"]
    assert manifests(tmp_path)
