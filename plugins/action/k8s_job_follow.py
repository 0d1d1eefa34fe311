# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow a Kubernetes Job until it completes or fails, printing the last progress line of its pod's log.

Documented in plugins/modules/k8s_job_follow.py.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail

from ansible_collections.llmops.oke.plugins.module_utils.bench.progress_line import last_progress
from ansible_collections.llmops.oke.plugins.plugin_utils.follow import FollowAction, failure_text

# batch/v1 JobStatus: a Job has ended when it has a condition of type Complete or Failed with status "True"
# (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/job-v1/#JobStatus)
ENDED = ("Complete", "Failed")


def ended(job: dict[str, Any]) -> bool:
    return any(c.get("type") in ENDED and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


class ActionModule(FollowAction):
    ARGUMENT_SPEC = {
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "required": True},
        "container": {"type": "str", "required": True},
        "label": {"type": "str", "required": True},
        "what": {"type": "str", "default": "Job"},
        "timeout_s": {"type": "int", "required": True},
        "timeout_name": {"type": "str", "default": "timeout_s"},
        "grace_s": {"type": "int", "default": 120},
        "tail_lines": {"type": "int", "default": 20},
        "kubeconfig": {"type": "raw"},
        "context": {"type": "str"},
    }
    # an API server that does not answer for a look or two (a control-plane upgrade, a 429 or 5xx) does not end an
    # hour-long wait: this many reads of the Job in a row must fail first
    READ_ATTEMPTS = 3
    _failed_reads = 0

    def look(self, args: dict[str, Any], task_vars: dict[str, Any], elapsed_s: int) -> tuple[dict | None, str]:
        access = {k: args[k] for k in ("kubeconfig", "context") if args[k]}
        job = self.run_task("kubernetes.core.k8s_info", {
            "kind": "Job", "name": args["name"], "namespace": args["namespace"], **access}, task_vars)
        where = f"Job {args['namespace']}/{args['name']} ({args['what']})"
        if job.get("failed"):
            self._failed_reads += 1
            if self._failed_reads >= self.READ_ATTEMPTS:
                raise AnsibleActionFail(
                    f"{where}: reading it failed {self._failed_reads} times in a row: {failure_text(job)}")
            return None, (f"{args['label']}: reading the Job failed ({failure_text(job)}); trying again "
                          f"({self._failed_reads}/{self.READ_ATTEMPTS}) ({elapsed_s} s elapsed)")
        self._failed_reads = 0
        if not job.get("resources"):
            raise AnsibleActionFail(f"{where} is gone (deleted while it ran?)")
        if ended(job["resources"][0]):
            return job, ""
        if elapsed_s > args["timeout_s"] + args["grace_s"]:
            raise AnsibleActionFail(
                f"{where} has not finished after {elapsed_s} s ({args['timeout_name']}={args['timeout_s']}, plus "
                f"{args['grace_s']} s for the API to mark it Failed); it is left in place for kubectl logs")
        pods = self.run_task("kubernetes.core.k8s_info", {
            "kind": "Pod", "namespace": args["namespace"],
            "label_selectors": [f"batch.kubernetes.io/job-name={args['name']}"], **access}, task_vars)
        pod = max(pods.get("resources") or [], key=lambda p: p["metadata"].get("creationTimestamp", ""), default=None)
        line = ""
        if pod is not None:
            # a pod still pulling its image has no log yet: not a failure, the next look reads it again
            log = self.run_task("kubernetes.core.k8s_log", {
                "name": pod["metadata"]["name"], "namespace": args["namespace"], "container": args["container"],
                "tail_lines": args["tail_lines"], **access}, task_vars)
            line = last_progress(log.get("log_lines") or [])
        phase = ((pod or {}).get("status") or {}).get("phase", "not created yet").lower()
        return None, f"{args['label']}: {line or f'pod {phase}, no progress line yet'} ({elapsed_s} s elapsed)"
