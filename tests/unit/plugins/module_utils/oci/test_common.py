"""The one retry helper, OCID checks, model building and the auth argument spec."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import oci
import oci.container_engine.models as ce_models
import pytest
from fake_clock import FakeClock

from ansible_collections.llmops.oke.plugins.module_utils.oci import auth as auth_module
from ansible_collections.llmops.oke.plugins.module_utils.oci import common
from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    RetriesExhausted,
    RetryPolicy,
    backoff_delay_s,
    build_model,
    call_with_retries,
    is_ocid,
    oci_auth_argument_spec,
)


def service_error(status: int, retry_after: str | None = None) -> oci.exceptions.ServiceError:
    headers = {"opc-request-id": "req-1"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return oci.exceptions.ServiceError(status, "Code", headers, "message")


def flaky(errors: list[Exception], result: str = "ok"):
    calls = []

    def operation() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return operation, calls


def test_429_honours_retry_after_then_succeeds():
    clock = FakeClock()
    operation, calls = flaky([service_error(429, "3"), service_error(503)])
    assert call_with_retries(operation, sleep=clock.sleep, clock=clock) == "ok"
    assert len(calls) == 3
    assert clock.sleeps[0] == 3.0
    assert 0.5 <= clock.sleeps[1] <= 2.0  # second retry: jittered backoff in [ceiling/2, ceiling]


@pytest.mark.parametrize("status", [400, 401, 404, 409, 412])
def test_4xx_is_not_retried(status):
    clock = FakeClock()
    operation, calls = flaky([service_error(status)])
    with pytest.raises(oci.exceptions.ServiceError):
        call_with_retries(operation, sleep=clock.sleep, clock=clock)
    assert len(calls) == 1 and clock.sleeps == []


def test_attempts_are_bounded():
    clock = FakeClock()
    operation, calls = flaky([service_error(500)] * 10)
    with pytest.raises(RetriesExhausted) as raised:
        call_with_retries(operation, policy=RetryPolicy(max_attempts=4, base_delay_s=0.1), sleep=clock.sleep,
                          clock=clock)
    assert len(calls) == 4
    assert raised.value.last_error.status == 500


def test_total_time_is_bounded_even_when_the_server_asks_for_more():
    clock = FakeClock()
    operation, calls = flaky([service_error(429, "100")] * 3)
    with pytest.raises(RetriesExhausted):
        call_with_retries(operation, policy=RetryPolicy(max_total_s=30), sleep=clock.sleep, clock=clock)
    assert len(calls) == 1 and clock.sleeps == []


def _closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def resetting_server():
    """A local TCP server that accepts each connection and resets it (RST) without answering."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _address = server.accept()
            except OSError:
                continue
            accepted.append(1)
            connection.recv(65536)
            # SO_LINGER 0: close() sends RST instead of FIN, as a dropped load balancer connection does.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(timeout=5)
    server.close()


def _real_client(oci_auth_args, port: int):
    """A real SDK ContainerEngineClient as OCIModule builds it (SDK retries off), aimed at 127.0.0.1:port."""
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({**oci_auth_args, "api_endpoint": f"http://127.0.0.1:{port}"}):
        module = common.OCIModule({})
    return module.client(oci.container_engine.ContainerEngineClient)


def test_connection_refused_from_the_real_sdk_is_retried(oci_auth_args):
    client = _real_client(oci_auth_args, _closed_port())
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=3)
    with pytest.raises(RetriesExhausted) as raised:
        call_with_retries(client.get_cluster, "ocid1.cluster.oc1.iad.aaaa", policy=policy, sleep=clock.sleep,
                          clock=clock)
    assert raised.value.attempts == 3 and len(clock.sleeps) == 2
    assert isinstance(raised.value.last_error, oci.exceptions.RequestException)


def test_connection_reset_from_the_real_sdk_is_retried(oci_auth_args, resetting_server):
    port, accepted = resetting_server
    client = _real_client(oci_auth_args, port)
    clock = FakeClock()
    with pytest.raises(RetriesExhausted) as raised:
        call_with_retries(client.get_cluster, "ocid1.cluster.oc1.iad.aaaa", policy=RetryPolicy(max_attempts=3),
                          sleep=clock.sleep, clock=clock)
    assert raised.value.attempts == 3 and len(accepted) == 3
    assert "Connection" in common.error_summary(raised.value)


@pytest.fixture
def full_backlog_port():
    """A 127.0.0.1 port whose listen backlog is full: Linux drops further SYNs, so a connect times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _attempt in range(4):  # backlog 0 still queues one connection; fill until a connect itself times out
        filler = socket.socket()
        filler.settimeout(0.5)
        try:
            filler.connect(("127.0.0.1", port))
        except OSError:
            filler.close()
            break
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    server.close()


def test_connect_timeout_from_the_real_sdk_is_retried(oci_auth_args, full_backlog_port):
    # The SDK raises oci.exceptions.ConnectTimeout (base_client: "except requests.exceptions.ConnectTimeout as
    # e: raise exceptions.ConnectTimeout(e)"), which is not an oci.exceptions.RequestException.
    client = _real_client(oci_auth_args, full_backlog_port)
    client.base_client.timeout = (0.3, 1.0)
    clock = FakeClock()
    with pytest.raises(RetriesExhausted) as raised:
        call_with_retries(client.get_cluster, "ocid1.cluster.oc1.iad.aaaa", policy=RetryPolicy(max_attempts=3),
                          sleep=clock.sleep, clock=clock)
    assert isinstance(raised.value.last_error, oci.exceptions.ConnectTimeout)
    assert not isinstance(raised.value.last_error, oci.exceptions.RequestException)
    assert raised.value.attempts == 3 and len(clock.sleeps) == 2


def test_sdk_request_errors_that_are_not_transport_failures_are_not_retried():
    from oci._vendor.requests import exceptions as vendored

    assert common.retry_decision(oci.exceptions.RequestException(vendored.InvalidURL("bad"))) == (False, None)
    assert common.retry_decision(oci.exceptions.RequestException(vendored.ReadTimeout("slow")))[0] is True


def test_the_base_does_not_import_top_level_requests():
    for path in (common.__file__, auth_module.__file__):
        source = Path(path).read_text()
        assert "\nimport requests" not in source and "    import requests\n" not in source, path


def test_other_exceptions_propagate_untouched():
    operation, calls = flaky([KeyError("bug")])
    with pytest.raises(KeyError):
        call_with_retries(operation, sleep=lambda _s: None)
    assert len(calls) == 1


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(base_delay_s=1, max_delay_s=8)
    assert [backoff_delay_s(n, policy, rng=lambda: 1.0) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert [backoff_delay_s(n, policy, rng=lambda: 0.0) for n in range(1, 4)] == [0.5, 1, 2]


@pytest.mark.parametrize(("value", "kind", "ok"), [
    ("ocid1.compartment.oc1..aaaaaaaa1234", "compartment", True),
    ("ocid1.nodepool.oc1.iad.aaaaaaaa1234", "nodepool", True),
    ("ocid1.nodepool.oc1.iad.aaaaaaaa1234", "cluster", False),
    ("ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaa1234", ("subnet", "vcn"), True),
    ("ocid2.subnet.oc1..aaaa", None, False),
    ("subnet-123", None, False),
    (None, None, False),
])
def test_is_ocid(value, kind, ok):
    assert is_ocid(value, kind) is ok


def test_build_model_resolves_polymorphic_and_nested_models():
    details = build_model(ce_models.CreateNodePoolDetails, {
        "name": "p",
        "node_source_details": {"source_type": "IMAGE", "image_id": "ocid1.image.oc1.iad.aaaa",
                                "boot_volume_size_in_gbs": 60},
        "node_config_details": {"size": 1, "placement_configs": [{"availability_domain": "AD-1", "subnet_id": "s"}],
                                "node_pool_pod_network_option_details": {"cni_type": "OCI_VCN_IP_NATIVE",
                                                                         "pod_subnet_ids": ["s"]}},
        "initial_node_labels": [{"key": "a", "value": "b"}],
        "node_shape_config": None,
    }, ce_models)
    assert isinstance(details.node_source_details, ce_models.NodeSourceViaImageDetails)
    assert details.node_source_details.boot_volume_size_in_gbs == 60
    pod = details.node_config_details.node_pool_pod_network_option_details
    assert isinstance(pod, ce_models.OciVcnIpNativeNodePoolPodNetworkOptionDetails)
    assert isinstance(details.node_config_details.placement_configs[0], ce_models.NodePoolPlacementConfigDetails)
    assert details.initial_node_labels[0].key == "a"
    assert details.node_shape_config is None
    with pytest.raises(ValueError, match="not a field"):
        build_model(ce_models.KeyValue, {"key": "a", "colour": "red"}, ce_models)


def test_auth_spec_has_env_fallbacks_and_no_log_pass_phrase():
    spec = oci_auth_argument_spec()
    fallbacks = {name: option["fallback"][1] for name, option in spec.items() if "fallback" in option}
    assert "OCI_CONFIG_FILE" in fallbacks["config_file_location"]
    assert "OCI_CONFIG_PROFILE" in fallbacks["config_profile_name"]
    assert "OCI_USER_KEY_FILE" in fallbacks["api_user_key_file"]
    assert "OCI_USER_KEY_PASS_PHRASE" in fallbacks["api_user_key_pass_phrase"]
    assert "OCI_REGION" in fallbacks["region"]
    assert "OCI_AUTH_TYPE" in fallbacks["auth_type"]
    assert spec["api_user_key_pass_phrase"]["no_log"] is True
    assert spec["auth_type"]["choices"] == list(common.AUTH_TYPES)


def test_sdk_level_retries_are_off(run_oci_client):
    client = run_oci_client
    assert isinstance(client.retry_strategy, oci.retry.NoneRetryStrategy)
    assert isinstance(client.base_client.circuit_breaker_strategy, oci.circuit_breaker.NoCircuitBreakerStrategy)


@pytest.fixture
def run_oci_client(oci_auth_args, monkeypatch):
    """A ContainerEngineClient built by OCIModule from the emulator auth options (env fallbacks exercised)."""
    from ansible.module_utils.testing import patch_module_args

    monkeypatch.setenv("OCI_CONFIG_FILE", oci_auth_args["config_file_location"])
    monkeypatch.setenv("OCI_API_ENDPOINT", oci_auth_args["api_endpoint"])
    with patch_module_args({}):
        module = common.OCIModule({})
    assert module.params["config_file_location"] == oci_auth_args["config_file_location"]
    return module.client(oci.container_engine.ContainerEngineClient)
