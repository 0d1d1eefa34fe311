"""Shared options and fixtures of the API Gateway module tests (registered on the shared emulator)."""

from __future__ import annotations

from typing import Any

import pytest
from oci_emulator import FIXTURE_COMPARTMENT_ID
from oci_emulator.api_gateway import ensure_api_gateway, live_items

SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaagatewaysubnet1"
OTHER_SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaagatewaysubnet2"
NSG = "ocid1.networksecuritygroup.oc1.iad.aaaaaaaagatewaynsg1"
FAST = {"wait_sleep": 0.01}
BACKEND = "http://10.0.10.5:8000"

__all__ = ["FIXTURE_COMPARTMENT_ID", "live_items"]


@pytest.fixture
def api_gateway_service(oci_emulator_server):
    """The API Gateway service on the session emulator (registered once)."""
    return ensure_api_gateway(oci_emulator_server)


def gateway_options(**overrides: Any) -> dict[str, Any]:
    return {"compartment_id": FIXTURE_COMPARTMENT_ID, "name": "llmops-gateway", "endpoint_type": "PUBLIC",
            "subnet_id": SUBNET, **FAST, **overrides}


def routes(read_timeout: float = 300) -> list[dict[str, Any]]:
    return [
        {"path": "/v1/chat/completions", "methods": ["POST"], "backend_url": f"{BACKEND}/v1/chat/completions",
         "read_timeout_in_seconds": read_timeout},
        {"path": "/v1/completions", "methods": ["POST"], "backend_url": f"{BACKEND}/v1/completions",
         "read_timeout_in_seconds": read_timeout},
        {"path": "/v1/models", "methods": ["GET"], "backend_url": f"{BACKEND}/v1/models",
         "read_timeout_in_seconds": 30},
    ]


def deployment_options(gateway_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "compartment_id": FIXTURE_COMPARTMENT_ID, "gateway_id": gateway_id, "name": "llmops-inference",
        "path_prefix": "/llm", "routes": routes(),
        "rate_limiting": {"rate_in_requests_per_second": 20, "rate_key": "CLIENT_IP"},
        "usage_plans": {"token_locations": ["request.headers[x-api-key]"]},
        "cors": {"allowed_origins": ["https://chat.example.com"]},
        "logging": {"execution_log_level": "WARN"},
        **FAST, **overrides,
    }


def make_gateway(run_oci_module) -> dict[str, Any]:
    result = run_oci_module("api_gateway", **gateway_options())
    assert result.get("failed") is not True, result
    return result["gateway"]


def make_deployment(run_oci_module, gateway_id: str) -> dict[str, Any]:
    result = run_oci_module("api_deployment", **deployment_options(gateway_id))
    assert result.get("failed") is not True, result
    return result["deployment"]


def plan_options(deployment_id: str, **overrides: Any) -> dict[str, Any]:
    return {"compartment_id": FIXTURE_COMPARTMENT_ID, "name": "llmops-default", "entitlements": [
        {"name": "inference", "rate_limit_per_second": 10, "quota": {"value": 100000, "unit": "DAY"},
         "target_deployment_ids": [deployment_id]}], **FAST, **overrides}


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result.get("failed") is not True, result
    return result


def write_calls(emulator) -> int:
    return emulator.write_calls()
