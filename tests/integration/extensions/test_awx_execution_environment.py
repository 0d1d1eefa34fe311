"""The AWX execution environment definition produces a build context that carries our requirements.

``ansible-builder create`` needs no container engine. Beyond the generated files, the galaxy and
builder stages are replayed without containers: the collection is installed from the context the way
the galaxy stage does, and the context's own ``introspect.py`` reads it the way the builder stage does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
AWX_DIR = REPO_ROOT / "extensions" / "awx"
EE_FILE = AWX_DIR / "execution-environment.yml"
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]
HELM_MODULES = re.compile(r"\b(kubernetes\.core\.)?helm(_repository|_pull|_plugin)?:\s*$", re.MULTILINE)

pytestmark = pytest.mark.slow


def _requirement_lines(path: Path) -> list[str]:
    """Requirement lines without comments or blanks, as ansible-builder and bindep read them."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build context made by ``ansible-builder create`` from a tree laid out like the checkout plus its tarball."""
    work = tmp_path_factory.mktemp("ee")
    tree = work / "tree"
    # The EE file names ../../requirements.txt etc.; a copy (not a link) keeps `..` inside this tree.
    shutil.copytree(AWX_DIR, tree / "extensions" / "awx")
    for name in ("requirements.txt", "bindep.txt"):
        shutil.copy2(REPO_ROOT / name, tree / name)
    _run([str(BIN / "ansible-galaxy"), "collection", "build", str(REPO_ROOT), "--output-path", str(tree)], work)
    build_context = work / "context"
    _run([str(BIN / "ansible-builder"), "create", "-f", str(tree / "extensions" / "awx" / EE_FILE.name),
          "-c", str(build_context), "--output-filename", "Containerfile"], work)
    return build_context


def test_definition_is_schema_v3_with_a_public_base_image() -> None:
    definition = yaml.safe_load(EE_FILE.read_text())
    assert definition["version"] == 3
    image = definition["images"]["base_image"]["name"]
    assert re.fullmatch(r"[a-z0-9.-]+\.[a-z]+/[\w./-]+:[\w.-]+", image), image


def test_context_lists_every_python_requirement(context: Path) -> None:
    listed = _requirement_lines(context / "_build" / "requirements.txt")
    for requirement in _requirement_lines(REPO_ROOT / "requirements.txt"):
        assert requirement in listed, f"{requirement} from requirements.txt is missing from the build context"
    names = {re.split(r"[<>=!~ \[;]", line, maxsplit=1)[0].lower() for line in listed}
    assert {"oci", "kubernetes"} <= names
    # kubeconfigs come from llmops.oke.cluster_kubeconfig (SDK), never from the oci CLI.
    assert "oci-cli" not in names


def test_context_lists_every_system_requirement(context: Path) -> None:
    listed = _requirement_lines(context / "_build" / "bindep.txt")
    assert listed == _requirement_lines(REPO_ROOT / "bindep.txt")


def test_galaxy_requirements_name_this_collection_version_and_kubernetes_core(context: Path) -> None:
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    by_name = {entry["name"]: entry for entry in requirements["collections"]}
    assert "kubernetes.core" in by_name
    ours = f"collections/llmops-oke-{VERSION}.tar.gz"
    assert by_name.get(ours, {}).get("type") == "file", f"requirements.yml must install {ours} (galaxy.yml version)"
    assert (context / "_build" / ours).is_file(), "the collection tarball was not copied into the build context"


def test_containerfile_installs_collections_requirements_and_helm(context: Path) -> None:
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    assert re.search(r"install_helm\.py --version \"\$HELM_VERSION\"", containerfile)
    assert re.search(r"ARG HELM_VERSION=v\d+\.\d+\.\d+", containerfile), "Helm must be pinned to one release"
    assert (context / "_build" / "llmops" / "install_helm.py").is_file()


def test_helm_step_present_when_roles_use_helm(context: Path) -> None:
    role_files = (REPO_ROOT / "roles").rglob("*.yml")
    users = [p.relative_to(REPO_ROOT) for p in role_files if HELM_MODULES.search(p.read_text())]
    containerfile = (context / "Containerfile").read_text()
    if users:
        assert "install_helm.py" in containerfile, f"roles use helm ({users[:3]}) but the EE installs no helm"


def test_replayed_galaxy_and_builder_stages_collect_our_requirements(context: Path, tmp_path: Path) -> None:
    build = context / "_build"
    ours = next(e for e in yaml.safe_load((build / "requirements.yml").read_text())["collections"]
                if e.get("type") == "file")
    collections = tmp_path / "collections"
    # The galaxy stage runs in /build (= _build); Galaxy itself is unreachable here, hence --no-deps. --force: a copy
    # of llmops.oke in ~/.ansible/collections (ansible-lint puts one there) would otherwise count as installed.
    _run([str(BIN / "ansible-galaxy"), "collection", "install", ours["name"], "-p", str(collections), "--no-deps",
          "--force"], build)
    installed = collections / "ansible_collections" / "llmops" / "oke"
    assert (installed / "meta" / "execution-environment.yml").is_file()
    pip_out, bindep_out = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    _run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(collections),
          "--user-pip=requirements.txt", "--user-bindep=bindep.txt",
          f"--write-pip={pip_out}", f"--write-bindep={bindep_out}"], build)
    pip_lines = pip_out.read_text()
    for requirement in _requirement_lines(REPO_ROOT / "requirements.txt"):
        assert re.search(rf"^{re.escape(requirement)}\s+#", pip_lines, re.MULTILINE), (
            f"{requirement} missing from the introspected pip list:\n{pip_lines}")
    # introspect annotates where a line came from: the installed collection's own metadata must supply the SDKs
    # (builder drops packages ansible-core already ships, such as PyYAML, from collection lists).
    for package in ("oci", "kubernetes"):
        assert re.search(rf"^{package}\b.*# from collection llmops\.oke", pip_lines, re.MULTILINE), pip_lines
    bindep_lines = bindep_out.read_text()
    for requirement in _requirement_lines(REPO_ROOT / "bindep.txt"):
        assert requirement in bindep_lines, f"{requirement} missing from the introspected bindep list"
