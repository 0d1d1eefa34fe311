"""The OCI credential type is valid for AWX and its injectors give the oci SDK and our modules a working config.

The injection is replayed as AWX does it (CredentialType.inject_credential): only non-empty inputs enter the
namespace, ssh_private_key fields get a trailing newline, file templates render in stored order with a sandboxed
Jinja2 environment and each sets ``tower.filename.<name>``, then the env templates render.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import jsonschema
import oci
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jinja2 import StrictUndefined, sandbox

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    build_config_and_signer,
    oci_auth_argument_spec,
)

CREDENTIAL_TYPE = Path(__file__).resolve().parents[3] / "extensions" / "awx" / "credential_types" / "oci.yml"
# The environment our OCI modules read (their env_fallback names): the credential must set these.
MODULE_ENV = {"OCI_CONFIG_FILE", "OCI_CONFIG_PROFILE", "OCI_USER_KEY_FILE", "OCI_REGION", "OCI_USER_KEY_PASS_PHRASE"}

# AWX's CredentialTypeInputField / CredentialTypeInjectorField JSON schemas (awx/main/fields.py).
INPUTS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["string", "boolean"]},
                    "format": {"enum": ["ssh_private_key", "url"]},
                    "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                    "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"},
                    "label": {"type": "string"},
                    "help_text": {"type": "string"},
                    "multiline": {"type": "boolean"},
                    "secret": {"type": "boolean"},
                    "ask_at_runtime": {"type": "boolean"},
                    "default": {},
                },
                "additionalProperties": False,
                "required": ["id", "label"],
            },
        },
    },
}
INJECTORS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "object",
            "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}},
            "additionalProperties": False,
        },
        "env": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7f]*$"}},
            "additionalProperties": False,
        },
        "extra_vars": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string"}},
            "additionalProperties": False,
        },
    },
}


class _Namespace:
    """AWX's TowerNamespace: a bare attribute holder."""


def _credential_type() -> dict[str, Any]:
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


def _jsonb_order(templates: dict[str, str]) -> dict[str, str]:
    """Key order of a PostgreSQL jsonb object: shorter keys first, then bytewise."""
    return dict(sorted(templates.items(), key=lambda item: (len(item[0].encode()), item[0].encode())))


def inject(credential_type: dict[str, Any], inputs: dict[str, str], private_data_dir: Path,
           file_order: str = "stored") -> dict[str, str]:
    """Write the injector files under ``private_data_dir/env`` and return the injected environment."""
    tower = _Namespace()
    namespace: dict[str, Any] = {"tower": tower}
    namespace.update({key: value for key, value in inputs.items() if len(value)})
    for field in credential_type["inputs"]["fields"]:
        if field.get("format") == "ssh_private_key" and field["id"] in namespace:
            namespace[field["id"]] = namespace[field["id"]].rstrip("\n") + "\n"
    env_dir = private_data_dir / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    templates = credential_type["injectors"].get("file", {})
    if file_order == "jsonb":
        templates = _jsonb_order(templates)
    jinja = sandbox.ImmutableSandboxedEnvironment()
    for label, template in templates.items():
        data = jinja.from_string(template).render(**namespace)
        path = env_dir / f"tmp_{label.replace('.', '_')}"
        path.write_text(data)
        path.chmod(0o600)
        if "." not in label:
            tower.filename = str(path)
        else:
            if not hasattr(tower, "filename"):
                tower.filename = _Namespace()
            setattr(tower.filename, label.split(".", 1)[1], str(path))
    return {name: jinja.from_string(template).render(**namespace)
            for name, template in credential_type["injectors"].get("env", {}).items()}


def _api_key(passphrase: str) -> tuple[str, str]:
    """A throwaway RSA key in PEM (encrypted when ``passphrase``) and its OCI fingerprint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return pem, ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _inputs(passphrase: str) -> dict[str, str]:
    pem, fingerprint = _api_key(passphrase)
    # AWX UI text areas usually drop the trailing newline; the ssh_private_key format restores it.
    return {
        "user_ocid": "ocid1.user.oc1..aaaaaaaauser",
        "fingerprint": fingerprint,
        "tenancy_ocid": "ocid1.tenancy.oc1..aaaaaaaatenancy",
        "region": "eu-frankfurt-1",
        "private_key": pem.rstrip("\n"),
        "passphrase": passphrase,
    }


def test_inputs_and_injectors_pass_awx_schema_validation() -> None:
    credential_type = _credential_type()
    assert credential_type["kind"] == "cloud"
    jsonschema.validate(credential_type["inputs"], INPUTS_SCHEMA)
    jsonschema.validate(credential_type["injectors"], INJECTORS_SCHEMA)
    ids = [field["id"] for field in credential_type["inputs"]["fields"]]
    assert len(ids) == len(set(ids)) and "tower" not in ids
    assert set(credential_type["inputs"]["required"]) <= set(ids)
    secrets = {field["id"] for field in credential_type["inputs"]["fields"] if field.get("secret")}
    assert secrets == {"private_key", "passphrase"}
    assert not [name for name in credential_type["injectors"]["env"] if name.startswith("ANSIBLE_")]


def test_injector_templates_reference_only_defined_fields() -> None:
    """AWX renders each injector with StrictUndefined and EXAMPLE values when the type is saved."""
    credential_type = _credential_type()
    namespace: dict[str, Any] = {field["id"]: "EXAMPLE" for field in credential_type["inputs"]["fields"]}
    tower = _Namespace()
    tower.filename = _Namespace()
    for label in credential_type["injectors"]["file"]:
        assert label.startswith("template."), "several files need the multi-file syntax template.<name>"
        setattr(tower.filename, label.split(".", 1)[1], "EXAMPLE_FILENAME")
    namespace["tower"] = tower
    jinja = sandbox.ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for injector in credential_type["injectors"].values():
        for template in injector.values():
            jinja.from_string(template).render(namespace)


def test_env_sets_what_the_modules_read() -> None:
    env = _credential_type()["injectors"]["env"]
    assert set(env) >= MODULE_ENV
    fallbacks = {name for option in oci_auth_argument_spec().values() if "fallback" in option
                 for name in option["fallback"][1]}
    assert set(env) <= fallbacks, f"env names no module reads: {set(env) - fallbacks}"


@pytest.mark.parametrize("file_order", ["stored", "jsonb"])
@pytest.mark.parametrize("passphrase", ["", "correct horse battery"])
def test_injected_config_is_accepted_by_the_oci_sdk(tmp_path: Path, passphrase: str, file_order: str) -> None:
    inputs = _inputs(passphrase)
    env = inject(_credential_type(), inputs, tmp_path, file_order)
    assert env["OCI_CONFIG_PROFILE"] == "DEFAULT"
    assert env["OCI_REGION"] == inputs["region"]
    assert env["OCI_USER_KEY_PASS_PHRASE"] == passphrase
    config = oci.config.from_file(file_location=env["OCI_CONFIG_FILE"], profile_name=env["OCI_CONFIG_PROFILE"])
    oci.config.validate_config(config)
    assert config["user"] == inputs["user_ocid"]
    assert config["tenancy"] == inputs["tenancy_ocid"]
    assert config["fingerprint"] == inputs["fingerprint"]
    assert config["key_file"] == env["OCI_USER_KEY_FILE"]
    assert config.get("pass_phrase") == (passphrase or None)
    assert Path(config["key_file"]).read_text().endswith("-----\n")
    # The SDK's signer loads (and, when encrypted, decrypts) the key: the key file and pass phrase fit.
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"],
                               pass_phrase=config.get("pass_phrase"))
    public = signer.private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert hashlib.md5(public, usedforsecurity=False).hexdigest() == config["fingerprint"].replace(":", "")


@pytest.mark.parametrize("passphrase", ["", "s3cret-phrase"])
def test_modules_authenticate_from_the_injected_environment(tmp_path: Path, passphrase: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Our modules' auth options, filled through their env fallbacks, build a signer from the injected files."""
    for name in os.environ:
        if name.startswith("OCI_"):
            monkeypatch.delenv(name)
    inputs = _inputs(passphrase)
    env = inject(_credential_type(), inputs, tmp_path)
    params: dict[str, Any] = {}
    for option, spec in oci_auth_argument_spec().items():
        names = spec["fallback"][1] if "fallback" in spec else []
        params[option] = next((env[name] for name in names if name in env), spec.get("default"))
    config, signer = build_config_and_signer(params)
    assert config["region"] == inputs["region"]
    assert signer.api_key == f"{inputs['tenancy_ocid']}/{inputs['user_ocid']}/{inputs['fingerprint']}"


def test_key_file_renders_before_the_config_that_names_it() -> None:
    """AWX sets tower.filename.<name> only after writing that file, whatever order the database returns."""
    templates = _credential_type()["injectors"]["file"]
    for order in (list(templates), list(_jsonb_order(templates))):
        assert order.index("template.key_file") < order.index("template.config_file"), order
