# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired-versus-current comparison: only what the user specified is compared.

Plain Python (no SDK import) so it is unit-testable on its own. Conventions:
- ``desired`` holds only user-specified values (``None`` means "not specified", never compared);
- nested dicts are compared key by key on the desired keys, except for *exact* fields (tags, ...)
  whose whole value is the user's (an extra tag on OCI is a difference); ``defined_tags`` is exact
  within each namespace the user gives, since OCI tag defaults add namespaces such as Oracle-Tags;
- lists are compared as multisets (order carries no meaning in the OCI APIs we drive), empty as null;
- numbers compare by value (4 == 4.0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

DEFAULT_EXACT_FIELDS = frozenset({"freeform_tags", "defined_tags"})
# Exact per namespace (top-level key) only: tag defaults add namespaces the user never set.
PER_NAMESPACE_FIELDS = frozenset({"defined_tags"})


def prune_none(value: Any) -> Any:
    """``value`` without ``None`` entries in nested dicts: unspecified options carry no meaning."""
    if isinstance(value, dict):
        return {key: prune_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [prune_none(item) for item in value]
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    return value


def normalise(value: Any) -> Any:
    """Canonical form: ``None`` pruned, lists sorted, integral floats as ints, an empty list as ``None``.

    OCI answers "no items" as ``[]`` or as ``null`` for the same field (terraform-provider-oci treats both alike
    on read), so the two compare equal.
    """
    if isinstance(value, dict):
        normalised = {key: normalise(item) for key, item in sorted(value.items())}
        return {key: item for key, item in normalised.items() if item is not None}
    if isinstance(value, list):
        if not value:
            return None
        items = [normalise(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    return _number(value)


def project(current: Any, desired: Any) -> Any:
    """``current`` cut down to the shape of ``desired`` (keys the user did not give are dropped)."""
    if isinstance(desired, dict) and isinstance(current, dict):
        return {key: project(current.get(key), value) for key, value in desired.items()}
    if isinstance(desired, list) and isinstance(current, list):
        dict_items = [item for item in desired if isinstance(item, dict)]
        if dict_items:
            keys: dict[str, Any] = {}
            for item in dict_items:
                for key, value in item.items():
                    keys.setdefault(key, value)
            return [project(item, keys) if isinstance(item, dict) else item for item in current]
        return list(current)
    return current


def differing_fields(
    desired: dict[str, Any], current: dict[str, Any], exact_fields: Iterable[str] = DEFAULT_EXACT_FIELDS
) -> list[str]:
    """Top-level fields of ``desired`` whose value differs from ``current`` (sorted)."""
    exact = set(exact_fields)
    changed = []
    for field, want in prune_none(desired).items():
        have = current.get(field)
        if field not in exact:
            have = project(have, want)
        elif field in PER_NAMESPACE_FIELDS and isinstance(want, dict) and isinstance(have, dict):
            have = {namespace: have.get(namespace) for namespace in want}
        if normalise(want) != normalise(have):
            changed.append(field)
    return sorted(changed)


def diff_of(
    desired: dict[str, Any], current: dict[str, Any] | None, fields: Iterable[str] | None = None,
    exact_fields: Iterable[str] = DEFAULT_EXACT_FIELDS,
) -> dict[str, dict[str, Any]]:
    """Ansible ``diff`` of the differing fields: before = current (projected), after = desired."""
    desired = prune_none(desired)
    if current is None:
        return {"before": {}, "after": desired}
    exact = set(exact_fields)
    names = list(fields) if fields is not None else differing_fields(desired, current, exact)
    before = {}
    for name in names:
        have = current.get(name)
        if name in PER_NAMESPACE_FIELDS and isinstance(have, dict):
            have = {namespace: have.get(namespace) for namespace in desired[name]}
        before[name] = have if name in exact else project(have, desired[name])
    return {"before": before, "after": {name: desired[name] for name in names}}


def merge_desired(current: dict[str, Any], desired: dict[str, Any], exact_fields: Iterable[str] = DEFAULT_EXACT_FIELDS
                  ) -> dict[str, Any]:
    """The resource as it will look after an update: used to predict results in check mode."""
    exact = set(exact_fields)
    merged = dict(current)
    for key, value in prune_none(desired).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in exact:
            merged[key] = merge_desired(merged[key], value, ())
        elif key in PER_NAMESPACE_FIELDS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (``node_config_details.size``), ``None`` when absent."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def changed_paths(desired: dict[str, Any], current: dict[str, Any], paths: Iterable[str]) -> list[str]:
    """Which of the dotted ``paths`` the user set to a value different from ``current``."""
    result = []
    for path in paths:
        want = value_at(prune_none(desired), path)
        if want is not None and normalise(want) != normalise(project(value_at(current, path), want)):
            result.append(path)
    return result
