"""Desired-versus-current comparison, diff and prediction."""

from __future__ import annotations

from ansible_collections.llmops.oke.plugins.module_utils.oci.compare import (
    changed_paths,
    diff_of,
    differing_fields,
    merge_desired,
    normalise,
)

CURRENT = {
    "name": "gpu",
    "node_shape_config": {"ocpus": 8.0, "memory_in_gbs": 48.0},
    "node_config_details": {
        "size": 2,
        "nsg_ids": ["b", "a"],
        "placement_configs": [
            {"availability_domain": "AD-2", "subnet_id": "s2", "fault_domains": None, "capacity_reservation_id": None},
            {"availability_domain": "AD-1", "subnet_id": "s1", "fault_domains": ["FD-2", "FD-1"],
             "capacity_reservation_id": None},
        ],
        "is_pv_encryption_in_transit_enabled": False,
    },
    "freeform_tags": {"app": "llmops", "owner": "ops"},
}


def test_only_user_specified_fields_are_compared():
    assert differing_fields({"name": "gpu", "kubernetes_version": None}, CURRENT) == []


def test_nested_dicts_compare_on_desired_keys_and_numbers_by_value():
    assert differing_fields({"node_shape_config": {"ocpus": 8}}, CURRENT) == []
    assert differing_fields({"node_shape_config": {"ocpus": 4}}, CURRENT) == ["node_shape_config"]


def test_lists_are_order_insensitive_and_list_items_projected():
    desired = {"node_config_details": {
        "nsg_ids": ["a", "b"],
        "placement_configs": [
            {"availability_domain": "AD-1", "subnet_id": "s1", "fault_domains": ["FD-1", "FD-2"]},
            {"availability_domain": "AD-2", "subnet_id": "s2"},
        ],
    }}
    assert differing_fields(desired, CURRENT) == []
    desired["node_config_details"]["placement_configs"].pop()
    assert differing_fields(desired, CURRENT) == ["node_config_details"]


def test_exact_fields_count_extra_keys():
    assert differing_fields({"freeform_tags": {"app": "llmops"}}, CURRENT) == ["freeform_tags"]
    assert differing_fields({"freeform_tags": {"app": "llmops", "owner": "ops"}}, CURRENT) == []


def test_defined_tags_are_exact_per_namespace_given():
    current = {"defined_tags": {"Oracle-Tags": {"CreatedBy": "me"}, "ops": {"team": "ml", "cost": "1"}}}
    assert differing_fields({"defined_tags": {"ops": {"team": "ml", "cost": "1"}}}, current) == []
    assert differing_fields({"defined_tags": {"ops": {"team": "ml"}}}, current) == ["defined_tags"]
    assert diff_of({"defined_tags": {"ops": {"team": "ml"}}}, current)["before"] == {
        "defined_tags": {"ops": {"team": "ml", "cost": "1"}}}
    merged = merge_desired(current, {"defined_tags": {"ops": {"team": "ml"}}})
    assert merged["defined_tags"] == {"Oracle-Tags": {"CreatedBy": "me"}, "ops": {"team": "ml"}}


def test_diff_shows_only_differing_fields_projected():
    diff = diff_of({"name": "gpu", "node_config_details": {"size": 3}}, CURRENT)
    assert diff == {"before": {"node_config_details": {"size": 2}}, "after": {"node_config_details": {"size": 3}}}
    assert diff_of({"name": "x"}, None) == {"before": {}, "after": {"name": "x"}}


def test_merge_desired_predicts_the_update():
    merged = merge_desired(CURRENT, {"node_config_details": {"size": 5}, "freeform_tags": {"a": "b"}})
    assert merged["node_config_details"]["size"] == 5
    assert merged["node_config_details"]["nsg_ids"] == ["b", "a"]
    assert merged["freeform_tags"] == {"a": "b"}


def test_changed_paths_and_normalise():
    desired = {"node_config_details": {"placement_configs": None, "size": 2}}
    assert changed_paths(desired, CURRENT, ["node_config_details.size", "node_config_details.placement_configs"]) == []
    assert changed_paths({"node_config_details": {"size": 1}}, CURRENT, ["node_config_details.size"]) == [
        "node_config_details.size"]
    assert normalise({"b": [2, 1.0], "a": None}) == {"b": [1, 2]}
