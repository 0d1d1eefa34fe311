"""benchmark role, Kubernetes runner: both engines render valid Job manifests; the builtin Job's script runs."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from inference_render_support import args_map, by_kind, render_role
from k8s_support import assert_valid

from ansible_collections.llmops.oke.plugins.filter.benchmark_progress import benchmark_progress
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig
from ansible_collections.llmops.oke.plugins.module_utils.bench.job_import import import_job_results
from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import parse_progress

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
from synthetic_llm_server import ServerConfig, ServerThread  # noqa: E402

BENCH = REPO / "plugins" / "module_utils" / "bench"
COLLECTIONS = REPO / "build" / "collections"
LLMPERF_FLAGS = {"--model", "--mean-input-tokens", "--stddev-input-tokens", "--mean-output-tokens",
                 "--stddev-output-tokens", "--max-num-completed-requests", "--timeout", "--num-concurrent-requests",
                 "--results-dir", "--llm-api", "--additional-sampling-params"}


def _job_parts(documents):
    kinds = by_kind(documents)
    assert set(kinds) == {"ConfigMap", "Job"}
    (configmap,), (job,) = kinds["ConfigMap"], kinds["Job"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    return configmap, job, container


def test_builtin_job_renders_valid_and_carries_the_engine(tmp_path) -> None:
    documents = render_role("benchmark", tmp_path, {
        "benchmark_runner": "kubernetes", "benchmark_run_id": "Night_Run", "benchmark_preset": "rag",
        "benchmark_base_url": "http://vllm.llmops.svc:8000", "benchmark_concurrency": "1, 4",
        "benchmark_job_api_key_secret": "gateway-key"})
    assert_valid(documents)
    configmap, job, container = _job_parts(documents)
    assert job["metadata"]["name"] == "llm-benchmark-builtin-night-run"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 3600
    # every .py of the package, byte for byte, mounted where its import path says
    assert configmap["data"] == {p.name: p.read_text() for p in BENCH.glob("*.py")}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "engine")
    assert mount["mountPath"] == "/opt/llmops/ansible_collections/llmops/oke/plugins/module_utils/bench"
    env = {e["name"]: e for e in container["env"]}
    assert env["PYTHONPATH"]["value"] == "/opt/llmops"
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "gateway-key", "key": "api-key"}
    script = container["args"][0]
    flags = args_map(shlex.split(script.split("python -m \"$BENCH\" run", 1)[1].split("status=$?")[0]))
    assert flags["--preset"] == "rag" and flags["--concurrency"] == "1,4" and flags["--no-report"] == ""
    assert flags["--base-url"] == "http://vllm.llmops.svc:8000"


def test_llmperf_job_pins_the_commit_and_runs_each_level(tmp_path) -> None:
    documents = render_role("benchmark", tmp_path, {
        "benchmark_runner": "kubernetes", "benchmark_engine": "llmperf", "benchmark_run_id": "lp",
        "benchmark_base_url": "http://llama-cpp.llmops.svc:8080/", "benchmark_max_requests": 50})
    assert_valid(documents)
    job, container = _job_parts(documents)[1:]
    script = container["args"][0]
    assert job["metadata"]["name"] == "llm-benchmark-llmperf-lp"
    assert "https://github.com/ray-project/llmperf/archive/f1d6bed47e4501b0e371082b41601b59ab55269f.tar.gz" in script
    assert "export OPENAI_API_BASE=http://llama-cpp.llmops.svc:8080/v1\n" in script
    assert "for level in 1 2 4 8; do" in script  # the chatbot preset's levels
    flags = args_map(shlex.split(script.split("token_benchmark_ray.py\"", 1)[1].split("||")[0]))
    assert set(flags) == LLMPERF_FLAGS
    assert flags["--mean-input-tokens"] == "100" and flags["--max-num-completed-requests"] == "50"
    assert flags["--llm-api"] == "openai" and flags["--results-dir"] == "$RESULTS_DIR/c$level"
    assert not [e for e in container["env"] if e["name"] == "OPENAI_API_KEY"]
    assert "/dev/shm" in {m["mountPath"] for m in container["volumeMounts"]}
    # LLMPerf's pyproject refuses Python 3.11 (the Job's image) and pins nothing: the Job installs the controller's
    # pins, read from the mounted engine, and puts LLMPerf's src/ on PYTHONPATH, as llmperf_runner does.
    assert 'pip install --no-cache-dir --quiet "$src"' not in script
    assert "pip install --no-cache-dir --quiet -r /tmp/llmperf-requirements.txt" in script
    assert 'export PYTHONPATH="$src/src:$PYTHONPATH"' in script


def test_llmperf_job_installs_the_controllers_pins(tmp_path) -> None:
    """The Job script's pin extraction, run here (sh) against the engine files exactly as the ConfigMap mounts them."""
    from ansible_collections.llmops.oke.plugins.module_utils.bench.llmperf_runner import LLMPERF_REQUIREMENTS

    documents = render_role("benchmark", tmp_path, {
        "benchmark_runner": "kubernetes", "benchmark_engine": "llmperf", "benchmark_run_id": "pins",
        "benchmark_base_url": "http://llama-cpp.llmops.svc:8080"})
    configmap, _job, container = _job_parts(documents)
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "engine")["mountPath"]
    root = tmp_path / "pod"
    engine = root / mount.lstrip("/")
    engine.mkdir(parents=True)
    for name, text in configmap["data"].items():
        (engine / name).write_text(text)
    lines = container["args"][0].splitlines()
    first = next(i for i, line in enumerate(lines) if "LLMPERF_REQUIREMENTS" in line and line.startswith("python"))
    step = "\n".join(lines[first:first + 2]).replace("/opt/llmops/", f"{root}/opt/llmops/").replace(
        "/tmp/llmperf-requirements.txt", str(tmp_path / "requirements.txt"))
    subprocess.run(["/bin/sh", "-c", step], env={**os.environ, "BENCH": env["BENCH"]}, check=True)
    assert tuple((tmp_path / "requirements.txt").read_text().split()) == LLMPERF_REQUIREMENTS


def test_api_key_without_a_secret_is_refused(tmp_path) -> None:
    with pytest.raises(AssertionError, match="benchmark_job_api_key_secret"):
        render_role("benchmark", tmp_path, {"benchmark_runner": "kubernetes", "benchmark_api_key": "literal"})


def test_builtin_job_script_runs_and_its_log_imports(tmp_path) -> None:
    """The rendered script, run here as the pod would run it, prints results the controller imports."""
    with ServerThread(ServerConfig(ttft_s=0.01, itl_s=0.002)) as server:
        documents = render_role("benchmark", tmp_path, {
            "benchmark_runner": "kubernetes", "benchmark_run_id": "local", "benchmark_base_url": server.base_url,
            "benchmark_concurrency": "1,2", "benchmark_max_requests": 3, "benchmark_mean_output_tokens": 5,
            "benchmark_warmup_requests": 0})
        container = _job_parts(documents)[2]
        env = {**os.environ, **{e["name"]: e["value"] for e in container["env"] if "value" in e},
               "PYTHONPATH": str(COLLECTIONS), "RESULTS_DIR": str(tmp_path / "job"), "HOME": str(tmp_path)}
        done = subprocess.run(["/bin/sh", "-c", container["args"][0].replace("python -m", f"{sys.executable} -m")],
                              env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    # the pod's progress lines (stderr, in its log) are what the role's wait prints (job_poll.yml)
    shown = benchmark_progress(done.stderr.splitlines() + done.stdout.splitlines())
    assert (parse_progress(shown) or {}).get("level") == "c2" and parse_progress(shown)["final"], done.stderr[-3000:]
    assert parse_progress(shown)["completed"] == 3
    log = tmp_path / "pod.log"
    log.write_text(done.stdout)
    config = BenchmarkConfig.from_dict({"base_url": "http://unused", "model": "llama", "preset": "chatbot",
                                        "results_dir": str(tmp_path / "results"), "run_id": "local", "report": False})
    summary = import_job_results(log, config)
    assert [level["label"] for level in summary["levels"]] == ["c1", "c2"]
    assert all(level["summary"]["num_completed_requests"] == 3 for level in summary["levels"])
