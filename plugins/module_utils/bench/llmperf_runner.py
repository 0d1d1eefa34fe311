# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upstream LLMPerf on the controller: a cached install at a pinned commit, a tokenizer, and its two scripts.

The install is ``<cache>/llmperf/<key>/`` (the source, a venv of its own: LLMPerf needs ``pydantic<2.5``,
which the collection's tools do not accept), keyed by the archive digest, the requirements and the Python
version, built once under a lock. A run writes LLMPerf's own result folders, ``c<N>/`` per concurrency
level and ``correctness/``, the form :mod:`job_import` turns into a run folder, plus ``llmperf_run.json``
(what ran, which tokenizer counted what) and one log per script.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import run_folder
from .demo_vocab import DEFAULT_PARAMETERS
from .fileio import cache_root, fetch_verified, file_sha256, http_get
from .metrics import cache_counters, prompt_cache_summary

DEMO_VOCAB_SIZE = DEFAULT_PARAMETERS["vocab_size"]

LLMPERF_COMMIT = "f1d6bed47e4501b0e371082b41601b59ab55269f"
LLMPERF_ARCHIVE_URL = f"https://github.com/ray-project/llmperf/archive/{LLMPERF_COMMIT}.tar.gz"
# Digest of the commit's `git archive` (the copy in ../shared/llmperf/SHA256SUMS); a mirror serving other
# bytes for the same commit sets its own digest.
LLMPERF_ARCHIVE_SHA256 = "a18cba027cda130c3f38f2d2323b9f9544f3bc663d1354737b6e9513abf5829b"
# What its scripts import (llmperf/common.py imports every client, so boto3 for the SageMaker one; its
# pyproject also lists SDKs nothing imports, and says requires-python <3.11, so the source goes on
# PYTHONPATH rather than being pip-installed). Versions: what PyPI resolved on Python 3.11 for these
# names with pydantic<2.5, pinned so that a cache key means one venv. transformers stays on 4.x, the line
# LLMPerf f1d6bed (2024-12) was written against: its LlamaTokenizerFast loads tokenizer.json as written,
# while 5.x rebuilds the pipeline (normalizer dropped, Metaspace prepend_scheme="always", which adds no
# "▁" before text that starts with a space) and so counts one token fewer than the server's SentencePiece
# tokenizer for such text (tests/integration/test_llmperf_tokenizer.py compares the ids with the server's).
LLMPERF_REQUIREMENTS = (
    "pydantic==2.4.2",
    "ray==2.60.0",
    "pandas==3.1.1",
    "transformers==4.57.6",
    "tokenizers==0.22.2",
    "num2words==0.5.14",
    "tqdm==4.70.1",
    "typer==0.28.0",
    "requests==2.34.2",
    "boto3==1.44.8",
)
# The hub name LLMPerf's scripts load (token_benchmark_ray.py, llmperf/utils.py); resolved from HF_HOME offline
LLMPERF_TOKENIZER_REPO = "hf-internal-testing/llama-tokenizer"
# A revision name for the snapshot we write; transformers reads refs/main to find it
TOKENIZER_REVISION = "llmops-oke-demo"
SCRIPTS = ("token_benchmark_ray.py", "llm_correctness.py")


class LlmperfError(Exception):
    """LLMPerf could not be installed or run; the message names the step and the cause."""


@dataclass(frozen=True)
class LlmperfInstall:
    """A complete install: ``python`` runs the scripts found in ``source`` with ``source/src`` on PYTHONPATH."""

    key: str
    root: str
    python: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "root": self.root, "python": self.python, "source": self.source}


def install_key(archive_sha256: str, requirements: Sequence[str], python_version: str) -> str:
    """Cache key: the archive digest, the requirement pins and the Python version."""
    material = json.dumps({"archive_sha256": archive_sha256.lower(), "requirements": list(requirements),
                           "python": python_version}, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def python_version(python: str) -> str:
    """``major.minor`` of an interpreter (the venv is built from it)."""
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        raise LlmperfError(f"python {python!r} for LLMPerf's venv does not run: {error}") from error
    return out.stdout.strip()


def install_paths(cache_dir: str | None, key: str) -> LlmperfInstall:
    root = os.path.join(cache_root(cache_dir), "llmperf", key)
    return LlmperfInstall(key=key, root=root, python=os.path.join(root, "venv", "bin", "python"),
                          source=os.path.join(root, "source"))


def is_complete(install: LlmperfInstall) -> bool:
    return os.path.isfile(os.path.join(install.root, ".complete")) and os.access(install.python, os.X_OK)


def _unpack_source(archive: str, dest: str) -> None:
    """Extract the archive's single top folder (``llmperf-<sha>/``) to ``dest``."""
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=os.path.dirname(dest)) as work:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work, filter="data")  # refuses absolute paths, escaping links, devices
        except (tarfile.TarError, OSError) as error:
            raise LlmperfError(f"LLMPerf archive {archive}: cannot unpack: {error}") from error
        tops = os.listdir(work)
        top = os.path.join(work, tops[0]) if len(tops) == 1 else work
        missing = [name for name in SCRIPTS if not os.path.isfile(os.path.join(top, name))]
        if missing or not os.path.isdir(os.path.join(top, "src", "llmperf")):
            raise LlmperfError(f"LLMPerf archive {archive}: no {', '.join(missing) or 'src/llmperf'} inside; "
                               "is it ray-project/llmperf?")
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(top, dest)


def _run_logged(command: Sequence[str], log_path: str, step: str, timeout: float,
                env: dict[str, str] | None = None, cwd: str | None = None) -> None:
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        try:
            result = subprocess.run(list(command), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                    timeout=timeout, check=False)
        except subprocess.TimeoutExpired as error:
            raise LlmperfError(f"{step}: still running after {timeout:.0f}s; log: {log_path}") from error
        except OSError as error:
            raise LlmperfError(f"{step}: {error}") from error
    if result.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            tail = " | ".join(line.rstrip() for line in log.readlines()[-8:])
        raise LlmperfError(f"{step}: exit status {result.returncode}; log: {log_path}; last lines: {tail}")


def ensure_llmperf(cache_dir: str | None = None, archive_url: str = LLMPERF_ARCHIVE_URL,
                   archive_sha256: str = LLMPERF_ARCHIVE_SHA256, python: str | None = None,
                   index_url: str = "", requirements: Sequence[str] = LLMPERF_REQUIREMENTS,
                   timeout_s: float = 1800) -> tuple[LlmperfInstall, bool]:
    """The install for these inputs, made first when the cache lacks it; ``(install, installed_now)``.

    ``archive_url`` is an https URL (GitHub or an internal mirror), a ``file://`` URL or a local path;
    its sha256 must be ``archive_sha256``. ``index_url`` points pip at a PyPI mirror.
    """
    python = python or sys.executable
    archive_sha256 = archive_sha256.lower()
    key = install_key(archive_sha256, requirements, python_version(python))
    install = install_paths(cache_dir, key)
    base = os.path.dirname(install.root)
    os.makedirs(base, exist_ok=True)
    # one installer per key: a second caller waits, then finds the install complete
    with open(os.path.join(base, key + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_complete(install):
            return install, False
        shutil.rmtree(install.root, ignore_errors=True)
        os.makedirs(install.root)
        log_path = os.path.join(install.root, "install.log")
        archive = os.path.join(install.root, "llmperf.tar.gz")
        if "://" not in archive_url:
            archive_url = Path(os.path.abspath(os.path.expanduser(archive_url))).as_uri()
        try:
            fetch_verified(archive_url, archive_sha256, archive)
        except Exception as error:  # the fetch helper raises OSError, URLError or its digest error
            raise LlmperfError(f"LLMPerf archive {archive_url}: {error}") from error
        _unpack_source(archive, install.source)
        venv = os.path.join(install.root, "venv")
        _run_logged([python, "-m", "venv", venv], log_path, "LLMPerf venv", timeout=300)
        pip = [install.python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
        if index_url:
            pip += ["--index-url", index_url]
        _run_logged(pip + list(requirements), log_path, "LLMPerf requirements (pip install)", timeout=timeout_s)
        Path(install.root, "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        Path(install.root, ".complete").write_text(json.dumps({"archive_url": archive_url,
                                                               "archive_sha256": archive_sha256}) + "\n",
                                                   encoding="utf-8")
        return install, True


# --- tokenizer -------------------------------------------------------------------------------------

def spm_tokenizer_json(tokens: Sequence[str], scores: Sequence[float], types: Sequence[int],
                       bos: str = "<s>", eos: str = "</s>", unk: str = "<unk>") -> dict[str, Any]:
    """A ``tokenizers`` file equivalent to a SentencePiece (llama) vocab: BPE with byte fallback.

    Merges are every split of a piece into two pieces of the vocab, ranked by the merged piece's score,
    highest first: what llama.cpp's SPM tokenizer does (it merges the adjacent pair whose join scores
    highest, llama-vocab.cpp llm_tokenizer_spm) and what transformers' LlamaConverter derives from a
    SentencePiece model (convert_slow_tokenizer.SentencePieceExtractor). Normalizer, byte fallback and
    the BOS post-processor are those of LLMPerf's own hf-internal-testing/llama-tokenizer.
    """
    vocab = {piece: index for index, piece in enumerate(tokens)}
    # control (3), unknown (2) and byte (6) tokens are whole tokens, never merge results (gguf.TokenType)
    mergeable = {piece for piece, kind in zip(tokens, types, strict=True) if kind == 1}
    ranked = []
    for piece in mergeable:
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab and (left in mergeable or len(left) == 1) and \
                    (right in mergeable or len(right) == 1):
                ranked.append((-scores[vocab[piece]], vocab[left], vocab[right], left, right))
    ranked.sort()
    special = [{"id": vocab[piece], "content": piece, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}
               for piece, kind in zip(tokens, types, strict=True) if kind in (2, 3)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": special,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [vocab[bos]], "tokens": [bos]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": unk, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [[entry[3], entry[4]] for entry in ranked]},
    }


def write_tokenizer_cache(hf_home: str, tokenizer: dict[str, Any], description: str,
                          config_overrides: dict[str, Any] | None = None) -> str:
    """Lay ``tokenizer`` out as the hub cache's snapshot of LLMPerf's tokenizer name; return the snapshot path.

    transformers, with HF_HUB_OFFLINE=1 and HF_HOME=``hf_home``, resolves the name through
    ``hub/models--<org>--<name>/refs/main`` to ``snapshots/<revision>/`` (huggingface_hub's cache layout).
    """
    repo_dir = Path(hf_home, "hub", "models--" + LLMPERF_TOKENIZER_REPO.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / TOKENIZER_REVISION
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    overrides = dict(config_overrides or {})
    add_bos = overrides.pop("add_bos_token", True)
    special = overrides or {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    config = {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": add_bos, "add_eos_token": False,
              "legacy": True, "model_max_length": 1000000, "clean_up_tokenization_spaces": False,
              "llmops_oke": description, **special}
    (snapshot / "tokenizer_config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    (snapshot / "special_tokens_map.json").write_text(json.dumps(special, indent=1), encoding="utf-8")
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(TOKENIZER_REVISION, encoding="utf-8")
    return str(snapshot)


def model_tokenizer(folder: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A served model's own tokenizer (its folder's ``tokenizer.json``) and the special tokens of its
    ``tokenizer_config.json``, for :func:`write_tokenizer_cache`: what the server counts with (vLLM tokenizes
    with the model folder's tokenizer)."""
    path = Path(folder, "tokenizer.json")
    try:
        tokenizer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LlmperfError(f"llmperf_tokenizer_dir={folder}: no readable tokenizer.json ({error})") from error
    try:
        config = json.loads(Path(folder, "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    special = {name: config[name] for name in ("bos_token", "eos_token", "unk_token", "pad_token")
               if isinstance(config.get(name), str)}
    # LlamaTokenizerFast rebuilds the post-processor from add_bos_token: keep what the model says
    return tokenizer, {**special, "add_bos_token": bool(config.get("add_bos_token", False))}


def demo_tokenizer(vocab_size: int) -> dict[str, Any]:
    """The tokenizer file of the generated demo model (its vocab is ours: demo_vocab.build_vocab)."""
    from .demo_vocab import build_vocab

    tokens, scores, types = build_vocab(vocab_size)
    return spm_tokenizer_json(tokens, scores, types)


# --- running ---------------------------------------------------------------------------------------

@dataclass
class LlmperfWorkload:
    """What LLMPerf is asked to run (the flags of its two scripts)."""

    base_url: str
    model: str
    levels: Sequence[int]
    mean_input_tokens: int
    stddev_input_tokens: int
    mean_output_tokens: int
    stddev_output_tokens: int
    max_requests: int
    timeout_s: int = 600
    correctness_requests: int = 0
    correctness_max_tokens: int = 32
    api_key: str = ""

    def openai_base(self) -> str:
        base = self.base_url.rstrip("/")
        return base if base.endswith("/v1") else base + "/v1"

    def metrics_url(self) -> str:
        return self.openai_base()[:-len("/v1")] + "/metrics"


def read_cache_counters(work: LlmperfWorkload) -> dict[str, Any] | str:
    """The server's prompt-cache counters now (metrics.cache_counters), or why they cannot be read (a string).

    Read around each level: LLMPerf seeds its prompt sampler the same way at every level (random.seed(11111)
    in token_benchmark_ray.py), so from the second level on it sends prompts the server has seen; the share
    of prompt tokens the server answered from its cache says how much of the level's TTFT is prefill.
    """
    headers = {"Authorization": f"Bearer {work.api_key}"} if work.api_key else None
    try:
        with http_get(work.metrics_url(), 10.0, headers) as response:
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"{work.metrics_url()} unreachable: {error}"
    return cache_counters(text) or "the endpoint's /metrics has no llama.cpp or vLLM prompt-cache counters"


def level_cache(before: dict[str, Any] | str, after: dict[str, Any] | str) -> dict[str, Any]:
    """One level's prompt-cache share from the counters read before and after its script."""
    reason = next((c for c in (before, after) if isinstance(c, str)), "")
    return prompt_cache_summary(before if isinstance(before, dict) else None,
                                after if isinstance(after, dict) else None, None, reason)


def load_command(install: LlmperfInstall, work: LlmperfWorkload, level: int, out_dir: str) -> list[str]:
    return [install.python, os.path.join(install.source, "token_benchmark_ray.py"),
            "--model", work.model,
            "--mean-input-tokens", str(work.mean_input_tokens),
            "--stddev-input-tokens", str(work.stddev_input_tokens),
            "--mean-output-tokens", str(work.mean_output_tokens),
            "--stddev-output-tokens", str(work.stddev_output_tokens),
            "--max-num-completed-requests", str(work.max_requests),
            "--timeout", str(work.timeout_s),
            "--num-concurrent-requests", str(level),
            "--results-dir", out_dir,
            "--llm-api", "openai",
            "--additional-sampling-params", "{}"]


def correctness_command(install: LlmperfInstall, work: LlmperfWorkload, out_dir: str) -> list[str]:
    # its prompts set no max_tokens: bound the answer, a number fits in a few tokens
    return [install.python, os.path.join(install.source, "llm_correctness.py"),
            "--model", work.model,
            "--max-num-completed-requests", str(work.correctness_requests),
            "--timeout", str(work.timeout_s),
            "--num-concurrent-requests", "1",
            "--results-dir", out_dir,
            "--llm-api", "openai",
            "--additional-sampling-params", json.dumps({"max_tokens": work.correctness_max_tokens})]


def llmperf_env(install: LlmperfInstall, work: LlmperfWorkload, hf_home: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update({
        "PYTHONPATH": os.path.join(install.source, "src"),
        "OPENAI_API_BASE": work.openai_base(),
        # LLMPerf insists on a key; a server without one accepts any
        "OPENAI_API_KEY": work.api_key or "none",
        "RAY_USAGE_STATS_ENABLED": "0",
        "TOKENIZERS_PARALLELISM": "false",
    })
    if hf_home:
        env.update({"HF_HOME": hf_home, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    return env


def run_llmperf(install: LlmperfInstall, work: LlmperfWorkload, out_dir: str, hf_home: str | None,
                tokenizer_description: str) -> dict[str, Any]:
    """Run the load script once per level and the correctness script into ``out_dir``; return the run record.

    A level whose script fails stops the run with its log's last lines: a partial sweep is not imported.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = llmperf_env(install, work, hf_home)
    steps = []
    # a script run over a generous bound is a hang (ray start-up included): the bound is the level timeout + 5 min
    bound = work.timeout_s + 300
    for level in work.levels:
        level_dir = str(out / f"c{level}")
        shutil.rmtree(level_dir, ignore_errors=True)
        command = load_command(install, work, level, level_dir)
        before = read_cache_counters(work)
        started = time.monotonic()
        _run_logged(command, str(out / f"c{level}.log"), f"LLMPerf token_benchmark_ray.py at concurrency {level}",
                    timeout=bound, env=env, cwd=install.source)
        steps.append({"script": "token_benchmark_ray.py", "concurrency": level, "results_dir": level_dir,
                      "seconds": round(time.monotonic() - started, 1), "log": str(out / f"c{level}.log"),
                      "prompt_cache": level_cache(before, read_cache_counters(work))})
    if work.correctness_requests > 0:
        correctness_dir = str(out / "correctness")
        shutil.rmtree(correctness_dir, ignore_errors=True)
        started = time.monotonic()
        _run_logged(correctness_command(install, work, correctness_dir), str(out / "correctness.log"),
                    "LLMPerf llm_correctness.py", timeout=bound, env=env, cwd=install.source)
        steps.append({"script": "llm_correctness.py", "results_dir": correctness_dir,
                      "seconds": round(time.monotonic() - started, 1), "log": str(out / "correctness.log")})
    record = {"commit_archive_sha256": file_sha256(os.path.join(install.root, "llmperf.tar.gz")),
              "install": install.as_dict(), "openai_api_base": work.openai_base(),
              "tokenizer": tokenizer_description, "steps": steps}
    (out / "llmperf_run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


# --- the engine: what llm_benchmark calls for engine=llmperf / engine=crosscheck -------------------

@dataclass
class LlmperfOptions:
    """Where LLMPerf comes from and which tokenizer counts its tokens."""

    archive_url: str = LLMPERF_ARCHIVE_URL
    archive_sha256: str = LLMPERF_ARCHIVE_SHA256
    index_url: str = ""
    cache_dir: str | None = None
    # >0: the served model is our generated demo model with this vocab size; its tokenizer counts tokens.
    # 0: LLMPerf's own hub tokenizer (needs the hub reachable).
    demo_vocab_size: int = 0
    # set: the served model's folder; LLMPerf counts with its tokenizer.json (e.g. the vLLM demo model's byte-level
    # BPE), resolved offline. Wins over demo_vocab_size.
    tokenizer_dir: str = ""


def run_llmperf_engine(config: Any, options: LlmperfOptions) -> dict[str, Any]:
    """Install (cached), run both LLMPerf scripts for ``config``'s closed-loop levels, import into the run folder.

    LLMPerf's raw folders go to ``<run folder>/llmperf/``; the run folder gets the same summary.json,
    CSVs and report as the builtin engine (job_import.import_llmperf).
    """
    import dataclasses

    from .job_import import import_llmperf

    if config.mode != "closed":
        raise ValueError("engine llmperf runs closed-loop levels only (mode=closed)")
    if not config.max_requests:
        raise ValueError("engine llmperf needs max_requests (LLMPerf stops on a request count)")
    if not config.run_id:
        config = dataclasses.replace(config, run_id=run_folder.new_run_id())
    install, _installed_now = ensure_llmperf(options.cache_dir, options.archive_url, options.archive_sha256,
                                             index_url=options.index_url)
    raw = run_folder.run_dir(config.results_dir, config.run_id, create=False) / "llmperf"
    hf_home = None
    description = f"LLMPerf: {LLMPERF_TOKENIZER_REPO} from the hub (len(tokenizer.encode(text)), BOS included)"
    if options.tokenizer_dir:
        hf_home = str(raw / "hf_home")
        tokenizer, special = model_tokenizer(options.tokenizer_dir)
        write_tokenizer_cache(hf_home, tokenizer, f"the served model's tokenizer ({options.tokenizer_dir})", special)
        description = (f"LLMPerf: the served model's own tokenizer ({options.tokenizer_dir}/tokenizer.json) as "
                       f"{LLMPERF_TOKENIZER_REPO} (len(tokenizer.encode(text)), BOS "
                       f"{'included' if special['add_bos_token'] else 'not added: the model adds none'})")
    elif options.demo_vocab_size > 0:
        hf_home = str(raw / "hf_home")
        write_tokenizer_cache(hf_home, demo_tokenizer(options.demo_vocab_size),
                              f"demo model vocabulary ({options.demo_vocab_size} pieces)")
        description = (f"LLMPerf: the demo model's own vocabulary ({options.demo_vocab_size} pieces) as "
                       f"{LLMPERF_TOKENIZER_REPO} (len(tokenizer.encode(text)), BOS included)")
    work = LlmperfWorkload(base_url=config.base_url, model=config.model, levels=list(config.concurrency),
                           mean_input_tokens=config.mean_input_tokens,
                           stddev_input_tokens=config.stddev_input_tokens,
                           mean_output_tokens=config.mean_output_tokens,
                           stddev_output_tokens=config.stddev_output_tokens,
                           max_requests=config.max_requests, timeout_s=int(config.request_timeout_s),
                           correctness_requests=config.correctness_requests, api_key=config.api_key or "")
    run_llmperf(install, work, str(raw), hf_home, description)
    return import_llmperf(raw, config)


def run_crosscheck(config: Any, options: LlmperfOptions, run_builtin: Any) -> dict[str, Any]:
    """Our engine into ``<run_id>/``, LLMPerf on the same endpoint and workload into ``<run_id>-llmperf/``,
    then the comparison added to our run folder (crosscheck.json/.md, report section)."""
    import dataclasses

    ours = run_builtin(config)
    if ours.get("status") != "complete":
        return ours
    theirs_config = dataclasses.replace(config, run_id=f"{config.run_id}-llmperf")
    run_llmperf_engine(theirs_config, options)
    return run_folder.add_crosscheck(run_folder.run_dir(config.results_dir, config.run_id, create=False),
                                     run_folder.run_dir(config.results_dir, theirs_config.run_id, create=False))
