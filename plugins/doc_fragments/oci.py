# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Shared docs of the llmops.oke OCI modules: authentication (default), waiting (WAIT), the identity options of
    a resource in a compartment (IDENTITY, plus DISPLAY_NAME for display names; their spec is
    module_utils/oci/resource.py identity_spec()), and the check/diff attributes of resource modules (RESOURCE)
    and read-only modules (READ_ONLY)."""

    DOCUMENTATION = r"""
options:
  auth_type:
    description:
      - How to authenticate to OCI.
      - V(api_key) signs with an API key from the config file (or the O(api_user) options).
      - V(instance_principal) and V(resource_principal) use the identity of the compute instance or function.
      - V(security_token) uses a session token (C(oci session authenticate)) named by the profile's
        C(security_token_file).
      - Falls back to the E(OCI_AUTH_TYPE) (or E(OCI_CLI_AUTH)) environment variable.
    type: str
    choices: [api_key, instance_principal, resource_principal, security_token]
    default: api_key
  config_file_location:
    description:
      - Path of the OCI config file. Defaults to C(~/.oci/config); falls back to E(OCI_CONFIG_FILE).
    type: path
  config_profile_name:
    description:
      - Profile of the config file to use. Defaults to C(DEFAULT); falls back to E(OCI_CONFIG_PROFILE).
    type: str
  api_user:
    description:
      - OCID of the API user; overrides the config file. Falls back to E(OCI_USER_ID).
    type: str
  api_user_fingerprint:
    description:
      - Fingerprint of the API signing key; overrides the config file. Falls back to E(OCI_USER_FINGERPRINT).
    type: str
  api_user_key_file:
    description:
      - Path of the PEM private API signing key; overrides the config file. Falls back to E(OCI_USER_KEY_FILE).
    type: path
  api_user_key_pass_phrase:
    description:
      - Pass phrase of an encrypted private key. Never logged. Falls back to E(OCI_USER_KEY_PASS_PHRASE).
    type: str
  tenancy:
    description:
      - OCID of the tenancy; overrides the config file. Falls back to E(OCI_TENANCY).
    type: str
  region:
    description:
      - OCI region identifier such as C(us-ashburn-1); overrides the config file. Falls back to E(OCI_REGION).
    type: str
  api_endpoint:
    description:
      - Service endpoint URL that replaces the regional endpoint (private endpoints, or a local API emulator in tests).
      - Falls back to E(OCI_API_ENDPOINT).
    type: str
requirements:
  - python >= 3.11
  - oci >= 2.150.0
notes:
  - Put only these authentication options in C(module_defaults) for C(group/llmops.oke.oci); the wait options
    are not accepted by the info and kubeconfig modules.
  - Calls answered 429 or 5xx are retried with exponential backoff and jitter, honouring C(Retry-After),
    at most 6 attempts and 180 seconds per call; other 4xx answers fail at once with OCI's message.
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait for the OCI work request of a create, update or delete to finish, then return the re-read resource.
      - A failed work request fails the task with the work request's own error messages.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the work request before failing with its OCID, the work request id and its last state.
    type: int
    default: 1200
  wait_sleep:
    description:
      - Seconds before the first poll of the work request; later polls back off (x1.5, jitter) up to 30 seconds.
    type: float
    default: 2.0
"""

    IDENTITY = r"""
options:
  state:
    description: Whether the resource should exist.
    type: str
    choices: [present, absent]
    default: present
  compartment_id:
    description: OCID of the compartment of the resource.
    type: str
    required: true
  freeform_tags:
    description: Free-form tags (the whole set; extra tags on OCI count as a difference).
    type: dict
  defined_tags:
    description: Defined tags by namespace (the whole set).
    type: dict
"""

    DISPLAY_NAME = r"""
options:
  name:
    description:
      - Display name of the resource, unique within its compartment (and parent, see the module's description).
      - The resource's identity with O(compartment_id); a changed attribute updates it, never creates a second one.
    type: str
    required: true
    aliases: [display_name]
"""

    RESOURCE = r"""
attributes:
  check_mode:
    support: full
    description: Predicts exactly what a real run would change, with no write calls.
  diff_mode:
    support: full
    description: Shows before/after of the fields that differ.
"""

    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
"""
