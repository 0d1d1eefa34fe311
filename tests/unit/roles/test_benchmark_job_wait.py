"""benchmark role, Kubernetes runner: the wait for the Job prints the pod's progress, bounded, and names failures;
the whole runner builds the run folder from the pod's log.

No cluster here: kubernetes.core's k8s, k8s_info and k8s_log are replaced, for these plays only, by a fake
collection placed first on the collections path. It answers as those modules do (``resources``; ``log``/
``log_lines``; k8s records what was applied) with
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
import yaml
from inference_render_support import render_role

from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import (
    format_progress,
    last_progress,
    parse_progress,
)

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
from synthetic_llm_server import ServerConfig, ServerThread  # noqa: E402

FAKE_MODULE = '''
import json, os
from ansible.module_utils.basic import AnsibleModule

def main():
    module = AnsibleModule(argument_spec=dict(
        kind=dict(type="str"), name=dict(type="str"), namespace=dict(type="str"), container=dict(type="str"),
        label_selectors=dict(type="list", elements="str"), tail_lines=dict(type="int"),
        state=dict(type="str"), definition=dict(type="raw"), apply=dict(type="bool"),
        server_side_apply=dict(type="dict"), wait=dict(type="bool"), wait_timeout=dict(type="int"),
        kubeconfig=dict(type="raw"), context=dict(type="str")))
    path = os.environ["FAKE_K8S_STATE"]
    with open(path) as handle:
        state = json.load(handle)
    params = {k: v for k, v in module.params.items() if v is not None}
    state["calls"].append({"module": MODULE, **{k: v for k, v in params.items() if k != "definition"}})
    done = state["finish_after"] is not None and state["looks"] >= state["finish_after"]
    changed = False
    if MODULE == "k8s":
        state["applied"].append(params["definition"])
        result, changed = dict(result=params["definition"]), True
    elif MODULE == "k8s_log":
        # the pod's log grows per_look lines a look; once the Job has finished it is all there
        lines = state["log"] if done else state["log"][:state["looks"] * state["per_look"]]
        if module.params["tail_lines"]:
            lines = lines[-module.params["tail_lines"]:]
        result = dict(log="".join(line + "\\n" for line in lines), log_lines=lines)
    elif module.params["kind"] == "Pod":
        result = dict(resources=[{"metadata": {"name": "bench-pod", "creationTimestamp": "2026-01-01T00:00:00Z"},
                                  "status": {"phase": "Succeeded" if done else "Running"}}])
    elif state["gone"]:
        result = dict(resources=[])
    elif state.get("failed_reads", 0) > 0:
        # the API server does not answer this read of the Job (a restart, a 503)
        state["failed_reads"] -= 1
        with open(path, "w") as handle:
            json.dump(state, handle)
        module.fail_json(msg="fake: the API server is restarting")
    else:
        state["looks"] += 1
        done = state["finish_after"] is not None and state["looks"] >= state["finish_after"]
        conditions = [{"type": state["outcome"], "status": "True", "message": state["message"]}] if done else []
        result = dict(resources=[{"metadata": {"name": module.params["name"]},
                                  "status": {"active": 0 if done else 1, "conditions": conditions}}])
    with open(path, "w") as handle:
        json.dump(state, handle)
    module.exit_json(changed=changed, **result)

main()
'''


def _fake_kubernetes_core(root: Path) -> Path:
    collection = root / "ansible_collections" / "kubernetes" / "core"
    (collection / "plugins" / "modules").mkdir(parents=True)
    (collection / "galaxy.yml").write_text("namespace: kubernetes\nname: core\nversion: 6.2.0\n")
    (collection / "meta").mkdir()
    (collection / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.15.0'\n")
    for module in ("k8s", "k8s_info", "k8s_log"):
        (collection / "plugins" / "modules" / f"{module}.py").write_text(f"MODULE = {module!r}\n" + FAKE_MODULE)
    return root


def _event(completed: int) -> dict[str, object]:
    return {"level": "c4", "completed": completed, "total": 12, "rate_rps": 2.0, "p50_ttft_s": 0.25, "errors": 0,
            "final": completed == 12}


def _play(tmp_path: Path, state: dict, tasks: str, variables: dict) -> tuple[subprocess.CompletedProcess, dict]:
    state_file = tmp_path / "k8s.json"
    state_file.write_text(json.dumps({"looks": 0, "finish_after": None, "outcome": "Complete", "gone": False,
                                      "message": "Job has reached the specified backoff limit", "per_look": 1,
                                      "calls": [], "applied": [], **state}))
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
    collections = f"{_fake_kubernetes_core(tmp_path / 'fake')}{os.pathsep}{REPO / 'build' / 'collections'}"
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": collections, "FAKE_K8S_STATE": str(state_file),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_STDOUT_CALLBACK": "default"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", json.dumps(variables)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        check=False)
    return result, json.loads(state_file.read_text())


def _wait(tmp_path: Path, finish_after: int | None, timeout_s: int = 3600, gone: bool = False,
          failed_reads: int = 0) -> tuple[subprocess.CompletedProcess, dict]:
    """job_poll.yml alone, on a pod log that grows one line a look."""
    log = ["Collecting prompts..."] + [format_progress(_event(n)) for n in (3, 6, 9, 12)]
    tasks = "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n        tasks_from: job_poll\n"
    variables = {"__benchmark_job_name": "llm-benchmark-builtin-night", "__benchmark_run_id": "night",
                 "__benchmark_job_grace_s": 1, "benchmark_job_timeout_s": timeout_s,
                 "benchmark_progress_interval_s": 1}
    return _play(tmp_path, {"finish_after": finish_after, "gone": gone, "log": log, "failed_reads": failed_reads},
                 tasks, variables)


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
    assert "benchmark_job_timeout_s=2" in failed[0] and "\\n" not in failed[0]  # one line
    assert 2 <= state["looks"] <= 10  # about one look a second for 2 + 1 s, then no more


def test_two_failed_reads_of_the_job_are_said_and_the_wait_goes_on(tmp_path: Path) -> None:
    result, state = _wait(tmp_path, finish_after=2, failed_reads=2)
    assert result.returncode == 0, result.stdout[-4000:]
    tried = [line for line in result.stdout.splitlines() if "reading the Job failed (" in line]
    assert len(tried) == 2 and all("fake: the API server is restarting" in line for line in tried), tried
    assert "(1/3)" in tried[0] and "(2/3)" in tried[1]
    assert state["looks"] == 2  # then it read the Job twice more, and it had completed


def test_a_job_that_is_gone_fails_at_once(tmp_path: Path) -> None:
    result, state = _wait(tmp_path, finish_after=None, gone=True)
    assert result.returncode != 0 and "is gone (deleted while it ran?)" in result.stdout
    assert [c["kind"] for c in state["calls"]] == ["Job"]


# The whole kubernetes runner (role entry point): preflight, the Job applied, the wait, the pod's log read,
# the run folder built on the controller by llm_benchmark (import_from). The pod's log is the real output of the
# Job's rendered script, run here against the synthetic server as test_benchmark_render.py runs it.
ROLE = "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n"
GALAXY_VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


def _runner_vars(tmp_path: Path, base_url: str) -> dict:
    return {"benchmark_runner": "kubernetes", "benchmark_run_id": "e2e", "benchmark_base_url": base_url,
            "benchmark_concurrency": "1,2", "benchmark_max_requests": 3, "benchmark_mean_output_tokens": 5,
            "benchmark_warmup_requests": 0, "benchmark_report": False, "benchmark_progress_interval_s": 1,
            "benchmark_results_dir": str(tmp_path / "results")}


def _pod_output(tmp_path: Path, variables: dict) -> tuple[list[str], list[str]]:
    render = tmp_path / "render"
    render.mkdir()
    job = next(d for d in render_role("benchmark", render, variables) if d["kind"] == "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {**os.environ, **{e["name"]: e["value"] for e in container["env"] if "value" in e},
           "PYTHONPATH": str(REPO / "build" / "collections"), "RESULTS_DIR": str(tmp_path / "job"),
           "HOME": str(tmp_path)}
    done = subprocess.run(["/bin/sh", "-c", container["args"][0].replace("python -m", f"{sys.executable} -m")],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr.splitlines(), done.stdout.splitlines()


def test_kubernetes_runner_shows_the_pods_progress_and_builds_the_run_folder(tmp_path: Path) -> None:
    with ServerThread(ServerConfig(ttft_s=0.01, itl_s=0.002)) as server:
        variables = _runner_vars(tmp_path, server.base_url)
        stderr, stdout = _pod_output(tmp_path, variables)
    # the Job finishes on the third look; by the second, the pod has written all its progress lines
    result, state = _play(tmp_path, {"finish_after": 3, "log": stderr + stdout, "per_look": len(stderr)}, ROLE,
                          variables)
    assert result.returncode == 0, result.stdout[-4000:]
    assert [(d["kind"], d["metadata"]["name"]) for d in state["applied"]] == [
        ("ConfigMap", "llm-benchmark-engine"), ("Job", "llm-benchmark-builtin-e2e")]
    shown = [line for line, _elapsed in re.findall(
        r"benchmark e2e \(Job llmops/llm-benchmark-builtin-e2e\): (.*?) \((\d+) s elapsed\)", result.stdout)]
    assert len(shown) == 2 and shown[1] == last_progress(stderr), (shown, stderr)
    assert parse_progress(shown[1])["level"] == "c2" and parse_progress(shown[1])["final"]
    summary = json.loads((tmp_path / "results" / "e2e" / "summary.json").read_text())
    assert summary["status"] == "complete" and [lv["label"] for lv in summary["levels"]] == ["c1", "c2"]
    assert summary["metadata"]["collection_version"] == GALAXY_VERSION
    assert (tmp_path / "results" / "e2e.job.log").read_text().splitlines() == stderr + stdout


def test_a_failed_job_fails_the_play_with_its_message_and_last_log_lines(tmp_path: Path) -> None:
    log = [f"line {n}" for n in range(30)] + ["Traceback (most recent call last):",
                                              "ConnectionRefusedError: [Errno 111] Connection refused"]
    result, _state = _play(tmp_path, {"finish_after": 2, "outcome": "Failed", "log": log}, ROLE,
                           _runner_vars(tmp_path, "http://127.0.0.1:9"))
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failed) == 1, result.stdout[-4000:]
    assert ("Job llmops/llm-benchmark-builtin-e2e (builtin) failed: Job has reached the specified backoff limit; "
            "last log lines: line 12 | line 13") in failed[0], failed[0]
    assert "line 11 |" not in failed[0] and "\\n" not in failed[0]  # one line
    assert failed[0].rstrip('"}').endswith("ConnectionRefusedError: [Errno 111] Connection refused")
    assert not (tmp_path / "results" / "e2e").exists()


def test_the_wait_reads_the_job_through_kubernetes_cores_own_action_so_a_vaulted_kubeconfig_works(
        tmp_path: Path) -> None:
    # the real kubernetes.core (no fake collection): its action plugin decrypts a vaulted kubeconfig before the
    # module runs, so the look gets as far as the API server named in it, 127.0.0.1:9, where nothing listens.
    # The module alone cannot read a vaulted file (it fails with "'str' object does not support item assignment").
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "nobody"}}],
        "users": [{"name": "nobody", "user": {"token": "not-a-secret"}}]}))
    password = tmp_path / "vault-password"
    password.write_text("test-only\n")
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "ansible-vault"), "encrypt", "--vault-password-file", str(password),
                    str(kubeconfig)], check=True, capture_output=True, timeout=120)
    assert kubeconfig.read_text().startswith("$ANSIBLE_VAULT")
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.include_role:\n        name: llmops.oke.benchmark\n"
                        "        tasks_from: job_poll\n")
    variables = {"__benchmark_job_name": "llm-benchmark-builtin-night", "__benchmark_run_id": "night",
                 "benchmark_progress_interval_s": 1, "llmops_kubeconfig": str(kubeconfig)}
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_STDOUT_CALLBACK": "default"}
    result = subprocess.run(
        [str(bin_dir / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), "--vault-password-file",
         str(password), "-e", json.dumps(variables)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300, check=False)
    failed = [line for line in result.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failed) == 1, result.stdout[-4000:]
    said = "Job llmops/llm-benchmark-builtin-night (builtin): reading it failed 3 times in a row: "
    assert said in failed[0], failed[0]
    assert result.stdout.count("reading the Job failed (") == 2  # the first two were said and tried again
    assert "port=9" in failed[0] and "Connection refused" in failed[0], failed[0]
