"""cluster_kubeconfig against the emulator: no oci CLI, tokens that verify against the test key."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from oci_emulator import FIXTURE_CLUSTER_ID
from oci_emulator.fixtures import TEST_REGION


def verify_oke_token(emulator, token: str) -> None:
    """Decode an OKE token and check its signature exactly as the emulator checks API calls."""
    url = urlsplit(base64.urlsafe_b64decode(token.encode()).decode())
    assert url.scheme == "https"
    assert url.netloc == f"containerengine.{TEST_REGION}.oraclecloud.com"
    assert url.path == f"/cluster_request/{FIXTURE_CLUSTER_ID}"
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    headers = {"authorization": query["authorization"], "date": query["date"], "host": url.netloc}
    emulator.verify_signature("GET", url.path, headers, b"")


def test_exec_kubeconfig_uses_the_python_helper_not_the_cli(run_oci_module, oci_emulator, oci_test_identity,
                                                            tmp_path):
    dest = tmp_path / "oke.yaml"
    result = run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(dest))
    assert result["changed"] is True, result
    assert result["server"] == "https://129.0.0.10:6443"
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    config = yaml.safe_load(dest.read_text())
    exec_entry = config["users"][0]["user"]["exec"]
    assert exec_entry["command"] == sys.executable
    assert "oci" not in Path(exec_entry["command"]).name.split(".")
    assert exec_entry["args"][0] == result["helper_path"]
    # the helper runs with only the oci SDK and prints an ExecCredential whose token verifies
    completed = subprocess.run([exec_entry["command"], *exec_entry["args"]], capture_output=True, text=True,
                               timeout=120, check=True, env={**os.environ, "PATH": "/usr/bin:/bin"})
    credential = json.loads(completed.stdout)
    assert credential["kind"] == "ExecCredential"
    assert credential["status"]["expirationTimestamp"].endswith("Z")
    verify_oke_token(oci_emulator, credential["status"]["token"])
    assert oci_emulator.calls["CreateKubeconfig"] == 1
    assert oci_emulator.write_calls() == 0  # reading kubeconfig content is a POST that changes nothing


def test_exec_kubeconfig_rerun_and_check_mode_are_no_ops(run_oci_module, oci_emulator, tmp_path):
    dest = tmp_path / "oke.yaml"
    run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(dest))
    mtime = dest.stat().st_mtime_ns
    again = run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(dest))
    assert again["changed"] is False
    private = run_oci_module("cluster_kubeconfig", check_mode=True, diff=True, cluster_id=FIXTURE_CLUSTER_ID,
                             dest=str(dest), endpoint="PRIVATE_ENDPOINT")
    assert private["changed"] is True
    assert "10.0.0.10:6443" in private["diff"]["after"]
    assert dest.stat().st_mtime_ns == mtime


def test_static_token_verifies_and_is_not_in_the_result(run_oci_module, oci_emulator, tmp_path):
    dest = tmp_path / "static.yaml"
    check = run_oci_module("cluster_kubeconfig", check_mode=True, diff=True, cluster_id=FIXTURE_CLUSTER_ID,
                           dest=str(dest), user_auth="static")
    assert check["changed"] is True and not dest.exists()
    assert "<redacted static token>" in check["diff"]["after"]
    result = run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(dest), user_auth="static")
    token = yaml.safe_load(dest.read_text())["users"][0]["user"]["token"]
    verify_oke_token(oci_emulator, token)
    assert token not in json.dumps(result)
    assert result["token_expires_at"].endswith("Z")


def test_tampered_token_does_not_verify(run_oci_module, oci_emulator, tmp_path):
    dest = tmp_path / "static.yaml"
    run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(dest), user_auth="static")
    token = yaml.safe_load(dest.read_text())["users"][0]["user"]["token"]
    url = urlsplit(base64.urlsafe_b64decode(token).decode())
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    headers = {"authorization": query["authorization"], "date": query["date"], "host": url.netloc}
    other_cluster = url.path[:-1] + "2"
    with pytest.raises(Exception, match="does not verify"):
        oci_emulator.verify_signature("GET", other_cluster, headers, b"")


def test_errors_are_sentences(run_oci_module, oci_emulator, tmp_path):
    bad = run_oci_module("cluster_kubeconfig", cluster_id="cluster-1", dest=str(tmp_path / "k"))
    assert bad["failed"] is True and "cluster_id must be an OCID" in bad["msg"]
    missing_dir = run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(tmp_path / "no" / "k"))
    assert missing_dir["failed"] is True and "does not exist" in missing_dir["msg"]
    directory = run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(tmp_path))
    assert directory["failed"] is True and "Errno" not in directory["msg"]
    assert directory["msg"].startswith(f"dest must be a file path, not the directory {tmp_path}:"), directory["msg"]
    assert sum(oci_emulator.calls.values()) == 0
    unknown = run_oci_module("cluster_kubeconfig", cluster_id="ocid1.cluster.oc1.iad.aaaamissing",
                             dest=str(tmp_path / "k"))
    assert unknown["failed"] is True
    assert "Cannot read the kubeconfig of cluster ocid1.cluster.oc1.iad.aaaamissing" in unknown["msg"]
    assert "404" in unknown["msg"]


def test_helper_gets_identity_options_without_a_config_file(run_oci_module, oci_emulator, oci_test_identity, tmp_path):
    from oci_emulator.fixtures import TEST_TENANCY, TEST_USER

    dest = tmp_path / "inline.yaml"
    result = run_oci_module("cluster_kubeconfig", cluster_id=FIXTURE_CLUSTER_ID, dest=str(dest),
                            api_user=TEST_USER, tenancy=TEST_TENANCY, region=TEST_REGION,
                            api_user_fingerprint=oci_test_identity.fingerprint,
                            api_user_key_file=str(oci_test_identity.key_file))
    assert result["changed"] is True, result
    exec_entry = yaml.safe_load(dest.read_text())["users"][0]["user"]["exec"]
    args = [arg for arg in exec_entry["args"] if arg not in ("--config-file", str(oci_test_identity.config_file))]
    env = {key: value for key, value in os.environ.items() if not key.startswith("OCI_")}
    env["HOME"] = str(tmp_path)  # no ~/.oci/config to fall back on
    completed = subprocess.run([exec_entry["command"], *args], capture_output=True, text=True, timeout=120,
                               check=True, env=env)
    verify_oke_token(oci_emulator, json.loads(completed.stdout)["status"]["token"])
