"""Shared helpers of the observe-stage tests: render once, collect PromQL, run promtool, read the known lists.

The observe stage (playbooks/observe.yml) is rendered offline with ``llmops_render_dir``; every test module reads
the same rendered trees through ``rendered()``, so each variant renders once per test session.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from chart_mirror import repo_url_vars
from k8s_support import REPO_ROOT, render_playbook

DATA_DIR = REPO_ROOT / "tests" / "data"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
# The two variants cover every template branch: adapter + instance principal, keda + user principal.
VARIANTS: dict[str, dict[str, Any]] = {
    "adapter": {},
    "keda": {
        "autoscaling_mode": "keda",
        "autoscaling_llama_cpp_metric": "requests_processing",
        "grafana_oci_auth": "user_principal",
        "grafana_admin_secret": "grafana-admin",
        "grafana_oci_apigateway_ocid": "ocid1.apigateway.oc1.iad.example",
        "grafana_oci_compartment_ocid": "ocid1.compartment.oc1..example",
        "monitoring_alert_receiver_url": "https://alerts.example/llmops",
    },
}
_RENDERED: dict[str, Path] = {}
_WORKDIR = Path(tempfile.mkdtemp(prefix="llmops-observe-"))
atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)


def rendered(variant: str = "adapter") -> Path:
    """The render directory of playbooks/observe.yml for the oke inventory and a variant (rendered on first use)."""
    if variant not in _RENDERED:
        target = _WORKDIR / variant
        # Charts are pulled through Helm from the local chart repository served on 127.0.0.1.
        render_playbook("playbooks/observe.yml", target, inventory="inventories/oke",
                        extra_vars={**repo_url_vars(), **VARIANTS[variant]})
        _RENDERED[variant] = target
    return _RENDERED[variant]


def manifests(render_dir: Path) -> list[dict[str, Any]]:
    """The Kubernetes objects of the render directory (the helm/ folder holds chart values, not objects)."""
    documents: list[dict[str, Any]] = []
    for file in sorted(render_dir.glob("*.yaml")):
        documents.extend(doc for doc in yaml.safe_load_all(file.read_text()) if doc)
    return documents


def chart_values(render_dir: Path) -> dict[str, dict[str, Any]]:
    """Release name -> rendered values."""
    return {path.name.removesuffix(".values.yaml"): yaml.safe_load(path.read_text())
            for path in sorted((render_dir / "helm").glob("*.values.yaml"))}


def chart_references(render_dir: Path) -> dict[str, dict[str, Any]]:
    """Release name -> chart reference (repo, chart, version, namespace)."""
    return {path.name.removesuffix(".chart.yaml"): yaml.safe_load(path.read_text())
            for path in sorted((render_dir / "helm").glob("*.chart.yaml"))}


def dashboards(render_dir: Path) -> dict[str, dict[str, Any]]:
    """Dashboard file name -> parsed dashboard JSON, from every ConfigMap carrying the sidecar label."""
    found = {}
    for document in manifests(render_dir):
        if document["kind"] == "ConfigMap" and document["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for key, text in document["data"].items():
                found[key] = json.loads(text)
    return found


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


# prometheus-adapter's metricsQuery placeholders, replaced by what the adapter sends for one pod set.
ADAPTER_PLACEHOLDERS = {"<<.Series>>": None, "<<.LabelMatchers>>": 'namespace="llmops",pod=~"vllm-a|vllm-b"',
                        "<<.GroupBy>>": "pod"}


def _adapter_query(template: str, series: str) -> str:
    query = template
    for placeholder, value in ADAPTER_PLACEHOLDERS.items():
        query = query.replace(placeholder, series if value is None else value)
    return query


def _label_values_selector(query: str) -> str:
    match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query.strip())
    assert match, f"unexpected variable query {query!r}"
    return match.group(1)


def promql_expressions(render_dir: Path) -> list[tuple[str, str]]:
    """(origin, expression) for every PromQL expression the stage ships: rules, adapter, KEDA, dashboards."""
    expressions: list[tuple[str, str]] = []
    values = chart_values(render_dir)
    for file_name in ("recording_rules.yml", "alerting_rules.yml"):
        for group in values["prometheus"]["serverFiles"][file_name]["groups"]:
            for rule in group["rules"]:
                name = rule.get("record") or rule.get("alert")
                expressions.append((f"prometheus {file_name} {name}", rule["expr"]))
    for rule in values.get("prometheus-adapter", {}).get("rules", {}).get("custom", []):
        series = rule["name"]["matches"].strip("^$")
        expressions.append((f"adapter seriesQuery {series}", rule["seriesQuery"]))
        expressions.append((f"adapter metricsQuery {series}", _adapter_query(rule["metricsQuery"], series)))
    for document in manifests(render_dir):
        if document["kind"] == "ScaledObject":
            for trigger in document["spec"]["triggers"]:
                expressions.append((f"keda {document['metadata']['name']}", trigger["metadata"]["query"]))
    for file_name, dashboard in dashboards(render_dir).items():
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") == "query":
                expressions.append((f"{file_name} variable {variable['name']}",
                                    _label_values_selector(variable["query"]["query"])))
        for panel in all_panels(dashboard):
            for target in panel.get("targets", []):
                if "expr" in target:
                    expressions.append((f"{file_name} panel {panel['title']!r} {target['refId']}", target["expr"]))
    return expressions


def promtool_check_rules(groups: list[dict[str, Any]], workdir: Path) -> subprocess.CompletedProcess[str]:
    rules_file = workdir / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return subprocess.run([PROMTOOL, "check", "rules", str(rules_file)], capture_output=True, text=True,
                          timeout=120, check=False)


def unparsable_expressions(expressions: list[tuple[str, str]], workdir: Path) -> list[str]:
    """Expressions promtool rejects, each with promtool's message (one batch, then one by one on failure)."""
    def as_group(items: list[tuple[str, str]]) -> dict[str, Any]:
        return {"name": "llmops-check", "rules": [{"record": f"llmops_check:expr_{i}", "expr": expr}
                                                  for i, (_origin, expr) in enumerate(items)]}

    if promtool_check_rules([as_group(expressions)], workdir).returncode == 0:
        return []
    failures = []
    for origin, expr in expressions:
        result = promtool_check_rules([as_group([(origin, expr)])], workdir)
        if result.returncode != 0:
            failures.append(f"{origin}: {expr}\n  {result.stdout.strip()} {result.stderr.strip()}")
    return failures


# PromQL words that are not metric names: aggregation operators, set/grouping keywords, literals.
PROMQL_KEYWORDS = {
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "inf", "nan", "Inf", "NaN",
}


def metric_names(expression: str) -> set[str]:
    """Metric names a PromQL expression selects (promtool has already parsed it; this only tokenises)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, is_call = match.group(1), match.group(2)
        if not is_call and name not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def known_metrics() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((DATA_DIR / "known_metrics.yml").read_text())
