# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pinned upstream charts through Helm's own engine: pull by version, cache by digest, check values, render.

Everything here calls Helm v4's Go SDK through ``helm-python-sdk`` (no ``helm`` binary, no re-implementation):
the repository index, the pull, the archive digest, value coalescing, ``values.schema.json`` validation and
template rendering are Helm's. What this file adds is the policy around them:

- a chart is always asked for by (repository URL, name, exact version) and verified against the digest the
  repository's ``index.yaml`` publishes before it is used;
- archives are cached by that digest under ``$LLMOPS_CACHE/charts`` (default ``~/.cache/llmops-oke``), with a
  small reference file per (repository, chart, version) so a second render needs no repository at all;
- values are checked before rendering: against the chart's schema (Helm's validator), and for keys the chart
  does not have at all (charts without a schema silently ignore a misspelt key);
- rendering always names the Kubernetes version and the API versions the cluster serves, as
  ``helm template --kube-version --api-versions`` does: templates that probe ``.Capabilities`` (for example
  prometheus-adapter's APIService) would otherwise fall back to API versions no current cluster serves.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from ..bench.fileio import cache_root

try:
    import yaml
except ImportError:  # PyYAML ships with ansible-core on the controller; ansible-test's import sanity runs bare
    yaml = None

try:
    import helm_python
    from helm_python import _native as helm_native

    HAS_HELM = True
    HELM_IMPORT_ERROR = None
except ImportError as error:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_HELM = False
    HELM_IMPORT_ERROR = error

# Template outputs that are not Kubernetes objects (helm template skips them too).
_NON_MANIFEST = re.compile(r"(^|/)(NOTES\.txt|_[^/]*)$")
_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")


class ChartError(Exception):
    """A chart could not be pulled, verified, checked or rendered; the message names chart and cause."""


def _label(repo_url: str, chart: str, version: str) -> str:
    return f"chart {chart} {version} from {repo_url}"


def _reference_file(root: Path, repo_url: str, chart: str, version: str) -> Path:
    repo_key = hashlib.sha256(repo_url.rstrip("/").encode()).hexdigest()[:16]
    return root / "charts" / "refs" / repo_key / f"{chart}-{version}.json"


def _blob_path(root: Path, digest: str, chart: str, version: str) -> Path:
    return root / "charts" / "sha256" / digest / f"{chart}-{version}.tgz"


def archive_digest(archive: Path) -> str:
    """Helm's digest of a chart archive, as hex (what ``index.yaml`` carries per entry)."""
    return helm_python.digest(archive).removeprefix("sha256:")


def index_entry(repo_url: str, chart: str, version: str) -> dict[str, Any]:
    """The repository index's entry of one chart version (Helm downloads and parses the index)."""
    try:
        index = helm_python.repo_index(repo_url)
    except helm_python.HelmError as error:
        raise ChartError(f"{_label(repo_url, chart, version)}: cannot read the repository index: {error}") from None
    entries = index.get("entries", {}).get(chart)
    if not entries:
        raise ChartError(f"{_label(repo_url, chart, version)}: the repository has no chart named {chart}")
    for entry in entries:
        if str(entry.get("version")) == version:
            if not entry.get("digest"):
                raise ChartError(f"{_label(repo_url, chart, version)}: the index publishes no digest to verify")
            return entry
    offered = ", ".join(str(e.get("version")) for e in entries[:10])
    raise ChartError(f"{_label(repo_url, chart, version)}: version {version} is not in the repository "
                     f"(it offers {offered})")


def pull_chart(repo_url: str, chart: str, version: str, root: Path | None = None) -> dict[str, Any]:
    """Path and digest of the pinned chart archive: from the cache when verified, else pulled through Helm.

    Returns ``{"path", "digest", "cached"}``; raises ChartError when the archive does not match its index digest.
    """
    if not _VERSION.match(version):
        raise ChartError(f"{_label(repo_url, chart, version)}: the version must be pinned exactly (x.y.z)")
    root = root or Path(cache_root())
    reference = _reference_file(root, repo_url, chart, version)
    if reference.is_file():
        digest = json.loads(reference.read_text())["digest"]
        blob = _blob_path(root, digest, chart, version)
        if blob.is_file() and archive_digest(blob) == digest:
            return {"path": str(blob), "digest": digest, "cached": True}
    digest = index_entry(repo_url, chart, version)["digest"]
    blob = _blob_path(root, digest, chart, version)
    blob.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=blob.parent) as download:
        try:
            helm_python.pull(chart, repo_url=repo_url, version=version, destination=download)
        except helm_python.HelmError as error:
            raise ChartError(f"{_label(repo_url, chart, version)}: pull failed: {error}") from None
        pulled = Path(download) / f"{chart}-{version}.tgz"
        if not pulled.is_file():
            raise ChartError(f"{_label(repo_url, chart, version)}: Helm pulled no {pulled.name}")
        found = archive_digest(pulled)
        if found != digest:
            raise ChartError(f"{_label(repo_url, chart, version)}: digest mismatch: the index publishes sha256:"
                             f"{digest}, the archive is sha256:{found}")
        os.replace(pulled, blob)
    reference.parent.mkdir(parents=True, exist_ok=True)
    reference.write_text(json.dumps({"repo_url": repo_url, "chart": chart, "version": version, "digest": digest}))
    return {"path": str(blob), "digest": digest, "cached": False}


def unknown_value_paths(values: Any, defaults: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    """Paths of ``values`` that the chart's coalesced defaults do not have.

    A key is known when the defaults have it; below a default that is not a map, or an empty map (free-form:
    ``resources: {}``, ``datasources: {}``), anything goes, as the chart takes it whole.
    """
    if not isinstance(values, dict) or not isinstance(defaults, dict) or not defaults:
        return []
    unknown = []
    for key, value in values.items():
        path = (*prefix, str(key))
        if key not in defaults:
            unknown.append("/".join(path))
        else:
            unknown += unknown_value_paths(value, defaults[key], path)
    return unknown


def split_documents(manifests: dict[str, str]) -> list[tuple[str, str]]:
    """(template path, YAML document) for each non-empty object Helm rendered, in template order."""
    documents = []
    for template in sorted(manifests):
        if _NON_MANIFEST.search(template):
            continue
        for document in re.split(r"^---\s*$", manifests[template], flags=re.MULTILINE):
            body = "\n".join(line for line in document.strip("\n").splitlines()
                             if line.strip() and not line.lstrip().startswith("#"))
            if body:
                documents.append((template, document.strip("\n")))
    return documents


def render_chart(archive: str, *, chart: str, version: str, release_name: str, namespace: str,
                 values: dict[str, Any], kube_version: str, api_versions: list[str],
                 allowed_unknown: list[str] | None = None, include_crds: bool = True) -> dict[str, Any]:
    """Check ``values`` and render the chart as ``helm template`` would apply it.

    Returns ``{"manifest": text, "objects": [{"kind", "name", "template"}], "schema": bool}``; raises ChartError
    naming the chart when the archive is not the pinned chart, a value key is unknown or the schema rejects a value.
    """
    label = f"chart {chart} {version} (release {release_name})"
    if not _VERSION.match(kube_version):
        raise ChartError(f"{label}: kube_version must look like v1.33.0, not {kube_version!r}")
    try:
        loaded = helm_python.Chart.load(archive)
    except helm_python.HelmError as error:
        raise ChartError(f"{label}: cannot load {archive}: {error}") from None
    with loaded:
        if (loaded.name, loaded.version) != (chart, version):
            raise ChartError(f"{label}: the archive holds chart {loaded.name} {loaded.version}, not the pin")
        unknown = [path for path in unknown_value_paths(values, loaded.merge_values({}))
                   if not any(path == a or path.startswith(a + "/") for a in allowed_unknown or [])]
        if unknown:
            raise ChartError(f"{label}: values set keys the chart does not have: {', '.join(unknown)}")
        has_schema = loaded.schema is not None
        try:
            loaded.validate_schema(values)
        except helm_python.HelmError as error:
            raise ChartError(f"{label}: values.schema.json rejects the values: {error}") from None
        options = {"name": release_name, "namespace": namespace, "is_install": True,
                   "kube_version": kube_version if kube_version.startswith("v") else f"v{kube_version}",
                   "api_versions": list(api_versions)}
        try:
            # Chart.render() does not pass kube_version/api_versions on; the library's render call takes them
            # (helm-c-sdk's render options: name, namespace, revision, is_install, is_upgrade, kube_version,
            # api_versions) exactly as `helm template --kube-version --api-versions` sets .Capabilities.
            rendered = json.loads(helm_native.call_string("helm_render", loaded._raw(), json.dumps(values),
                                                          json.dumps(options)))
        except helm_python.HelmError as error:
            raise ChartError(f"{label}: Helm could not render it: {error}") from None
        crds = loaded.crds if include_crds else []
    documents = [(crd["filename"], crd["data"].strip("\n")) for crd in crds]
    documents += split_documents(rendered)
    objects = []
    parts = []
    for template, text in documents:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ChartError(f"{label}: {template} rendered invalid YAML: {error}") from None
        if not isinstance(document, dict) or not document.get("kind"):
            raise ChartError(f"{label}: {template} rendered something that is not a Kubernetes object")
        parts.append(f"# Source: {template}\n{text}")
        objects.append({"kind": document["kind"], "name": document.get("metadata", {}).get("name", ""),
                        "template": template})
    return {"manifest": "---\n" + "\n---\n".join(parts) + "\n" if parts else "", "objects": objects,
            "schema": has_schema}
