"""The api_gateway_tenant_errors filter: every bad tenant entry named, a valid list passes."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.oke.plugins.filter.api_gateway_tenants import FilterModule

check = FilterModule().filters()["api_gateway_tenant_errors"]

GOOD = [
    {"name": "team-a", "rate_limit_per_second": 5, "quota": 10000, "quota_unit": "DAY"},
    {"name": "team-b", "rate_limit_per_second": 20, "no_quota": True},
    {"name": "gone", "state": "absent"},
]


def test_a_valid_list_has_no_errors():
    assert check(GOOD) == []
    assert check([]) == []


@pytest.mark.parametrize(("bad", "needle"), [
    ([GOOD[0], {**GOOD[1], "name": "team-a"}], "api_gateway_tenants[1] (team-a).name team-a is used twice (also "
                                               "api_gateway_tenants[0])"),
    ([{**GOOD[0], "quota_unit": None}], "api_gateway_tenants[0] (team-a).quota 10000 has no unit: set quota_unit"),
    ([{"name": "team-a", "rate_limit_per_second": 5}], "needs a quota and quota_unit, or no_quota: true"),
    ([{**GOOD[0], "quota": 0}], ".quota must be an integer of 1 or more, got 0 (for no quota at all set no_quota"),
    ([{**GOOD[0], "quota_unit": "YEAR"}], ".quota_unit must be one of MINUTE, HOUR, DAY, WEEK, MONTH, got 'YEAR'"),
    ([{**GOOD[1], "quota": 5, "quota_unit": "DAY"}], "sets no_quota: true and a quota; keep one"),
    ([{**GOOD[0], "rate_limit_per_second": 0}], ".rate_limit_per_second must be an integer more than 0, got 0"),
    ([{**GOOD[0], "name": "Team A"}], ".name must be 1 to 63 lowercase letters, digits and hyphens, got 'Team A'"),
    ([{**GOOD[0], "state": "gone"}], ".state must be present or absent"),
    (["team-a"], "api_gateway_tenants[0] must be a mapping"),
])
def test_each_bad_entry_is_named(bad, needle):
    errors = check(bad)
    assert any(needle in error for error in errors), errors


def test_every_problem_is_listed_at_once():
    errors = check([{**GOOD[0], "quota_unit": None}, {**GOOD[1], "name": "team-a", "rate_limit_per_second": -1}])
    assert len(errors) == 3, errors
