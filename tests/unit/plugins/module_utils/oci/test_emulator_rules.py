"""Every rule the OCI emulator enforces beyond the SDK models names the public source it was learned from.

``pytest -rA -k rules_are_listed`` prints the table (rule, switchable, source) for the closing notes.
"""

from __future__ import annotations

import ast
from pathlib import Path

# Importing the service modules registers their rules.
import oci_emulator.api_gateway  # pylint: disable=unused-import
import oci_emulator.container_engine  # pylint: disable=unused-import
import oci_emulator.virtual_network  # noqa: F401  # pylint: disable=unused-import
import pytest
from oci_emulator import server
from oci_emulator.rules import RULES, rule

EMULATOR = Path(server.__file__).parent
# Answers that are not an OCI rule of ours: the SDK models' own validation, missing or unknown resources (404),
# signatures (401, from the request-signing spec the SDK implements), injected faults and the control API.
GENERIC = {401, 404, 429}
MODEL_VALIDATION = ("'; '.join(errors)",)  # validate_model(): the SDK model's fields, types and required


def test_every_rule_is_listed_with_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(RULES) >= 14
    with capsys.disabled():
        print()
        for item in sorted(RULES.values(), key=lambda r: r.name):
            print(f"{item.name:36} {'switchable' if item.switchable else 'always':10} {item.source}")
    for item in RULES.values():
        assert item.source.startswith(("https://", "oci SDK docstring: ")), item
        assert item.summary.endswith((".", ")")), item


def test_a_rule_without_a_source_cannot_be_registered() -> None:
    with pytest.raises(ValueError, match="needs a source"):
        rule("made_up", "Something we believe OCI does.", "")
    with pytest.raises(ValueError, match="needs a source"):
        rule("made_up", "Something we believe OCI does.", "our own understanding")
    assert "made_up" not in RULES


def _raw_refusals(path: Path) -> list[str]:
    """``raise ApiError(<status>, ...)`` with a 4xx status other than GENERIC: a refusal without a rule."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                getattr(node.exc.func, "id", None) == "ApiError":
            status = node.exc.args[0]
            message = ast.unparse(node.exc.args[2]) if len(node.exc.args) > 2 else ""
            if isinstance(status, ast.Constant) and status.value not in GENERIC and message not in MODEL_VALIDATION:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node.exc)}")
    return found


def test_service_refusals_go_through_a_rule() -> None:
    """A 400/409 a service module answers is a Rule's reject(), so it cannot exist without a source."""
    # A parent OCID that does not exist: the SDK model's required clusterId must name a cluster, not a rule.
    known = "ApiError(400, 'InvalidParameter', f\"cluster {item.get('clusterId')} does not exist\")"
    found = (_raw_refusals(EMULATOR / "api_gateway.py") + _raw_refusals(EMULATOR / "container_engine.py")
             + _raw_refusals(EMULATOR / "identity.py") + _raw_refusals(EMULATOR / "identity_domains.py"))
    raw = [entry for entry in found if not entry.endswith(known)]
    assert raw == []
