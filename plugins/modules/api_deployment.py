#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: api_deployment
short_description: Create, update and delete OCI API Gateway deployments (routes, auth, rate limits, CORS, legacy logs)
version_added: 0.1.0
description:
  - Ensures an API deployment exists on an OCI API Gateway gateway with the given routes and policies, or is absent.
  - Identity is (O(compartment_id), O(gateway_id), O(name)); a found deployment is compared and updated in place.
    Two deployments with that identity fail the task listing both OCIDs.
  - The module owns the whole API specification. Routes and the request policies rate limiting, usage plans,
    JWT authentication and CORS, and the logging policies, are compared as a whole, so removing one of them
    here removes it on OCI. Route-level policies set elsewhere are not kept on update.
  - With O(routes) left out, the deployment's live routes are kept and each policy option given (O(rate_limiting),
    O(usage_plans), O(jwt_authentication), O(cors), O(logging)) replaces its own policy on OCI; the policies not
    given stay as they are. Creating a deployment needs O(routes).
  - O(path_prefix) cannot change in place; a change fails with a clear error unless O(force_replace=true).
author:
  - llmops.oke maintainers (@llmops)
extends_documentation_fragment:
  - llmops.oke.oci
  - llmops.oke.oci.WAIT
  - llmops.oke.oci.IDENTITY
  - llmops.oke.oci.RESOURCE
options:
  gateway_id:
    description: OCID of the gateway that serves the deployment.
    type: str
    required: true
  name:
    description: Display name of the deployment, unique on the gateway.
    type: str
    required: true
    aliases: [display_name]
  path_prefix:
    description: Path prefix of every route, such as C(/llm). Starts with C(/). Required to create.
    type: str
  routes:
    description: Routes to HTTP backends. Required to create.
    type: list
    elements: dict
    suboptions:
      path:
        description: Path of the route below O(path_prefix), such as C(/v1/chat/completions).
        type: str
        required: true
      methods:
        description: HTTP methods the route accepts.
        type: list
        elements: str
        choices: [ANY, HEAD, GET, POST, PUT, PATCH, DELETE, OPTIONS]
        default: [ANY]
      backend_url:
        description: URL of the HTTP backend, such as C(http://10.0.10.5:8000/v1/chat/completions).
        type: str
        required: true
      connect_timeout_in_seconds:
        description: Seconds to establish the connection to the backend (at most 75).
        type: float
        default: 60
      read_timeout_in_seconds:
        description:
          - Seconds to wait between two reads from the backend (at most 300). The default is 300 rather than
            OCI's 10 so that streamed LLM answers with a slow first token are not cut off.
        type: float
        default: 300
      send_timeout_in_seconds:
        description: Seconds to transmit the request to the backend (at most 300).
        type: float
        default: 10
      is_ssl_verify_disabled:
        description: Skip TLS verification of an C(https) backend.
        type: bool
        default: false
  rate_limiting:
    description: Rate limit of the whole deployment; omit for none.
    type: dict
    suboptions:
      rate_in_requests_per_second:
        description: Requests per second allowed (more than 0).
        type: int
        required: true
      rate_key:
        description: Count per client IP address (V(CLIENT_IP)) or for all clients together (V(TOTAL)).
        type: str
        choices: [CLIENT_IP, TOTAL]
        default: CLIENT_IP
  usage_plans:
    description:
      - Require a usage plan client token (see M(llmops.oke.api_usage_plan) and M(llmops.oke.api_subscriber));
        requests without a valid token are rejected. Omit for none.
    type: dict
    suboptions:
      token_locations:
        description:
          - Where the gateway reads the client token, as C(request.<headers|query|auth|path>[<name>]), such as
            C(request.headers[x-api-key]) (OCI's context-variable syntax; a header name is an HTTP token).
        type: list
        elements: str
        required: true
  jwt_authentication:
    description: Validate a JSON Web Token on every request against a remote JWKS; omit for none.
    type: dict
    suboptions:
      issuers:
        description: Accepted C(iss) claims.
        type: list
        elements: str
        required: true
      audiences:
        description: Accepted C(aud) claims.
        type: list
        elements: str
        required: true
      public_keys_uri:
        description: HTTPS URI of the JSON Web Key Set that signs the tokens.
        type: str
        required: true
      token_header:
        description: Name of the header carrying the token; an HTTP field name (no spaces or separators).
        type: str
        default: Authorization
      token_auth_scheme:
        description: Scheme before the token in O(jwt_authentication.token_header).
        type: str
        default: Bearer
      max_clock_skew_in_seconds:
        description: Tolerated clock skew when checking token times.
        type: float
        default: 0
      max_cache_duration_in_hours:
        description: Hours the key set is cached.
        type: int
        default: 1
      is_anonymous_access_allowed:
        description: Let requests without a token through (routes can then authorise them).
        type: bool
        default: false
  cors:
    description: Cross-origin resource sharing policy; omit for none.
    type: dict
    suboptions:
      allowed_origins:
        description: Origins allowed, such as C(https://chat.example.com) or C(*).
        type: list
        elements: str
        required: true
      allowed_methods:
        description: Methods allowed in cross-origin requests.
        type: list
        elements: str
        default: ['*']
      allowed_headers:
        description: Request headers allowed in cross-origin requests.
        type: list
        elements: str
        default: ['*']
      exposed_headers:
        description: Response headers the browser may read.
        type: list
        elements: str
        default: []
      is_allow_credentials_enabled:
        description: Allow credentials (cookies) in cross-origin requests.
        type: bool
        default: false
      max_age_in_seconds:
        description: Seconds a browser may cache the preflight answer.
        type: int
        default: 0
  logging:
    description:
      - The deployment's logging policies, which push access and execution logs to OCI's B(legacy) Object Storage
        log archival bucket (SDK docstring of C(AccessLogPolicy.is_enabled); Oracle has deprecated that archive).
      - This module does not create logs in the OCI Logging service. For those, create a log group and a service
        log with category C(access) or C(execution) on the deployment (C(oci logging log create)); once such a
        log is active, OCI stops the legacy upload for that category.
      - Omit for no legacy archive.
    type: dict
    suboptions:
      access_log:
        description: Archive every request in the legacy log archive.
        type: bool
        default: true
      execution_log:
        description: Archive the gateway's own processing in the legacy log archive.
        type: bool
        default: true
      execution_log_level:
        description: Level of the execution log.
        type: str
        choices: [INFO, WARN, ERROR]
        default: WARN
  force_replace:
    description: Delete and recreate the deployment (its endpoint changes) when O(path_prefix) changes.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: OpenAI-compatible routes to the inference services, rate limited, usage-plan tokens required
  llmops.oke.api_deployment:
    compartment_id: "{{ oke_compartment_id }}"
    gateway_id: "{{ gateway.gateway.id }}"
    name: llmops-inference
    path_prefix: /llm
    routes:
      - path: /v1/chat/completions
        methods: [POST]
        backend_url: http://10.0.10.5:8000/v1/chat/completions
      - path: /v1/models
        methods: [GET]
        backend_url: http://10.0.10.5:8000/v1/models
        read_timeout_in_seconds: 30
    rate_limiting:
      rate_in_requests_per_second: 20
      rate_key: CLIENT_IP
    usage_plans:
      token_locations: ["request.headers[x-api-key]"]
    cors:
      allowed_origins: ["https://chat.example.com"]
    logging:
      execution_log_level: WARN
  register: deployment
"""

RETURN = r"""
deployment:
  description:
    - The deployment (snake_case), re-read after the work request; null when absent.
    - Its C(specification) is shown as this module manages it (fields it does not set are left out).
  returned: always
  type: dict
  sample:
    id: ocid1.apideployment.oc1.iad.aaaa
    display_name: llmops-inference
    endpoint: https://abc.apigateway.us-ashburn-1.oci.customer-oci.com/llm
work_request_ids:
  description: OCIDs of the work requests this run started.
  returned: when something was changed outside check mode
  type: list
  elements: str
replaced:
  description: Whether the deployment was (or in check mode would be) deleted and recreated.
  returned: when an update was needed
  type: bool
"""

import re
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.api_gateway import (
    HTTP_BACKEND_TIMEOUT_LIMITS,
    ApiGatewayResource,
    canonical_specification,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    HAS_OCI,
    OCIModule,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import DEFAULT_EXACT_FIELDS, prune_none
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    ResourceError,
    identity_errors,
    identity_spec,
    model_fields,
    read_parent,
    run_resource_module,
)

if HAS_OCI:
    import oci
    import oci.apigateway.models as ag_models

METHODS = ["ANY", "HEAD", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# OCI's context variables are <context-table>[<name>] (SDK docstring of UsagePlansPolicy.token_locations:
# "request.headers[token]", "request.query[token]", "request.auth[Token]", "request.path[TOKEN]").
TOKEN_LOCATION = re.compile(r"^request\.(headers|query|auth|path)\[([^\[\]\s]+)\]$")
# RFC 9110 section 5.1: a field name is a token of tchar.
HTTP_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

# Policy option -> (specification section, key in it); None: the option is the whole section.
POLICY_SECTIONS = {
    "rate_limiting": ("request_policies", "rate_limiting"),
    "usage_plans": ("request_policies", "usage_plans"),
    "cors": ("request_policies", "cors"),
    "jwt_authentication": ("request_policies", "authentication"),
    "logging": ("logging_policies", None),
}

ARGUMENT_SPEC: dict[str, Any] = {
    **identity_spec(),
    "gateway_id": {"type": "str", "required": True},
    "path_prefix": {"type": "str"},
    "routes": {"type": "list", "elements": "dict", "options": {
        "path": {"type": "str", "required": True},
        "methods": {"type": "list", "elements": "str", "choices": METHODS, "default": ["ANY"]},
        "backend_url": {"type": "str", "required": True},
        "connect_timeout_in_seconds": {"type": "float", "default": 60},
        "read_timeout_in_seconds": {"type": "float", "default": 300},
        "send_timeout_in_seconds": {"type": "float", "default": 10},
        "is_ssl_verify_disabled": {"type": "bool", "default": False},
    }},
    "rate_limiting": {"type": "dict", "options": {
        "rate_in_requests_per_second": {"type": "int", "required": True},
        "rate_key": {"type": "str", "choices": ["CLIENT_IP", "TOTAL"], "default": "CLIENT_IP"},
    }},
    "usage_plans": {"type": "dict", "options": {
        "token_locations": {"type": "list", "elements": "str", "required": True, "no_log": False},
    }},
    "jwt_authentication": {"type": "dict", "options": {
        "issuers": {"type": "list", "elements": "str", "required": True},
        "audiences": {"type": "list", "elements": "str", "required": True},
        "public_keys_uri": {"type": "str", "required": True},
        "token_header": {"type": "str", "default": "Authorization", "no_log": False},
        "token_auth_scheme": {"type": "str", "default": "Bearer", "no_log": False},
        "max_clock_skew_in_seconds": {"type": "float", "default": 0},
        "max_cache_duration_in_hours": {"type": "int", "default": 1},
        "is_anonymous_access_allowed": {"type": "bool", "default": False},
    }},
    "cors": {"type": "dict", "options": {
        "allowed_origins": {"type": "list", "elements": "str", "required": True},
        "allowed_methods": {"type": "list", "elements": "str", "default": ["*"]},
        "allowed_headers": {"type": "list", "elements": "str", "default": ["*"]},
        "exposed_headers": {"type": "list", "elements": "str", "default": []},
        "is_allow_credentials_enabled": {"type": "bool", "default": False},
        "max_age_in_seconds": {"type": "int", "default": 0},
    }},
    "logging": {"type": "dict", "options": {
        "access_log": {"type": "bool", "default": True},
        "execution_log": {"type": "bool", "default": True},
        "execution_log_level": {"type": "str", "choices": ["INFO", "WARN", "ERROR"], "default": "WARN"},
    }},
    "force_replace": {"type": "bool", "default": False},
}


def input_errors(params: dict[str, Any]) -> list[str]:
    """Problems of the options OCI would reject, found before any API call."""
    errors = identity_errors(params, {"compartment_id": ("compartment", "tenancy"), "gateway_id": "apigateway"})
    prefix = params.get("path_prefix")
    if prefix is not None and (not prefix.startswith("/") or (prefix.endswith("/") and prefix != "/")):
        errors.append(f"path_prefix must start with '/' and not end with one, got '{prefix}'")
    paths = set()
    for index, route in enumerate(params.get("routes") or []):
        if not route["path"].startswith("/"):
            errors.append(f"routes[{index}].path must start with '/', got '{route['path']}'")
        if route["path"] in paths:
            errors.append(f"routes[{index}].path '{route['path']}' is given twice")
        paths.add(route["path"])
        if not route["backend_url"].startswith(("http://", "https://")):
            errors.append(f"routes[{index}].backend_url must be an http:// or https:// URL, "
                          f"got '{route['backend_url']}'")
        for option, limit in HTTP_BACKEND_TIMEOUT_LIMITS.items():
            if not 0 < route[option] <= limit:
                errors.append(f"routes[{index}].{option} must be more than 0 and at most {limit}, got {route[option]}")
    rate = params.get("rate_limiting")
    if rate and rate["rate_in_requests_per_second"] <= 0:
        errors.append(f"rate_limiting.rate_in_requests_per_second must be more than 0, "
                      f"got {rate['rate_in_requests_per_second']}")
    usage = params.get("usage_plans")
    if usage is not None and not usage["token_locations"]:
        errors.append("usage_plans.token_locations must name at least one location")
    for location in (usage or {}).get("token_locations") or []:
        match = TOKEN_LOCATION.match(location)
        if match is None:
            errors.append(f"usage_plans.token_locations entry '{location}' must look like request.headers[x-api-key] "
                          "(request.headers, .query, .auth or .path, then the name in brackets)")
        elif match.group(1) == "headers" and not HTTP_TOKEN.match(match.group(2)):
            errors.append(f"usage_plans.token_locations entry '{location}' names an invalid HTTP header")
    jwt = params.get("jwt_authentication")
    if jwt and not jwt["public_keys_uri"].startswith("https://"):
        errors.append(f"jwt_authentication.public_keys_uri must be an https:// URI, got '{jwt['public_keys_uri']}'")
    # JwtAuthenticationPolicy.token_header is "the name of the header containing the authentication token".
    if jwt and not HTTP_TOKEN.match(jwt["token_header"] or ""):
        errors.append(f"jwt_authentication.token_header must be an HTTP header name (letters, digits and "
                      f"!#$%&'*+.^_`|~- only, no spaces), got '{jwt['token_header']}'")
    if params.get("state") == "present" and params.get("routes") == []:
        errors.append("routes must hold at least one route")
    return errors


def specification(params: dict[str, Any]) -> dict[str, Any]:
    """The ApiSpecification (snake_case) the options describe, in the canonical managed shape."""
    routes = [{
        "path": route["path"],
        "methods": route["methods"],
        "backend": {
            "type": "HTTP_BACKEND",
            "url": route["backend_url"],
            **{key: route[key] for key in ("connect_timeout_in_seconds", "read_timeout_in_seconds",
                                           "send_timeout_in_seconds", "is_ssl_verify_disabled")},
        },
    } for route in params.get("routes") or []]
    policies: dict[str, Any] = {"rate_limiting": params.get("rate_limiting"), "usage_plans": params.get("usage_plans"),
                                "cors": params.get("cors")}
    jwt = params.get("jwt_authentication")
    if jwt:
        policies["authentication"] = {
            "type": "JWT_AUTHENTICATION",
            "is_anonymous_access_allowed": jwt["is_anonymous_access_allowed"],
            "token_header": jwt["token_header"],
            "token_auth_scheme": jwt["token_auth_scheme"],
            "max_clock_skew_in_seconds": jwt["max_clock_skew_in_seconds"],
            "issuers": jwt["issuers"],
            "audiences": jwt["audiences"],
            "public_keys": {"type": "REMOTE_JWKS", "uri": jwt["public_keys_uri"], "is_ssl_verify_disabled": False,
                            "max_cache_duration_in_hours": jwt["max_cache_duration_in_hours"]},
        }
    logging = params.get("logging")
    logs = None
    if logging:
        logs = {"access_log": {"is_enabled": logging["access_log"]},
                "execution_log": {"is_enabled": logging["execution_log"], "log_level": logging["execution_log_level"]}}
    return canonical_specification({"routes": routes, "request_policies": policies, "logging_policies": logs})


class Deployment(ApiGatewayResource):
    kind = "API deployment"
    result_key = "deployment"
    client_class_name = "DeploymentClient"
    list_operation = "list_deployments"
    noun = "deployment"
    required_to_create = (("path_prefix", "path_prefix"), ("routes", "specification"))
    # The whole managed specification is the user's: a policy present on OCI but not here is a difference.
    exact_fields = DEFAULT_EXACT_FIELDS | {"specification"}
    read_in_full = True  # the list summary has no specification

    def __init__(self, module: OCIModule) -> None:
        super().__init__(module)
        self.updatable_fields = model_fields(ag_models.UpdateDeploymentDetails)

    def describe(self, resource: dict[str, Any] | None = None) -> str:
        return super().describe(resource) + f" on gateway {self.params['gateway_id']}"

    def check_gateway(self) -> None:
        """Read the gateway before a create (and its prediction): a missing or deleted one is refused naming
        gateway_id, instead of sending a create OCI answers with 404."""
        gateway = read_parent(self, "create", "gateway_id", "API gateway", "GetGateway",
                              self.module.client(oci.apigateway.GatewayClient).get_gateway, self.params["gateway_id"])
        if gateway.lifecycle_state in ("DELETING", "DELETED", "FAILED"):
            raise ResourceError(f"Cannot create {self.describe()}: the gateway gateway_id names is "
                                f"{gateway.lifecycle_state}.", lifecycle_state=gateway.lifecycle_state)

    def predicted(self, desired: dict[str, Any]) -> dict[str, Any]:
        predicted = super().predicted(desired)
        self.check_gateway()
        return predicted

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        self.check_creatable(desired)
        self.check_gateway()
        return super().create(desired, retry_token)

    def scope(self) -> str:
        return f"{self.kind}s on gateway {self.params['gateway_id']}"

    def list_filters(self) -> dict[str, Any]:
        return {"gateway_id": self.params["gateway_id"]}

    def canonical(self, resource: dict[str, Any]) -> dict[str, Any]:
        return {**resource, "specification": canonical_specification(resource.get("specification"))}

    def desired(self) -> dict[str, Any]:
        p = self.params
        return prune_none({
            "compartment_id": p["compartment_id"],
            "gateway_id": p["gateway_id"],
            "display_name": p["name"],
            "path_prefix": p.get("path_prefix"),
            "specification": specification(p) if p.get("routes") is not None else None,
            **self.tags(),
        })

    def desired_for_existing(self, desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        # Without routes, the policy options given still apply: each replaces its own section of the live
        # specification, and the live routes and the policies not given here stay as they are.
        given = [option for option in POLICY_SECTIONS if self.params.get(option) is not None]
        if self.params.get("routes") is not None or not given:
            return desired
        live = current.get("specification") or {}
        wanted = specification({**self.params, "routes": []})
        merged = {"routes": live.get("routes") or [], "request_policies": dict(live.get("request_policies") or {}),
                  "logging_policies": live.get("logging_policies")}
        for option in given:
            section, key = POLICY_SECTIONS[option]
            if key is None:
                merged[section] = wanted.get(section)
            else:
                merged[section][key] = (wanted.get(section) or {}).get(key)
        return {**desired, "specification": canonical_specification(merged)}

    def wire(self, desired: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        body = super().wire(desired, fields)
        if fields is not None and "specification" in body:
            # OCI replaces the specification as a whole: send every section, empty ones included.
            body["specification"] = {"request_policies": {}, "logging_policies": {}, **body["specification"]}
        return body


def main() -> None:
    run_resource_module(Deployment, ARGUMENT_SPEC, input_errors)


if __name__ == "__main__":
    main()
