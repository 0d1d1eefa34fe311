# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Auth options, client construction, retries, pagination and failures shared by every OCI module.

A module builds an :class:`OCIModule` from its own argument spec; the auth and wait options are
added here, so the module itself stays a page of options and a short ``main()``.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.llmops.oke.plugins.module_utils.oci.auth import build_config_and_signer

try:
    import oci
    from oci._vendor.requests import exceptions as oci_transport_errors

    HAS_OCI = True
    OCI_IMPORT_ERROR = None
except ImportError:  # reported by OCIModule with missing_required_lib
    HAS_OCI = False
    OCI_IMPORT_ERROR = traceback.format_exc()

AUTH_TYPES = ("api_key", "instance_principal", "resource_principal", "security_token")

# ocid1.<type>.<realm>.[region][.future].<unique id>; compartments and tenancies have an empty region.
OCID_PATTERN = re.compile(r"^ocid1\.([a-z0-9_]+)\.[a-z0-9]+\.[a-z0-9-]*(?:\.[a-z0-9-]+)?\.[a-z0-9]{1,255}$")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def oci_auth_argument_spec() -> dict[str, dict[str, Any]]:
    """Auth options of every OCI module, with the environment fallbacks the oci CLI also reads."""
    return {
        "auth_type": {
            "type": "str",
            "choices": list(AUTH_TYPES),
            "default": "api_key",
            "fallback": (env_fallback, ["OCI_AUTH_TYPE", "OCI_CLI_AUTH"]),
        },
        "config_file_location": {"type": "path", "fallback": (env_fallback, ["OCI_CONFIG_FILE"])},
        "config_profile_name": {"type": "str", "fallback": (env_fallback, ["OCI_CONFIG_PROFILE"])},
        "api_user": {"type": "str", "fallback": (env_fallback, ["OCI_USER_ID"])},
        "api_user_fingerprint": {"type": "str", "fallback": (env_fallback, ["OCI_USER_FINGERPRINT"])},
        "api_user_key_file": {"type": "path", "fallback": (env_fallback, ["OCI_USER_KEY_FILE"])},
        "api_user_key_pass_phrase": {
            "type": "str",
            "no_log": True,
            "fallback": (env_fallback, ["OCI_USER_KEY_PASS_PHRASE"]),
        },
        "tenancy": {"type": "str", "fallback": (env_fallback, ["OCI_TENANCY"])},
        "region": {"type": "str", "fallback": (env_fallback, ["OCI_REGION"])},
        "api_endpoint": {"type": "str", "fallback": (env_fallback, ["OCI_API_ENDPOINT"])},
    }


def oci_wait_argument_spec(default_timeout_s: int = 1200) -> dict[str, dict[str, Any]]:
    """The one waiting vocabulary: ``wait``, ``wait_timeout`` and the first poll interval ``wait_sleep``."""
    return {
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": default_timeout_s},
        "wait_sleep": {"type": "float", "default": 2.0},
    }


def is_ocid(value: Any, resource_type: str | Iterable[str] | None = None) -> bool:
    """True when ``value`` is a well-formed OCID (of one of ``resource_type`` when given)."""
    if not isinstance(value, str):
        return False
    match = OCID_PATTERN.match(value)
    if match is None:
        return False
    if resource_type is None:
        return True
    allowed = {resource_type} if isinstance(resource_type, str) else set(resource_type)
    return match.group(1) in allowed


def ocid_problems(label: str, value: Any, resource_type: str | Iterable[str]) -> list[str]:
    """The one wording of a malformed OCID: one line per item of ``value`` (a value or a list; None is unset)
    that is not an OCID of ``resource_type`` (one type or several), e.g.
    ``cluster_id must be an OCID of type cluster, got 'x'``."""
    expected = resource_type if isinstance(resource_type, str) else " or ".join(resource_type)
    return [f"{label} must be an OCID of type {expected}, got '{item}'"
            for item in (value if isinstance(value, list) else [value])
            if item is not None and not is_ocid(item, resource_type)]


def model_to_dict(value: Any) -> Any:
    """An SDK model (or list of them) as plain snake_case data; datetimes become ISO strings."""
    if value is None:
        return None
    return oci.util.to_dict(value)


_LIST_TYPE = re.compile(r"^list\[(.+)\]$")
_DICT_TYPE = re.compile(r"^dict\(str, (.+)\)$")


def build_model(model_class: type, data: dict[str, Any] | None, models: Any) -> Any:
    """An SDK request model from snake_case ``data`` (None values skipped, nested models built).

    ``models`` is the service's models module (``oci.container_engine.models``); polymorphic
    models resolve their subtype from the discriminator as the SDK does.
    """
    if data is None:
        return None
    get_subtype = getattr(model_class, "get_subtype", None)
    if get_subtype is not None:
        base = model_class()
        wire = {base.attribute_map[key]: value for key, value in data.items() if key in base.attribute_map}
        model_class = getattr(models, get_subtype(wire), model_class)
    instance = model_class()
    for key, value in data.items():
        if value is None:
            continue
        if key not in instance.swagger_types:
            raise ValueError(f"{key} is not a field of {model_class.__name__}")
        setattr(instance, key, _build_value(instance.swagger_types[key], value, models))
    return instance


def _build_value(type_name: str, value: Any, models: Any) -> Any:
    if match := _LIST_TYPE.match(type_name):
        return [_build_value(match.group(1), item, models) for item in value]
    if match := _DICT_TYPE.match(type_name):
        return {key: _build_value(match.group(1), item, models) for key, item in value.items()}
    model_class = getattr(models, type_name, None)
    if model_class is not None and isinstance(value, dict):
        return build_model(model_class, value, models)
    return value


# --------------------------------------------------------------------------------------------
# retries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the one retry helper: attempts, backoff and total time."""

    max_attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_total_s: float = 180.0


DEFAULT_RETRY_POLICY = RetryPolicy()


class RetriesExhausted(Exception):
    """Raised when a retryable failure persisted past the policy's attempts or time budget."""

    def __init__(self, last_error: Exception, attempts: int, elapsed_s: float) -> None:
        super().__init__(f"{attempts} attempts in {elapsed_s:.1f}s; last error: {error_summary(last_error)}")
        self.last_error = last_error
        self.attempts = attempts
        self.elapsed_s = elapsed_s


def _retry_after_s(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff


def retry_decision(error: Exception) -> tuple[bool, float | None]:
    """Whether ``error`` is worth retrying, and the delay the server asked for (Retry-After)."""
    if HAS_OCI and isinstance(error, oci.exceptions.ServiceError):
        if error.status in RETRYABLE_STATUSES:
            return True, _retry_after_s(error.headers)
        return False, None
    if HAS_OCI and isinstance(error, oci.exceptions.ConnectTimeout):
        # Not an oci.exceptions.RequestException: the SDK raises it from its vendored requests' ConnectTimeout.
        return True, None
    if HAS_OCI and isinstance(error, oci.exceptions.RequestException):
        # The SDK wraps its vendored requests' error as args[0]: connection refused/reset and timeouts are
        # transient; a malformed URL or a missing schema is not.
        cause = error.args[0] if error.args else None
        transient = (oci_transport_errors.ConnectionError, oci_transport_errors.Timeout,
                     oci_transport_errors.ChunkedEncodingError)
        return isinstance(cause, transient), None
    return False, None


def is_conflict(error: Exception) -> bool:
    """A 409 answer (Conflict, IncorrectState): the resource is in a state that refuses this write now."""
    return HAS_OCI and isinstance(error, oci.exceptions.ServiceError) and error.status == 409


def backoff_delay_s(attempt: int, policy: RetryPolicy, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff for the n-th (1-based) retry."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * (2 ** (attempt - 1)))
    return ceiling / 2 + rng() * ceiling / 2


def call_with_retries(
    operation: Callable[..., Any],
    *args: Any,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    **kwargs: Any,
) -> Any:
    """Call ``operation`` retrying 429/5xx and connection errors; other errors propagate at once.

    The server's Retry-After wins over our backoff; attempts and total time are both bounded.
    """
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation(*args, **kwargs)
        except Exception as error:  # classified below; anything not retryable is re-raised unchanged
            retryable, retry_after = retry_decision(error)
            if not retryable:
                raise
            delay = retry_after if retry_after is not None else backoff_delay_s(attempt, policy)
            elapsed = clock() - started
            if attempt >= policy.max_attempts or elapsed + delay > policy.max_total_s:
                raise RetriesExhausted(error, attempt, elapsed) from error
            sleep(delay)


def error_summary(error: Exception) -> str:
    """One line about an SDK/transport error, without request bodies or credentials."""
    if HAS_OCI and isinstance(error, oci.exceptions.ServiceError):
        return f"OCI answered {error.status} {error.code}: {error.message} (opc-request-id {error.request_id})"
    if isinstance(error, (RetriesExhausted, ValueError)):
        return str(error).rstrip(".")
    return f"{type(error).__name__}: {error}"


# --------------------------------------------------------------------------------------------
# the module class
# --------------------------------------------------------------------------------------------


class OCIModule(AnsibleModule):
    """AnsibleModule plus the OCI auth/wait options, clients, retries, pagination and failures."""

    def __init__(
        self,
        argument_spec: dict[str, Any],
        wait_timeout_default: int | None = 1200,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        **kwargs: Any,
    ) -> None:
        spec = oci_auth_argument_spec()
        if wait_timeout_default is not None:
            spec.update(oci_wait_argument_spec(wait_timeout_default))
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(argument_spec=spec, **kwargs)
        if not HAS_OCI:
            self.fail_json(msg=missing_required_lib("oci"), exception=OCI_IMPORT_ERROR)
        self.retry_policy = retry_policy
        self._oci_config: dict[str, Any] | None = None
        self._signer: Any = None

    # ---- auth --------------------------------------------------------------------------
    def oci_config_and_signer(self) -> tuple[dict[str, Any], Any]:
        """The SDK config dict and signer for the chosen auth type (built once per module run)."""
        if self._oci_config is None:
            try:
                self._oci_config, self._signer = build_config_and_signer(self.params)
            except Exception as error:  # config/key problems: one sentence, no traceback of secrets
                self.fail_json(msg=f"Cannot set up OCI authentication ({self.params['auth_type']}): {error}")
        return self._oci_config, self._signer

    def client(self, client_class: type, service_endpoint: str | None = None) -> Any:
        """An SDK client with SDK-level retries and circuit breaker off: our retry helper is the only one.

        ``service_endpoint``: an endpoint OCI gives for one resource (an identity domain's URL), used as is;
        otherwise ``api_endpoint`` when set, else the SDK's regional endpoint."""
        config, signer = self.oci_config_and_signer()
        kwargs: dict[str, Any] = {
            "retry_strategy": oci.retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
            "timeout": (10, 60),
        }
        if service_endpoint or self.params.get("api_endpoint"):
            kwargs["service_endpoint"] = service_endpoint or self.params["api_endpoint"]
        if signer is not None:
            kwargs["signer"] = signer
        try:
            return client_class(config, **kwargs)
        except Exception as error:  # invalid config is reported as a sentence
            self.fail_json(msg=f"Cannot create the OCI client {client_class.__name__}: {error}")
        return None

    # ---- calls -------------------------------------------------------------------------
    def call(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call an SDK operation with the one retry policy; returns the SDK response."""
        return call_with_retries(operation, *args, policy=self.retry_policy, **kwargs)

    def call_or_fail(self, what: str, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like :meth:`call`, but any error fails the task with ``Cannot <what>: <cause>``."""
        try:
            return self.call(operation, *args, **kwargs)
        except Exception as error:  # every API failure becomes one sentence naming what was attempted
            self.fail_oci(f"Cannot {what}", error)
        return None

    def list_all(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list operation as snake_case dicts (each page is retried)."""
        items: list[dict[str, Any]] = []
        page = None
        while True:
            if page is not None:
                kwargs["page"] = page
            response = self.call(operation, *args, **kwargs)
            data = response.data
            # Some services wrap the list in a *Collection model with an ``items`` attribute.
            if not isinstance(data, list) and hasattr(data, "swagger_types") and "items" in data.swagger_types:
                data = data.items
            items.extend(model_to_dict(item) for item in data or [])
            page = response.headers.get("opc-next-page")
            if not page:
                return items

    # ---- failures ----------------------------------------------------------------------
    def fail_oci(self, sentence: str, error: Exception, **result: Any) -> None:
        """Fail with ``<sentence>: <cause>.``; the cause comes from the SDK error without secrets."""
        details: dict[str, Any] = {}
        cause = error.last_error if isinstance(error, RetriesExhausted) else error
        if HAS_OCI and isinstance(cause, oci.exceptions.ServiceError):
            details = {"status": cause.status, "code": cause.code, "opc_request_id": cause.request_id}
        self.fail_json(msg=f"{sentence}: {error_summary(error).rstrip('.')}.", error=details, **result)
