"""LLMPerf on the controller (issue 17): the tokenizer file, the cached install and the engine, without pip or ray.

The installer's boundary (creating the venv, pip) is stubbed; everything else runs: the archive is fetched
from a path or from a mirror on 127.0.0.1 and checked against its digest, and the engine runs stand-in
LLMPerf scripts (real subprocesses) that write LLMPerf-format files, which the engine imports.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import json
import os
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_http import serving

from ansible_collections.llmops.oke.plugins.module_utils.bench import llmperf_runner as runner
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig
from ansible_collections.llmops.oke.plugins.module_utils.bench.llmperf_runner import (
    LLMPERF_REQUIREMENTS,
    LlmperfError,
    LlmperfInstall,
    LlmperfOptions,
    LlmperfWorkload,
    correctness_command,
    demo_tokenizer,
    ensure_llmperf,
    install_key,
    load_command,
    run_llmperf_engine,
    spm_tokenizer_json,
)
from ansible_collections.llmops.oke.plugins.module_utils.local.gguf_demo import build_vocab

SPACE = "\u2581"


# --- spm_tokenizer_json ----------------------------------------------------------------------------

def test_merges_are_every_split_ranked_by_the_merged_pieces_score() -> None:
    # a vocab as gguf_demo lays it out: unknown, control, byte tokens, then normal pieces (lower score later)
    tokens = ["<unk>", "<s>", "</s>", "<0x41>", SPACE, "a", "b", "ab", SPACE + "a", "ba", "aba"]
    types = [2, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1]
    scores = [0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0]
    data = spm_tokenizer_json(tokens, scores, types)
    model = data["model"]
    assert model["vocab"] == {piece: index for index, piece in enumerate(tokens)}
    # llama.cpp's SPM tokenizer joins the adjacent pair whose join scores highest (llama-vocab.cpp,
    # llm_tokenizer_spm): "ab" (-4) before "▁a" (-5) before "ba" (-6) before "aba" (-7, from "ab"+"a" or "a"+"ba")
    assert model["merges"] == [["a", "b"], [SPACE, "a"], ["b", "a"], ["a", "ba"], ["ab", "a"]]
    assert model["type"] == "BPE" and model["byte_fallback"] and model["unk_token"] == "<unk>"
    # control and unknown tokens are whole (added) tokens; byte tokens are the byte fallback's, not added
    assert [(t["id"], t["content"]) for t in data["added_tokens"]] == [(0, "<unk>"), (1, "<s>"), (2, "</s>")]
    # SentencePiece's dummy prefix and space escape, then BOS first, as LLMPerf's encode() returns
    assert data["normalizer"]["normalizers"] == [{"type": "Prepend", "prepend": SPACE},
                                                 {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]
    assert data["post_processor"]["special_tokens"]["<s>"]["ids"] == [1]
    assert data["post_processor"]["single"][0] == {"SpecialToken": {"id": "<s>", "type_id": 0}}


def test_a_byte_or_control_token_is_never_half_of_a_merge() -> None:
    tokens = ["<unk>", "<s>", "</s>", "<0x41>", "x", "<0x41>x"]
    data = spm_tokenizer_json(tokens, [0.0, 0.0, 0.0, 0.0, -1.0, -2.0], [2, 3, 3, 6, 1, 1])
    assert all("<0x41>" not in pair for pair in data["model"]["merges"])


def test_demo_tokenizer_is_the_demo_models_vocabulary() -> None:
    tokens, _scores, _types = build_vocab(512)
    data = demo_tokenizer(512)
    assert data["model"]["vocab"] == {piece: index for index, piece in enumerate(tokens)}
    assert len(data["model"]["vocab"]) == 512
    merged = {left + right for left, right in data["model"]["merges"]}
    assert merged <= set(tokens)


# --- ensure_llmperf --------------------------------------------------------------------------------

def _archive(path: Path, top: str = "llmperf-f1d6bed", scripts: bool = True) -> str:
    """A tar.gz laid out as ``git archive`` of ray-project/llmperf (the shared copy's layout); its sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        names = ["src/llmperf/__init__.py"] + (list(runner.SCRIPTS) if scripts else [])
        for name in names:
            data = f"# {name}\n".encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


@pytest.fixture
def installer(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stub the venv and pip steps (the boundary); the venv step leaves an executable python behind."""
    calls: list[list[str]] = []

    def fake_run(command, log_path, step, timeout, env=None, cwd=None):
        calls.append(list(command))
        if command[1:3] == ["-m", "venv"]:
            python = Path(command[3], "bin", "python")
            python.parent.mkdir(parents=True)
            python.write_text("#!/bin/sh\n")
            python.chmod(0o755)

    monkeypatch.setattr(runner, "_run_logged", fake_run)
    return calls


def test_cache_key_follows_digest_pins_and_python() -> None:
    base = install_key("AB" * 32, LLMPERF_REQUIREMENTS, "3.11")
    assert base == install_key("ab" * 32, LLMPERF_REQUIREMENTS, "3.11")  # a digest is a digest in any case
    others = {install_key("cd" * 32, LLMPERF_REQUIREMENTS, "3.11"),
              install_key("ab" * 32, LLMPERF_REQUIREMENTS[:-1], "3.11"),
              install_key("ab" * 32, LLMPERF_REQUIREMENTS, "3.12")}
    assert base not in others and len(others) == 3


def test_local_archive_installs_once_then_reuses(tmp_path: Path, installer: list[list[str]]) -> None:
    archive = tmp_path / "llmperf.tar.gz"
    digest = _archive(archive)
    install, now = ensure_llmperf(str(tmp_path / "cache"), str(archive), digest, python=sys.executable,
                                  index_url="http://127.0.0.1:9/simple")
    assert now
    assert Path(install.root).parent == tmp_path / "cache" / "llmperf"
    assert Path(install.source, "token_benchmark_ray.py").is_file() and Path(install.source, "src/llmperf").is_dir()
    complete = json.loads(Path(install.root, ".complete").read_text())
    assert complete == {"archive_url": archive.as_uri(), "archive_sha256": digest}
    venv, pip = installer
    assert venv[1:3] == ["-m", "venv"]
    assert pip[:4] == [install.python, "-m", "pip", "install"]
    assert pip[pip.index("--index-url") + 1] == "http://127.0.0.1:9/simple"
    assert pip[-len(LLMPERF_REQUIREMENTS):] == list(LLMPERF_REQUIREMENTS)

    again, now = ensure_llmperf(str(tmp_path / "cache"), str(archive), digest, python=sys.executable)
    assert not now and again == install and len(installer) == 2  # nothing installed the second time


class _Mirror(http.server.BaseHTTPRequestHandler):
    payload = b""
    paths: list[str] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, str]]:
    digest = _archive(tmp_path / "served.tar.gz")
    _Mirror.payload, _Mirror.paths = (tmp_path / "served.tar.gz").read_bytes(), []
    with serving(_Mirror) as url:
        yield f"{url}/mirror/llmperf-f1d6bed.tar.gz", digest


def test_mirror_url_is_fetched_and_checked(tmp_path: Path, installer: list[list[str]],
                                           mirror: tuple[str, str]) -> None:
    url, digest = mirror
    install, now = ensure_llmperf(str(tmp_path / "cache"), url, digest, python=sys.executable)
    assert now and _Mirror.paths == ["/mirror/llmperf-f1d6bed.tar.gz"]
    assert json.loads(Path(install.root, ".complete").read_text())["archive_url"] == url
    # the same bytes from another source are another install only if the digest differs: same key here
    assert Path(install.root).name == install_key(digest, LLMPERF_REQUIREMENTS, "{}.{}".format(*sys.version_info[:2]))


def test_mirror_serving_other_bytes_is_refused(tmp_path: Path, installer: list[list[str]],
                                               mirror: tuple[str, str]) -> None:
    url, _digest = mirror
    with pytest.raises(LlmperfError, match=r"LLMPerf archive http://127\.0\.0\.1:\d+/mirror/.*does not match"):
        ensure_llmperf(str(tmp_path / "cache"), url, "0" * 64, python=sys.executable)
    assert installer == []


def test_missing_source_names_the_path_and_installs_nothing(tmp_path: Path, installer: list[list[str]]) -> None:
    missing = tmp_path / "nowhere" / "llmperf.tar.gz"
    with pytest.raises(LlmperfError, match=r"LLMPerf archive file://.*/nowhere/llmperf\.tar\.gz: .*No such file"):
        ensure_llmperf(str(tmp_path / "cache"), str(missing), "0" * 64, python=sys.executable)
    assert installer == []
    assert not list((tmp_path / "cache" / "llmperf").glob("*/.complete"))


def test_an_archive_that_is_not_llmperf_is_refused(tmp_path: Path, installer: list[list[str]]) -> None:
    archive = tmp_path / "other.tar.gz"
    digest = _archive(archive, top="something-else", scripts=False)
    with pytest.raises(LlmperfError, match=r"no token_benchmark_ray\.py, llm_correctness\.py inside; is it "
                                           r"ray-project/llmperf\?"):
        ensure_llmperf(str(tmp_path / "cache"), str(archive), digest, python=sys.executable)
    assert installer == []


def test_a_failed_pip_leaves_no_complete_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "llmperf.tar.gz"
    digest = _archive(archive)

    def failing(command, log_path, step, timeout, env=None, cwd=None):
        if "pip" in command:
            raise LlmperfError(f"{step}: exit status 1; log: {log_path}")
        Path(command[3], "bin").mkdir(parents=True)

    monkeypatch.setattr(runner, "_run_logged", failing)
    with pytest.raises(LlmperfError, match=r"LLMPerf requirements \(pip install\): exit status 1"):
        ensure_llmperf(str(tmp_path / "cache"), str(archive), digest, python=sys.executable)
    assert not list((tmp_path / "cache" / "llmperf").glob("*/.complete"))


# --- run_llmperf_engine ----------------------------------------------------------------------------

# Stand-ins for LLMPerf's two scripts: the same flags (argparse in token_benchmark_ray.py and llm_correctness.py
# at f1d6bed), and files in the format those scripts write:
# - token_benchmark_ray.py run_token_benchmark(): "<model>_<mean in>_<mean out>" with non-word runs as "-",
#   "<name>_summary.json" = LLMPerfResults(...).to_dict() (llmperf/utils.py: version "2023-08-31", name, the
#   metadata, "results" flattened with "_" by flatten_dict, timestamp; json.dump default=str, so numpy numbers
#   arrive as strings) and "<name>_individual_responses.json" = the per-request metrics dicts (keys from
#   llmperf/common_metrics.py; ITL summed over the stream and divided by the stream's token count).
# - llm_correctness.py run(): "<model>_correctness_summary.json" (its summary_metrics, flattened, no "results")
#   and "<model>_correctness_individual_responses.json" ({metrics, generated_text, request_config} entries).
FAKE_SCRIPT = r'''
import argparse, json, os, re, sys
from pathlib import Path
parser = argparse.ArgumentParser()
for flag in ("--model", "--results-dir", "--llm-api", "--additional-sampling-params", "--metadata"):
    parser.add_argument(flag, type=str, default="")
for flag in ("--mean-input-tokens", "--stddev-input-tokens", "--mean-output-tokens", "--stddev-output-tokens",
             "--num-concurrent-requests", "--timeout", "--max-num-completed-requests"):
    parser.add_argument(flag, type=int, default=0)
args = parser.parse_args()
with open(os.environ["FAKE_LLMPERF_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "env": {k: os.environ.get(k) for k in (
        "OPENAI_API_BASE", "OPENAI_API_KEY", "HF_HOME", "HF_HUB_OFFLINE", "PYTHONPATH")}}) + "\n")
def stem(text):
    return re.sub(r"-{2,}", "-", re.sub(r"[^\w\d-]+", "-", text))
out = Path(args.results_dir)
out.mkdir(parents=True)
if Path(sys.argv[0]).name == "token_benchmark_ray.py":
    name = stem(f"{args.model}_{args.mean_input_tokens}_{args.mean_output_tokens}")
    c = args.num_concurrent_requests
    requests = [{"error_code": None, "error_msg": "", "inter_token_latency_s": 0.05 * c,
                 "ttft_s": 0.2 * c + 0.01 * i, "end_to_end_latency_s": 0.2 * c + 0.01 * i + 0.05 * c * 9,
                 "request_output_throughput_token_per_s": 10.0 / (0.2 * c + 0.5 * c), "number_total_tokens": 110,
                 "number_output_tokens": 10, "number_input_tokens": 100}
                for i in range(args.max_num_completed_requests)]
    summary = {"version": "2023-08-31", "name": f"{name}_summary", "model": args.model,
               "mean_input_tokens": args.mean_input_tokens, "num_concurrent_requests": c,
               "additional_sampling_params": json.loads(args.additional_sampling_params),
               "results_ttft_s_quantiles_p50": str(0.2 * c), "results_num_completed_requests": len(requests),
               "results_num_completed_requests_per_min": str(60.0 * len(requests) / (2.0 * c)),
               "results_mean_output_throughput_token_per_s": "5.0", "timestamp": 1796290000}
    (out / f"{name}_individual_responses.json").write_text(json.dumps(requests))
    (out / f"{name}_summary.json").write_text(json.dumps(summary))
else:
    name = stem(f"{args.model}_correctness")
    summary = {"version": "2023-08-31", "name": f"{name}_summary", "number_errors": 0,
               "num_mismatched_requests": 1, "error_rate": 0.0, "mismatch_rate": 0.5,
               "num_completed_requests": args.max_num_completed_requests, "num_non_errored_requests": 2,
               "model": args.model, "timestamp": 1796290000}
    (out / f"{name}_individual_responses.json").write_text(json.dumps([]))
    (out / f"{name}_summary.json").write_text(json.dumps(summary))
'''


class _Metrics(http.server.BaseHTTPRequestHandler):
    """llama-server's two prompt-cache counters (metrics.py cites their HELP lines), one reading per GET."""

    readings: list[tuple[int, int]] = []

    def do_GET(self) -> None:
        processed, cached = type(self).readings.pop(0) if type(self).readings else (0, 0)
        body = (f"# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total {processed}\n"
                f"# TYPE llamacpp:prompt_tokens_cached_total counter\nllamacpp:prompt_tokens_cached_total {cached}\n")
        self.send_response(200 if self.path == "/metrics" else 404)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_llmperf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "install"
    source = root / "source"
    (source / "src" / "llmperf").mkdir(parents=True)
    for script in runner.SCRIPTS:
        (source / script).write_text(FAKE_SCRIPT)
    (root / "llmperf.tar.gz").write_bytes(b"archive")
    install = LlmperfInstall(key="k", root=str(root), python=sys.executable, source=str(source))
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_LLMPERF_LOG", str(log))
    monkeypatch.setattr(runner, "ensure_llmperf", lambda *args, **kwargs: (install, False))
    # before/after c1 (nothing cached: fresh prompts), before/after c2 (LLMPerf's replayed prompts: 95 % cached)
    _Metrics.readings = [(0, 0), (300, 0), (300, 0), (330, 570)]
    with serving(_Metrics) as url:
        yield url, log


def test_engine_runs_each_level_and_correctness_then_imports(tmp_path: Path, fake_llmperf: tuple[str, Path]) -> None:
    url, log = fake_llmperf
    config = BenchmarkConfig.from_dict({
        "base_url": url, "model": "org/model-7b", "api_key": "sekrit", "concurrency": [1, 2], "max_requests": 3,
        "mean_input_tokens": 100, "stddev_input_tokens": 5, "mean_output_tokens": 10, "stddev_output_tokens": 0,
        "request_timeout_s": 120, "correctness_requests": 2, "results_dir": str(tmp_path / "results"),
        "run_id": "lp", "report": False})
    summary = run_llmperf_engine(config, LlmperfOptions(demo_vocab_size=512))

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    raw = tmp_path / "results" / "lp" / "llmperf"
    source = tmp_path / "install" / "source"
    common = ["--model", "org/model-7b", "--mean-input-tokens", "100", "--stddev-input-tokens", "5",
              "--mean-output-tokens", "10", "--stddev-output-tokens", "0", "--max-num-completed-requests", "3",
              "--timeout", "120"]
    assert [call["argv"] for call in calls] == [
        [str(source / "token_benchmark_ray.py"), *common, "--num-concurrent-requests", "1",
         "--results-dir", str(raw / "c1"), "--llm-api", "openai", "--additional-sampling-params", "{}"],
        [str(source / "token_benchmark_ray.py"), *common, "--num-concurrent-requests", "2",
         "--results-dir", str(raw / "c2"), "--llm-api", "openai", "--additional-sampling-params", "{}"],
        [str(source / "llm_correctness.py"), "--model", "org/model-7b", "--max-num-completed-requests", "2",
         "--timeout", "120", "--num-concurrent-requests", "1", "--results-dir", str(raw / "correctness"),
         "--llm-api", "openai", "--additional-sampling-params", '{"max_tokens": 32}']]
    for call in calls:
        assert call["cwd"] == str(source)
        assert call["env"] == {"OPENAI_API_BASE": url + "/v1", "OPENAI_API_KEY": "sekrit",
                               "HF_HOME": str(raw / "hf_home"), "HF_HUB_OFFLINE": "1",
                               "PYTHONPATH": str(source / "src")}
    # the demo tokenizer is where transformers looks the hub name up offline
    snapshot = raw / "hf_home" / "hub" / "models--hf-internal-testing--llama-tokenizer"
    assert (snapshot / "refs" / "main").read_text() == runner.TOKENIZER_REVISION
    assert json.loads((snapshot / "snapshots" / runner.TOKENIZER_REVISION / "tokenizer.json").read_text()) == \
        demo_tokenizer(512)

    # what ran, which tokenizer counted, and the server's cache share around each level
    record = json.loads((raw / "llmperf_run.json").read_text())
    assert [(s["script"], s.get("concurrency")) for s in record["steps"]] == [
        ("token_benchmark_ray.py", 1), ("token_benchmark_ray.py", 2), ("llm_correctness.py", None)]
    assert "demo model's own vocabulary (512 pieces)" in record["tokenizer"]
    c1_cache, c2_cache = record["steps"][0]["prompt_cache"], record["steps"][1]["prompt_cache"]
    assert c1_cache["share"] == 0.0 and c1_cache["prompt_tokens"] == 300
    assert c2_cache["share"] == pytest.approx(0.95) and c2_cache["cached_tokens"] == 570

    # imported: LLMPerf's files kept byte for byte beside our summary, records and correctness
    run_dir = tmp_path / "results" / "lp"
    assert summary["status"] == "complete" and summary["metadata"]["engine"] == "llmperf"
    assert summary["metadata"]["token_count_method"] == record["tokenizer"]
    assert [(level["label"], level["summary"]["num_completed_requests"]) for level in summary["levels"]] == [
        ("c1", 3), ("c2", 3)]
    c2 = summary["levels"][1]["summary"]
    assert c2["ttft_s"]["quantiles"]["p50"] == pytest.approx(0.41)  # 0.4, 0.41, 0.42
    assert (run_dir / "org-model-7b_100_10_c2_summary.json").read_bytes() == \
        (raw / "c2" / "org-model-7b_100_10_summary.json").read_bytes()
    assert (run_dir / "requests_c1.csv").is_file()
    assert summary["correctness"]["num_mismatched_requests"] == 1 and summary["correctness"]["mismatch_rate"] == 0.5


def test_a_failing_level_stops_the_run_with_its_log(tmp_path: Path, fake_llmperf: tuple[str, Path]) -> None:
    url, _log = fake_llmperf
    (tmp_path / "install" / "source" / "token_benchmark_ray.py").write_text(
        "import sys\nprint('ray.init failed: no resources')\nsys.exit(3)\n")
    config = BenchmarkConfig.from_dict({"base_url": url, "model": "m", "concurrency": [1, 2], "max_requests": 2,
                                        "results_dir": str(tmp_path / "results"), "run_id": "bad", "report": False})
    with pytest.raises(LlmperfError, match=r"token_benchmark_ray\.py at concurrency 1: exit status 3; log: .*c1\.log; "
                                           r"last lines: .*ray\.init failed: no resources"):
        run_llmperf_engine(config, LlmperfOptions())
    assert not (tmp_path / "results" / "bad" / "summary.json").exists()


def test_engine_refuses_what_llmperf_cannot_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_install(*args: object, **kwargs: object) -> None:
        raise AssertionError("refused input must not reach the install")

    monkeypatch.setattr(runner, "ensure_llmperf", no_install)
    open_loop = BenchmarkConfig.from_dict({"base_url": "http://127.0.0.1:9", "model": "m", "mode": "open",
                                           "rates_rps": [1.0], "max_requests": 2, "results_dir": str(tmp_path)})
    with pytest.raises(ValueError, match="closed-loop levels only"):
        run_llmperf_engine(open_loop, LlmperfOptions())
    timed = BenchmarkConfig.from_dict({"base_url": "http://127.0.0.1:9", "model": "m", "duration_s": 5.0,
                                       "results_dir": str(tmp_path)})
    with pytest.raises(ValueError, match="needs max_requests"):
        run_llmperf_engine(dataclasses.replace(timed, max_requests=None), LlmperfOptions())


def test_engine_names_a_run_without_a_run_id(tmp_path: Path, fake_llmperf: tuple[str, Path]) -> None:
    url, _log = fake_llmperf
    config = BenchmarkConfig.from_dict({"base_url": url, "model": "m", "concurrency": [1], "max_requests": 2,
                                        "correctness_requests": 0, "results_dir": str(tmp_path / "results"),
                                        "report": False})
    summary = run_llmperf_engine(config, LlmperfOptions())
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == tmp_path / "results" and (run_dir / "llmperf" / "c1").is_dir()
    assert summary["run_id"] == run_dir.name


def test_commands_for_a_v1_base_url() -> None:
    install = LlmperfInstall(key="k", root="/r", python="/r/venv/bin/python", source="/r/source")
    work = LlmperfWorkload(base_url="https://gw.example/v1/", model="m", levels=[4], mean_input_tokens=50,
                           stddev_input_tokens=0, mean_output_tokens=20, stddev_output_tokens=0, max_requests=8,
                           correctness_requests=3, correctness_max_tokens=16)
    assert work.openai_base() == "https://gw.example/v1" and work.metrics_url() == "https://gw.example/metrics"
    script = os.path.join("/r/source", "token_benchmark_ray.py")
    assert load_command(install, work, 4, "/out/c4")[:2] == ["/r/venv/bin/python", script]
    assert correctness_command(install, work, "/out/correctness")[-1] == '{"max_tokens": 16}'


def test_engine_counts_with_the_served_models_own_tokenizer(tmp_path: Path, fake_llmperf: tuple[str, Path]) -> None:
    """The vLLM demo model's folder: its tokenizer.json verbatim, its specials, no BOS added (the model adds none)."""
    url, _log = fake_llmperf
    model = tmp_path / "model"
    model.mkdir()
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}
    (model / "tokenizer.json").write_text(json.dumps(tokenizer))
    (model / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": "<|im_end|>",
        "pad_token": "<|end_of_text|>", "add_bos_token": False, "chat_template": "{{ x }}"}))
    config = BenchmarkConfig.from_dict({"base_url": url, "model": "m", "concurrency": [1], "max_requests": 2,
                                        "correctness_requests": 0, "results_dir": str(tmp_path / "results"),
                                        "run_id": "v", "report": False})
    run_llmperf_engine(config, LlmperfOptions(demo_vocab_size=512, tokenizer_dir=str(model)))
    raw = tmp_path / "results" / "v" / "llmperf"
    snapshot = raw / "hf_home" / "hub" / "models--hf-internal-testing--llama-tokenizer" / "snapshots" / \
        runner.TOKENIZER_REVISION
    assert json.loads((snapshot / "tokenizer.json").read_text()) == tokenizer, "the model's file, not the demo vocab"
    written = json.loads((snapshot / "tokenizer_config.json").read_text())
    assert written["add_bos_token"] is False and written["bos_token"] == "<|begin_of_text|>"
    assert written["eos_token"] == "<|im_end|>" and "unk_token" not in written
    record = json.loads((raw / "llmperf_run.json").read_text())
    assert f"served model's own tokenizer ({model}/tokenizer.json)" in record["tokenizer"]
    assert "BOS not added" in record["tokenizer"]


def test_a_tokenizer_folder_without_tokenizer_json_is_refused(tmp_path: Path, fake_llmperf: tuple[str, Path]) -> None:
    url, _log = fake_llmperf
    config = BenchmarkConfig.from_dict({"base_url": url, "model": "m", "concurrency": [1], "max_requests": 2,
                                        "results_dir": str(tmp_path / "results"), "run_id": "n", "report": False})
    with pytest.raises(LlmperfError, match=rf"llmperf_tokenizer_dir={tmp_path}: no readable tokenizer\.json"):
        run_llmperf_engine(config, LlmperfOptions(tokenizer_dir=str(tmp_path)))
