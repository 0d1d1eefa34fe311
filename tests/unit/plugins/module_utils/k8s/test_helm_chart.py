"""Pinned charts through Helm's engine: pulled from a repository on 127.0.0.1, verified by digest, checked, rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from chart_mirror import MIRROR, mirror_url, serve

from ansible_collections.llmops.oke.plugins.module_utils.k8s.helm_chart import (
    ChartError,
    pull_chart,
    render_chart,
    unknown_value_paths,
)

ADAPTER = ("prometheus-adapter", "5.3.0")


def _render(archive: str, values: dict, api_versions: tuple[str, ...] = ("apiregistration.k8s.io/v1",)) -> dict:
    return render_chart(archive, chart=ADAPTER[0], version=ADAPTER[1], release_name="pa", namespace="monitoring",
                        values=values, kube_version="v1.33.0", api_versions=list(api_versions))


def test_pull_verifies_the_digest_the_index_publishes_and_caches_by_it(tmp_path: Path) -> None:
    pulled = pull_chart(mirror_url(), *ADAPTER, root=tmp_path)
    assert not pulled["cached"]
    assert pulled["digest"] in (MIRROR / "SHA256SUMS").read_text()
    assert pulled["digest"] in Path(pulled["path"]).parts
    again = pull_chart(mirror_url(), *ADAPTER, root=tmp_path)
    assert again == {**pulled, "cached": True}


def test_a_cached_archive_needs_no_repository(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    url, server = serve(mirror)
    pulled = pull_chart(url, *ADAPTER, root=tmp_path / "cache")
    server.shutdown()
    server.server_close()
    assert pull_chart(url, *ADAPTER, root=tmp_path / "cache")["path"] == pulled["path"]


def test_an_archive_that_does_not_match_its_digest_is_refused(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    # Another chart's archive under the pinned name: the index's digest no longer matches what is served.
    shutil.copy(mirror / "keda-2.20.2.tgz", mirror / "prometheus-adapter-5.3.0.tgz")
    url, server = serve(mirror)
    try:
        with pytest.raises(ChartError, match="digest mismatch"):
            pull_chart(url, *ADAPTER, root=tmp_path / "cache")
    finally:
        server.shutdown()
        server.server_close()
    assert not list((tmp_path / "cache").rglob("*.tgz"))


def test_a_version_the_repository_lacks_names_what_it_offers(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match=r"version 5\.2\.9 is not in the repository \(it offers 5\.3\.0\)"):
        pull_chart(mirror_url(), "prometheus-adapter", "5.2.9", root=tmp_path)
    with pytest.raises(ChartError, match="pinned exactly"):
        pull_chart(mirror_url(), "prometheus-adapter", "~5.3", root=tmp_path)


def test_render_sees_the_kubernetes_api_versions(tmp_path: Path) -> None:
    archive = pull_chart(mirror_url(), *ADAPTER, root=tmp_path)["path"]

    def apiservice_version(api_versions: tuple[str, ...]) -> str:
        rendered = _render(archive, {}, api_versions)
        return next(line for line in rendered["manifest"].splitlines() if line.startswith("apiVersion: apiregistr"))

    assert apiservice_version(()) == "apiVersion: apiregistration.k8s.io/v1beta1"
    assert apiservice_version(("apiregistration.k8s.io/v1",)) == "apiVersion: apiregistration.k8s.io/v1"


def test_a_key_the_chart_does_not_have_is_named(tmp_path: Path) -> None:
    archive = pull_chart(mirror_url(), *ADAPTER, root=tmp_path)["path"]
    with pytest.raises(ChartError, match=r"keys the chart does not have: prometheus/urll$"):
        _render(archive, {"prometheus": {"urll": "http://prometheus"}})
    rendered = _render(archive, {"prometheus": {"url": "http://prometheus.monitoring.svc"}})
    assert "--prometheus-url=http://prometheus.monitoring.svc" in rendered["manifest"]


def test_the_chart_schema_rejects_a_wrong_value(tmp_path: Path) -> None:
    archive = pull_chart(mirror_url(), "prometheus", "29.27.0", root=tmp_path)["path"]
    options = dict(chart="prometheus", version="29.27.0", release_name="prometheus", namespace="monitoring",
                   kube_version="v1.33.0", api_versions=[])
    with pytest.raises(ChartError, match=r"values\.schema\.json rejects"):
        render_chart(archive, values={"alertmanager": {"enabled": "no"}}, **options)
    assert render_chart(archive, values={"alertmanager": {"enabled": False}}, **options)["schema"] is True


def test_an_archive_of_another_chart_is_not_the_pin(tmp_path: Path) -> None:
    archive = pull_chart(mirror_url(), "keda", "2.20.2", root=tmp_path)["path"]
    with pytest.raises(ChartError, match=r"holds chart keda 2\.20\.2, not the pin"):
        _render(archive, {})


def test_unknown_paths_stop_at_free_form_maps() -> None:
    defaults = {"resources": {}, "server": {"retention": "15d", "extraFlags": ["a"]}, "rules": {"custom": []}}
    values = {"resources": {"limits": {"cpu": 1}}, "server": {"retention": "7d", "retentionn": "1"},
              "rules": {"custom": [{"x": 1}]}, "other": 1}
    assert unknown_value_paths(values, defaults) == ["server/retentionn", "other"]
