# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""API Gateway specifics shared by api_gateway, api_deployment(_info), api_usage_plan and api_subscriber.

API Gateway resources are named by ``display_name`` and their work requests live in a separate
WorkRequestsClient; everything else (options, input checks, main()) is the generic flow of
module_utils/oci/resource.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    HAS_OCI,
    OCIModule,
    build_model,
    model_to_dict,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import OCIResource, find_unique

if HAS_OCI:
    import oci

#: Bounds OCI documents for HTTP backend timeouts (seconds).
HTTP_BACKEND_TIMEOUT_LIMITS = {"connect_timeout_in_seconds": 75, "read_timeout_in_seconds": 300,
                               "send_timeout_in_seconds": 300}


class ApiGatewayResource(OCIResource):
    """An OCIResource named by ``display_name`` whose work requests live in the API Gateway WorkRequestsClient.

    Subclasses set ``client_class_name``, ``list_operation`` (the client method listing the kind in a
    compartment) and ``noun`` (the SDK's name for the kind: ``get_<noun>``, ``Create<Noun>Details``...),
    list what creation needs in ``required_to_create`` and may shape request bodies in :meth:`wire`.
    """

    client_class_name = ""
    list_operation = ""
    noun = ""
    #: the list summary lacks fields that are compared: find() reads the found resource in full (unless absent)
    read_in_full = False

    def __init__(self, module: OCIModule) -> None:
        super().__init__(module)
        self.entity_type = self.entity_type or self.noun.replace("_", "")
        self.client = module.client(getattr(oci.apigateway, self.client_class_name))
        self.work_requests_client = module.client(oci.apigateway.WorkRequestsClient)

    def describe(self, resource: dict[str, Any] | None = None) -> str:
        name = (resource or {}).get("display_name") or self.params.get("name")
        ocid = (resource or {}).get("id")
        return f"{self.kind} '{name}'" + (f" ({ocid})" if ocid else "")

    def list_filters(self) -> dict[str, Any]:
        """Extra keyword filters of the list call (a parent gateway for deployments)."""
        return {}

    def scope(self) -> str:
        """Where names must be unique, in plural for messages: "API gateways in compartment ocid1..."."""
        return f"{self.kind}s in compartment {self.params['compartment_id']}"

    def find_summary(self) -> dict[str, Any] | None:
        """The one live resource with the user's identity, as the list call returns it (DuplicateResources if two)."""
        items = self.module.list_all(getattr(self.client, self.list_operation), self.params["compartment_id"],
                                     display_name=self.params["name"], **self.list_filters())
        return find_unique(items, self.params["name"], self.scope(), name_key="display_name",
                           ignore_states=("DELETED", "DELETING", "FAILED"))

    def find(self) -> dict[str, Any] | None:
        found = self.find_summary()
        # Kinds whose list summary lacks what is compared (read_in_full) read the found one once in full.
        if found is None or not self.read_in_full or self.params["state"] == "absent":
            return found
        return self.get(found["id"])

    def get_work_request(self, work_request_id: str) -> dict[str, Any]:
        return model_to_dict(self.module.call(self.work_requests_client.get_work_request, work_request_id).data)

    def list_work_request_errors(self, work_request_id: str) -> list[dict[str, Any]]:
        return self.module.list_all(self.work_requests_client.list_work_request_errors, work_request_id)

    def _operation(self, verb: str) -> Callable[..., Any]:
        return getattr(self.client, f"{verb}_{self.noun}")

    def _details_model(self, verb: str) -> type:
        return getattr(oci.apigateway.models, f"{verb}{self.noun.title().replace('_', '')}Details")

    def get(self, ocid: str) -> dict[str, Any]:
        return self.canonical(model_to_dict(self.module.call(self._operation("get"), ocid).data))

    def canonical(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``resource`` as get() returns it, with managed fields cut to the shape desired() uses."""
        return resource

    def wire(self, desired: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        """The request body: everything desired (create), or only the changed fields (update)."""
        return dict(desired) if fields is None else {field: desired[field] for field in fields}

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        self.check_creatable(desired)
        details = build_model(self._details_model("Create"), self.wire(desired), oci.apigateway.models)
        response = self.module.call(self._operation("create"), details, opc_retry_token=retry_token)
        return response.headers.get("opc-work-request-id")

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        details = build_model(self._details_model("Update"), self.wire(desired, fields), oci.apigateway.models)
        response = self.module.call(self._operation("update"), current["id"], details)
        return response.headers.get("opc-work-request-id")

    def delete(self, current: dict[str, Any]) -> str | None:
        return self.module.call(self._operation("delete"), current["id"]).headers.get("opc-work-request-id")


# The part of an ApiSpecification the api_deployment module manages: leaves are None, lists hold one shape.
MANAGED_SPECIFICATION_SHAPE: dict[str, Any] = {
    "routes": [{
        "path": None,
        "methods": None,
        "backend": {"type": None, "url": None, "connect_timeout_in_seconds": None, "read_timeout_in_seconds": None,
                    "send_timeout_in_seconds": None, "is_ssl_verify_disabled": None},
    }],
    "request_policies": {
        "rate_limiting": {"rate_in_requests_per_second": None, "rate_key": None},
        "usage_plans": {"token_locations": None},
        "cors": {"allowed_origins": None, "allowed_methods": None, "allowed_headers": None, "exposed_headers": None,
                 "is_allow_credentials_enabled": None, "max_age_in_seconds": None},
        "authentication": {"type": None, "is_anonymous_access_allowed": None, "token_header": None,
                           "token_auth_scheme": None, "max_clock_skew_in_seconds": None, "issuers": None,
                           "audiences": None,
                           "public_keys": {"type": None, "uri": None, "is_ssl_verify_disabled": None,
                                           "max_cache_duration_in_hours": None}},
    },
    "logging_policies": {"access_log": {"is_enabled": None}, "execution_log": {"is_enabled": None, "log_level": None}},
}


def _shape(value: Any, shape: Any) -> Any:
    if value is None:
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return value
        kept = {key: _shape(value.get(key), sub) for key, sub in shape.items()}
        kept = {key: item for key, item in kept.items() if item not in (None, {}, [])}
        return kept or None
    if isinstance(shape, list):
        return [_shape(item, shape[0]) for item in value] if isinstance(value, list) else value
    return value


def canonical_specification(specification: dict[str, Any] | None) -> dict[str, Any]:
    """``specification`` cut to the managed shape, with unset (None) and empty sections dropped.

    Desired and current specifications both pass through here, so they compare as wholes: a policy
    present on OCI but not requested is a difference, fields OCI adds outside the shape are not.
    """
    return _shape(specification, MANAGED_SPECIFICATION_SHAPE) or {}
