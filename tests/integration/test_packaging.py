"""The built artifact is the product: build it, install it, document it and run it by FQCN.

Catches files left out by build_ignore or missing from galaxy.yml, which tests of the checkout cannot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]

pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], list[str]]:
    """Build the tarball from the checkout and install it, without the checkout, into a fresh path."""
    work = tmp_path_factory.mktemp("packaging")
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    _run([str(BIN / "ansible-galaxy"), "collection", "build", str(REPO_ROOT), "--output-path", str(work)], env, work)
    tarball = work / f"llmops-oke-{VERSION}.tar.gz"
    assert tarball.is_file()
    with tarfile.open(tarball) as archive:
        members = archive.getnames()
    collections = work / "collections"
    # Only the fresh path counts: a copy installed elsewhere (~/.ansible) must neither satisfy nor shadow it.
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    # --no-deps: kubernetes.core comes from the ansible package here; Galaxy is not reachable.
    _run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(collections), "--no-deps",
          "--force"], env, work)
    return collections / "ansible_collections" / "llmops" / "oke", env, members


def test_artifact_leaves_out_tests_and_build_output(installed: tuple[Path, dict[str, str], list[str]]) -> None:
    members = installed[2]
    excluded = {"tests", "build", ".ci", ".venv", "hack", "benchmarks", "results"}
    leaked = [m for m in members if m.split("/")[0] in excluded]
    assert not leaked, f"build_ignore misses: {leaked[:10]}"
    required_files = ("meta/runtime.yml", "README.md", "requirements.txt", "bindep.txt",
                      "meta/execution-environment.yml")
    for required in required_files:
        assert required in members, f"{required} is missing from the artifact"


def test_every_module_documents_itself(installed: tuple[Path, dict[str, str], list[str]]) -> None:
    root, env = installed[0], installed[1]
    modules = sorted(p.stem for p in (root / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    assert modules == sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    listed = json.loads(_run([str(BIN / "ansible-doc"), "--list", "--json", "llmops.oke"], env, root.parent).stdout)
    assert {f"llmops.oke.{m}" for m in modules} <= set(listed), "ansible-doc --list misses modules"
    for module in modules:
        doc = json.loads(_run([str(BIN / "ansible-doc"), "--json", f"llmops.oke.{module}"], env, root.parent).stdout)
        assert doc[f"llmops.oke.{module}"]["doc"]["short_description"]


def test_every_role_documents_its_entry_points(installed: tuple[Path, dict[str, str], list[str]]) -> None:
    root, env = installed[0], installed[1]
    roles = sorted(p.name for p in (root / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
    assert roles, "no role with an argument spec was installed"
    for role in roles:
        doc = json.loads(_run([str(BIN / "ansible-doc"), "-t", "role", "--json", f"llmops.oke.{role}"], env,
                              root.parent).stdout)
        assert doc[f"llmops.oke.{role}"]["entry_points"]["main"]["options"], f"{role}: no documented options"


def test_installed_playbook_runs_by_fqcn(installed: tuple[Path, dict[str, str], list[str]], tmp_path: Path) -> None:
    root, env = installed[0], installed[1]
    playbooks = sorted(p.stem for p in (root / "playbooks").glob("*.yml"))
    assert playbooks, "no playbook was installed"
    for playbook in playbooks:
        _run([str(BIN / "ansible-playbook"), f"llmops.oke.{playbook}", "--syntax-check"], env, tmp_path)
    render_dir = tmp_path / "rendered"
    _run([str(BIN / "ansible-playbook"), "llmops.oke.deploy", "-i", str(root / "inventories" / "oke"),
          "-e", f"llmops_render_dir={render_dir}"], env, tmp_path)
    assert list(render_dir.glob("*.yaml")), "llmops.oke.deploy rendered nothing"
