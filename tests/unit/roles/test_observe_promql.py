"""Every PromQL expression the observe stage ships parses with promtool and names only metrics real exporters emit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from observe_support import (
    PROMTOOL,
    chart_values,
    dashboards,
    known_metrics,
    metric_names,
    promql_expressions,
    promtool_check_rules,
    rendered,
    unparsable_expressions,
)

pytestmark = pytest.mark.slow
VARIANTS = ["adapter", "keda"]


def _allowed_metrics() -> set[str]:
    return {name for group in known_metrics().values() for name in group["metrics"]}


def test_promtool_is_installed() -> None:
    assert Path(PROMTOOL).exists(), "promtool missing: run hack/system-deps.sh (Debian package prometheus)"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_expression_parses_with_promtool(variant: str, tmp_path: Path) -> None:
    expressions = promql_expressions(rendered(variant))
    origins = " ".join(origin for origin, _expression in expressions)
    # All four kinds are collected (else the check would pass on nothing).
    for kind in ("prometheus recording_rules.yml", "alerting_rules.yml", "llm-serving.json", "llm-cost.json"):
        assert kind in origins
    assert ("adapter metricsQuery" if variant == "adapter" else "keda ") in origins
    assert unparsable_expressions(expressions, tmp_path) == []


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    broken = [("broken", "sum by (pod (rate(vllm:generation_tokens_total[1m]))")]
    assert len(unparsable_expressions(broken, tmp_path)) == 1


def test_the_shipped_rule_files_pass_promtool(tmp_path: Path) -> None:
    server_files = chart_values(rendered("adapter"))["prometheus"]["serverFiles"]
    for name in ("recording_rules.yml", "alerting_rules.yml"):
        result = promtool_check_rules(server_files[name]["groups"], tmp_path)
        assert result.returncode == 0, f"{name}: {result.stdout} {result.stderr}"


def test_the_scrape_jobs_pass_promtool_check_config(tmp_path: Path) -> None:
    values = chart_values(rendered("adapter"))["prometheus"]
    jobs = yaml.safe_load(values["extraScrapeConfigs"])
    assert {job["job_name"] for job in jobs} == {"llm-model-servers", "opencost"}
    model_job = next(job for job in jobs if job["job_name"] == "llm-model-servers")
    # Debian's promtool is built without Kubernetes discovery: check that block by structure, the rest with promtool.
    (discovery,) = model_job.pop("kubernetes_sd_configs")
    assert discovery["role"] == "pod" and discovery["namespaces"]["names"] == ["llmops"]
    assert set(discovery) == {"role", "namespaces"}
    model_job["static_configs"] = [{"targets": ["vllm-0.llmops.svc:8000"]}]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": values["server"]["global"], "scrape_configs": jobs}))
    result = subprocess.run([PROMTOOL, "check", "config", str(config)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # The adapter maps series to pods through these two labels.
    targets = {rule.get("target_label") for rule in model_job["relabel_configs"]}
    assert {"namespace", "pod", "backend"} <= targets


@pytest.mark.parametrize("variant", VARIANTS)
def test_expressions_name_only_known_metrics(variant: str) -> None:
    allowed = _allowed_metrics()
    unknown = []
    for origin, expression in promql_expressions(rendered(variant)):
        names = metric_names(expression)
        assert names, f"{origin}: no metric found in {expression!r}"
        unknown += [f"{origin}: {name}" for name in sorted(names - allowed)]
    assert not unknown, "metrics not in tests/data/known_metrics.yml:\n" + "\n".join(unknown)


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_removed_vllm_metric_is_used(variant: str) -> None:
    removed = {name for group in known_metrics().values() for name in group.get("removed", [])}
    used = {name for _origin, expression in promql_expressions(rendered(variant)) for name in metric_names(expression)}
    assert used & removed == set()
    assert "vllm:kv_cache_usage_perc" in used and "vllm:inter_token_latency_seconds_bucket" in used


def test_metric_name_extraction() -> None:
    expression = ('histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket'
                  '{namespace=~"$namespace",model_name!=""}[5m]))) + on (node) group_left () node_cpu_hourly_cost'
                  ' * 1073741824 or vector(0) and up{job="x"} > 0.5')
    assert metric_names(expression) == {"vllm:time_to_first_token_seconds_bucket", "node_cpu_hourly_cost", "up"}


def test_oci_panels_name_only_known_api_gateway_metrics() -> None:
    allowed = set(known_metrics()["oci_apigateway"]["metrics"])
    targets = [target for dashboard in dashboards(rendered("keda")).values() for panel in dashboard["panels"]
               for target in panel.get("targets", []) if target.get("namespace") == "oci_apigateway"]
    assert targets
    for target in targets:
        assert target["metric"] in allowed
        assert target["queryText"].startswith(target["metric"] + "[1m]")
        # The gateway filter of the variant is applied to every query.
        assert 'resourceId = "ocid1.apigateway.oc1.iad.example"' in target["queryText"]
