"""Offline checks for the Kubernetes manifests our roles render: upstream schemas and our policy.

Every role that owns Kubernetes objects is tested the same way: render with ``llmops_render_dir``
set (see ``render_playbook``), then ``validate_schema`` and ``policy_violations`` on each document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
# OKE's supported Kubernetes minor; the schemas come from the kubernetes-validate package.
KUBERNETES_VERSION = "1.33.0"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
SECRET_HINTS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL")


def load_documents(path: Path) -> list[dict[str, Any]]:
    """All non-empty YAML documents of a file, or of every *.yaml/*.yml file under a directory."""
    files = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}) if path.is_dir() else [path]
    documents: list[dict[str, Any]] = []
    for file in files:
        documents.extend(doc for doc in yaml.safe_load_all(file.read_text()) if doc)
    return documents


def validate_schema(document: dict[str, Any], version: str = KUBERNETES_VERSION) -> None:
    """Validate against the upstream schema, unknown fields rejected (raises ValidationError)."""
    kubernetes_validate.validate(document, version, strict=True)


def _pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    kind = document.get("kind")
    spec = document.get("spec", {})
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if kind in WORKLOAD_KINDS:
        return spec.get("template", {}).get("spec")
    return None


def _looks_secret(name: str) -> bool:
    upper = name.upper().replace("-", "_")
    return any(hint in upper for hint in SECRET_HINTS)


def policy_violations(document: dict[str, Any]) -> list[str]:
    """Our policy for workloads: resources, probes, non-root, no privilege escalation, no plain secrets."""
    kind = document.get("kind", "?")
    name = f"{kind}/{document.get('metadata', {}).get('name', '?')}"
    problems: list[str] = []
    if kind == "ConfigMap":
        problems += [f"{name}: key {key!r} looks like a secret in a ConfigMap"
                     for key in document.get("data", {}) if _looks_secret(key)]
        return problems
    pod = _pod_spec(document)
    if pod is None:
        return problems
    pod_non_root = pod.get("securityContext", {}).get("runAsNonRoot")
    long_running = kind not in {"Job", "CronJob"}
    containers = [(c, False) for c in pod.get("containers", [])] + [(c, True) for c in pod.get("initContainers", [])]
    for container, is_init in containers:
        where = f"{name} container {container.get('name', '?')}"
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory") if section == "requests" else ("memory",):
                if resource not in resources.get(section, {}):
                    problems.append(f"{where}: no {section}.{resource}")
        security = container.get("securityContext", {})
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if security.get("runAsNonRoot", pod_non_root) is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if long_running and not is_init:
            missing = [probe for probe in ("readinessProbe", "livenessProbe") if probe not in container]
            problems += [f"{where}: no {probe}" for probe in missing]
        for env in container.get("env", []):
            if _looks_secret(env.get("name", "")) and "value" in env:
                problems.append(f"{where}: env {env['name']} carries a literal value; use a secretKeyRef")
    return problems


def render_playbook(playbook: str, render_dir: Path, inventory: str | None = None,
                    extra_vars: dict[str, Any] | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run a playbook of this checkout in render mode (no cluster touched); fail the test on error."""
    variables = {"llmops_render_dir": str(render_dir), **(extra_vars or {})}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO_ROOT / playbook),
               "-e", json.dumps(variables)]
    if inventory:
        command += ["-i", str(REPO_ROOT / inventory)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "ANSIBLE_NOCOLOR": "1"}, check=False)
    if result.returncode != 0:
        output = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        raise AssertionError(f"{playbook} failed ({result.returncode}):\n{output}")
    return result


def assert_valid(documents: Iterable[dict[str, Any]], extra_kinds: set[str] | None = None) -> None:
    """Schema-validate every document (custom resources listed in extra_kinds are checked by their own tests)."""
    documents = list(documents)
    assert documents, "nothing was rendered"
    errors = []
    for document in documents:
        if document.get("kind") in (extra_kinds or set()):
            continue
        try:
            validate_schema(document)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            errors.append(f"{document.get('kind')}/{document.get('metadata', {}).get('name')}: {error}")
        errors += policy_violations(document)
    assert not errors, "\n".join(errors)
