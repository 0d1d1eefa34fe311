# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure present/absent for one OCI resource kind: find by identity, compare, create/update/delete, wait.

A module subclasses :class:`OCIResource`, fills in the hooks (``find``, ``get``, ``desired``,
``create``, ``update``, ``delete`` and the work-request hooks) and its ``main()`` calls
:func:`run_resource_module` with its option spec (:func:`identity_spec` for the options every
resource named in a compartment has; their docs are the ``llmops.oke.oci.IDENTITY`` fragment) and
its input checks (:func:`identity_errors`, :func:`ocid_errors`).
Identity is (compartment, parent, name): an attribute change never creates a second resource.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ansible_collections.llmops.oke.plugins.module_utils.oci.common import (
    OCIModule,
    is_conflict,
    model_to_dict,
    ocid_problems,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import (
    DEFAULT_EXACT_FIELDS,
    changed_paths,
    diff_of,
    differing_fields,
    merge_desired,
)
from ansible_collections.llmops.oke.plugins.module_utils.oci.waiter import (
    WorkRequestFailed,
    WorkRequestTimeout,
    poll_intervals,
    wait_for_work_request,
)

GONE_STATES = frozenset({"DELETED", "DELETING"})
#: states in which OCI answers a write with 409 (another operation, e.g. the cluster autoscaler's, is running)
BUSY_STATES = frozenset({"CREATING", "UPDATING"})
#: writes retried after a 409 on a busy resource, each after waiting for it to settle
CONFLICT_RETRIES = 3


class ResourceError(Exception):
    """An operation on a resource cannot go on: ``msg`` is the sentence the task fails with (naming the resource
    and the cause), ``result`` the keys returned beside it. Raised by the lifecycle and its hooks;
    ``run_resource`` fails the task once, so the lifecycle runs (and is tested) without an AnsibleModule failing."""

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = result


class OCIOperationError(ResourceError):
    """An OCI API call failed: ``sentence`` says what was attempted, ``error`` is the SDK's (or the retry
    helper's) error; the module words its cause without secrets (``OCIModule.fail_oci``)."""

    def __init__(self, sentence: str, error: Exception, **result: Any) -> None:
        super().__init__(sentence, **result)
        self.sentence = sentence
        self.error = error


class DuplicateResources(ValueError):
    """Two or more resources share one identity; the message lists their OCIDs."""


def find_unique(items: Iterable[dict[str, Any]], name: str, plural: str, name_key: str = "name",
                ignore_states: Iterable[str] = GONE_STATES) -> dict[str, Any] | None:
    """The one item called ``name`` (None when none); two or more raise DuplicateResources listing OCIDs.

    ``plural`` names the scope for the message, e.g. "node pools in cluster ocid1...".
    """
    ignored = set(ignore_states)
    matches = [item for item in items if item.get(name_key) == name and item.get("lifecycle_state") not in ignored]
    if len(matches) > 1:
        ocids = ", ".join(sorted(str(item.get("id")) for item in matches))
        raise DuplicateResources(f"{len(matches)} {plural} are named '{name}' ({ocids}); the name must identify "
                                 "one resource: delete or rename the extra ones")
    return matches[0] if matches else None


def model_fields(model_class: type) -> frozenset[str]:
    """snake_case field names of an SDK model class (from its swagger types)."""
    return frozenset(model_class().swagger_types)


class OCIResource:
    """One resource kind. Subclasses set the class attributes and implement the hooks."""

    #: human name used in messages, e.g. "node pool"
    kind = "resource"
    #: key of the resource in the module result, e.g. "node_pool"
    result_key = "resource"
    #: top-level fields compared as a whole (tags): extra keys on OCI count as differences
    exact_fields: frozenset[str] = DEFAULT_EXACT_FIELDS
    #: top-level fields an update can change; None means every field (see model_fields())
    updatable_fields: frozenset[str] | None = None
    #: dotted paths that OCI cannot change in place even though the update model carries them
    immutable_paths: tuple[str, ...] = ()
    #: module option that lets the user accept delete-and-recreate for immutable changes
    replace_option = "force_replace"
    #: option naming the resource in messages about invalid options
    name_option = "name"
    #: (option, dotted field of desired()) pairs that must be set to create the resource
    required_to_create: tuple[tuple[str, str], ...] = ()
    #: entity type of this kind in work request resources ("nodepool"), matched case-insensitively as a part
    entity_type = ""

    def __init__(self, module: OCIModule) -> None:
        self.module = module
        self.params = module.params

    # ---- hooks --------------------------------------------------------------------------
    def describe(self, resource: dict[str, Any] | None = None) -> str:
        """``node pool 'gpu' (ocid1...)`` for messages."""
        name = (resource or {}).get("name") or self.params.get("name")
        ocid = (resource or {}).get("id")
        return f"{self.kind} '{name}'" + (f" ({ocid})" if ocid else "")

    def find(self) -> dict[str, Any] | None:
        """The existing resource for the user's identity, or None. Use find_unique()."""
        raise NotImplementedError

    def get(self, ocid: str) -> dict[str, Any]:
        """The resource re-read by OCID."""
        raise NotImplementedError

    def desired(self) -> dict[str, Any]:
        """User-specified fields, shaped like get()'s result; None for options not given."""
        raise NotImplementedError

    def create(self, desired: dict[str, Any], retry_token: str) -> str | None:
        """Start the create; returns the work request id (None when the API is synchronous)."""
        raise NotImplementedError

    def update(self, current: dict[str, Any], desired: dict[str, Any], fields: list[str]) -> str | None:
        """Start an in-place update of ``fields``; returns the work request id."""
        raise NotImplementedError

    def delete(self, current: dict[str, Any]) -> str | None:
        """Start the delete; returns the work request id."""
        raise NotImplementedError

    def get_work_request(self, work_request_id: str) -> dict[str, Any]:
        """The work request as a dict with at least ``status`` and ``resources``."""
        raise NotImplementedError

    def list_work_request_errors(self, work_request_id: str) -> list[dict[str, Any]]:
        """The work request's own error records (``code``, ``message``)."""
        raise NotImplementedError

    def desired_for_existing(self, desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """Desired state once the resource exists (drop create-only settings such as an initial size)."""
        return desired

    def resource_id(self, resource: dict[str, Any]) -> str:
        """What get() takes to re-read ``resource`` (its OCID by default)."""
        return resource["id"]

    def comparable(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``resource`` in the shape desired() uses, when OCI's shape compares badly (lists of key/value)."""
        return resource

    def predicted(self, desired: dict[str, Any]) -> dict[str, Any]:
        """What check mode reports for a resource that would be created."""
        self.check_creatable(desired)
        return dict(desired)

    def check_creatable(self, desired: dict[str, Any]) -> None:
        """Fail, before any write, when an option that only creation needs (``required_to_create``) is missing."""
        missing = [option for option, field in self.required_to_create if not _dig(desired, field)]
        if missing:
            raise ResourceError(f"Cannot create {self.describe()}: {' and '.join(missing)} "
                                f"{'is' if len(missing) == 1 else 'are'} required to create "
                                f"a {self.kind.removeprefix('API ')}.")

    def tags(self) -> dict[str, Any]:
        """The tag options (identity_spec()) as request fields."""
        return {"freeform_tags": self.params.get("freeform_tags"), "defined_tags": self.params.get("defined_tags")}

    def predicted_update(self, current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
        """What check mode reports for a resource that would be updated in place."""
        return merge_desired(current, desired, self.exact_fields)

    # ---- machinery ----------------------------------------------------------------------
    def immutable_changes(self, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> list[str]:
        """Differing fields (or dotted paths) that OCI cannot update in place."""
        updatable = self.updatable_fields
        blocked = [field for field in fields if updatable is not None and field not in updatable]
        blocked += [path for path in changed_paths(desired, current, self.immutable_paths) if path not in blocked]
        return blocked

    def wait(self, work_request_id: str | None, resource: dict[str, Any] | None, action: str) -> dict[str, Any]:
        """Wait on the work request (when ``wait``); returns the finished work request or {}."""
        if not work_request_id or not self.params.get("wait", True):
            return {}
        try:
            return wait_for_work_request(
                get_work_request=lambda: self.get_work_request(work_request_id),
                list_errors=lambda: self.list_work_request_errors(work_request_id),
                work_request_id=work_request_id,
                timeout_s=self.params["wait_timeout"],
                first_poll_s=self.params.get("wait_sleep") or 2.0,
            )
        except WorkRequestFailed as error:
            raise ResourceError(
                f"Work request {work_request_id} to {action} {self.describe(resource)} failed: "
                f"{str(error).rstrip('.')}.",
                work_request_id=work_request_id, work_request_errors=error.errors,
            ) from error
        except WorkRequestTimeout as error:
            raise ResourceError(
                f"Timed out after {self.params['wait_timeout']}s waiting to {action} {self.describe(resource)}: "
                f"work request {work_request_id} was last seen {error.last_state}.",
                work_request_id=work_request_id, last_state=error.last_state,
            ) from error
        except ResourceError:
            raise
        except Exception as error:  # API errors while polling are reported with the resource named
            raise OCIOperationError(
                f"Cannot poll work request {work_request_id} to {action} {self.describe(resource)}", error) from error

    def _created_id(self, work_request: dict[str, Any]) -> str | None:
        # A work request lists every entity it touched (the parent cluster, nodes...): keep only our kind, as
        # terraform-provider-oci does for node pools (nodePoolWaitForWorkRequest(workId, "nodepool", ...)).
        for entry in work_request.get("resources") or []:
            if (entry.get("action_type") in ("CREATED", "CREATE") and entry.get("identifier")
                    and self.entity_type in (entry.get("entity_type") or "").lower()):
                return entry["identifier"]
        return None

    def _guard(self, action: str, resource: dict[str, Any] | None, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except ResourceError:
            raise
        except DuplicateResources as error:
            raise ResourceError(f"Cannot {action} {self.describe(resource)}: {error}.") from error
        except Exception as error:  # one sentence naming the action, the resource and the cause
            raise OCIOperationError(f"Cannot {action} {self.describe(resource)}", error) from error

    def _write(self, action: str, resource: dict[str, Any], call: Any, *args: Any) -> Any:
        """An update or delete of ``resource``; a 409 while it is busy waits for it to settle, then retries.

        OKE answers 409 Conflict to a node pool write while another operation on it runs (terraform-oci-oke
        issue 879: "The resource is in a conflicted state. Please retry"): wait until the resource leaves
        CREATING/UPDATING (within ``wait_timeout``), then send the write again, at most CONFLICT_RETRIES times.
        """
        deadline = time.monotonic() + self.params.get("wait_timeout", 1200)
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return call(*args)
            except Exception as error:
                # A 409 on a resource that is not busy is a real conflict (a state OCI refuses): report it.
                retry = attempt < CONFLICT_RETRIES and is_conflict(error)
                if not retry or not self._settled(action, resource, deadline):
                    return self._guard(action, resource, _raise, error)
        return None

    def _settled(self, action: str, resource: dict[str, Any], deadline: float) -> bool:
        """Wait while ``resource`` is busy; True when it was busy (at look-up or now) and has settled."""
        intervals = poll_intervals(self.params.get("wait_sleep") or 2.0)
        busy = resource.get("lifecycle_state") in BUSY_STATES
        while True:
            current = self._guard("read", resource, self.get, self.resource_id(resource))
            state = (current or {}).get("lifecycle_state")
            if state not in BUSY_STATES:
                return busy
            busy = True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ResourceError(
                    f"Cannot {action} {self.describe(resource)}: OCI answered 409 Conflict and the resource "
                    f"stayed {state} for {self.params.get('wait_timeout')}s (wait_timeout); another operation "
                    "on it is still running.",
                    lifecycle_state=state)
            time.sleep(min(next(intervals), remaining))

    def _create_and_wait(self, desired: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        work_request_id = self._guard("create", desired, self.create, desired, uuid.uuid4().hex)
        finished = self.wait(work_request_id, desired, "create")
        ocid = self._created_id(finished)
        if ocid:
            resource = self._guard("read back", desired, self.get, ocid)
        else:
            resource = self._guard("find", desired, self.find)
        return resource or self.predicted(desired), [work_request_id] if work_request_id else []

    def ensure_present(self) -> dict[str, Any]:
        desired = self.desired()
        current = self._guard("look up", None, self.find)
        if current is None:
            result: dict[str, Any] = {"changed": True, "diff": diff_of(desired, None)}
            if self.module.check_mode:
                result[self.result_key] = self.predicted(desired)
                return result
            result[self.result_key], result["work_request_ids"] = self._create_and_wait(desired)
            return result

        desired = self.desired_for_existing(desired, current)
        comparable = self.comparable(current)
        fields = differing_fields(desired, comparable, self.exact_fields)
        if not fields:
            return {"changed": False, self.result_key: current, "diff": {"before": {}, "after": {}}}
        result = {"changed": True, "diff": diff_of(desired, comparable, fields, self.exact_fields)}
        blocked = self.immutable_changes(desired, comparable, fields)
        if blocked and not self.params.get(self.replace_option):
            raise ResourceError(
                f"Cannot change {', '.join(blocked)} of {self.describe(current)} in place: OCI does not "
                f"update {'it' if len(blocked) == 1 else 'them'}; set {self.replace_option}=true to delete "
                "and recreate it, or keep the current value.",
                immutable_fields=blocked, diff=result["diff"],
            )
        if self.module.check_mode:
            result[self.result_key] = self.predicted_update(current, desired)
            result["replaced"] = bool(blocked)
            return result
        if blocked:
            deleted = self._write("delete (for replacement)", current, self.delete, current)
            self.wait(deleted, current, "delete (for replacement)")
            result[self.result_key], created = self._create_and_wait(desired)
            result["work_request_ids"] = ([deleted] if deleted else []) + created
            result["replaced"] = True
            return result
        work_request_id = self._write("update", current, self.update, current, desired, fields)
        self.wait(work_request_id, current, "update")
        result[self.result_key] = self._guard("read back", current, self.get, self.resource_id(current))
        result["work_request_ids"] = [work_request_id] if work_request_id else []
        return result

    def ensure_absent(self) -> dict[str, Any]:
        current = self._guard("look up", None, self.find)
        if current is None:
            return {"changed": False, self.result_key: None, "diff": {"before": {}, "after": {}}}
        result: dict[str, Any] = {"changed": True, self.result_key: current, "diff": {"before": current, "after": {}}}
        if self.module.check_mode:
            return result
        work_request_id = self._write("delete", current, self.delete, current)
        self.wait(work_request_id, current, "delete")
        result["work_request_ids"] = [work_request_id] if work_request_id else []
        return result


def _dig(value: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _raise(error: Exception) -> None:
    raise error


def run_resource(resource: OCIResource, state: str | None = None) -> None:
    """Ensure ``state`` (default: the ``state`` option) and exit the module with the result.

    The one place a resource operation fails the task: an OCIOperationError with its cause worded by
    ``fail_oci``, any other ResourceError with its sentence.
    """
    state = state or resource.params.get("state") or "present"
    try:
        result = resource.ensure_present() if state == "present" else resource.ensure_absent()
    except OCIOperationError as error:
        resource.module.fail_oci(error.sentence, error.error, **error.result)
    except ResourceError as error:
        resource.module.fail_json(msg=error.msg, **error.result)
    if not resource.module._diff:
        result.pop("diff", None)
    resource.module.exit_json(**result)


def identity_spec(name_aliases: Iterable[str] = ("display_name",)) -> dict[str, dict[str, Any]]:
    """Options of a resource named in a compartment: state, compartment, name, tags (docs: oci.IDENTITY)."""
    name: dict[str, Any] = {"type": "str", "required": True}
    if name_aliases:
        name["aliases"] = list(name_aliases)
    return {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "compartment_id": {"type": "str", "required": True},
        "name": name,
        "freeform_tags": {"type": "dict"},
        "defined_tags": {"type": "dict"},
    }


def ocid_errors(params: dict[str, Any], ocid_options: dict[str, str | tuple[str, ...]]) -> list[str]:
    """Options (single values or lists) that are set but not OCIDs of their kind, found before any API call."""
    return [problem for option, kind in ocid_options.items()
            for problem in ocid_problems(option, params.get(option), kind)]


def identity_errors(params: dict[str, Any], ocid_options: dict[str, str | tuple[str, ...]]) -> list[str]:
    """An empty name and malformed OCIDs, found before any API call."""
    errors = [] if (params.get("name") or "").strip() else ["name must not be empty"]
    return errors + ocid_errors(params, ocid_options)


def run_resource_module(resource_class: type[OCIResource], argument_spec: dict[str, Any],
                        input_errors: Callable[[dict[str, Any]], list[str]],
                        wait_timeout_default: int = 1200) -> None:
    """main() of a resource module: validate the input before any API call, then ensure the resource."""
    module = OCIModule(argument_spec, wait_timeout_default=wait_timeout_default)
    fail_on_input_errors(module, f"{resource_class.kind} '{module.params[resource_class.name_option]}'",
                         input_errors(module.params))
    run_resource(resource_class(module))


def read_or_list(module: OCIModule, noun: str, ocid: str | None, get: Callable[..., Any],
                 list_call: Callable[..., Any], compartment_id: str | None, filters: dict[str, Any],
                 keep_deleted: bool = False) -> list[dict[str, Any]]:
    """What an info module looks up: the one resource ``ocid`` names (read with ``get``), or else every
    resource ``list_call`` finds in the compartment with the filters that are set (DELETED ones unless
    ``keep_deleted``). A failed call fails the module naming the lookup and OCI's cause."""
    if ocid:
        return [model_to_dict(module.call_or_fail(f"read {noun} {ocid}", get, ocid).data)]
    try:
        found = module.list_all(list_call, compartment_id, **{key: value for key, value in filters.items() if value})
    except Exception as error:  # one sentence naming what was listed
        module.fail_oci(f"Cannot list {noun}s in compartment {compartment_id}", error)
    return found if keep_deleted else [item for item in found if item.get("lifecycle_state") != "DELETED"]


def read_parent(resource: OCIResource, action: str, option: str, noun: str, what: str,
                operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Read what a write of ``resource`` depends on (the parent ``option`` names) before any write: a 404 is refused
    naming the option (``<option> names no <noun> OCI knows``), other errors fail naming the read ``what``.
    Returns the SDK model."""
    try:
        return resource.module.call(operation, *args, **kwargs).data
    except Exception as error:  # 404: the parent is missing; anything else: one sentence naming the read
        status, code = getattr(error, "status", None), getattr(error, "code", None)  # an oci ServiceError's
        if status == 404:
            raise ResourceError(f"Cannot {action} {resource.describe()}: {option} names no {noun} OCI knows ({what} "
                                f"answered {status} {code}).", error={"status": status, "code": code}) from error
        raise OCIOperationError(f"Cannot {action} {resource.describe()}: cannot read {what}", error) from error


def fail_on_input_errors(module: OCIModule, what: str, errors: list[str]) -> None:
    """Fail before any API call when the options have problems, listing them all."""
    if errors:
        module.fail_json(msg=f"Invalid options for {what}: {'; '.join(errors)}.")
