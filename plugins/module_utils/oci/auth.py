# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OCI signers and OKE cluster tokens, standalone (stdlib + oci only).

This file has no Ansible imports on purpose: ``cluster_kubeconfig`` copies it next to a kubeconfig
as the exec credential helper, so kubectl and the kubernetes Python client get fresh OKE tokens
without the oci CLI. Run as ``python auth.py --cluster-id OCID --region REGION [--auth-type ...]``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import sys
from typing import Any
from urllib.parse import urlencode

try:
    import oci
    from oci._vendor import requests  # the copy the SDK signs with; oci does not depend on top-level requests
except ImportError:  # the modules report missing_required_lib; the helper says it on stderr
    oci = None

# OKE accepts a token for a few minutes after it was signed; the oci CLI announces 4.
TOKEN_LIFETIME_S = 240


def _read_text(path: str) -> str:
    with open(os.path.expanduser(path), encoding="utf-8") as handle:
        return handle.read().strip()


def build_config_and_signer(params: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """SDK config dict and signer for ``params['auth_type']`` (api_key, instance_principal, ...).

    ``params`` uses the module option names: config_file_location, config_profile_name, api_user,
    api_user_fingerprint, api_user_key_file, api_user_key_pass_phrase, tenancy, region.
    """
    auth_type = params.get("auth_type") or "api_key"
    region = params.get("region")
    if auth_type == "instance_principal":
        signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
        return {"region": region or signer.region, "tenancy": signer.tenancy_id}, signer
    if auth_type == "resource_principal":
        signer = oci.auth.signers.get_resource_principals_signer()
        return {"region": region or signer.region, "tenancy": signer.tenancy_id}, signer

    config: dict[str, Any] = {}
    config_file = params.get("config_file_location")
    profile = params.get("config_profile_name") or "DEFAULT"
    inline_identity = params.get("api_user") and params.get("tenancy") and params.get("api_user_fingerprint")
    if config_file or not inline_identity:
        config = oci.config.from_file(file_location=config_file or oci.config.DEFAULT_LOCATION, profile_name=profile)
    overrides = {
        "user": params.get("api_user"),
        "fingerprint": params.get("api_user_fingerprint"),
        "key_file": params.get("api_user_key_file"),
        "pass_phrase": params.get("api_user_key_pass_phrase"),
        "tenancy": params.get("tenancy"),
        "region": region,
    }
    config.update({key: value for key, value in overrides.items() if value})
    if auth_type == "security_token":
        token = _read_text(config["security_token_file"])
        private_key = oci.signer.load_private_key_from_file(config["key_file"], config.get("pass_phrase"))
        return config, oci.auth.signers.SecurityTokenSigner(token, private_key)
    oci.config.validate_config(config)
    signer = oci.signer.Signer(
        tenancy=config["tenancy"],
        user=config["user"],
        fingerprint=config["fingerprint"],
        private_key_file_location=config.get("key_file"),
        pass_phrase=config.get("pass_phrase"),
        private_key_content=config.get("key_content"),
    )
    return config, signer


def oke_token_url(region: str, cluster_id: str) -> str:
    return f"https://containerengine.{region}.oraclecloud.com/cluster_request/{cluster_id}"


def generate_oke_token(signer: Any, region: str, cluster_id: str,
                       now: datetime.datetime | None = None) -> tuple[str, datetime.datetime]:
    """An OKE bearer token: the signed GET of the cluster_request URL, base64url; and its expiry."""
    url = oke_token_url(region, cluster_id)
    signed = signer.do_request_sign(requests.Request("GET", url).prepare(), enforce_content_headers=False)
    query = {"authorization": signed.headers["authorization"], "date": signed.headers["date"]}
    delegation = getattr(signer, "delegation_token", None)
    if delegation:
        query["opc-obo-token"] = delegation
    token = base64.urlsafe_b64encode(f"{url}?{urlencode(query)}".encode()).decode()
    issued = now or datetime.datetime.now(datetime.UTC)
    return token, issued + datetime.timedelta(seconds=TOKEN_LIFETIME_S)


def exec_credential(token: str, expires: datetime.datetime) -> dict[str, Any]:
    """The client.authentication.k8s.io ExecCredential that kubectl reads from an exec plugin."""
    return {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print an OKE ExecCredential signed with OCI credentials.")
    parser.add_argument("--cluster-id", required=True)
    parser.add_argument("--region")
    parser.add_argument("--auth-type", default=os.environ.get("OCI_AUTH_TYPE", "api_key"))
    parser.add_argument("--config-file", default=os.environ.get("OCI_CONFIG_FILE"))
    parser.add_argument("--profile", default=os.environ.get("OCI_CONFIG_PROFILE"))
    # Identity given as module options instead of a config file (OCIDs and paths only, never secrets).
    parser.add_argument("--user", default=os.environ.get("OCI_USER_ID"))
    parser.add_argument("--fingerprint", default=os.environ.get("OCI_USER_FINGERPRINT"))
    parser.add_argument("--tenancy", default=os.environ.get("OCI_TENANCY"))
    parser.add_argument("--key-file", default=os.environ.get("OCI_USER_KEY_FILE"))
    args = parser.parse_args(argv)
    if oci is None:
        sys.stderr.write("the oci Python SDK is required: pip install oci\n")
        return 1
    config, signer = build_config_and_signer({
        "auth_type": args.auth_type,
        "config_file_location": args.config_file,
        "config_profile_name": args.profile,
        "api_user": args.user,
        "api_user_fingerprint": args.fingerprint,
        "tenancy": args.tenancy,
        "api_user_key_file": args.key_file,
        "api_user_key_pass_phrase": os.environ.get("OCI_USER_KEY_PASS_PHRASE"),
        "region": args.region or os.environ.get("OCI_REGION"),
    })
    token, expires = generate_oke_token(signer, config["region"], args.cluster_id)
    sys.stdout.write(json.dumps(exec_credential(token, expires)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
