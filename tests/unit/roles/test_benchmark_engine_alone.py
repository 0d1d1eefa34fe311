"""The engine runs with only what the benchmark Job mounts: the ConfigMap's files at the mount path, nothing else.

The pod's image has Python and its standard library; the collection is not installed there, so every import
the engine makes must resolve inside ``bench/``. The pod's tree is rebuilt here from the rendered ConfigMap
and Job; the collection's parent packages get empty ``__init__.py`` files so that the installed collection
(in this venv's site-packages, a namespace portion) cannot fill in a missing module. The Job's own commands
run with ``python -S`` (no site-packages: a bare image); the controller's entry points keep site-packages
(matplotlib draws the report there) but still see only the mounted engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inference_render_support import by_kind, render_role

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
from synthetic_llm_server import ServerConfig, ServerThread  # noqa: E402


def _pod(tmp_path: Path, variables: dict) -> tuple[Path, dict, str]:
    """The pod's import root holding exactly the mounted engine, its container's env, and its script."""
    kinds = by_kind(render_role("benchmark", tmp_path, {"benchmark_runner": "kubernetes", **variables}))
    (configmap,), (job,) = kinds["ConfigMap"], kinds["Job"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "engine")["mountPath"]
    root = tmp_path / "pod" / env["PYTHONPATH"].lstrip("/")
    engine = tmp_path / "pod" / mount.lstrip("/")
    engine.mkdir(parents=True)
    for name, text in configmap["data"].items():
        (engine / name).write_text(text)
    package = engine.parent
    while package != root:
        (package / "__init__.py").write_text("")
        package = package.parent
    env.update({"PYTHONPATH": str(root), "HOME": str(tmp_path), "PATH": os.environ["PATH"]})
    return root, env, container["args"][0]


def _python(env: dict, code: str, bare: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, *(["-S"] if bare else []), "-c", code]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_every_engine_module_imports_with_only_the_mount(tmp_path) -> None:
    root, env, _script = _pod(tmp_path, {"benchmark_base_url": "http://vllm.llmops.svc:8000"})
    engine = root / env["BENCH"].replace(".", "/")
    names = sorted(path.stem for path in engine.glob("*.py") if path.stem not in {"__init__", "__main__"})
    assert {"prom_sampler", "llmperf_runner", "benchmark", "job_import", "report"} <= set(names)
    code = ("import importlib, os, sys\n"
            "for name in sys.argv[1:]:\n"
            "    importlib.import_module(os.environ['BENCH'] + '.' + name)\n")
    failed = {}
    for name in names:
        done = subprocess.run([sys.executable, "-S", "-c", code, name], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode:
            failed[name] = done.stderr.strip().splitlines()[-1]
    assert not failed


def test_job_and_controller_entry_points_run_with_only_the_mount(tmp_path) -> None:
    """The builtin Job's script (run + stream), then what the controller does with its log: import, report."""
    with ServerThread(ServerConfig(ttft_s=0.01, itl_s=0.002)) as server:
        _root, env, script = _pod(tmp_path, {
            "benchmark_run_id": "alone", "benchmark_base_url": server.base_url, "benchmark_concurrency": "1",
            "benchmark_max_requests": 2, "benchmark_mean_output_tokens": 4, "benchmark_warmup_requests": 0})
        env["RESULTS_DIR"] = str(tmp_path / "job")
        done = subprocess.run(["/bin/sh", "-c", script.replace("python -m", f"{sys.executable} -S -m")], env=env,
                              capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    log = tmp_path / "pod.log"
    log.write_text(done.stdout)
    results = tmp_path / "results"
    imported = subprocess.run([sys.executable, "-c", (
        "import json, os, sys, importlib\n"
        "bench = os.environ['BENCH']\n"
        "config = importlib.import_module(bench + '.benchmark').BenchmarkConfig.from_dict(\n"
        "    {'base_url': 'http://unused', 'model': 'llama', 'results_dir': sys.argv[2], 'run_id': 'alone'})\n"
        "summary = importlib.import_module(bench + '.job_import').import_job_results(sys.argv[1], config)\n"
        "print(json.dumps({'status': summary['status'], 'levels': len(summary['levels'])}))\n"),
        str(log), str(results)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert json.loads(imported.stdout.splitlines()[-1]) == {"status": "complete", "levels": 1}
    assert (results / "alone" / "report.md").is_file()
    redrawn = subprocess.run([sys.executable, "-m", env["BENCH"], "report", str(results / "alone")], env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    assert redrawn.returncode == 0, redrawn.stderr[-3000:]


def test_llmperf_runner_helpers_run_with_only_the_mount(tmp_path) -> None:
    """The LLMPerf runner's tokenizer for the demo model and its cache folder, in a bare interpreter."""
    _root, env, _script = _pod(tmp_path, {"benchmark_engine": "llmperf",
                                          "benchmark_base_url": "http://llama-cpp.llmops.svc:8080"})
    env["LLMOPS_CACHE"] = str(tmp_path / "cache")
    done = _python(env, (
        "import importlib, json, os\n"
        "runner = importlib.import_module(os.environ['BENCH'] + '.llmperf_runner')\n"
        "tokenizer = runner.demo_tokenizer(runner.DEMO_VOCAB_SIZE)\n"
        "print(json.dumps({'vocab': len(tokenizer['model']['vocab']),\n"
        "                  'root': runner.install_paths(None, 'k').root}))\n"))
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout)
    assert shown["vocab"] == 8192
    assert shown["root"] == str(tmp_path / "cache" / "llmperf" / "k")
