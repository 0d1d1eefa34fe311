"""Feed a role many bad inputs in ONE ansible-playbook run and record, per input, how it ended.

Each case is a block that includes the role with the case's variables and its own render directory;
the rescue records the failed result. So one run (a few seconds) proves, per case: the play failed,
what the message said, and whether anything was written under that case's render directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]


def _messages(result: dict[str, Any]) -> str:
    """Every message of a failed result, its loop items' messages included."""
    parts = [str(result.get("msg", ""))]
    parts += [str(item.get("msg", "")) for item in result.get("results", []) if item.get("failed")]
    return "\n".join(part for part in parts if part)


def run_cases(role: str, cases: dict[str, dict[str, Any]], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Include ``llmops.oke.<role>`` once per case (render mode); return {case: {failed, message, written}}."""
    outcome_file = tmp_path / "outcomes.json"
    tasks: list[dict[str, Any]] = []
    for index, (case, variables) in enumerate(cases.items()):
        render_dir = tmp_path / f"case{index}"
        key = json.dumps(case)
        tasks.append({
            "name": f"case {case}",
            "block": [
                {"ansible.builtin.include_role": {"name": f"llmops.oke.{role}"},
                 "vars": {**variables, "llmops_render_dir": str(render_dir)}},
                {"ansible.builtin.set_fact": {
                    "__outcomes": "{{ __outcomes | default({}) | combine({" + key + ": {'failed': false}}) }}"}},
            ],
            "rescue": [
                {"ansible.builtin.set_fact": {
                    "__outcomes": "{{ __outcomes | default({}) | combine({" + key + ": ansible_failed_result}) }}"}},
            ],
        })
    tasks.append({"ansible.builtin.copy": {"content": "{{ __outcomes | to_json }}", "dest": str(outcome_file),
                                           "mode": "0644"}})
    playbook = tmp_path / f"bad-input-{role}.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
                            env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    assert result.returncode == 0 and outcome_file.exists(), f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    recorded = json.loads(outcome_file.read_text())
    outcomes = {}
    for index, case in enumerate(cases):
        render_dir = tmp_path / f"case{index}"
        written = sorted(str(p.relative_to(render_dir)) for p in render_dir.rglob("*")) if render_dir.exists() else []
        entry = recorded.get(case, {"failed": False})
        outcomes[case] = {"failed": bool(entry.get("failed")), "message": _messages(entry), "written": written}
    return outcomes


def assert_refused_before_oci(outcomes: dict[str, dict[str, Any]], variables: list[str],
                              passing: tuple[str, ...] = ("valid",), marker: str = "no-oci-config") -> None:
    """OCI roles without an endpoint: each bad case failed naming its variable; each ``passing`` case got past
    the preflight and failed only at the first OCI call (its message names the missing config ``marker``)."""
    for variable in variables:
        assert outcomes[variable]["failed"], variable
        assert variable in outcomes[variable]["message"], outcomes[variable]["message"]
    for case in passing:
        message = outcomes[case]["message"]
        assert outcomes[case]["failed"] and marker in message, message
        assert not any(variable in message for variable in variables), message
