"""The EE's Helm installer installs only an archive whose sha256 matches the published checksum file."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import stat
import tarfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from types import ModuleType

import pytest
from local_http import serving

SCRIPT = Path(__file__).resolve().parents[3] / "extensions" / "awx" / "files" / "install_helm.py"
VERSION = "v3.17.3"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_helm", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


install_helm = _load()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _release(directory: Path, arch: str, binary: bytes, checksum: str | None = None) -> str:
    """Write a Helm-shaped release archive and its .sha256sum; returns the archive name."""
    name = f"helm-{VERSION}-linux-{arch}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        member = tarfile.TarInfo(f"linux-{arch}/helm")
        member.size = len(binary)
        bundle.addfile(member, io.BytesIO(binary))
    (directory / name).write_bytes(buffer.getvalue())
    digest = checksum or hashlib.sha256(buffer.getvalue()).hexdigest()
    (directory / f"{name}.sha256sum").write_text(f"{digest}  {name}\n")
    return name


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    root.mkdir()
    with serving(partial(_QuietHandler, directory=str(root))) as url:
        yield url, root


def test_installs_verified_binary_executable(site: tuple[str, Path], tmp_path: Path) -> None:
    url, root = site
    _release(root, "amd64", b"#!/bin/sh\necho helm\n")
    dest = tmp_path / "bin" / "helm"
    digest = install_helm.install_helm(VERSION, str(dest), base_url=url, machine="x86_64", timeout_s=30)
    assert dest.read_bytes() == b"#!/bin/sh\necho helm\n"
    assert dest.stat().st_mode & stat.S_IXUSR
    assert digest == hashlib.sha256((root / f"helm-{VERSION}-linux-amd64.tar.gz").read_bytes()).hexdigest()


def test_refuses_archive_whose_checksum_differs(site: tuple[str, Path], tmp_path: Path) -> None:
    url, root = site
    _release(root, "arm64", b"tampered", checksum="0" * 64)
    dest = tmp_path / "helm"
    with pytest.raises(install_helm.HelmInstallError, match="does not match"):
        install_helm.install_helm(VERSION, str(dest), base_url=url, machine="aarch64", timeout_s=30)
    assert not dest.exists()


def test_cli_exit_status_reports_failure(site: tuple[str, Path], tmp_path: Path) -> None:
    url = site[0]
    # No release published at all: the download fails and the CLI says so with a non-zero status.
    assert install_helm.main(["--version", VERSION, "--dest", str(tmp_path / "helm"), "--base-url", url]) == 1


def test_rejects_unpinned_version_and_unknown_arch() -> None:
    with pytest.raises(install_helm.HelmInstallError, match="look like"):
        install_helm.install_helm("latest", "/nonexistent/helm")
    with pytest.raises(install_helm.HelmInstallError, match="architecture"):
        install_helm.helm_arch("s390x")
