"""Render the llama_cpp or vllm role alone (render mode, no cluster) and return its documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from k8s_support import load_documents, render_playbook

SHA256 = "0123456789abcdef" * 4


def render_role(role: str, tmp_path: Path, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Run ``llmops.oke.<role>`` through a one-task playbook with llmops_render_dir set."""
    playbook = tmp_path / f"render-{role}.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        f"    - ansible.builtin.include_role:\n        name: llmops.oke.{role}\n")
    render_dir = tmp_path / "rendered"
    render_playbook(str(playbook), render_dir, extra_vars=variables, timeout=600)
    files = sorted(render_dir.glob("*.yaml"))
    assert len(files) == 1, f"{role} should write one file, wrote {[f.name for f in files]}"
    return load_documents(files[0])


def by_kind(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        kinds.setdefault(document["kind"], []).append(document)
    return kinds


def args_map(args: list[str]) -> dict[str, str]:
    """``--flag value`` pairs of a container's args (flags without a value map to "")."""
    pairs: dict[str, str] = {}
    for index, arg in enumerate(args):
        if arg.startswith("--"):
            following = args[index + 1] if index + 1 < len(args) else ""
            pairs[arg] = "" if following.startswith("--") else following
    return pairs
