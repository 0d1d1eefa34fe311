"""hack/pins.py: every chart pin found, current as of the chart mirror, and a newer release reported as behind."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import yaml
from chart_mirror import MIRROR, REPO_ROOT, mirror_url, serve

sys.path.insert(0, str(REPO_ROOT / "hack"))
import pins  # hack/ is not a package


def _run(capsys, *argv: str) -> tuple[int, list[dict]]:
    code = pins.main([*argv, "--offline", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_every_chart_release_of_the_roles_has_a_pin_row() -> None:
    found = {(pin["role"], pin["chart"]) for pin in pins.chart_pins()}
    assert found == {("monitoring", "prometheus"), ("autoscaling", "prometheus-adapter"), ("autoscaling", "keda"),
                     ("grafana", "grafana"), ("opencost", "opencost")}
    tasks = REPO_ROOT.glob("roles/*/tasks/*.yml")
    calls = sum(path.read_text().count("name: llmops.oke.helm_release") for path in tasks)
    assert calls == len(found)


def test_every_chart_pin_is_current_as_of_the_mirror(capsys) -> None:
    code, rows = _run(capsys, "--chart-repo", mirror_url(), "--check")
    charts = [row for row in rows if row["kind"] == "chart"]
    assert code == 0, charts
    assert all(row["behind"] == 0 and row["newest"] == row["version"] and not row["note"] for row in charts), charts
    grafana = next(row for row in charts if row["chart"] == "grafana")
    assert grafana["repo_url"] == "https://grafana-community.github.io/helm-charts"


def test_a_newer_release_in_the_repository_is_reported_behind(tmp_path: Path, capsys) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    index = yaml.safe_load((mirror / "index.yaml").read_text())
    newer = {**index["entries"]["keda"][0], "version": "2.21.0"}
    index["entries"]["keda"].insert(0, newer)
    (mirror / "index.yaml").write_text(yaml.safe_dump(index))
    url, server = serve(mirror)
    try:
        code, rows = _run(capsys, "--chart-repo", url, "--check")
    finally:
        server.shutdown()
        server.server_close()
    keda = next(row for row in rows if row["kind"] == "chart" and row["chart"] == "keda")
    assert (code, keda["newest"], keda["behind"]) == (1, "2.21.0", 1)
