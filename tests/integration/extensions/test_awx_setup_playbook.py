"""playbooks/awx_setup.yml: syntax, ansible-lint production profile, and its input checks run for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO_ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO_ROOT / "playbooks" / "awx_setup.yml"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow

sys.path.insert(0, str(REPO_ROOT / "tests" / "fixtures"))
from awx_controller import FakeController, fake_controller  # noqa: E402  (fixtures folder added just above)


def _run(args: list[str], extra_env: dict[str, str] | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTROLLER_")}
    env.update({"ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(extra_env or {})})
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_syntax_check() -> None:
    result = _run([str(BIN / "ansible-playbook"), "--syntax-check", str(PLAYBOOK)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_production_profile() -> None:
    # The EE definition, galaxy requirements, credential type and generated surveys are linted too (yamllint rules).
    result = _run([str(BIN / "ansible-lint"), "--offline", "--profile", "production", str(PLAYBOOK),
                   str(REPO_ROOT / "extensions" / "awx")])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def test_missing_inputs_fail_before_any_controller_call() -> None:
    """Without a controller or a repository URL the first task stops the run and says what to set."""
    result = _run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK)])
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Check the required inputs" in output
    assert "awx_setup_scm_url" in output and "CONTROLLER_HOST" in output
    assert "Register the execution environment" not in output


def test_half_given_oci_inputs_are_refused() -> None:
    result = _run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK),
                   "-e", "awx_setup_scm_url=https://git.invalid/oke.git", "-e", "awx_setup_ee_image=ee:1",
                   "-e", "awx_setup_oci_user_ocid=ocid1.user.oc1..x"],
                  {"CONTROLLER_HOST": "https://127.0.0.1:9", "CONTROLLER_OAUTH_TOKEN": "t"})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "either all five OCI inputs" in output


# --- against an in-memory AWX API (tests/fixtures/awx_controller.py) -----------------------------------------

DEMO_SPEC = {"argument_specs": {"main": {"short_description": "demo", "options": {
    "demo_backend": {"type": "str", "choices": ["vllm", "llama_cpp"], "default": "vllm", "description": "Backend."},
    "demo_replicas": {"type": "int", "default": 2, "description": "Replicas."},
    "demo_enabled": {"type": "bool", "default": True, "description": "On."},
    "demo_api_key": {"type": "str", "default": "", "no_log": True, "description": "Key."},
}}}}


def _key_file(directory: Path) -> Path:
    """A throwaway PKCS#8 RSA key, never committed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "oci_api_key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def _setup_args(key_file: Path, *extra: str) -> list[str]:
    return [str(BIN / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK),
            "-e", "awx_setup_scm_url=https://git.invalid/llmops/oke.git",
            "-e", "awx_setup_ee_image=registry.invalid/llmops-oke-ee:0.1.0",
            "-e", "awx_setup_oci_user_ocid=ocid1.user.oc1..aaaauser",
            "-e", "awx_setup_oci_fingerprint=12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef",
            "-e", "awx_setup_oci_tenancy_ocid=ocid1.tenancy.oc1..aaaatenancy",
            "-e", "awx_setup_oci_region=eu-frankfurt-1",
            "-e", f"awx_setup_oci_private_key_file={key_file}", *extra]


def _object(controller: FakeController, endpoint: str, name: str) -> dict[str, Any]:
    found = controller.named(endpoint, name)
    assert len(found) == 1, f"{endpoint}/{name}: {len(found)} objects"
    return found[0]


@pytest.fixture
def demo_surveys(tmp_path: Path) -> Path:
    """Surveys generated for a deploy stage running a demo role, passed to the playbook as extra vars."""
    root = tmp_path / "demo"
    (root / "roles" / "demo" / "meta").mkdir(parents=True)
    (root / "roles" / "demo" / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(DEMO_SPEC))
    (root / "playbooks").mkdir()
    (root / "playbooks" / "deploy.yml").write_text(
        "- hosts: localhost\n  roles:\n    - llmops.oke.demo\n")
    (root / "extensions" / "awx").mkdir(parents=True)
    stages = yaml.safe_load((REPO_ROOT / "extensions" / "awx" / "stages.yml").read_text())
    # The real stages and workflow, asking everything the demo role has (no inventory to take defaults from).
    for entry in [*stages["stages"], stages["workflow"]]:
        entry.pop("include_variables", None)
    stages.pop("inventory", None)
    (root / "extensions" / "awx" / "stages.yml").write_text(yaml.safe_dump(stages, sort_keys=False))
    result = _run([sys.executable, str(REPO_ROOT / "extensions" / "awx" / "generate_surveys.py"), "--root", str(root)])
    assert result.returncode == 0, result.stderr
    return root / "extensions" / "awx" / "surveys.yml"


def test_setup_builds_the_whole_controller_configuration(tmp_path: Path, demo_surveys: Path) -> None:
    key_file = _key_file(tmp_path)
    with fake_controller(token="test-token") as (url, controller):
        env = {"CONTROLLER_HOST": url, "CONTROLLER_OAUTH_TOKEN": "test-token"}
        result = _run(_setup_args(key_file, "-e", f"@{demo_surveys}"), env)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        assert controller.errors == []
        assert "test-token" not in result.stdout and "PRIVATE KEY" not in output

        credential_type = yaml.safe_load((REPO_ROOT / "extensions/awx/credential_types/oci.yml").read_text())
        stored_type = _object(controller, "credential_types", credential_type["name"])
        assert stored_type["inputs"] == credential_type["inputs"]
        assert stored_type["injectors"] == credential_type["injectors"]
        credential = _object(controller, "credentials", "llmops.oke OCI")
        assert credential["credential_type"] == stored_type["id"]
        assert credential["inputs"]["private_key"].strip() == key_file.read_text().strip()
        assert "passphrase" not in credential["inputs"]

        project = _object(controller, "projects", "llmops.oke")
        assert project["scm_url"] == "https://git.invalid/llmops/oke.git"
        ee = _object(controller, "execution_environments", "llmops.oke EE")
        assert project["default_environment"] == ee["id"]
        for name, path in (("oke", "inventories/oke"), ("local", "inventories/local")):
            source = _object(controller, "inventory_sources", f"llmops.oke {name} from project")
            assert (source["source"], source["source_path"], source["source_project"]) == ("scm", path, project["id"])

        stages = yaml.safe_load(demo_surveys.read_text())["llmops_awx_stages"]
        for stage in stages:
            template = _object(controller, "job_templates", f"llmops.oke {stage['name']}")
            assert template["playbook"] == stage["playbook"]
            assert template["execution_environment"] == ee["id"]
            assert [c["id"] for c in controller.associated("job_templates", template["id"], "credentials")] == [
                credential["id"]]
            survey = controller.surveys.get(("job_templates", template["id"]))
            if stage["survey"]["spec"]:
                assert template["survey_enabled"] is True and survey == stage["survey"]
            else:
                assert template["survey_enabled"] is False and survey is None
        assert any(stage["survey"]["spec"] for stage in stages), "the demo deploy stage must carry a survey"

        workflow = _object(controller, "workflow_job_templates", "llmops.oke end to end")
        workflow_survey = controller.surveys[("workflow_job_templates", workflow["id"])]
        assert workflow_survey == yaml.safe_load(demo_surveys.read_text())["llmops_awx_workflow"]["survey"]
        assert {q["variable"] for q in workflow_survey["spec"]} == set(DEMO_SPEC["argument_specs"]["main"]["options"])
        nodes = {node["identifier"]: node for node in controller.list("workflow_job_template_nodes")
                 if node["workflow_job_template"] == workflow["id"]}
        chain, current = [], "provision"
        while current:
            chain.append(current)
            following = controller.associated("workflow_job_template_nodes", nodes[current]["id"], "success_nodes")
            current = following[0]["identifier"] if following else None
        assert chain == ["provision", "deploy", "observe", "benchmark", "approve_teardown", "teardown"]
        approval = controller.find("unified_job_templates", nodes["approve_teardown"]["unified_job_template"])
        assert approval is not None and approval["type"] == "workflow_approval_template"

        # A second run changes nothing and creates nothing.
        counts = {endpoint: len(items) for endpoint, items in controller.objects.items()}
        again = _run(_setup_args(key_file, "-e", f"@{demo_surveys}"), env)
        assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
        assert {endpoint: len(items) for endpoint, items in controller.objects.items()} == counts
        assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s", again.stdout), again.stdout[-3000:]


def test_setup_without_oci_inputs_needs_an_existing_credential() -> None:
    bare = [str(BIN / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK),
            "-e", "awx_setup_scm_url=https://git.invalid/llmops/oke.git", "-e", "awx_setup_ee_image=ee:1"]
    credential_type = yaml.safe_load((REPO_ROOT / "extensions/awx/credential_types/oci.yml").read_text())
    with fake_controller(token="test-token") as (url, controller):
        env = {"CONTROLLER_HOST": url, "CONTROLLER_OAUTH_TOKEN": "test-token"}
        missing = _run(bare, env)
        assert missing.returncode == 2
        assert "No credential named 'llmops.oke OCI'" in missing.stdout + missing.stderr
        assert controller.named("job_templates", "llmops.oke deploy") == []
        # An administrator created the credentials in the UI: the setup now uses them as they are.
        kind = controller.named("credential_types", credential_type["name"])[0]
        controller.create("credentials", {"name": "llmops.oke OCI", "credential_type": kind["id"], "organization": 1,
                                          "inputs": {"user_ocid": "ocid1.user.oc1..x"}})
        bearer = controller.create("credential_types", {"name": "OpenShift or Kubernetes API Bearer Token",
                                                        "kind": "kubernetes", "inputs": {}, "injectors": {}})
        controller.create("credentials", {"name": "OKE token", "credential_type": bearer["id"], "organization": 1,
                                          "inputs": {}})
        reused = _run([*bare, "-e", '{"awx_setup_kubernetes_credential": "OKE token"}'], env)
        assert reused.returncode == 0, (reused.stdout + reused.stderr)[-6000:]
        assert len(controller.list("credentials")) == 2
        for stage, expected in (("provision", ["llmops.oke OCI"]), ("deploy", ["llmops.oke OCI", "OKE token"]),
                                ("teardown", ["llmops.oke OCI", "OKE token"])):
            template = _object(controller, "job_templates", f"llmops.oke {stage}")
            attached = controller.associated("job_templates", template["id"], "credentials")
            assert sorted(c["name"] for c in attached) == sorted(expected), stage
