# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's options, defined once: name, type, default, choices, range and help.

``BenchmarkConfig`` takes its defaults from here and checks every value against it
(:func:`check_options`), so the CLI, the ``llm_benchmark`` module and the Kubernetes Job refuse the
same inputs with the same sentence. The CLI parser (:func:`add_cli_options`) and the module's
argument spec (:func:`module_argument_spec`) are derived from this table; the module's
DOCUMENTATION, the benchmark role's spec, defaults and tasks, and the Job's script are checked
against it by ``tests/unit/plugins/module_utils/bench/test_options_drift.py``.

Help texts use Ansible's markup (``C(...)``, ``O(...)``); :func:`plain` strips it for the CLI.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .prompts import PRESETS

CLI = "cli"
MODULE = "module"
EVERYWHERE = frozenset({CLI, MODULE})

# RFC 9110 section 5.6.2: a field name is a token of these characters
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FOLDER_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Option:
    """One benchmark option. ``minimum``/``maximum`` bound a number (or each element of a list)."""

    name: str
    type: str  # Ansible's names: str, int, float, bool, list, dict, path
    help: str
    default: Any = None
    elements: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    above_minimum: bool = False  # True: the value must be greater than minimum, not equal to it
    maximum: float | None = None
    required: bool = False
    preset: bool = False  # a preset fills it when not given (so the module and CLI have no default)
    not_empty: bool = False  # a list that must hold at least one element
    form: str | None = None  # http_url, header_name, folder_name
    no_log: bool | None = None
    surfaces: frozenset[str] = EVERYWHERE
    module_spec: dict[str, Any] = field(default_factory=dict)  # what the module's spec says differently


def _int(name: str, help_text: str, default: Any = None, minimum: float | None = None, **kw: Any) -> Option:
    return Option(name, "int", help_text, default, minimum=minimum, **kw)


def _float(name: str, help_text: str, default: Any = None, minimum: float | None = None, **kw: Any) -> Option:
    return Option(name, "float", help_text, default, minimum=minimum, **kw)


def _str(name: str, help_text: str, default: Any = None, **kw: Any) -> Option:
    return Option(name, "str", help_text, default, **kw)


OPTIONS: tuple[Option, ...] = (
    _str("base_url", "Endpoint base URL, with or without C(/v1), for example C(http://127.0.0.1:8080).",
         required=True, form="http_url"),
    _str("model", "Model name sent in each request.", required=True),
    _str("api", "Which OpenAI API to call.", "chat", choices=("chat", "completions")),
    _str("api_key", "API key or token; sent as C(Authorization: Bearer <key>), or as the bare value in "
         "O(api_key_header). The CLI reads it from the variable named by C(--api-key-env).",
         no_log=True, surfaces=frozenset({MODULE})),
    _str("api_key_header", "Header that carries O(api_key). Use the API Gateway usage plan's token header "
         "(for example C(x-api-key)).", "Authorization", form="header_name", no_log=False),
    Option("headers", "dict", "Extra request headers (engine only).", {}, surfaces=frozenset()),
    _str("preset", "Use-case preset that fills token lengths, concurrency levels and SLOs not given explicitly; "
         "C(chatbot) is 100 input / 100 output tokens, C(rag) is 2000 input / 200 output tokens.",
         choices=tuple(sorted(PRESETS))),
    _int("mean_input_tokens", "Mean prompt length in tokens (default 550, or the preset's).", 550, 1,
         preset=True, no_log=False),
    _int("stddev_input_tokens", "Standard deviation of the prompt length (default 150, or the preset's).", 150, 0,
         preset=True, no_log=False),
    _int("mean_output_tokens", "Mean requested output length in tokens (default 150, or the preset's).", 150, 1,
         preset=True, no_log=False),
    _int("stddev_output_tokens", "Standard deviation of the output length (default 80, or the preset's).", 80, 0,
         preset=True, no_log=False),
    Option("concurrency", "list", "Closed-loop concurrency levels (users), one level each; the cap on requests in "
           "flight in open loop (default C([1]), or the preset's).", [1], elements="int", minimum=1,
           preset=True, not_empty=True),
    _str("mode", "C(closed) keeps N users busy (LLMPerf's model); C(open) sends at O(rates_rps).", "closed",
         choices=("closed", "open")),
    Option("rates_rps", "list", "Open-loop request rates, one level each.", [], elements="float", minimum=0,
           above_minimum=True, module_spec={"default": None}),
    _str("arrival", "Open-loop arrival process.", "poisson", choices=("poisson", "fixed")),
    _int("max_requests", "Measured requests per level (the level also stops at O(duration_s)).", 20, 1),
    _float("duration_s", "Longest time a level issues requests.", None, 0, above_minimum=True),
    _int("warmup_requests", "Requests sent before each level and excluded from every metric.", 2, 0),
    _int("seed", "Seed of prompt lengths, prompt text and Poisson arrivals.", 11111, 0),
    _str("cache_state", "Prompt-cache state each level's measured requests start from. C(warm) keeps what earlier "
         "levels and the warm-up left (as production's replicas see it); C(cold) empties the server's prompt cache "
         "after the warm-up through its own API (llama-server C(POST /slots/<id>?action=erase), which needs "
         "C(--slot-save-path); vLLM C(POST /reset_prefix_cache), which needs C(VLLM_SERVER_DEV_MODE=1)).", "warm",
         choices=("warm", "cold")),
    _float("host_load_limit", "Runnable tasks per CPU of other work (mean over a level's measured requests; "
           "neither the client nor the server under test when it listens on this host is counted) above which "
           "the level is flagged as saturated by the host.", 0.5, 0,
           above_minimum=True),
    _float("loop_lag_limit_ms", "The client's event-loop lag p99 (ms) above which the level is flagged as "
           "saturated by the client.", 50.0, 0, above_minimum=True),
    _float("request_timeout_s", "A request not complete after this long is recorded as C(request_timeout).",
           180.0, 0, above_minimum=True),
    _float("stall_timeout_s", "A request that receives no bytes for this long is recorded as C(stall_timeout).",
           30.0, 0, above_minimum=True),
    _float("connect_timeout_s", "Longest wait for a connection to the endpoint.", 10.0, 0, above_minimum=True),
    Option("server_extensions", "bool", "Send C(ignore_eos) and C(min_tokens) (llama.cpp, vLLM) so outputs have "
           "the requested length.", True),
    _str("tokenizer", "C(auto) counts prompt tokens with the server's C(/tokenize) when it has one, else "
         "estimates.", "auto", choices=("auto", "estimate")),
    _float("slo_ttft_s", "SLO on time to first token (p95 per level, and per request for goodput).", None, 0,
           above_minimum=True, preset=True),
    _float("slo_itl_s", "SLO on inter-token latency (p95 per level, and per request for goodput).", None, 0,
           above_minimum=True, preset=True),
    _float("slo_e2e_s", "SLO on end-to-end latency.", None, 0, above_minimum=True, preset=True),
    _float("slo_error_rate", "Highest error rate (0 to 1) a level may have to meet the SLOs.", None, 0,
           maximum=1, preset=True),
    Option("results_dir", "path", "Folder that holds one sub-folder per run.", "results",
           module_spec={"required": True, "default": None}),
    _str("run_id", "Name of the run folder; a UTC timestamp when omitted.", form="folder_name"),
    _str("name", "Prefix of LLMPerf's file names (engine only).", surfaces=frozenset()),
    _str("backend", "Backend name recorded in the results and used in cost comparisons (for example "
         "C(llama_cpp)).", ""),
    _str("image", "Server image recorded in the results.", ""),
    _str("node_shape", "OCI shape serving the endpoint, used for cost (for example C(VM.GPU.A10.1)).", ""),
    _int("replicas", "Replicas behind the endpoint, recorded in the results.", 1, 1),
    _str("collection_version", "Version of this collection, recorded in the results; empty reads it from the "
         "collection's C(MANIFEST.json) or C(galaxy.yml) when the engine runs from the collection's files.", ""),
    _float("ocpus", "OCPUs of a flexible shape node, for cost.", 0.0, 0),
    _float("memory_gb", "Memory in GB of a flexible shape node, for cost.", 0.0, 0),
    Option("prices", "dict", "Price table overriding the dated OCI list prices, keyed by shape (JSON on the "
           "CLI)."),
    _int("replicas_per_node", "Server replicas sharing one node, for cost per replica.", 1, 1),
    _float("target_rps", "Request rate to size the replica count for.", None, 0, above_minimum=True),
    _float("headroom", "Fraction (0 to 1) of each replica's capacity kept spare when sizing.", 0.0, 0, maximum=1),
    _int("server_slots", "Requests one replica processes in parallel, for the queue-depth HPA target.", None, 1),
    _float("weights_bytes", "Model weight bytes read per decoded token, for the bandwidth-bound fraction.", None, 0,
           above_minimum=True),
    _float("bandwidth_bps", "Memory bandwidth of the node in bytes/s (defaults per known shape).", None, 0,
           above_minimum=True),
    _int("correctness_requests", "Requests of LLMPerf's numbers-as-words correctness test after the sweep (0 "
         "skips it).", 0, 0),
    _int("determinism_prompts", "Prompts of the temperature-0 determinism check after the sweep (0 skips it).",
         0, 0),
    Option("report", "bool", "Draw the Markdown/HTML report and plots.", True),
)
BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}


class OptionError(ValueError):
    """A value the benchmark cannot measure with; ``message(prefix)`` names the variable the user set."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option} {problem}")
        self.option = option
        self.problem = problem

    def message(self, prefix: str = "") -> str:
        return f"{prefix}{self.option} {self.problem}"


def default_of(name: str) -> Any:
    """A dataclass ``field`` holding the table's default (a fresh copy for lists and dicts)."""
    value = BY_NAME[name].default
    if isinstance(value, (list, dict)):
        return field(default_factory=lambda: type(value)(value))  # pylint: disable=invalid-field-call
    return field(default=value)  # pylint: disable=invalid-field-call


def plain(text: str) -> str:
    """Help text without Ansible's markup: ``C(x)`` and ``O(x)`` become ``x``."""
    return re.sub(r"\b[CO]\(([^)]*)\)", r"\1", text)


def _bound_text(option: Option) -> str:
    parts = []
    if option.minimum is not None:
        parts.append(f"{'greater than' if option.above_minimum else 'at least'} {option.minimum:g}")
    if option.maximum is not None:
        parts.append(f"at most {option.maximum:g}")
    return " and ".join(parts)


def _in_range(option: Option, value: float) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if option.minimum is not None and (value <= option.minimum if option.above_minimum else value < option.minimum):
        return False
    return option.maximum is None or value <= option.maximum


_PY_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "path": (str,),
                                          "bool": (bool,), "list": (list, tuple), "dict": (dict,)}


def _check_type(option: Option, kind: str, value: Any, what: str) -> None:
    if isinstance(value, bool) and kind in ("int", "float"):
        raise OptionError(option.name, f"must be a number, got {value!r}")
    if not isinstance(value, _PY_TYPES[kind]):
        raise OptionError(option.name, f"{what} must be of type {kind}, got {value!r}")


def check_option(option: Option, value: Any) -> None:
    """Raise :class:`OptionError` when ``value`` (not None) is outside what ``option`` allows."""
    _check_type(option, option.type, value, "must be")
    if option.choices and value not in option.choices:
        raise OptionError(option.name, f"must be one of {', '.join(option.choices)}, got {value!r}")
    if option.type in ("int", "float") and not _in_range(option, value):
        raise OptionError(option.name, f"must be {_bound_text(option)}, got {value!r}")
    if option.type == "list":
        if option.not_empty and not value:
            raise OptionError(option.name, "needs at least one level, got an empty list")
        for element in value:
            _check_type(option, option.elements or "str", element, "elements")
        bad = [element for element in value if not _in_range(option, element)]
        if bad:
            raise OptionError(option.name, f"levels must be {_bound_text(option)}, got {list(value)!r}")
    if option.form == "http_url":
        parts = urlsplit(value) if not re.search(r"\s", value) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise OptionError(option.name, f"must be an http(s) URL such as http://127.0.0.1:8080, got {value!r}")
    elif option.form == "header_name" and not _HEADER_NAME.match(value):
        raise OptionError(option.name, f"must be an HTTP header name (letters, digits, '-'), got {value!r}")
    elif option.form == "folder_name" and (not _FOLDER_NAME.match(value) or value in (".", "..")):
        raise OptionError(option.name, f"must be a folder name (letters, digits, '.', '_', '-'), got {value!r}")


def check_options(values: dict[str, Any]) -> None:
    """Check every option, then the rules between options; the first problem raises :class:`OptionError`."""
    for name, option in BY_NAME.items():
        value = values.get(name)
        if value is None:
            if option.required:
                raise OptionError(name, "must be set")
            continue
        check_option(option, value)
    if values.get("mode") == "open" and not values.get("rates_rps"):
        raise OptionError("rates_rps", "needs at least one rate when mode is open")
    if values.get("max_requests") is None and values.get("duration_s") is None:
        raise OptionError("max_requests", "must be set when duration_s is not")


def module_argument_spec() -> dict[str, dict[str, Any]]:
    """The ``llm_benchmark`` module's spec for the engine's options."""
    spec: dict[str, dict[str, Any]] = {}
    for option in OPTIONS:
        if MODULE not in option.surfaces:
            continue
        entry: dict[str, Any] = {"type": option.type}
        if option.elements:
            entry["elements"] = option.elements
        if option.choices:
            entry["choices"] = list(option.choices)
        if option.required:
            entry["required"] = True
        if option.default is not None and not option.preset:
            entry["default"] = option.default
        if option.no_log is not None:
            entry["no_log"] = option.no_log
        entry.update(option.module_spec)
        spec[option.name] = {key: value for key, value in entry.items() if value is not None}
    return spec


def _list_of(kind: str) -> Any:
    convert = {"int": int, "float": float}.get(kind, str)

    def parse(text: str) -> list[Any]:
        try:
            return [convert(item.strip()) for item in text.split(",") if item.strip()]
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"a comma-separated list of {kind} values, got {text!r}") from error

    return parse


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"a JSON object, got {text!r}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"a JSON object, got {text!r}")
    return value


def cli_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def cli_args(values: dict[str, Any]) -> list[str]:
    """The CLI's flags for ``values`` (option name to value), in the table's order; unset values (None, "", [])
    are left out so the engine's defaults and presets apply, as when the flag is not typed."""
    args: list[str] = []
    for option in OPTIONS:
        value = values.get(option.name)
        if option.name not in values or CLI not in option.surfaces or value in (None, "", [], {}):
            continue
        if option.type == "bool":
            args.append(cli_flag(option.name) if value else "--no-" + option.name.replace("_", "-"))
        elif option.type == "list":
            args += [cli_flag(option.name), ",".join(f"{item:g}" if isinstance(item, float) else str(item)
                                                     for item in value)]
        elif option.type == "dict":
            args += [cli_flag(option.name), json.dumps(value, sort_keys=True)]
        else:
            args += [cli_flag(option.name), f"{value:g}" if isinstance(value, float) else str(value)]
    return args


def add_cli_options(parser: argparse.ArgumentParser) -> None:
    """One flag per option (``--max-requests``); omitted flags stay None so the engine's defaults apply."""
    converters = {"int": int, "float": float, "str": str, "path": str, "dict": _json_object}
    for option in OPTIONS:
        if CLI not in option.surfaces:
            continue
        text = plain(option.help)
        if option.default not in (None, "", [], {}) and not option.preset:
            text += f" (default {option.default})"
        kwargs: dict[str, Any] = {"dest": option.name, "help": text.replace("%", "%%")}
        if option.type == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif option.type == "list":
            kwargs.update(type=_list_of(option.elements or "str"), metavar="A,B,...")
        else:
            kwargs["type"] = converters[option.type]
        if option.choices:
            kwargs["choices"] = option.choices
        if option.required:
            kwargs["required"] = True
        parser.add_argument(cli_flag(option.name), **kwargs)
