"""The OCI lifecycle raises typed errors (ResourceError, OCIOperationError) and run_resource fails the task once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.oci.resource import (
    OCIOperationError,
    OCIResource,
    ResourceError,
    run_resource,
)


class _Failed(Exception):
    pass


class _Module(SimpleNamespace):
    """Records how the task would end, instead of an AnsibleModule."""

    def fail_json(self, **result: Any) -> None:
        raise _Failed(("fail_json", result))

    def fail_oci(self, sentence: str, error: Exception, **result: Any) -> None:
        raise _Failed(("fail_oci", {"sentence": sentence, "error": error, **result}))


class _Pool(OCIResource):
    kind = "node pool"
    result_key = "node_pool"
    immutable_paths = ("shape",)

    def __init__(self, module: _Module, current: dict[str, Any] | None, lookup_error: Exception | None = None):
        super().__init__(module)
        self.current, self.lookup_error = current, lookup_error

    def find(self) -> dict[str, Any] | None:
        if self.lookup_error:
            raise self.lookup_error
        return self.current

    def desired(self) -> dict[str, Any]:
        return {"name": "gpu", "shape": self.params["shape"]}


def _module(**params: Any) -> _Module:
    return _Module(params={"name": "gpu", "state": "present", "force_replace": False, **params}, check_mode=True,
                   _diff=False)


def test_an_api_error_is_raised_typed_with_the_sentence() -> None:
    cause = ConnectionError("refused")
    with pytest.raises(OCIOperationError) as raised:
        _Pool(_module(shape="A"), None, cause).ensure_present()
    assert raised.value.sentence == "Cannot look up node pool 'gpu'" and raised.value.error is cause


def test_an_immutable_change_is_raised_typed_with_its_result_keys() -> None:
    current = {"id": "ocid1.nodepool.oc1..a", "name": "gpu", "shape": "A"}
    with pytest.raises(ResourceError, match="Cannot change shape of node pool 'gpu'") as raised:
        _Pool(_module(shape="B"), current).ensure_present()
    assert raised.value.result["immutable_fields"] == ["shape"]
    assert not isinstance(raised.value, OCIOperationError)


def test_run_resource_fails_the_task_once_as_before() -> None:
    with pytest.raises(_Failed) as failed:
        run_resource(_Pool(_module(shape="A"), None, ConnectionError("refused")))
    how, result = failed.value.args[0]
    assert how == "fail_oci" and result["sentence"] == "Cannot look up node pool 'gpu'"
    current = {"id": "ocid1.nodepool.oc1..a", "name": "gpu", "shape": "A"}
    with pytest.raises(_Failed) as failed:
        run_resource(_Pool(_module(shape="B"), current))
    how, result = failed.value.args[0]
    assert how == "fail_json"
    assert result["msg"].startswith("Cannot change shape of node pool 'gpu' (ocid1.nodepool.oc1..a) in place")
    assert result["immutable_fields"] == ["shape"]
