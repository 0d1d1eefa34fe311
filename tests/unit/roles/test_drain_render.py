"""The rendered stop path of both inference roles (issue 24, item 2): rollout that keeps capacity, a PDB that keeps
one pod serving under an HPA, the preStop drain, a grace period covering the longest request the SLOs allow, and
vLLM's own --shutdown-timeout (judged by the flag list generated from the pinned vLLM's parser).

The drain itself runs against a real llama-server in tests/integration/test_drain_llama_server.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inference_render_support import SHA256, args_map, by_kind, render_role

from ansible_collections.llmops.oke.plugins.module_utils.k8s import drain
from ansible_collections.llmops.oke.plugins.module_utils.server import flags as server_flags

REPO_ROOT = Path(__file__).resolve().parents[3]
ROLES = {
    "llama_cpp": {"llama_cpp_preset": "chatbot", "llama_cpp_model_sha256": SHA256,
                  "llama_cpp_replicas_managed_by_hpa": True},
    "vllm": {"vllm_preset": "rag", "vllm_replicas_managed_by_hpa": True},
}


@pytest.fixture(scope="module", params=sorted(ROLES))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    role = request.param
    return role, by_kind(render_role(role, tmp_path_factory.mktemp(role), ROLES[role]))


def test_rollout_surges_before_removing(rendered: tuple[str, dict]) -> None:
    _role, kinds = rendered
    deployment = kinds["Deployment"][0]
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert "replicas" not in deployment["spec"]  # the HPA owns them


def test_pdb_keeps_one_serving_under_an_hpa(rendered: tuple[str, dict]) -> None:
    """Before: minAvailable = min(1, replicas - 1) = 0 when the HPA owned replicas (vllm_replicas stayed 1)."""
    _role, kinds = rendered
    spec = kinds["PodDisruptionBudget"][0]["spec"]
    assert spec["maxUnavailable"] == 1 and "minAvailable" not in spec


def test_prestop_drains_and_the_grace_covers_the_longest_slo_request(rendered: tuple[str, dict]) -> None:
    role, kinds = rendered
    pod = kinds["Deployment"][0]["spec"]["template"]["spec"]
    server = pod["containers"][0]
    command = server["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    for metric in drain.IN_FLIGHT_METRICS[role]:
        assert metric in command[2]
    # chatbot: 2 s + 0.1 s x 511 more tokens of a 512-token slot = 54 s; rag: 3 s + 0.05 s x 2303 = 119 s
    longest = {"llama_cpp": 54, "vllm": 119}[role]
    assert f"+ {longest} ))" in command[2]
    assert pod["terminationGracePeriodSeconds"] == 10 + longest + drain.STOP_MARGIN_S
    assert pod["terminationGracePeriodSeconds"] > 30  # Kubernetes' default, which cut streams before


def test_vllm_waits_itself_after_sigterm_with_a_flag_the_pinned_vllm_accepts(tmp_path: Path) -> None:
    kinds = by_kind(render_role("vllm", tmp_path, ROLES["vllm"]))
    args = kinds["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args_map(args)["--shutdown-timeout"] == "119"
    accepted = server_flags.parse_flag_list((REPO_ROOT / "roles/vllm/files/vllm-flags-0.34.0.txt").read_text())
    assert server_flags.unknown_flags(args, accepted) == []
