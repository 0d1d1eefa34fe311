"""No role's task files include one another in a cycle.

A task file that includes itself (directly or through another) nests one block deeper each time round, and
ansible-playbook stops with "maximum recursion depth exceeded" after about 246 rounds; waits loop in an action
instead (plugins/plugin_utils/follow.py).
"""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
INCLUDES = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "include_tasks", "import_tasks")


def _included(tasks: list | None) -> set[str]:
    """The file names a task list includes or imports, blocks, rescues and always sections included."""
    found: set[str] = set()
    for task in tasks or []:
        for key in INCLUDES:
            target = task.get(key)
            if isinstance(target, dict):
                target = target.get("file")
            if isinstance(target, str):
                found.add(target if target.endswith(".yml") else target + ".yml")
        for section in ("block", "rescue", "always"):
            found |= _included(task.get(section))
    return found


def _graph() -> dict[Path, set[Path]]:
    graph = {}
    for path in sorted(REPO.glob("roles/*/tasks/*.yml")):
        graph[path] = {path.parent / name for name in _included(yaml.safe_load(path.read_text()))
                       if "{{" not in name}
    return graph


def _cycle_from(graph: dict[Path, set[Path]], start: Path) -> list[Path] | None:
    stack = [(start, [start])]
    while stack:
        node, trail = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*trail, nxt]
            if nxt not in trail:
                stack.append((nxt, [*trail, nxt]))
    return None


def test_the_include_graph_is_read() -> None:
    graph = _graph()
    # a control: the benchmark role's entry point includes its runners, so the reader does find includes
    main = REPO / "roles" / "benchmark" / "tasks" / "main.yml"
    assert {p.name for p in graph[main]} >= {"controller.yml", "kubernetes.yml"}


def test_no_task_file_includes_itself() -> None:
    graph = _graph()
    cycles = [c for c in (_cycle_from(graph, node) for node in graph) if c]
    assert not cycles, [" -> ".join(str(p.relative_to(REPO)) for p in c) for c in cycles]
