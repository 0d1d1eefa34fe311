"""Inputs that cannot measure anything are refused before anything starts, in one line naming the option.

The same table of bad inputs goes through the engine (``BenchmarkConfig.from_dict``), the CLI (``bench run``)
and the ``llm_benchmark`` module; each must fail with the option's name (``--max-requests`` on the CLI,
``max_requests`` in the module, ``benchmark_max_requests`` when the role's prefix is set), send no request
and write no file.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.llmops.oke.plugins.module_utils.bench.__main__ import main as cli_main
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig
from ansible_collections.llmops.oke.plugins.module_utils.bench.options import OptionError, cli_flag
from ansible_collections.llmops.oke.plugins.modules import llm_benchmark

# (option the message must name, options that are wrong)
BAD_INPUTS: list[tuple[str, dict[str, Any]]] = [
    ("base_url", {"base_url": "not a url"}),
    ("base_url", {"base_url": "ftp://127.0.0.1:8080"}),
    ("base_url", {"base_url": "http://"}),
    ("base_url", {"base_url": "127.0.0.1:8080"}),
    ("base_url", {"base_url": ""}),
    ("model", {"model": ""}),
    ("concurrency", {"concurrency": []}),
    ("concurrency", {"concurrency": [0]}),
    ("concurrency", {"concurrency": [4, -1]}),
    ("rates_rps", {"mode": "open", "rates_rps": []}),
    ("rates_rps", {"mode": "open", "rates_rps": [0.0]}),
    ("rates_rps", {"mode": "open", "rates_rps": [1.0, -2.0]}),
    ("max_requests", {"max_requests": 0}),
    ("max_requests", {"max_requests": -5}),
    ("duration_s", {"duration_s": 0.0}),
    ("warmup_requests", {"warmup_requests": -1}),
    ("request_timeout_s", {"request_timeout_s": 0.0}),
    ("request_timeout_s", {"request_timeout_s": -1.0}),
    ("stall_timeout_s", {"stall_timeout_s": 0.0}),
    ("connect_timeout_s", {"connect_timeout_s": -0.5}),
    ("slo_ttft_s", {"slo_ttft_s": -1.0}),
    ("slo_ttft_s", {"slo_ttft_s": 0.0}),
    ("slo_itl_s", {"slo_itl_s": -0.1}),
    ("slo_e2e_s", {"slo_e2e_s": 0.0}),
    ("slo_error_rate", {"slo_error_rate": -0.1}),
    ("slo_error_rate", {"slo_error_rate": 1.5}),
    ("mean_input_tokens", {"mean_input_tokens": 0}),
    ("mean_output_tokens", {"mean_output_tokens": -3}),
    ("stddev_input_tokens", {"stddev_input_tokens": -1}),
    ("api_key_header", {"api_key_header": "x api key"}),
    ("run_id", {"run_id": "../outside"}),
    ("run_id", {"run_id": "a/b"}),
    ("replicas", {"replicas": 0}),
    ("replicas_per_node", {"replicas_per_node": 0}),
    ("headroom", {"headroom": 1.5}),
    ("ocpus", {"ocpus": -1.0}),
    ("target_rps", {"target_rps": 0.0}),
    ("server_slots", {"server_slots": 0}),
    ("bandwidth_bps", {"bandwidth_bps": -1.0}),
    ("correctness_requests", {"correctness_requests": -1}),
    ("determinism_prompts", {"determinism_prompts": -2}),
    ("seed", {"seed": -1}),
]
IDS = [f"{name}={list(bad.values())[-1]!r}" for name, bad in BAD_INPUTS]


def _good(tmp_path: Path, base_url: str = "http://127.0.0.1:9") -> dict[str, Any]:
    return {"base_url": base_url, "model": "m", "preset": "chatbot", "results_dir": str(tmp_path / "results"),
            "run_id": "r1", "report": False, "max_requests": 2}


@pytest.mark.parametrize(("option", "bad"), BAD_INPUTS, ids=IDS)
def test_engine_refuses_naming_the_option(option: str, bad: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(OptionError) as caught:
        BenchmarkConfig.from_dict({**_good(tmp_path), **bad})
    assert caught.value.option == option
    assert caught.value.message("benchmark_").startswith(f"benchmark_{option} ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_engine_refuses_non_finite_timeouts(value: float, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="request_timeout_s"):
        BenchmarkConfig.from_dict({**_good(tmp_path), "request_timeout_s": value})


def test_engine_keeps_boundary_values_that_mean_something(tmp_path: Path) -> None:
    config = BenchmarkConfig.from_dict({**_good(tmp_path), "slo_error_rate": 0.0, "warmup_requests": 0,
                                        "headroom": 0.0, "stddev_output_tokens": 0, "seed": 0, "max_requests": 1,
                                        "mode": "open", "rates_rps": [0.5], "api_key_header": "x-api-key"})
    assert config.slo_error_rate == 0.0 and config.rates_rps == [0.5]


def _cli_args(options: dict[str, Any]) -> list[str]:
    argv = ["run"]
    for name, value in options.items():
        if isinstance(value, bool):
            argv.append(cli_flag(name) if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, list):
            argv += [cli_flag(name), ",".join(str(v) for v in value)]
        else:
            argv += [cli_flag(name), str(value)]
    return argv


@pytest.mark.parametrize(("option", "bad"), BAD_INPUTS, ids=IDS)
def test_cli_refuses_in_one_line_naming_the_flag(option: str, bad: dict[str, Any], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(_cli_args({**_good(tmp_path), **bad}))
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"bench run: {cli_flag(option)} ")
    assert not (tmp_path / "results").exists()


def _module(args: dict[str, Any]) -> dict[str, Any]:
    stdout = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(stdout), contextlib.suppress(SystemExit):
        llm_benchmark.main()
    return json.loads(stdout.getvalue())


@pytest.mark.parametrize(("option", "bad"), BAD_INPUTS, ids=IDS)
def test_module_refuses_naming_the_option_and_sends_nothing(option: str, bad: dict[str, Any], tmp_path: Path,
                                                            llm_server) -> None:
    args = {**_good(tmp_path, llm_server.base_url), **bad}
    plain = _module(args)
    prefixed = _module({**args, "variable_prefix": "benchmark_"})
    assert plain["failed"] is True and prefixed["failed"] is True
    assert plain["msg"].startswith(f"llm_benchmark: {option} ") and "\n" not in plain["msg"]
    assert prefixed["msg"].startswith(f"llm_benchmark: benchmark_{option} ")
    assert llm_server.server.arrivals == 0
    assert not (tmp_path / "results").exists()


def test_module_validate_only_sends_and_writes_nothing(tmp_path: Path, llm_server) -> None:
    result = _module({**_good(tmp_path, llm_server.base_url), "validate_only": True})
    assert result["changed"] is False and result["status"] == "valid"
    assert llm_server.server.arrivals == 0 and not (tmp_path / "results").exists()
