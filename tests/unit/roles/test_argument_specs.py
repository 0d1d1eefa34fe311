"""Every role's meta/argument_specs.yml and defaults/main.yml describe the same, typed variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[3] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "tasks").is_dir())
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "path": (str,), "raw": (object,), "int": (int,), "float": (int, float),
    "bool": (bool,), "list": (list,), "dict": (dict,),
}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def _options(role: str) -> dict[str, dict[str, Any]]:
    specs = _load(ROLES_DIR / role / "meta" / "argument_specs.yml").get("argument_specs", {})
    options: dict[str, dict[str, Any]] = {}
    for entry_point in specs.values():
        options.update(entry_point.get("options", {}))
    return options


def test_roles_exist() -> None:
    assert ROLES, f"no roles found under {ROLES_DIR}"


@pytest.mark.parametrize("role", ROLES)
def test_specs_and_defaults_name_the_same_variables(role: str) -> None:
    assert (ROLES_DIR / role / "meta" / "argument_specs.yml").is_file(), f"{role} has no meta/argument_specs.yml"
    defaults = set(_load(ROLES_DIR / role / "defaults" / "main.yml"))
    specs = _options(role)
    required = {name for name, spec in specs.items() if spec.get("required")}
    optional = set(specs) - required
    assert defaults - optional == set(), (
        f"{role}: in defaults/main.yml but not an optional argument (a default silences required: true): "
        f"{defaults - optional}")
    missing = optional - defaults
    assert missing == set(), f"{role}: optional in argument_specs but not in defaults/main.yml: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_match_their_declared_type_and_choices(role: str) -> None:
    defaults = _load(ROLES_DIR / role / "defaults" / "main.yml")
    problems = []
    for name, spec in _options(role).items():
        value = defaults.get(name)
        if isinstance(value, str) and "{{" in value:
            continue  # templated defaults are typed at run time by the role's argument validation
        declared = spec.get("type", "str")
        if value is not None and not isinstance(value, PYTHON_TYPES[declared]):
            problems.append(f"{name}: default {value!r} is not of type {declared}")
        if declared != "bool" and isinstance(value, bool) and declared in {"int", "float"}:
            problems.append(f"{name}: boolean default for a {declared}")
        if "choices" in spec and value is not None and value not in spec["choices"]:
            problems.append(f"{name}: default {value!r} is not one of {spec['choices']}")
        if "default" in spec and spec["default"] != value:
            problems.append(f"{name}: argument_specs default {spec['default']!r} != defaults/main.yml {value!r}")
    assert not problems, f"{role}:\n" + "\n".join(problems)
