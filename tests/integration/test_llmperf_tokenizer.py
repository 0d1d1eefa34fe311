"""The tokenizer file written for LLMPerf gives the served demo model's own token ids (issue 17).

LLMPerf counts input tokens (to build its prompts) and output tokens (it re-tokenizes the generated text)
with ``LlamaTokenizerFast.from_pretrained("hf-internal-testing/llama-tokenizer")`` (token_benchmark_ray.py,
llmperf/utils.py). For the demo model the role writes that name's snapshot from the model's vocabulary
(llmperf_runner.spm_tokenizer_json). Here the same call, in LLMPerf's own environment, encodes a set of
texts, and llama-server's ``POST /tokenize`` (``add_special``: BOS, as LLMPerf's encode adds it) encodes
the same texts with the GGUF's vocabulary: the ids must be equal, text by text.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from test_bench_llama_server import CACHE, llama_server  # noqa: F401  # pylint: disable=unused-import
from test_llmperf_llama_server import _archive

from ansible_collections.llmops.oke.plugins.module_utils.bench.llmperf_runner import (
    DEMO_VOCAB_SIZE,
    LLMPERF_TOKENIZER_REPO,
    LlmperfWorkload,
    demo_tokenizer,
    ensure_llmperf,
    llmperf_env,
    write_tokenizer_cache,
)
from ansible_collections.llmops.oke.plugins.module_utils.bench.prompts import PROMPT_HEAD, PromptPool, corpus_lines

pytestmark = [pytest.mark.slow, pytest.mark.llama_server, pytest.mark.timeout(2400)]

# LLMPerf's call, verbatim (token_benchmark_ray.py get_token_throughput_latencies), on texts read from stdin
ENCODE = f"""
import json, sys
from transformers import LlamaTokenizerFast
tokenizer = LlamaTokenizerFast.from_pretrained("{LLMPERF_TOKENIZER_REPO}")
print(json.dumps([tokenizer.encode(text) for text in json.load(sys.stdin)]))
"""

EDGE_TEXTS = [
    "", " ", "  ", "\n", "\n\n", "\t", "Hello world", "Hello  world", " leading space", "  two leading spaces",
    "trailing space ", "a\tb\nc\r\nd", "12345 678.90 -1e9", "Don't generate eos tokens:\n\n",
    "café naïve façade", "日本語のテキスト", "emoji 🙂👍 and ∑ symbols", "zzzz qqqq xxxxx", "abcabcabcabc",
    "<s> literal markers </s>", "ALL CAPS SHOUTING", "mIxEd CaSe", "punctuation!!! ??? ...,;:",
]


def _server_ids(url: str, text: str) -> list[int]:
    body = json.dumps({"content": text, "add_special": True}).encode()
    request = urllib.request.Request(url + "/tokenize", data=body,
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer demo"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["tokens"]


def _generated_texts(url: str, count: int) -> list[str]:
    """Text the served model generates: what LLMPerf re-tokenizes to count output tokens."""
    texts = []
    for seed in range(count):
        body = {"model": "demo", "messages": [{"role": "user", "content": f"Say something, number {seed}."}],
                "max_tokens": 24, "temperature": 1.0, "seed": seed}
        request = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", "Authorization": "Bearer demo"})
        with urllib.request.urlopen(request, timeout=300) as response:
            texts.append(json.load(response)["choices"][0]["message"]["content"])
    return texts


def test_llmperf_tokenizer_ids_equal_the_servers(llama_server: str, tmp_path: Path) -> None:  # noqa: F811
    install, _installed_now = ensure_llmperf(CACHE, str(_archive()))
    hf_home = tmp_path / "hf_home"
    write_tokenizer_cache(str(hf_home), demo_tokenizer(DEMO_VOCAB_SIZE), "demo model vocabulary")

    pool = PromptPool(100, 10, 48, 0, seed=7, token_count=len)
    llmperf_sonnet = Path(install.source, "src", "llmperf", "sonnet.txt").read_text(encoding="utf-8")
    generated = _generated_texts(llama_server, 4)
    texts = (EDGE_TEXTS + llmperf_sonnet.splitlines(keepends=True) + corpus_lines()
             + [PROMPT_HEAD.format(n=n) for n in (1, 48, 150)] + [pool.take().text for _index in range(5)]
             + generated + [" " + text for text in generated])

    env = llmperf_env(install, LlmperfWorkload(base_url=llama_server, model="demo", levels=[1],
                                               mean_input_tokens=1, stddev_input_tokens=0, mean_output_tokens=1,
                                               stddev_output_tokens=0, max_requests=1), str(hf_home))
    result = subprocess.run([install.python, "-c", ENCODE], input=json.dumps(texts), env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    llmperf_ids = json.loads(result.stdout.strip().splitlines()[-1])

    differing = [(text, server, ours) for text, ours in zip(texts, llmperf_ids, strict=True)
                 if (server := _server_ids(llama_server, text)) != ours]
    assert not differing, f"{len(differing)} of {len(texts)} texts tokenized differently, first ones " + \
        "; ".join(f"{text!r}: server {server} llmperf {ours}" for text, server, ours in differing[:5])
    # the texts exercise byte fallback and merges, not only whole words
    assert any(len(ids) > len(text.split()) + 1 for text, ids in zip(texts, llmperf_ids, strict=True))
    assert sum(len(ids) for ids in llmperf_ids) > 5000
