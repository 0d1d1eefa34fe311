"""AWX surveys (extensions/awx/surveys.yml) agree with the roles' meta/argument_specs.yml and with AWX's rules.

The drift check here is written independently of the generator: it reads each committed question and the
argument spec of the variable it sets, and compares type, choices, default and required. Mutated copies of
argument specs prove it (and ``generate_surveys.py --check``) fail on drift.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = Path(__file__).resolve().parents[3]
AWX_DIR = ROOT / "extensions" / "awx"
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from awx_controller import awx_survey_errors  # noqa: E402  (AWX's own survey rules, shared with the fake API)

CONDITIONAL_KEYS = ("when", "failed_when", "changed_when", "until")


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_surveys", AWX_DIR / "generate_surveys.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class is created.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _surveys(root: Path = ROOT) -> dict[str, Any]:
    return yaml.safe_load((root / "extensions" / "awx" / "surveys.yml").read_text())


def _role_options(root: Path, role: str) -> dict[str, dict[str, Any]]:
    """Top-level variables of every entry point of a role, as declared in its argument specs."""
    path = root / "roles" / role / "meta" / "argument_specs.yml"
    specs = (yaml.safe_load(path.read_text()) or {}).get("argument_specs", {}) if path.is_file() else {}
    options: dict[str, dict[str, Any]] = {}
    for entry_point in specs.values():
        options.update((entry_point or {}).get("options") or {})
    return options


def _stages_file(root: Path) -> dict[str, Any]:
    path = root / "extensions" / "awx" / "stages.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def _inventory(root: Path) -> dict[str, Any]:
    """What the job templates' inventory (``inventory:`` of stages.yml) sets in group_vars/all."""
    inventory = _stages_file(root).get("inventory")
    values: dict[str, Any] = {}
    if inventory:
        for path in sorted((root / inventory / "group_vars" / "all").glob("*.yml")):
            values.update(yaml.safe_load(path.read_text()) or {})
    return values


def _defaults_in(text: str, variable: str) -> list[Any]:
    return [yaml.safe_load(literal) for literal in re.findall(rf"\b{variable}\s*\|\s*default\(([^(),]*)\)", text)]


def _playbook_defaults(root: Path, playbook: str, variable: str, roles: list[str] = ()) -> list[Any]:
    """Every literal ``variable | default(X)`` of a stage playbook, the playbooks it imports and its roles."""
    path = root / playbook
    found: list[Any] = []
    for role in roles:
        for role_file in sorted((root / "roles" / role).glob("*/*.yml")):
            if role_file.parent.name in ("tasks", "defaults", "vars"):
                found += _defaults_in(role_file.read_text(), variable)
    if not path.is_file():
        return found
    text = path.read_text()
    found += _defaults_in(text, variable)
    for play in yaml.safe_load(text) or []:
        imported = play.get("ansible.builtin.import_playbook", play.get("import_playbook"))
        if isinstance(imported, str) and "{{" not in imported:
            found += _playbook_defaults(root, str((path.parent / imported).relative_to(root)), variable)
    return found


def survey_drift(surveys: dict[str, Any], root: Path) -> list[str]:
    """Every way a committed question differs from the variable it sets (empty when they agree).

    A role variable is compared with the role's argument spec; a stage playbook's own variable with its
    declaration in stages.yml and with the playbook's ``| default(...)``. Where the inventory sets the variable,
    the question's default must be the inventory's value (an answer overrides the inventory).
    """
    problems: list[str] = []
    stage_questions: dict[str, dict[str, Any]] = {}
    inventory = _inventory(root)
    declared = _stages_file(root).get("playbook_variables") or {}
    for stage in surveys["llmops_awx_stages"]:
        options: dict[str, tuple[str, dict[str, Any]]] = {}
        for role in stage["roles"]:
            options.update({name: (role, spec or {}) for name, spec in _role_options(root, role).items()})
        for question in stage["survey"]["spec"]:
            variable = question["variable"]
            stage_questions[variable] = question
            where = f"{stage['name']}: {variable}"
            if variable in options:
                role, spec = options[variable]
            elif variable in declared:
                role, spec = "playbook", declared[variable] or {}
                defaults = _playbook_defaults(root, stage["playbook"], variable, stage["roles"])
                if not defaults:
                    problems.append(f"{where}: {stage['playbook']} never reads it with a default")
                problems.extend(f"{where}: {stage['playbook']} defaults it to {value!r}, stages.yml to "
                                f"{spec.get('default')!r}" for value in defaults if value != spec.get("default"))
            else:
                problems.append(f"{where} is not a top-level variable of {stage['roles']}")
                continue
            if variable in inventory:
                role, spec = f"{role}, set by the inventory", {**spec, "default": inventory[variable]}
            problems.extend(f"{where} ({role}): {p}" for p in _question_problems(question, spec))
    for question in surveys["llmops_awx_workflow"]["survey"]["spec"]:
        if stage_questions.get(question["variable"]) != question:
            problems.append(f"workflow: {question['variable']} differs from its stage question")
    return problems


def _question_problems(question: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    option_type = spec.get("type", "str")
    choices = spec.get("choices")
    problems = []
    if option_type == "bool":
        expected_type, expected_choices = "multiplechoice", ["true", "false"]
    elif choices:
        expected_type, expected_choices = "multiplechoice", [str(choice) for choice in choices]
    else:
        expected_type = {"int": "integer", "float": "float", "str": "text", "path": "text"}.get(option_type, "?")
        expected_choices = None
        if expected_type == "text" and (spec.get("no_log") or question["type"] == "password"):
            expected_type = "password"
    if question["type"] != expected_type:
        problems.append(f"type {question['type']} but the {option_type} option needs {expected_type}")
    if question.get("choices") != expected_choices:
        problems.append(f"choices {question.get('choices')} but the role declares {choices}")
    if bool(question["required"]) != bool(spec.get("required", False)):
        problems.append(f"required {question['required']} but the role says {spec.get('required', False)}")
    if spec.get("default") is None:
        if "default" in question:
            problems.append(f"default {question['default']!r} but the role declares none")
    else:
        default = spec["default"]
        expected = ("true" if default else "false") if option_type == "bool" else str(default) if choices else default
        got = question.get("default")
        same_type = type(got) is type(expected) or option_type == "float"
        if got != expected or not same_type:
            problems.append(f"default {got!r} but the run's default is {default!r}")
    return problems


def _bare_bool_conditionals(root: Path, role: str, variables: set[str]) -> list[str]:
    """Conditionals that use a bool variable without ``| bool``: AWX answers it as the string "true"/"false"."""
    found = []
    for path in sorted((root / "roles" / role).glob("*/*.yml")):
        if path.parent.name not in ("tasks", "handlers"):
            continue
        text = path.read_text()
        for variable in variables:
            for match in re.finditer(rf"\b{variable}\b(?!\s*\|\s*bool)", text):
                line = text.count("\n", 0, match.start()) + 1
                line_text = text.splitlines()[line - 1]
                key_line = line_text.lstrip("- ").split(":", 1)[0]
                if key_line in CONDITIONAL_KEYS or (line_text.strip().startswith("- ") and _in_conditional(text, line)):
                    found.append(f"{path.relative_to(root)}:{line}: {line_text.strip()}")
    return found


def _in_conditional(text: str, line: int) -> bool:
    """Whether line ``line`` is an item of a ``when:``-style list."""
    lines = text.splitlines()[: line - 1]
    for previous in reversed(lines):
        stripped = previous.strip()
        if stripped.startswith("- "):
            continue
        return stripped.rstrip(":") in CONDITIONAL_KEYS
    return False


def _variables_set_in(node: Any) -> set[str]:
    """Every name a playbook assigns itself: keys of any ``vars:`` mapping and of set_fact arguments."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "vars" and isinstance(value, dict):
                names.update(value)
            elif key in ("set_fact", "ansible.builtin.set_fact") and isinstance(value, dict):
                names.update(set(value) - {"cacheable"})
            names.update(_variables_set_in(value))
    elif isinstance(node, list):
        for item in node:
            names.update(_variables_set_in(item))
    return names


def _playbook_sets(root: Path, playbook: str) -> set[str]:
    path = root / playbook
    names = set()
    if path.is_file():
        document = yaml.safe_load(path.read_text()) or []
        names = _variables_set_in(document)
        for play in document:
            imported = play.get("ansible.builtin.import_playbook", play.get("import_playbook"))
            if isinstance(imported, str) and "{{" not in imported:
                names |= _playbook_sets(root, str((path.parent / imported).relative_to(root)))
    return names


# --- the committed surveys ---------------------------------------------------------------------------------


def test_committed_surveys_are_what_the_generator_makes_now() -> None:
    expected = generator.build_surveys(ROOT)[0]
    committed = (AWX_DIR / "surveys.yml").read_text()
    assert committed == generator.render(expected), (
        "extensions/awx/surveys.yml is stale (a role or stage playbook changed): "
        "run .venv/bin/python extensions/awx/generate_surveys.py and commit the result")


def test_committed_questions_match_role_argument_specs() -> None:
    assert survey_drift(_surveys(), ROOT) == []


def test_no_survey_overrides_what_a_stage_playbook_sets() -> None:
    """Survey answers are extra vars: they would override teardown's own ``*_state: absent`` and the like."""
    surveys = _surveys()
    set_by = {stage["name"]: _playbook_sets(ROOT, stage["playbook"]) for stage in surveys["llmops_awx_stages"]}
    problems = [f"{stage['name']}: {q['variable']}" for stage in surveys["llmops_awx_stages"]
                for q in stage["survey"]["spec"] if q["variable"] in set_by[stage["name"]]]
    anywhere = set().union(*set_by.values())
    problems += [f"workflow: {q['variable']}" for q in surveys["llmops_awx_workflow"]["survey"]["spec"]
                 if q["variable"] in anywhere]
    assert problems == []


def _answers(question: dict[str, Any]) -> list[Any]:
    """Every answer AWX can send for a question, typed as AWX sends it (choices are strings)."""
    if question["type"] in ("multiplechoice", "multiselect"):
        return list(question["choices"])
    return [question["default"]] if "default" in question else []


def test_every_survey_answer_passes_the_role_argument_validation() -> None:
    """AWX answers a bool or an int choice as a string: the role's own argument spec check must accept it."""
    problems = []
    declared = _stages_file(ROOT).get("playbook_variables") or {}
    for stage in _surveys()["llmops_awx_stages"]:
        options = {**declared,
                   **{name: spec for role in stage["roles"] for name, spec in _role_options(ROOT, role).items()}}
        for question in stage["survey"]["spec"]:
            spec = {key: value for key, value in options[question["variable"]].items()
                    if key in ("type", "choices", "elements", "no_log")}
            validator = ArgumentSpecValidator({question["variable"]: spec})
            for answer in _answers(question):
                result = validator.validate({question["variable"]: answer}, validate_role_argument_spec=True)
                problems.extend(f"{stage['name']}: {question['variable']}={answer!r}: {message}"
                                for message in result.error_messages)
    assert problems == []


def test_every_stage_has_a_job_template_entry_in_order() -> None:
    stages = [stage["name"] for stage in _surveys()["llmops_awx_stages"]]
    assert stages == ["provision", "deploy", "observe", "benchmark", "teardown"]


# An operator fills a survey in at launch: a dozen questions a stage, twenty for the workflow (issue 15).
SURVEY_LIMITS = {"provision": 12, "deploy": 12, "observe": 12, "benchmark": 12, "teardown": 12, "workflow": 20}


@pytest.mark.parametrize("stage", sorted(SURVEY_LIMITS))
def test_every_survey_is_short_has_defaults_and_is_valid_for_awx(stage: str) -> None:
    surveys = _surveys()
    entry = surveys["llmops_awx_workflow"] if stage == "workflow" else next(
        s for s in surveys["llmops_awx_stages"] if s["name"] == stage)
    spec = entry["survey"]["spec"]
    assert 1 <= len(spec) <= SURVEY_LIMITS[stage], [q["variable"] for q in spec]
    assert [q["variable"] for q in spec if "default" not in q or q["required"]] == []
    assert awx_survey_errors(entry["survey"]) == []


def test_preset_questions_offer_the_inventory_presets() -> None:
    """The roles default to no preset; the oke inventory runs rag and chatbot, so that is what the survey offers."""
    deploy = next(s for s in _surveys()["llmops_awx_stages"] if s["name"] == "deploy")
    defaults = {q["variable"]: q.get("default") for q in deploy["survey"]["spec"]}
    assert (defaults["vllm_preset"], defaults["llama_cpp_preset"]) == ("rag", "chatbot")
    assert (defaults["deploy_vllm"], defaults["llmops_render_dir"]) == ("true", "")


def test_surveyed_bool_variables_are_converted_where_tested() -> None:
    problems = []
    for stage in _surveys()["llmops_awx_stages"]:
        bools = {q["variable"] for q in stage["survey"]["spec"] if q.get("choices") == ["true", "false"]}
        for role in stage["roles"]:
            problems.extend(_bare_bool_conditionals(ROOT, role, bools & set(_role_options(ROOT, role))))
    assert problems == [], "survey answers are strings; add `| bool`:\n" + "\n".join(sorted(set(problems)))


def test_a_real_role_change_is_detected_as_drift(tmp_path: Path) -> None:
    surveys = _surveys()
    stage = next(s for s in surveys["llmops_awx_stages"] if s["name"] == "provision")
    question = stage["survey"]["spec"][0]
    shutil.copytree(ROOT / "roles", tmp_path / "roles")
    for role in stage["roles"]:
        path = tmp_path / "roles" / role / "meta" / "argument_specs.yml"
        text = path.read_text()
        if re.search(rf"^\s+{question['variable']}:\s*$", text, re.MULTILINE):
            path.write_text(re.sub(rf"^(\s+){question['variable']}:\s*$", r"\1renamed_variable:", text,
                                   count=1, flags=re.MULTILINE))
    problems = survey_drift(surveys, tmp_path)
    assert any(question["variable"] in p and "not a top-level variable" in p for p in problems), problems


# --- the generator and the drift check on a synthetic collection ---------------------------------------------

DEMO_SPEC: dict[str, Any] = {
    "argument_specs": {"main": {"short_description": "demo", "options": {
        "demo_backend": {"type": "str", "choices": ["vllm", "llama_cpp"], "default": "vllm", "description": "B."},
        "demo_replicas": {"type": "int", "default": 2, "description": "Replicas."},
        "demo_slo_ttft_s": {"type": "float", "default": 0.5, "description": "TTFT SLO."},
        "demo_enabled": {"type": "bool", "default": True, "description": "On."},
        "demo_api_key": {"type": "str", "default": "", "no_log": True, "description": "Key."},
        "demo_model_dir": {"type": "path", "default": "/models", "description": "Dir."},
        "demo_namespace": {"type": "str", "required": True, "description": "Namespace."},
        "demo_parallel": {"type": "int", "description": "From the preset."},
        "demo_render_dir": {"type": "str", "default": "{{ llmops_render_dir | default('') }}", "description": "R."},
        "demo_extra_args": {"type": "list", "elements": "str", "default": [], "description": "Args."},
    }}},
}
DEMO_PLAYBOOK = [{"name": "Deploy", "hosts": "localhost", "gather_facts": False, "tasks": [
    {"name": "Demo", "ansible.builtin.include_role": {"name": "llmops.oke.demo"}},
]}]
MUTATIONS = {
    "int default": ("demo_replicas", "default", 3),
    "float default": ("demo_slo_ttft_s", "default", 0.25),
    "bool default": ("demo_enabled", "default", False),
    "choices": ("demo_backend", "choices", ["vllm", "llama_cpp", "tgi"]),
    "str default": ("demo_model_dir", "default", "/data"),
    "type": ("demo_replicas", "type", "str"),
    "required": ("demo_namespace", "required", False),
}


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    """A collection with one role and a deploy playbook that runs it, plus generated surveys."""
    (tmp_path / "roles" / "demo" / "meta").mkdir(parents=True)
    (tmp_path / "roles" / "demo" / "tasks").mkdir()
    (tmp_path / "roles" / "demo" / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(DEMO_SPEC))
    (tmp_path / "roles" / "demo" / "tasks" / "main.yml").write_text(
        "- name: Use\n  ansible.builtin.debug:\n    msg: on\n  when: demo_enabled | bool\n")
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "deploy.yml").write_text(yaml.safe_dump(DEMO_PLAYBOOK))
    (tmp_path / "playbooks" / "site.yml").write_text("- ansible.builtin.import_playbook: deploy.yml\n")
    (tmp_path / "extensions" / "awx").mkdir(parents=True)
    stages = yaml.safe_load((AWX_DIR / "stages.yml").read_text())
    # The real stages and workflow, asking everything the demo role has.
    for entry in [*stages["stages"], stages["workflow"]]:
        entry.pop("include_variables", None)
    stages["inventory"] = "inventories/demo"
    (tmp_path / "extensions" / "awx" / "stages.yml").write_text(yaml.safe_dump(stages, sort_keys=False))
    assert generator.main(["--root", str(tmp_path)]) == 0
    return tmp_path


def _mutate(root: Path, variable: str, key: str, value: Any) -> None:
    path = root / "roles" / "demo" / "meta" / "argument_specs.yml"
    spec = yaml.safe_load(path.read_text())
    spec["argument_specs"]["main"]["options"][variable][key] = value
    path.write_text(yaml.safe_dump(spec))


def test_generator_maps_types_choices_defaults(demo_root: Path) -> None:
    deploy = next(s for s in _surveys(demo_root)["llmops_awx_stages"] if s["name"] == "deploy")
    assert deploy["roles"] == ["demo"]
    by_variable = {q["variable"]: q for q in deploy["survey"]["spec"]}
    assert set(by_variable) == {"demo_backend", "demo_replicas", "demo_slo_ttft_s", "demo_enabled", "demo_api_key",
                                "demo_model_dir", "demo_namespace"}
    backend = by_variable["demo_backend"]
    assert (backend["type"], backend["choices"], backend["default"]) == (
        "multiplechoice", ["vllm", "llama_cpp"], "vllm")
    assert by_variable["demo_replicas"]["type"] == "integer" and by_variable["demo_replicas"]["default"] == 2
    assert by_variable["demo_slo_ttft_s"]["type"] == "float" and by_variable["demo_slo_ttft_s"]["default"] == 0.5
    enabled = by_variable["demo_enabled"]
    assert (enabled["type"], enabled["choices"], enabled["default"]) == ("multiplechoice", ["true", "false"], "true")
    assert by_variable["demo_api_key"]["type"] == "password"
    assert by_variable["demo_model_dir"]["type"] == "text"
    assert by_variable["demo_namespace"]["required"] is True and "default" not in by_variable["demo_namespace"]
    assert awx_survey_errors(deploy["survey"]) == []
    assert survey_drift(_surveys(demo_root), demo_root) == []
    workflow = _surveys(demo_root)["llmops_awx_workflow"]["survey"]
    assert [q["variable"] for q in workflow["spec"]] == [q["variable"] for q in deploy["survey"]["spec"]]


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_drift_in_a_role_fails_the_check_and_the_generator(demo_root: Path, mutation: str) -> None:
    variable, key, value = MUTATIONS[mutation]
    _mutate(demo_root, variable, key, value)
    problems = survey_drift(_surveys(demo_root), demo_root)
    assert any(variable in problem for problem in problems), problems
    # 1: surveys.yml is stale; 2: the role itself became inconsistent (e.g. an int default on a str option).
    assert generator.main(["--root", str(demo_root), "--check"]) in (1, 2)


def test_removed_variable_fails_the_check(demo_root: Path) -> None:
    path = demo_root / "roles" / "demo" / "meta" / "argument_specs.yml"
    spec = yaml.safe_load(path.read_text())
    del spec["argument_specs"]["main"]["options"]["demo_replicas"]
    path.write_text(yaml.safe_dump(spec))
    problems = survey_drift(_surveys(demo_root), demo_root)
    assert problems == ["deploy: demo_replicas is not a top-level variable of ['demo']"]


def test_a_hand_edited_question_fails_the_check(demo_root: Path) -> None:
    surveys = _surveys(demo_root)
    deploy = next(s for s in surveys["llmops_awx_stages"] if s["name"] == "deploy")
    next(q for q in deploy["survey"]["spec"] if q["variable"] == "demo_backend")["choices"].append("tgi")
    problems = survey_drift(surveys, demo_root)
    assert any("demo_backend" in p and "choices" in p for p in problems), problems


def test_variables_a_playbook_sets_stay_out_of_its_survey_and_the_workflow(demo_root: Path) -> None:
    teardown_play = {"name": "Down", "hosts": "localhost", "tasks": [
        {"name": "Demo", "ansible.builtin.include_role": {"name": "demo"}, "vars": {"demo_backend": "vllm"}}]}
    (demo_root / "playbooks" / "teardown.yml").write_text(yaml.safe_dump([teardown_play]))
    assert generator.main(["--root", str(demo_root)]) == 0
    surveys = _surveys(demo_root)
    teardown = next(s for s in surveys["llmops_awx_stages"] if s["name"] == "teardown")
    deploy = next(s for s in surveys["llmops_awx_stages"] if s["name"] == "deploy")
    assert "demo_backend" not in {q["variable"] for q in teardown["survey"]["spec"]}
    assert "demo_backend" in {q["variable"] for q in deploy["survey"]["spec"]}
    assert "demo_backend" not in {q["variable"] for q in surveys["llmops_awx_workflow"]["survey"]["spec"]}
    assert survey_drift(surveys, demo_root) == []


def test_stage_and_workflow_variable_selection(demo_root: Path) -> None:
    stages_file = demo_root / "extensions" / "awx" / "stages.yml"
    stages = yaml.safe_load(stages_file.read_text())
    deploy = next(stage for stage in stages["stages"] if stage["name"] == "deploy")
    deploy["include_variables"] = ["demo_b*", "demo_replicas", "demo_enabled"]
    deploy["exclude_variables"] = ["demo_enabled"]
    stages["workflow"]["include_variables"] = ["demo_replicas"]
    stages_file.write_text(yaml.safe_dump(stages, sort_keys=False))
    assert generator.main(["--root", str(demo_root)]) == 0
    surveys = _surveys(demo_root)
    stage = next(s for s in surveys["llmops_awx_stages"] if s["name"] == "deploy")
    assert [q["variable"] for q in stage["survey"]["spec"]] == ["demo_backend", "demo_replicas"]
    assert [q["variable"] for q in surveys["llmops_awx_workflow"]["survey"]["spec"]] == ["demo_replicas"]
    assert survey_drift(surveys, demo_root) == []


def test_site_playbook_imports_are_followed(demo_root: Path) -> None:
    uses = generator.playbook_roles(demo_root / "playbooks" / "site.yml", demo_root).uses
    assert [use.role for use in uses] == ["demo"]


def test_templated_role_name_needs_an_explicit_role_list(demo_root: Path) -> None:
    (demo_root / "playbooks" / "deploy.yml").write_text(yaml.safe_dump([{"name": "x", "hosts": "localhost", "tasks": [
        {"name": "Backend", "ansible.builtin.include_role": {"name": "llmops.oke.{{ backend }}"}}]}]))
    with pytest.raises(generator.SurveyError, match="list the stage's roles"):
        generator.build_surveys(demo_root)


def test_bare_bool_conditional_is_reported(demo_root: Path) -> None:
    tasks = demo_root / "roles" / "demo" / "tasks" / "main.yml"
    assert _bare_bool_conditionals(demo_root, "demo", {"demo_enabled"}) == []
    tasks.write_text("- name: Use\n  ansible.builtin.debug:\n    msg: on\n  when:\n    - demo_enabled\n")
    assert _bare_bool_conditionals(demo_root, "demo", {"demo_enabled"}) == [
        "roles/demo/tasks/main.yml:5: - demo_enabled"]


def test_the_inventory_value_is_the_default_and_drift_from_it_is_caught(demo_root: Path) -> None:
    (demo_root / "inventories" / "demo" / "group_vars" / "all").mkdir(parents=True)
    inventory_file = demo_root / "inventories" / "demo" / "group_vars" / "all" / "main.yml"
    inventory_file.write_text("demo_replicas: 3\ndemo_backend: llama_cpp\n")
    assert sorted(survey_drift(_surveys(demo_root), demo_root)) == [
        "deploy: demo_backend (demo, set by the inventory): default 'vllm' but the run's default is 'llama_cpp'",
        "deploy: demo_replicas (demo, set by the inventory): default 2 but the run's default is 3"]
    assert generator.main(["--root", str(demo_root)]) == 0
    questions = {q["variable"]: q for q in _surveys(demo_root)["llmops_awx_stages"][1]["survey"]["spec"]}
    assert (questions["demo_replicas"]["default"], questions["demo_backend"]["default"]) == (3, "llama_cpp")
    assert survey_drift(_surveys(demo_root), demo_root) == []
    inventory_file.write_text("demo_replicas: \"{{ 2 * 2 }}\"\n")
    with pytest.raises(generator.SurveyError, match="inventory computes demo_replicas"):
        generator.build_surveys(demo_root)


def test_playbook_variables_join_the_stages_that_read_them(demo_root: Path) -> None:
    stages_file = demo_root / "extensions" / "awx" / "stages.yml"
    stages = yaml.safe_load(stages_file.read_text())
    stages["playbook_variables"] = {
        "demo_deploy": {"type": "bool", "default": True, "description": "Deploy."},
        "demo_unread": {"type": "bool", "default": True, "description": "No playbook reads it."}}
    stages_file.write_text(yaml.safe_dump(stages, sort_keys=False))
    playbook = [{**DEMO_PLAYBOOK[0], "tasks": [{**DEMO_PLAYBOOK[0]["tasks"][0],
                                                "when": "demo_deploy | default(true) | bool"}]}]
    (demo_root / "playbooks" / "deploy.yml").write_text(yaml.safe_dump(playbook))
    assert generator.main(["--root", str(demo_root)]) == 0
    surveys = _surveys(demo_root)
    deploy = next(s for s in surveys["llmops_awx_stages"] if s["name"] == "deploy")
    question = next(q for q in deploy["survey"]["spec"] if q["variable"] == "demo_deploy")
    assert (question["type"], question["choices"], question["default"]) == ("multiplechoice", ["true", "false"], "true")
    assert "demo_unread" not in {q["variable"] for s in surveys["llmops_awx_stages"] for q in s["survey"]["spec"]}
    assert survey_drift(surveys, demo_root) == []
    # The playbook's own default moves: the declaration (and the survey) no longer tell the truth.
    (demo_root / "playbooks" / "deploy.yml").write_text(
        yaml.safe_dump(playbook).replace("default(true)", "default(false)"))
    assert survey_drift(surveys, demo_root) == [
        "deploy: demo_deploy: playbooks/deploy.yml defaults it to False, stages.yml to True"]


def test_questions_follow_the_listed_order(demo_root: Path) -> None:
    stages_file = demo_root / "extensions" / "awx" / "stages.yml"
    stages = yaml.safe_load(stages_file.read_text())
    deploy = next(stage for stage in stages["stages"] if stage["name"] == "deploy")
    deploy["include_variables"] = ["demo_slo_ttft_s", "demo_*"]
    stages_file.write_text(yaml.safe_dump(stages, sort_keys=False))
    assert generator.main(["--root", str(demo_root)]) == 0
    stage = next(s for s in _surveys(demo_root)["llmops_awx_stages"] if s["name"] == "deploy")
    variables = [q["variable"] for q in stage["survey"]["spec"]]
    assert variables[0] == "demo_slo_ttft_s" and len(variables) == 7
