"""The ocid_problems and iam_statement_errors filters: the role preflights' wording, naming the variables."""

from __future__ import annotations

from ansible_collections.llmops.oke.plugins.filter.iam_statement_errors import FilterModule as StatementFilters
from ansible_collections.llmops.oke.plugins.filter.ocid_problems import FilterModule as OcidFilters

ocid_problems = OcidFilters().filters()["ocid_problems"]
iam_statement_errors = StatementFilters().filters()["iam_statement_errors"]

VAULT = "ocid1.vault.oc1.iad.aaaaaaaaexample"
KEY = "ocid1.key.oc1.iad.aaaaaaaaexample"


def test_ocid_problems_names_the_variable_and_the_type() -> None:
    assert ocid_problems(VAULT, "api_gateway_tenant_vault_id", "vault") == []
    assert ocid_problems(KEY, "api_gateway_tenant_vault_id", "vault") == [
        f"api_gateway_tenant_vault_id must be an OCID of type vault, got '{KEY}'"]
    assert ocid_problems("", "api_gateway_tenant_vault_id", "vault") == []  # unset
    assert ocid_problems(["x", "ocid1.tenancy.oc1..aaaaaaaaexample"], "ids", ["compartment", "tenancy"]) == [
        "ids must be an OCID of type compartment or tenancy, got 'x'"]


def test_iam_statement_errors_names_the_variables_behind_a_bad_statement() -> None:
    good = "Allow dynamic-group llmops-grafana-nodes to read metrics in compartment id ocid1.compartment.oc1..aaaa"
    assert iam_statement_errors([good], ["oke_node_pools_grafana_dynamic_group_name"]) == []
    bad = good.replace("llmops-grafana-nodes", "grafana nodes")
    errors = iam_statement_errors([good, bad], ["oke_node_pools_grafana_dynamic_group_name"])
    assert len(errors) == 1 and errors[0].startswith(
        "the IAM statement built from oke_node_pools_grafana_dynamic_group_name ('Allow dynamic-group grafana nodes")
