"""Every place that states a benchmark option agrees with the engine's option table (bench/options.py).

Derived from the table at runtime: ``BenchmarkConfig``'s defaults, the CLI's flags, the module's argument_spec.
Written by hand and checked here: the module's DOCUMENTATION (Ansible sanity needs it literal), the benchmark
role's meta/argument_specs.yml and defaults/main.yml, the module call in roles/benchmark/tasks/controller.yml,
the Job's script (templates/job-builtin.sh.j2) and the AWX survey questions extensions/awx/generate_surveys.py
emitted (extensions/awx/surveys.yml). Defaults are compared too.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.llmops.oke.plugins.module_utils.bench.__main__ import build_parser
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig
from ansible_collections.llmops.oke.plugins.module_utils.bench.options import (
    BY_NAME,
    CLI,
    MODULE,
    OPTIONS,
    cli_flag,
    module_argument_spec,
)
from ansible_collections.llmops.oke.plugins.modules import llm_benchmark

ROOT = Path(__file__).resolve().parents[5]
ROLE = ROOT / "roles" / "benchmark"
ROLE_SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
ROLE_DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
DOC_OPTIONS = yaml.safe_load(llm_benchmark.DOCUMENTATION)["options"]
SURVEYS = yaml.safe_load((ROOT / "extensions" / "awx" / "surveys.yml").read_text())

# The role's flat variables stand for "not given" with an empty value (the preset or the engine then decides).
ROLE_UNSET = {"int": 0, "float": 0.0, "str": "", "list": ""}
# the role's variable for an option, where it is not benchmark_<option>
ROLE_NAME = {"fail_on_slo": "benchmark_slo_gate"}
# options the role leaves to the engine (set per run by the role itself, or not exposed)
ROLE_SETS_ITSELF = {"results_dir", "collection_version", "prices", "report",
                    "run_id"}  # the run is named from benchmark_run_id in controller.yml, for its progress poll
# where the role chooses differently from the engine, on purpose: it benchmarks the chatbot use case unless told
ROLE_OWN_DEFAULT = {"preset": "chatbot"}


def _role_options() -> list[str]:
    return [o.name for o in OPTIONS if MODULE in o.surfaces and f"benchmark_{o.name}" in ROLE_SPEC]


def test_config_defaults_are_the_tables() -> None:
    fields = {f.name: f for f in dataclasses.fields(BenchmarkConfig)}
    assert set(fields) == set(BY_NAME)
    for option in OPTIONS:
        default = fields[option.name].default
        if default is dataclasses.MISSING:
            default = fields[option.name].default_factory()  # type: ignore[misc]
        assert default == option.default, option.name


def test_cli_has_one_flag_per_option_with_the_tables_choices() -> None:
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    actions = {a.dest: a for a in run._actions if a.dest not in ("help", "api_key_env")}
    assert set(actions) == {o.name for o in OPTIONS if CLI in o.surfaces}
    for name, action in actions.items():
        option = BY_NAME[name]
        assert cli_flag(name) in action.option_strings
        assert tuple(action.choices or ()) == (option.choices or ()), name
        assert action.required == option.required, name
        assert action.default is None, name  # the engine's default applies, not a second one here


def test_module_documentation_matches_the_argument_spec() -> None:
    spec = {**module_argument_spec(), **llm_benchmark.MODULE_OPTIONS}
    assert set(DOC_OPTIONS) == set(spec)
    for name, entry in spec.items():
        doc = DOC_OPTIONS[name]
        assert doc.get("type", "str") == entry["type"], name
        assert doc.get("elements") == entry.get("elements"), name
        assert doc.get("choices") == entry.get("choices"), name
        assert bool(doc.get("required")) == bool(entry.get("required")), name
        assert doc.get("default") == entry.get("default"), name
        assert "required" not in doc or "default" not in doc, name


def test_module_documentation_states_the_tables_bounds() -> None:
    # the help text of each option is the table's (the table is the one place a sentence is written)
    for option in OPTIONS:
        if MODULE in option.surfaces:
            assert DOC_OPTIONS[option.name]["description"].split() == option.help.split(), option.name


@pytest.mark.parametrize("name", _role_options())
def test_role_variable_matches_the_table(name: str) -> None:
    option = BY_NAME[name]
    variable = f"benchmark_{name}"
    spec = ROLE_SPEC[variable]
    role_type = "str" if option.type in ("list", "path") else option.type
    assert spec.get("type", "str") == role_type, variable
    if option.choices:
        allowed = set(option.choices) | ({""} if not option.required and option.default is None else set())
        assert set(spec.get("choices", [])) == allowed, variable
    default = ROLE_DEFAULTS.get(variable)
    assert spec.get("default") == default, variable  # the spec and defaults/main.yml agree
    if option.required:
        return
    if name in ROLE_OWN_DEFAULT:
        assert default == ROLE_OWN_DEFAULT[name], variable
    elif option.type == "list":
        expected = ",".join(str(v) for v in option.default or [])
        assert default in (expected, ROLE_UNSET["list"]), variable
    elif option.default is None or option.preset:
        assert default in (option.default, ROLE_UNSET.get(option.type)), variable
    else:
        assert default == option.default, variable


def test_every_role_variable_reaches_the_module() -> None:
    task = yaml.safe_load((ROLE / "tasks" / "controller.yml").read_text())
    call = next(t for t in task if "llmops.oke.llm_benchmark" in t)["llmops.oke.llm_benchmark"]
    spec = {**module_argument_spec(), **llm_benchmark.MODULE_OPTIONS}
    assert set(call) <= set(spec)
    for name in _role_options():
        if name in ROLE_SETS_ITSELF:
            continue
        assert name in call and f"benchmark_{name}" in str(call[name]), name
    assert call["variable_prefix"] == "benchmark_"


def test_job_script_flags_are_cli_flags_fed_by_role_variables() -> None:
    script = (ROLE / "templates" / "job-builtin.sh.j2").read_text()
    body = script.split('python -m "$BENCH" run', 1)[1].split("status=$?", 1)[0]
    flags = re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", body)
    cli = {cli_flag(o.name) for o in OPTIONS if CLI in o.surfaces}
    cli |= {"--no-" + o.name.replace("_", "-") for o in OPTIONS if o.type == "bool"}
    assert flags and set(flags) <= cli, set(flags) - cli
    for line in body.splitlines():
        match = re.match(r"\s*--([a-z0-9-]+) \{\{ (benchmark_\w+)", line)
        if match:
            assert match.group(2) == "benchmark_" + match.group(1).replace("-", "_"), line


def _survey_questions() -> dict[str, dict[str, Any]]:
    questions: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "variable" in node and "question_name" in node:
                questions.setdefault(node["variable"], node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SURVEYS)
    return questions


def test_survey_questions_match_the_table() -> None:
    questions = {k: v for k, v in _survey_questions().items() if k.startswith("benchmark_")}
    checked = 0
    for variable, question in questions.items():
        name = variable.removeprefix("benchmark_")
        option = BY_NAME.get(name)
        if option is None or MODULE not in option.surfaces:
            continue
        checked += 1
        kind = {"int": "integer", "float": "float", "bool": "multiplechoice"}.get(option.type)
        if option.choices:
            kind = "multiplechoice"
            allowed = set(option.choices) | ({""} if option.default is None else set())
            assert set(question["choices"]) <= allowed, variable
        if kind:
            assert question["type"] == kind, variable
        assert question.get("default") == ROLE_DEFAULTS[variable] or (
            option.type == "bool" and question.get("default") == str(ROLE_DEFAULTS[variable]).lower()), variable
        if option.type in ("int", "float") and "min" in question and option.minimum is not None:
            assert question["min"] >= option.minimum or question.get("default") == ROLE_UNSET[option.type], variable
    assert checked >= 5  # the benchmark stage asks at least its levels, mode and request counts
