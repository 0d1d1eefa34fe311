"""One owner of the run folder (bench/run_folder.py): its layout, finishing a run, and no import cycle in bench/."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from ansible_collections.llmops.oke.plugins.module_utils.bench import run_folder
from ansible_collections.llmops.oke.plugins.module_utils.bench.benchmark import BenchmarkConfig, run_benchmark

BENCH = Path(run_folder.__file__).parent
PLUGINS = BENCH.parents[1]


def _config(server, tmp_path: Path, run_id: str, report: bool) -> BenchmarkConfig:
    return BenchmarkConfig.from_dict({
        "base_url": server.base_url + "/v1", "model": "m", "concurrency": [1], "max_requests": 2,
        "warmup_requests": 0, "mean_output_tokens": 4, "results_dir": str(tmp_path), "run_id": run_id,
        "report": report})


def _local_imports(path: Path) -> set[str]:
    """The bench modules a file imports, at the top or inside a function."""
    names = {p.stem for p in BENCH.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
    return found & names


def test_bench_has_no_import_cycle() -> None:
    graph = {path.stem: _local_imports(path) for path in BENCH.glob("*.py")}
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        for dep in graph[name]:
            if dep in path:
                cycles.append([*path[path.index(dep):], dep])
            else:
                visit(dep, [*path, dep])

    for name in graph:
        visit(name, [name])
    assert not cycles


def test_only_run_folder_names_summary_json_and_the_run_id_format() -> None:
    """Producers and readers of plugins/ and the role go through run_folder; no second copy of the layout."""
    role = PLUGINS.parent / "roles" / "benchmark"
    owners = []
    for path in [*PLUGINS.rglob("*.py"), *role.rglob("*.yml")]:
        if path.name == "run_folder.py":
            continue
        text = path.read_text(encoding="utf-8")
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "-", "C(")))
        if re.search(r"""["'/]summary\.json["']""", code) or "%Y%m%dT%H%M%SZ" in text:
            owners.append(str(path.relative_to(PLUGINS.parent)))
    assert not owners


def test_finish_writes_the_summary_then_the_report(llm_server, tmp_path) -> None:
    summary = run_benchmark(_config(llm_server, tmp_path, "drawn", report=True))
    folder = tmp_path / "drawn"
    on_disk = run_folder.read_summary(folder)
    assert on_disk["report"] == summary["report"]
    assert Path(on_disk["report"]["markdown"]).is_file() and Path(on_disk["report"]["html"]).is_file()
    assert run_folder.completed_summary(folder)["run_id"] == "drawn"
    assert set(summary["levels"][0]["files"]) == set(run_folder.level_paths(folder, "x", "c1"))
    assert run_folder.completed_summary(tmp_path / "absent") is None


def test_add_crosscheck_records_the_comparison_and_redraws(llm_server, tmp_path) -> None:
    run_benchmark(_config(llm_server, tmp_path, "ours", report=True))
    # a run folder of the same shape stands in for the LLMPerf one (its level files are LLMPerf's format)
    run_benchmark(_config(llm_server, tmp_path, "ours-llmperf", report=False))
    before = (tmp_path / "ours" / "report.md").read_text(encoding="utf-8")
    summary = run_folder.add_crosscheck(tmp_path / "ours", tmp_path / "ours-llmperf")
    check = json.loads((tmp_path / "ours" / "crosscheck.json").read_text(encoding="utf-8"))
    assert [level["label"] for level in check["levels"]] == ["c1"]
    assert run_folder.read_summary(tmp_path / "ours")["crosscheck"] == check == summary["crosscheck"]
    after = (tmp_path / "ours" / "report.md").read_text(encoding="utf-8")
    assert "Cross-check" not in before and "Cross-check: builtin engine vs LLMPerf" in after
    assert not (tmp_path / "ours-llmperf" / "report.md").exists()
