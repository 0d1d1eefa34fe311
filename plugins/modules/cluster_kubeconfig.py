#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_kubeconfig
short_description: Write a kubeconfig for an OKE cluster that does not need the oci CLI
version_added: 0.1.0
description:
  - Fetches the cluster's kubeconfig from OCI (server address and CA) and writes it to O(dest) with mode C(0600).
  - The kubeconfig OCI generates authenticates by running C(oci ce cluster generate-token); execution environments
    often lack the oci CLI. This module replaces that user entry.
  - With O(user_auth=exec) (default) the user runs a small Python helper, written beside the kubeconfig, that signs
    the OKE token with the same OCI credentials as the modules (the oci Python SDK only). Tokens are refreshed on
    demand, so long playbooks keep working; the file is stable, so reruns report no change.
  - With O(user_auth=static) the kubeconfig carries one signed token. OKE accepts it for about four minutes
    (RV(token_expires_at)); use it only for a task that runs right after. Each run writes a new token.
  - No secret is written to the kubeconfig in exec mode; the pass phrase of an encrypted key is read by the helper
    from E(OCI_USER_KEY_PASS_PHRASE) at run time.
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
attributes:
  check_mode:
    support: full
    description: Reads the cluster's kubeconfig and compares; writes nothing.
  diff_mode:
    support: full
    description: Shows the kubeconfig before and after, static tokens redacted.
options:
  cluster_id:
    description: OCID of the OKE cluster.
    type: str
    required: true
  dest:
    description: Path of the kubeconfig to write (its directory must exist).
    type: path
    required: true
  endpoint:
    description: Which cluster API endpoint the kubeconfig points at.
    type: str
    choices: [PUBLIC_ENDPOINT, PRIVATE_ENDPOINT, VCN_HOSTNAME, LEGACY_KUBERNETES]
    default: PUBLIC_ENDPOINT
  user_auth:
    description: V(exec) runs the token helper on demand; V(static) embeds one short-lived token.
    type: str
    choices: [exec, static]
    default: exec
  helper_path:
    description: Where the token helper is written in V(exec) mode. Defaults to O(dest) plus C(.oke-token.py).
    type: path
  python_interpreter:
    description:
      - Python that runs the helper (it needs the oci SDK). Defaults to the interpreter running this module.
    type: path
"""

EXAMPLES = r"""
- name: Kubeconfig for the deploy roles, no oci CLI needed
  llmops.oke.cluster_kubeconfig:
    cluster_id: "{{ oke_cluster_id }}"
    dest: "{{ playbook_dir }}/.kube/oke.yaml"
  register: kubeconfig

- name: Use it
  kubernetes.core.k8s_info:
    kubeconfig: "{{ kubeconfig.kubeconfig }}"
    kind: Node
"""

RETURN = r"""
kubeconfig:
  description: Path of the kubeconfig.
  returned: always
  type: str
server:
  description: API server URL of the cluster.
  returned: always
  type: str
  sample: https://129.0.0.10:6443
context:
  description: Name of the current context.
  returned: always
  type: str
helper_path:
  description: Path of the token helper (exec mode).
  returned: when O(user_auth=exec)
  type: str
token_expires_at:
  description: UTC expiry of the embedded token (static mode).
  returned: when O(user_auth=static)
  type: str
"""

import os
import pkgutil
import sys
import traceback
from typing import Any

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.llmops.oke.plugins.module_utils.bench.fileio import atomic_write_text
from ansible_collections.llmops.oke.plugins.module_utils.oci.auth import generate_oke_token
from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    HAS_OCI,
    OCIModule,
    build_model,
    ocid_problems,
)

try:
    import yaml

    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()

if HAS_OCI:
    import oci
    import oci.container_engine.models as ce_models

ARGUMENT_SPEC: dict[str, Any] = {
    "cluster_id": {"type": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "endpoint": {"type": "str", "default": "PUBLIC_ENDPOINT",
                 "choices": ["PUBLIC_ENDPOINT", "PRIVATE_ENDPOINT", "VCN_HOSTNAME", "LEGACY_KUBERNETES"]},
    "user_auth": {"type": "str", "choices": ["exec", "static"], "default": "exec"},
    "helper_path": {"type": "path"},
    "python_interpreter": {"type": "path"},
}
REDACTED = "<redacted static token>"


def helper_source() -> str:
    """The standalone auth.py (stdlib + oci only) that becomes the exec helper."""
    data = pkgutil.get_data("ansible_collections.llmops.oke.plugins.module_utils.oci", "auth.py")
    if not data:
        raise RuntimeError("cannot read the token helper source from the collection")
    return "#!/usr/bin/env python3\n" + data.decode("utf-8")


def exec_user(params: dict[str, Any], region: str, helper: str) -> dict[str, Any]:
    args = [helper, "--cluster-id", params["cluster_id"], "--region", region, "--auth-type", params["auth_type"]]
    if params.get("config_file_location"):
        args += ["--config-file", params["config_file_location"]]
    if params.get("config_profile_name"):
        args += ["--profile", params["config_profile_name"]]
    for option, flag in (("api_user", "--user"), ("api_user_fingerprint", "--fingerprint"), ("tenancy", "--tenancy"),
                         ("api_user_key_file", "--key-file")):
        if params.get(option):
            args += [flag, params[option]]
    return {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": params.get("python_interpreter") or sys.executable,
        "args": args,
        "env": None,
        "interactiveMode": "Never",
        "provideClusterInfo": False,
    }}


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_private(path: str, content: str, mode: int) -> None:
    """Write ``content`` atomically with ``mode`` set before the file becomes visible."""
    # os.replace keeps the private mode (atomic_move would re-apply default permissions to a new file).
    atomic_write_text(path, content, mode)


def check_input(module: OCIModule) -> None:
    """Fail on a missing library, a malformed cluster OCID or an unwritable path, before any API call."""
    params = module.params
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    for problem in ocid_problems("cluster_id", params["cluster_id"], "cluster"):
        module.fail_json(msg=f"Invalid options for cluster_kubeconfig: {problem}.")
    dest = params["dest"]
    for option, path in (("dest", dest), ("helper_path", params.get("helper_path"))):
        if path and os.path.isdir(path):
            module.fail_json(msg=f"{option} must be a file path, not the directory {path}: name the file to write, "
                                 f"such as {os.path.join(path, 'oke.yaml' if option == 'dest' else 'oke-token.py')}.")
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg=f"Cannot write the kubeconfig of cluster {params['cluster_id']}: the directory of "
                             f"{dest} does not exist.")


def main() -> None:
    module = OCIModule(ARGUMENT_SPEC, wait_timeout_default=None)
    params = module.params
    check_input(module)
    dest = params["dest"]
    config, signer = module.oci_config_and_signer()
    region = config.get("region")
    if not region:
        module.fail_json(msg="Cannot build an OKE token without a region: set region or the profile's region.")
    client = module.client(oci.container_engine.ContainerEngineClient)
    details = build_model(ce_models.CreateClusterKubeconfigContentDetails,
                          {"token_version": "2.0.0", "endpoint": params["endpoint"]}, ce_models)
    response = module.call_or_fail(f"read the kubeconfig of cluster {params['cluster_id']}",
                                   client.create_kubeconfig, params["cluster_id"],
                                   create_cluster_kubeconfig_content_details=details)
    kubeconfig = yaml.safe_load(response.data.content)

    result: dict[str, Any] = {"changed": False, "kubeconfig": dest}
    helper = None
    if params["user_auth"] == "exec":
        helper = params.get("helper_path") or f"{dest}.oke-token.py"
        user: dict[str, Any] = exec_user(params, region, helper)
        result["helper_path"] = helper
    else:
        token, expires = generate_oke_token(signer, region, params["cluster_id"])
        user = {"token": token}
        result["token_expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    for entry in kubeconfig.get("users") or []:
        entry["user"] = user
    content = yaml.safe_dump(kubeconfig, sort_keys=False, default_flow_style=False)
    result["server"] = kubeconfig["clusters"][0]["cluster"]["server"]
    result["context"] = kubeconfig.get("current-context")

    before = read_text(dest)
    writes = []
    if before != content:
        writes.append((dest, content, 0o600))
    if helper is not None:
        source = helper_source()
        if read_text(helper) != source:
            writes.append((helper, source, 0o700))
    result["changed"] = bool(writes)
    if module._diff and before != content:
        redact = params["user_auth"] == "static"
        result["diff"] = {"before": before or "", "after": content.replace(user.get("token", ""), REDACTED)
                          if redact else content, "before_header": dest, "after_header": dest}
        if redact and before:
            result["diff"]["before"] = REDACTED if "token:" in before else before
    if not module.check_mode:
        for path, text, mode in writes:
            try:
                write_private(path, text, mode)
            except OSError as error:
                module.fail_json(msg=f"Cannot write {path} for cluster {params['cluster_id']}: {error}.")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
