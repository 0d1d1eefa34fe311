"""llmops.oke.helm_release in render mode: Helm's engine refuses a wrong value key or a wrong chart version."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chart_mirror import mirror_url, repo_url_vars
from k8s_support import load_documents, render_playbook


def _release_playbook(tmp_path: Path, values: str) -> str:
    template = tmp_path / "prometheus.values.yaml.j2"
    template.write_text(values)
    playbook = tmp_path / "release.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "One chart release", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"name": "Render Prometheus", "ansible.builtin.include_role": {"name": "llmops.oke.helm_release"},
                   "vars": {"helm_release_name": "prometheus", "helm_release_namespace": "monitoring",
                            "helm_release_repo_url": mirror_url(), "helm_release_chart": "prometheus",
                            "helm_release_chart_version": "29.27.0",
                            "helm_release_values_template": str(template)}}]}]))
    return str(playbook)


def test_a_values_key_the_chart_does_not_have_fails_naming_it(tmp_path: Path) -> None:
    playbook = _release_playbook(tmp_path, "server:\n  retentionn: 7d\n")
    with pytest.raises(AssertionError, match=r"values set keys the chart does not have: server/retentionn"):
        render_playbook(playbook, tmp_path / "out")
    assert not (tmp_path / "out" / "helm" / "prometheus.manifests.yaml").exists()


def test_rendering_writes_the_manifests_once_and_then_reports_no_change(tmp_path: Path) -> None:
    playbook = _release_playbook(tmp_path, "server:\n  retention: 7d\nalertmanager:\n  enabled: false\n")
    first = render_playbook(playbook, tmp_path / "out")
    documents = load_documents(tmp_path / "out" / "helm" / "prometheus.manifests.yaml")
    (server,) = [d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "prometheus-server"]
    args = next(c["args"] for c in server["spec"]["template"]["spec"]["containers"] if c["name"] == "prometheus-server")
    assert "--storage.tsdb.retention.time=7d" in args
    assert not [d for d in documents if "alertmanager" in d["metadata"]["name"]]
    assert "changed=0" not in first.stdout
    again = render_playbook(playbook, tmp_path / "out")
    assert "changed=0" in again.stdout.split("PLAY RECAP")[1]


def test_a_chart_version_the_repository_lacks_fails_the_observe_stage(tmp_path: Path) -> None:
    variables = {**repo_url_vars(), "grafana_chart_version": "12.11.0"}
    with pytest.raises(AssertionError, match=r"chart grafana 12\.11\.0 from http://127\.0\.0\.1:\d+: version 12\.11\.0 "
                                             r"is not in the repository \(it offers 12\.11\.1\)"):
        render_playbook("playbooks/observe.yml", tmp_path, inventory="inventories/oke",
                        extra_vars=variables)
