#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: llm_benchmark
short_description: Benchmark an OpenAI-compatible LLM endpoint and write an LLMPerf-compatible results folder
version_added: 0.1.0
description:
  - "Runs the collection's benchmark engine on the host the task runs on (usually the controller through
    C(delegate_to: localhost), or a bench host): a sweep of closed-loop concurrency levels, or open-loop
    request rates, against an OpenAI-compatible chat or completions endpoint (llama.cpp, vLLM, an API Gateway)."
  - Writes C(<results_dir>/<run_id>/) with LLMPerf's C(*_summary.json) and C(*_individual_responses.json) per
    level, a per-request CSV, C(summary.json) with stricter definitions, capacity and cost, and a Markdown and
    HTML report with plots. Progress lines go to C(progress.log) in that folder while it runs.
  - A completed run with the same O(run_id) is not run again (the module returns its summary, unchanged)
    unless O(force=true). In check mode nothing is sent and nothing is written.
  - Interrupting the play (SIGINT/SIGTERM) writes the partial results with status C(interrupted).
  - Values that cannot measure anything (a O(base_url) that is not an http(s) URL, no levels, O(max_requests) below 1,
    a timeout or SLO not above 0) are refused before anything is sent or written, with one line naming the option.
    Types, defaults, choices and ranges come from the engine's option table (C(plugins/module_utils/bench/options.py)).
author:
  - llmops.oke maintainers (@llmops)
requirements:
  - matplotlib (only when O(report=true))
options:
  base_url:
    description: Endpoint base URL, with or without C(/v1), for example C(http://127.0.0.1:8080).
    type: str
    required: true
  model:
    description: Model name sent in each request.
    type: str
    required: true
  api:
    description: Which OpenAI API to call.
    type: str
    choices: [chat, completions]
    default: chat
  api_key:
    description: 'API key or token; sent as C(Authorization: Bearer <key>), or as the bare value in O(api_key_header).
      The CLI reads it from the variable named by C(--api-key-env).'
    type: str
  api_key_header:
    description: Header that carries O(api_key). Use the API Gateway usage plan's token header
      (for example C(x-api-key)).
    type: str
    default: Authorization
  preset:
    description: Use-case preset that fills token lengths, concurrency levels and SLOs not given explicitly; C(chatbot)
      is 100 input / 100 output tokens, C(rag) is 2000 input / 200 output tokens.
    type: str
    choices: [chatbot, rag]
  mean_input_tokens:
    description: Mean prompt length in tokens (default 550, or the preset's).
    type: int
  stddev_input_tokens:
    description: Standard deviation of the prompt length (default 150, or the preset's).
    type: int
  mean_output_tokens:
    description: Mean requested output length in tokens (default 150, or the preset's).
    type: int
  stddev_output_tokens:
    description: Standard deviation of the output length (default 80, or the preset's).
    type: int
  concurrency:
    description: Closed-loop concurrency levels (users), one level each; the cap on requests in flight in open loop
      (default C([1]), or the preset's).
    type: list
    elements: int
  mode:
    description: C(closed) keeps N users busy (LLMPerf's model); C(open) sends at O(rates_rps).
    type: str
    choices: [closed, open]
    default: closed
  rates_rps:
    description: Open-loop request rates, one level each.
    type: list
    elements: float
  arrival:
    description: Open-loop arrival process.
    type: str
    choices: [poisson, fixed]
    default: poisson
  max_requests:
    description: Measured requests per level (the level also stops at O(duration_s)).
    type: int
    default: 20
  duration_s:
    description: Longest time a level issues requests.
    type: float
  warmup_requests:
    description: Requests sent before each level and excluded from every metric.
    type: int
    default: 2
  seed:
    description: Seed of prompt lengths, prompt text and Poisson arrivals.
    type: int
    default: 11111
  cache_state:
    description: Prompt-cache state each level's measured requests start from. C(warm) keeps what earlier levels
      and the warm-up left (as production's replicas see it); C(cold) empties the server's prompt cache after the
      warm-up through its own API (llama-server C(POST /slots/<id>?action=erase), which needs C(--slot-save-path);
      vLLM C(POST /reset_prefix_cache), which needs C(VLLM_SERVER_DEV_MODE=1)).
    type: str
    choices: [warm, cold]
    default: warm
  host_load_limit:
    description: Runnable tasks per CPU of other work (mean over a level's measured requests; neither the client nor
      the server under test when it listens on this host is counted) above which the level is flagged as saturated
      by the host.
    type: float
    default: 0.5
  loop_lag_limit_ms:
    description: The client's event-loop lag p99 (ms) above which the level is flagged as saturated by the client.
    type: float
    default: 50.0
  request_timeout_s:
    description: A request not complete after this long is recorded as C(request_timeout).
    type: float
    default: 180.0
  stall_timeout_s:
    description: A request that receives no bytes for this long is recorded as C(stall_timeout).
    type: float
    default: 30.0
  connect_timeout_s:
    description: Longest wait for a connection to the endpoint.
    type: float
    default: 10.0
  server_extensions:
    description: Send C(ignore_eos) and C(min_tokens) (llama.cpp, vLLM) so outputs have the requested length.
    type: bool
    default: true
  tokenizer:
    description: C(auto) counts prompt tokens with the server's C(/tokenize) when it has one, else estimates.
    type: str
    choices: [auto, estimate]
    default: auto
  slo_ttft_s:
    description: SLO on time to first token (p95 per level, and per request for goodput).
    type: float
  slo_itl_s:
    description: SLO on inter-token latency (p95 per level, and per request for goodput).
    type: float
  slo_e2e_s:
    description: SLO on end-to-end latency.
    type: float
  slo_error_rate:
    description: Highest error rate (0 to 1) a level may have to meet the SLOs.
    type: float
  fail_on_slo:
    description: Fail the task, with the numbers, when a level in O(slo_gate_levels) misses the SLOs.
    type: bool
    default: false
  slo_gate_levels:
    description: Level labels the gate checks (for example C(c1)); empty means every level.
    type: list
    elements: str
    default: []
  results_dir:
    description: Folder that holds one sub-folder per run.
    type: path
    required: true
  run_id:
    description: Name of the run folder; a UTC timestamp when omitted.
    type: str
  force:
    description: Run again even when O(run_id) already holds a completed run.
    type: bool
    default: false
  backend:
    description: Backend name recorded in the results and used in cost comparisons (for example C(llama_cpp)).
    type: str
    default: ''
  image:
    description: Server image recorded in the results.
    type: str
    default: ''
  node_shape:
    description: OCI shape serving the endpoint, used for cost (for example C(VM.GPU.A10.1)).
    type: str
    default: ''
  replicas:
    description: Replicas behind the endpoint, recorded in the results.
    type: int
    default: 1
  collection_version:
    description: Version of this collection, recorded in the results; empty reads it from the collection's
      C(MANIFEST.json) or C(galaxy.yml) when the engine runs from the collection's files.
    type: str
    default: ''
  ocpus:
    description: OCPUs of a flexible shape node, for cost.
    type: float
    default: 0.0
  memory_gb:
    description: Memory in GB of a flexible shape node, for cost.
    type: float
    default: 0.0
  prices:
    description: Price table overriding the dated OCI list prices, keyed by shape (JSON on the CLI).
    type: dict
  replicas_per_node:
    description: Server replicas sharing one node, for cost per replica.
    type: int
    default: 1
  target_rps:
    description: Request rate to size the replica count for.
    type: float
  headroom:
    description: Fraction (0 to 1) of each replica's capacity kept spare when sizing.
    type: float
    default: 0.0
  server_slots:
    description: Requests one replica processes in parallel, for the queue-depth HPA target.
    type: int
  weights_bytes:
    description: Model weight bytes read per decoded token, for the bandwidth-bound fraction.
    type: float
  bandwidth_bps:
    description: Memory bandwidth of the node in bytes/s (defaults per known shape).
    type: float
  correctness_requests:
    description: Requests of LLMPerf's numbers-as-words correctness test after the sweep (0 skips it).
    type: int
    default: 0
  determinism_prompts:
    description: Prompts of the temperature-0 determinism check after the sweep (0 skips it).
    type: int
    default: 0
  report:
    description: Draw the Markdown/HTML report and plots.
    type: bool
    default: true
  import_from:
    description:
      - Send no load; build the run folder from result files a Kubernetes Job wrote and the controller fetched.
      - A folder with C(summary.json) is a run folder of this engine; it is copied and its report drawn here.
      - Otherwise the folder holds upstream LLMPerf results, one C(c<concurrency>) sub-folder per level with
        C(*_individual_responses.json) and C(*_summary.json); they are converted into this engine's records,
        so C(summary.json), the CSV files and the report come out as for a run of this engine.
    type: path
  validate_only:
    description:
      - Check the options against the engine's option table and return; nothing is sent and nothing is written.
      - The benchmark role uses it to refuse bad input before it applies a Kubernetes Job.
    type: bool
    default: false
  variable_prefix:
    description:
      - Prefix of the variables the options came from, used in error messages so they name what the user set
        (the benchmark role sets C(benchmark_), so a bad O(max_requests) is reported as C(benchmark_max_requests)).
    type: str
    default: ''
  engine:
    description:
      - V(builtin) runs this collection's engine. V(llmperf) runs upstream LLMPerf (pinned commit) here,
        C(token_benchmark_ray.py) per concurrency level and C(llm_correctness.py) when O(correctness_requests)
        is above 0,
        in a cached environment of its own, and imports its files into the run folder (raw folders under
        C(llmperf/)). V(crosscheck) runs both on the same endpoint and workload, the LLMPerf run in
        C(<run_id>-llmperf/), and adds C(crosscheck.json), C(crosscheck.md) and a report section to the run folder.
      - V(llmperf) and V(crosscheck) run closed-loop levels only and need O(max_requests).
    type: str
    choices: [builtin, llmperf, crosscheck]
    default: builtin
  llmperf_archive:
    description: LLMPerf source archive at the pinned commit, an https URL (GitHub or a mirror), a file URL or a path.
    type: str
    default: https://github.com/ray-project/llmperf/archive/f1d6bed47e4501b0e371082b41601b59ab55269f.tar.gz
  llmperf_archive_sha256:
    description: sha256 of O(llmperf_archive); the default is the pinned commit's C(git archive).
    type: str
    default: a18cba027cda130c3f38f2d2323b9f9544f3bc663d1354737b6e9513abf5829b
  llmperf_index_url:
    description: A PyPI mirror for LLMPerf's environment (empty uses pip's configuration).
    type: str
    default: ""
  llmperf_tokenizer:
    description:
      - V(demo) when the served model is this collection's generated demo model (default parameters); LLMPerf
        counts tokens with that model's own vocabulary, written as the tokenizer LLMPerf loads and resolved offline.
      - V(hub) leaves LLMPerf its hub tokenizer C(hf-internal-testing/llama-tokenizer), which needs the hub reachable.
    type: str
    choices: [hub, demo]
    default: hub
  llmperf_tokenizer_dir:
    description:
      - The served model's folder (its C(tokenizer.json) and C(tokenizer_config.json)), for example the vLLM demo
        model's; LLMPerf counts tokens with that tokenizer, written as the one it loads and resolved offline.
      - Set, it wins over O(llmperf_tokenizer). Empty leaves O(llmperf_tokenizer) to decide.
    type: path
    default: ""
  cache_dir:
    description: Cache root for LLMPerf's environment (default C(~/.cache/llmops-oke) or C($LLMOPS_CACHE)).
    type: path
attributes:
  check_mode:
    description: Nothing is sent and nothing is written; the result says a run would happen.
    support: full
  diff_mode:
    description: No diff is produced.
    support: none
"""

EXAMPLES = r"""
- name: Benchmark the local llama.cpp server with the chatbot preset
  llmops.oke.llm_benchmark:
    base_url: http://127.0.0.1:8080
    model: demo
    preset: chatbot
    results_dir: "{{ playbook_dir }}/../results"
    node_shape: VM.Standard.A1.Flex
    ocpus: 4
    memory_gb: 24
  delegate_to: localhost
  register: bench

- name: RAG sweep through the API Gateway, failing the play when p95 TTFT misses 3 s
  llmops.oke.llm_benchmark:
    base_url: https://gw.example.com/llm
    api_key: "{{ gateway_key }}"
    model: meta-llama/Llama-3.1-8B-Instruct
    preset: rag
    concurrency: [1, 8, 16]
    slo_ttft_s: 3.0
    fail_on_slo: true
    results_dir: /srv/results
    backend: vllm
    node_shape: VM.GPU.A10.1
  delegate_to: localhost

- name: Build a run folder from the LLMPerf files a benchmark Job wrote
  llmops.oke.llm_benchmark:
    base_url: http://vllm.llm.svc:8000
    model: meta-llama/Llama-3.1-8B-Instruct
    preset: rag
    concurrency: [1, 8]
    results_dir: /srv/results
    run_id: rag-in-cluster
    import_from: /tmp/bench-job/results
  delegate_to: localhost
"""

RETURN = r"""
run_dir:
  description: The run folder.
  returned: always
  type: str
  sample: /srv/results/20261125T231500Z
status:
  description:
    - C(complete), C(interrupted), C(failed) (no request succeeded; the module fails naming the dominant error),
      C(check_mode) when nothing ran, or C(valid) with O(validate_only=true).
  returned: always
  type: str
  sample: complete
run_id:
  description: The run's id (O(run_id), else the UTC time); the benchmark role names its Kubernetes Job after it.
  returned: with O(validate_only=true)
  type: str
  sample: 20261125T231500Z
complete:
  description: Whether this run id already completed in O(results_dir) (and O(force) is off), so nothing would run.
  returned: with O(validate_only=true)
  type: bool
  sample: false
concurrency:
  description: The closed-loop concurrency levels after the preset.
  returned: with O(validate_only=true)
  type: list
  elements: int
  sample: [1, 4, 16, 32]
tokens:
  description: The token lengths after the preset (mean and stddev of input and output).
  returned: with O(validate_only=true)
  type: dict
  sample: {"mean_input": 100, "stddev_input": 10, "mean_output": 100, "stddev_output": 0}
job_args:
  description: The engine's CLI flags (C(python -m ...bench run)) for the options given; the Job runs them.
  returned: with O(validate_only=true)
  type: list
  elements: str
  sample: ["--base-url", "http://vllm:8000", "--model", "llama", "--concurrency", "1,4"]
slo_met:
  description: Whether every gated level met the SLOs.
  returned: unless check mode
  type: bool
  sample: true
levels:
  description: One line per level with the headline numbers (seconds, tokens/s).
  returned: unless check mode
  type: list
  elements: dict
  sample: [{"label": "c4", "ttft_p50_s": 0.21, "ttft_p95_s": 0.4, "itl_mean_s": 0.03, "itl_p95_s": 0.05,
            "output_tok_s": 120.5, "request_rps": 1.1, "error_rate": 0.0, "goodput_fraction": 1.0, "slo_met": true}]
table:
  description: The report's per-level table (C(report.md)'s columns) as aligned text lines, for printing.
  returned: unless check mode
  type: list
  elements: str
  sample:
    - "level  completed  errors  TTFT p50 ms  TTFT p95 ms  ITL mean ms  ITL p95 ms  E2E p95 s  out tok/s  req/s  goodput
      SLO met  machine  cache"
    - "c1            20    0.0%        210.0        250.1         30.2        35.0       4.71       30.1   0.30     100%
      yes       ok   warm"
summary:
  description: The content of C(summary.json) (metadata, per-level summaries with the host's load, the client's
    event-loop lag, their saturation verdict and the prompt-cache state, capacity and cost, correctness).
  returned: unless check mode
  type: dict
report:
  description: Paths of the report files and plots.
  returned: when O(report=true) and a level ran
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.bench import run_folder
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark
from ansible_collections.llmops.oke.plugins.module_utils.bench.job_import import import_job_results
from ansible_collections.llmops.oke.plugins.module_utils.bench.llmperf_runner import (
    DEMO_VOCAB_SIZE,
    LLMPERF_ARCHIVE_SHA256,
    LLMPERF_ARCHIVE_URL,
    LlmperfError,
    LlmperfOptions,
    run_crosscheck,
    run_llmperf_engine,
)
from ansible_collections.llmops.oke.plugins.module_utils.bench.options import (
    OptionError,
    cli_args,
    module_argument_spec,
)
from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import format_progress
from ansible_collections.llmops.oke.plugins.module_utils.bench.report import text_table

ENGINE_OPTIONS = tuple(module_argument_spec())
# What the Job's engine is told (the CLI's flags, plan()); the controller adds what it ran on and its cost.
JOB_OPTIONS = ("base_url", "model", "api", "api_key_header", "preset", "concurrency", "mode", "rates_rps",
               "max_requests", "duration_s", "warmup_requests", "mean_input_tokens", "mean_output_tokens",
               "tokenizer", "request_timeout_s", "stall_timeout_s", "slo_ttft_s", "slo_itl_s", "slo_error_rate",
               "correctness_requests", "determinism_prompts")
MODULE_OPTIONS = dict(
    fail_on_slo=dict(type="bool", default=False),
    slo_gate_levels=dict(type="list", elements="str", default=[]),
    force=dict(type="bool", default=False),
    import_from=dict(type="path"),
    validate_only=dict(type="bool", default=False),
    variable_prefix=dict(type="str", default=""),
    engine=dict(type="str", choices=["builtin", "llmperf", "crosscheck"], default="builtin"),
    llmperf_archive=dict(type="str", default=LLMPERF_ARCHIVE_URL),
    llmperf_archive_sha256=dict(type="str", default=LLMPERF_ARCHIVE_SHA256),
    llmperf_index_url=dict(type="str", default=""),
    llmperf_tokenizer=dict(type="str", choices=["hub", "demo"], default="hub"),
    llmperf_tokenizer_dir=dict(type="path", default=""),
    cache_dir=dict(type="path"),
)


def plan(config, params, run_id, run_dir):
    """What the role needs to run the engine elsewhere (the Kubernetes Job): the run id, whether that run
    already completed, the levels and token lengths after the preset, and the engine's CLI flags."""
    given = {name: params[name] for name in JOB_OPTIONS}
    return dict(run_id=run_id,
                complete=not params["force"] and run_folder.completed_summary(run_dir) is not None,
                concurrency=list(config.concurrency),
                tokens=dict(mean_input=config.mean_input_tokens, stddev_input=config.stddev_input_tokens,
                            mean_output=config.mean_output_tokens, stddev_output=config.stddev_output_tokens),
                job_args=cli_args(given))


def level_lines(summary):
    lines = []
    for level in summary.get("levels", []):
        s = level["summary"]
        lines.append({
            "label": level["label"],
            "ttft_p50_s": s["ttft_s"]["quantiles"]["p50"],
            "ttft_p95_s": s["ttft_s"]["quantiles"]["p95"],
            "itl_mean_s": s["itl_s"]["mean"],
            "itl_p95_s": s["itl_s"]["quantiles"]["p95"],
            "output_tok_s": s["output_throughput_token_per_s"],
            "request_rps": s["request_throughput_per_s"],
            "error_rate": s["error_rate"],
            "goodput_fraction": s["goodput_fraction"],
            "slo_met": s["slo_met"],
        })
    return lines


def gate_failures(lines, gate_levels):
    checked = [line for line in lines if not gate_levels or line["label"] in gate_levels]
    return [line for line in checked if not line["slo_met"]]


def main():
    module = AnsibleModule(
        argument_spec={**module_argument_spec(), **MODULE_OPTIONS},
        supports_check_mode=True,
    )
    params = module.params
    run_id = params["run_id"] or run_folder.new_run_id()
    run_dir = os.path.join(params["results_dir"], run_id)
    options = {name: params[name] for name in ENGINE_OPTIONS}
    options["run_id"] = run_id
    try:
        config = BenchmarkConfig.from_dict(options)
    except OptionError as error:
        module.fail_json(msg="llm_benchmark: {}; nothing was sent or written".format(
            error.message(params["variable_prefix"])))
    llmperf_runs = params["engine"] != "builtin" and not params["import_from"]
    if llmperf_runs and (config.mode != "closed" or not config.max_requests):
        module.fail_json(msg="llm_benchmark: {0}engine={1} runs LLMPerf, which takes closed-loop levels and a "
                             "request count: set {0}mode=closed and {0}max_requests; nothing was sent or "
                             "written".format(params["variable_prefix"], params["engine"]))
    tokenizer_dir = params["llmperf_tokenizer_dir"]
    if llmperf_runs and tokenizer_dir and not os.path.isfile(os.path.join(tokenizer_dir, "tokenizer.json")):
        module.fail_json(msg="llm_benchmark: {}llmperf_tokenizer_dir={}: no tokenizer.json there; nothing was "
                             "sent or written".format(params["variable_prefix"], tokenizer_dir))
    if params["validate_only"]:
        module.exit_json(changed=False, run_dir=run_dir, status="valid", **plan(config, params, run_id, run_dir))

    previous = None if params["force"] else run_folder.completed_summary(run_dir)
    if previous:
        finish(module, previous, run_dir, changed=False)
    if module.check_mode:
        module.exit_json(changed=True, run_dir=run_dir, status="check_mode")

    os.makedirs(run_dir, exist_ok=True)
    progress_path = os.path.join(run_dir, "progress.log")

    def progress(event):
        with open(progress_path, "a", encoding="utf-8") as handle:
            handle.write(format_progress(event) + "\n")

    try:
        if params["import_from"]:
            summary = import_job_results(params["import_from"], config)
        elif params["engine"] == "builtin":
            summary = run_benchmark(config, progress=progress)
        else:
            llmperf = LlmperfOptions(archive_url=params["llmperf_archive"],
                                     archive_sha256=params["llmperf_archive_sha256"],
                                     index_url=params["llmperf_index_url"], cache_dir=params["cache_dir"],
                                     demo_vocab_size=DEMO_VOCAB_SIZE if params["llmperf_tokenizer"] == "demo" else 0,
                                     tokenizer_dir=params["llmperf_tokenizer_dir"] or "")
            if params["engine"] == "llmperf":
                summary = run_llmperf_engine(config, llmperf)
            else:
                summary = run_crosscheck(config, llmperf, lambda cfg: run_benchmark(cfg, progress=progress))
    except (OSError, ValueError, KeyError, LlmperfError) as error:
        module.fail_json(msg="llm_benchmark against {}: {}".format(params["base_url"], error), run_dir=run_dir)
    finish(module, summary, run_dir, changed=True)


def finish(module, summary, run_dir, changed):
    lines = level_lines(summary)
    failures = gate_failures(lines, module.params["slo_gate_levels"])
    result = dict(changed=changed, run_dir=run_dir, status=summary["status"], slo_met=not failures, levels=lines,
                  table=text_table(summary), summary=summary, report=summary.get("report", {}))
    if summary["status"] != "complete":
        module.fail_json(msg="llm_benchmark against {}: run {}{}, partial results in {}".format(
            module.params["base_url"], summary["status"],
            ": " + summary["error"] if summary.get("error") else "", run_dir), **result)
    if module.params["fail_on_slo"] and failures:
        detail = "; ".join(
            "{label}: p95 TTFT {ttft}, p95 ITL {itl}, error rate {err:.1%}".format(
                label=line["label"], err=line["error_rate"],
                ttft="-" if line["ttft_p95_s"] is None else "{:.3f} s".format(line["ttft_p95_s"]),
                itl="-" if line["itl_p95_s"] is None else "{:.4f} s".format(line["itl_p95_s"]))
            for line in failures)
        slo = summary["levels"][0]["summary"]["slo"] if summary["levels"] else {}
        module.fail_json(msg="llm_benchmark against {}: SLOs missed (limits {}): {}".format(
            module.params["base_url"], {k: v for k, v in slo.items() if v is not None}, detail), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
