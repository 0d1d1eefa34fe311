"""The emulator's Identity Domains (SCIM dynamic resource groups), spoken to with the real oci SDK: the domain URL from
ListDomains is the IdentityDomainsClient's endpoint, and each rule of rules.py refuses or shapes what it says."""

from __future__ import annotations

import oci
import pytest
from oci.identity_domains.models import DynamicResourceGroup
from oci_emulator.fixtures import TEST_TENANCY
from oci_emulator.identity import domain, ensure_identity
from oci_emulator.identity_domains import SCHEMA, groups

RULE = "ALL {instance.compartment.id = 'ocid1.compartment.oc1..aaaa'}"


@pytest.fixture
def scim(oci_emulator, oci_test_identity):
    """An IdentityDomainsClient on the Default domain's URL, as ListDomains gives it."""
    ensure_identity(oci_emulator)
    oci_emulator.identity_domains = [domain("Default"), domain("ML-Domain")]
    config = oci.config.from_file(str(oci_test_identity.config_file))
    identity = oci.identity.IdentityClient(config, service_endpoint=oci_emulator.endpoint,
                                           retry_strategy=oci.retry.NoneRetryStrategy())
    domains = {item.display_name: item for item in identity.list_domains(TEST_TENANCY).data}
    assert domains["Default"].url != domains["ML-Domain"].url
    return oci.identity_domains.IdentityDomainsClient(config, service_endpoint=domains["Default"].url,
                                                      retry_strategy=oci.retry.NoneRetryStrategy())


def body(name: str = "grafana", **extra) -> DynamicResourceGroup:
    return DynamicResourceGroup(schemas=[SCHEMA], display_name=name, matching_rule=RULE, description="d", **extra)


def test_create_list_get_put_delete_with_the_sdk(scim, oci_emulator):
    created = scim.create_dynamic_resource_group(dynamic_resource_group=body()).data
    assert created.id and created.ocid.startswith("ocid1.dynamicgroup.") and created.display_name == "grafana"
    # scim_returned_attributes: matchingRule is "returned: request".
    assert created.matching_rule is None
    listed = scim.list_dynamic_resource_groups(filter='displayName eq "grafana"', attributes="matchingRule").data
    assert listed.total_results == 1 and listed.resources[0].matching_rule == RULE
    assert listed.resources[0].ocid is None  # "returned: default": not named, so not returned
    assert scim.list_dynamic_resource_groups(filter='displayName eq "other"').data.total_results == 0
    got = scim.get_dynamic_resource_group(created.id, attributes="matchingRule").data
    assert got.matching_rule == RULE
    replacement = DynamicResourceGroup(schemas=[SCHEMA], display_name="grafana", matching_rule="instance.id = 'x'")
    replaced = scim.put_dynamic_resource_group(created.id, attributes="matchingRule",
                                               dynamic_resource_group=replacement).data
    assert replaced.matching_rule == "instance.id = 'x'" and replaced.description is None  # a replace clears it
    scim.delete_dynamic_resource_group(created.id)
    assert groups(oci_emulator) == []


def test_each_domain_keeps_its_own_groups(scim, oci_emulator):
    scim.create_dynamic_resource_group(dynamic_resource_group=body())
    assert [item["_domain"] for item in groups(oci_emulator)] == ["default"]


# Each case is one rule of tests/fixtures/oci_emulator/rules.py (named in its id).
@pytest.mark.parametrize(("make", "status"), [
    (lambda scim, first: scim.create_dynamic_resource_group(dynamic_resource_group=body()), 409),
    (lambda scim, first: scim.create_dynamic_resource_group(dynamic_resource_group=DynamicResourceGroup(
        schemas=["urn:ietf:params:scim:schemas:core:2.0:Group"], display_name="x", matching_rule=RULE)), 400),
    (lambda scim, first: scim.put_dynamic_resource_group(first.id, dynamic_resource_group=body(id=first.id)), 400),
    (lambda scim, first: scim.list_dynamic_resource_groups(filter='matchingRule eq "x"'), 400),
], ids=["dynamic_resource_group_name_unique", "dynamic_resource_group_schema", "scim_replace_read_only",
        "scim_filter_eq"])
def test_the_rules_refuse(scim, oci_emulator, make, status):
    first = scim.create_dynamic_resource_group(dynamic_resource_group=body()).data
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make(scim, first)
    assert refused.value.status == status, refused.value
    assert len(groups(oci_emulator)) == 1


def test_the_regional_endpoint_answers_no_domain(oci_emulator, oci_test_identity):
    ensure_identity(oci_emulator)
    oci_emulator.identity_domains = [domain("Default")]
    config = oci.config.from_file(str(oci_test_identity.config_file))
    wrong = oci.identity_domains.IdentityDomainsClient(config, service_endpoint=oci_emulator.endpoint,
                                                       retry_strategy=oci.retry.NoneRetryStrategy())
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        wrong.list_dynamic_resource_groups()
    assert refused.value.status == 404
