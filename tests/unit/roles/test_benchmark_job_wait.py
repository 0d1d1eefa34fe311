"""benchmark role, Kubernetes runner: the wait for the Job prints the pod's progress, bounded, and names failures.

No cluster here: kubernetes.core's k8s_info and k8s_log are replaced, for this play only, by a fake collection
placed first on the collections path. It answers as those modules do (``resources``; ``log``/``log_lines``) with
a Job whose status follows batch/v1 JobStatus (conditions of type Complete or Failed with status "True":
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/job-v1/#JobStatus), finishing after a
set number of looks, and a pod whose log grows by one line of the engine's own progress format per look.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import format_progress

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]

FAKE_MODULE = '''
import json, os
from ansible.module_utils.basic import AnsibleModule

def main():
    module = AnsibleModule(argument_spec=dict(
        kind=dict(type="str"), name=dict(type="str"), namespace=dict(type="str"), container=dict(type="str"),
        label_selectors=dict(type="list", elements="str"), tail_lines=dict(type="int"),
        kubeconfig=dict(type="raw"), context=dict(type="str")))
    path = os.environ["FAKE_K8S_STATE"]
    with open(path) as handle:
        state = json.load(handle)
    calls = state.setdefault("calls", [])
    calls.append({"module": MODULE, **{k: v for k, v in module.params.items() if v is not None}})
    if MODULE == "k8s_log":
        lines = state["log"][:state["looks"]]
        if module.params["tail_lines"]:
            lines = lines[-module.params["tail_lines"]:]
        result = dict(log="".join(line + "\\n" for line in lines), log_lines=lines)
    elif module.params["kind"] == "Pod":
        result = dict(resources=[{"metadata": {"name": "bench-pod", "creationTimestamp": "2026-01-01T00:00:00Z"},
                                  "status": {"phase": "Running"}}])
    elif state["gone"]:
        result = dict(resources=[])
    else:
        state["looks"] += 1
        done = state["finish_after"] is not None and state["looks"] >= state["finish_after"]
        conditions = [{"type": state["outcome"], "status": "True", "message": state["message"]}] if done else []
        result = dict(resources=[{"metadata": {"name": module.params["name"]},
                                  "status": {"active": 0 if done else 1, "conditions": conditions}}])
    with open(path, "w") as handle:
        json.dump(state, handle)
    module.exit_json(changed=False, **result)

main()
'''


def _fake_kubernetes_core(root: Path) -> Path:
    collection = root / "ansible_collections" / "kubernetes" / "core"
    (collection / "plugins" / "modules").mkdir(parents=True)
    (collection / "galaxy.yml").write_text("namespace: kubernetes\nname: core\nversion: 6.2.0\n")
    (collection / "meta").mkdir()
    (collection / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.15.0'\n")
    for module in ("k8s_info", "k8s_log"):
        (collection / "plugins" / "modules" / f"{module}.py").write_text(f"MODULE = {module!r}\n" + FAKE_MODULE)
    return root


def _event(completed: int) -> dict[str, object]:
    return {"level": "c4", "completed": completed, "total": 12, "rate_rps": 2.0, "p50_ttft_s": 0.25, "errors": 0,
            "final": completed == 12}


def _wait(tmp_path: Path, finish_after: int | None, timeout_s: int = 3600, gone: bool = False,
          outcome: str = "Complete") -> tuple[subprocess.CompletedProcess, dict]:
    state = tmp_path / "k8s.json"
    log = ["Collecting prompts..."] + [format_progress(_event(n)) for n in (3, 6, 9, 12)]
    state.write_text(json.dumps({"looks": 0, "finish_after": finish_after, "outcome": outcome, "gone": gone,
                                 "message": "Job has reached the specified backoff limit", "log": log}))
    playbook = tmp_path / "wait.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.set_fact:\n        __benchmark_started: '{{ now().timestamp() }}'\n"
        "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n        tasks_from: job_poll\n")
    variables = {"__benchmark_job_name": "llm-benchmark-builtin-night", "__benchmark_run_id": "night",
                 "__benchmark_job_grace_s": 1, "benchmark_job_timeout_s": timeout_s,
                 "benchmark_progress_interval_s": 1}
    collections = f"{_fake_kubernetes_core(tmp_path / 'fake')}{os.pathsep}{REPO / 'build' / 'collections'}"
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": collections, "FAKE_K8S_STATE": str(state),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_STDOUT_CALLBACK": "default"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", json.dumps(variables)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        check=False)
    return result, json.loads(state.read_text())


SHOWN = re.compile(r"benchmark night \(Job llmops/llm-benchmark-builtin-night\): (.*?) \((\d+) s elapsed\)")


def test_wait_prints_each_look_until_the_job_completes(tmp_path: Path) -> None:
    result, state = _wait(tmp_path, finish_after=4)
    assert result.returncode == 0, result.stdout[-4000:]
    shown = SHOWN.findall(result.stdout)
    texts = [line for line, _elapsed in shown]
    # three looks before the Job completes on the fourth: the pod has not printed progress yet, then each look
    # shows the latest progress line of the pod's log (it grows one line a look)
    assert len(texts) == 3 and texts[0] == "pod running, no progress line yet", texts
    assert all(text.endswith(f"[c4] {n}/12 done, 2.00 req/s, p50 TTFT 250.0 ms, errors 0")
               for text, n in zip(texts[1:], (3, 6), strict=True)), texts
    elapsed = [int(e) for _line, e in shown]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 2  # one look a second (benchmark_progress_interval_s)
    tails = [c for c in state["calls"] if c["module"] == "k8s_log"]
    assert tails and all(c["tail_lines"] == 20 and c["name"] == "bench-pod" for c in tails)


def test_wait_is_bounded_by_the_job_deadline(tmp_path: Path) -> None:
    result, state = _wait(tmp_path, finish_after=None, timeout_s=2)
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failed) == 1 and "llmops/llm-benchmark-builtin-night (builtin) has not finished after" in failed[0]
    assert "benchmark_job_timeout_s=2" in failed[0]
    assert 2 <= state["looks"] <= 10  # about one look a second for 2 + 1 s, then no more


def test_a_job_that_is_gone_fails_at_once(tmp_path: Path) -> None:
    result, state = _wait(tmp_path, finish_after=None, gone=True)
    assert result.returncode != 0 and "is gone (deleted while it ran?)" in result.stdout
    assert [c["kind"] for c in state["calls"]] == ["Job"]
