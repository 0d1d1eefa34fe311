"""vault_secret against the OCI emulator: lifecycle, content compared without printing, check mode, scheduled
deletion and its cancellation, input refused before any call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from oci_emulator import FIXTURE_COMPARTMENT_ID
from oci_emulator.vault import ensure_vault, key_ocid, vault_ocid

KEY_TEXT = "tenant-key-Zx81-not-printed"


@pytest.fixture(autouse=True)
def vault_registered(oci_emulator_server):
    return ensure_vault(oci_emulator_server)


def secret(**overrides: Any) -> dict[str, Any]:
    return {"compartment_id": FIXTURE_COMPARTMENT_ID, "vault_id": vault_ocid(), "key_id": key_ocid(),
            "name": "llmops-gw-tenant-team-a", "content": KEY_TEXT, **overrides}


def live(emulator) -> list[dict[str, Any]]:
    return [item for item in emulator.items("vault", "Secret") if item["lifecycleState"] != "DELETED"]


def assert_never_printed(result: dict[str, Any]) -> None:
    text = json.dumps(result)
    assert KEY_TEXT not in text and "dGVuYW50LWtleS1aeDgxLW5vdC1wcmludGVk" not in text, result


def test_create_rerun_change_content_and_schedule_deletion(run_oci_module, oci_emulator):
    predicted = run_oci_module("vault_secret", check_mode=True, diff=True, **secret())
    assert predicted["changed"] is True and oci_emulator.write_calls() == 0, predicted
    assert_never_printed(predicted)
    created = run_oci_module("vault_secret", diff=True, **secret())
    assert created["changed"] is True and oci_emulator.calls["CreateSecret"] == 1, created
    assert created["secret"]["secret_name"] == "llmops-gw-tenant-team-a"
    assert_never_printed(created)
    assert len(live(oci_emulator)) == 1

    oci_emulator.reset_counts()
    assert run_oci_module("vault_secret", check_mode=True, **secret())["changed"] is False
    again = run_oci_module("vault_secret", **secret())
    assert again["changed"] is False and oci_emulator.write_calls() == 0, again
    # Two reads per no-op: the list and the current bundle.
    assert oci_emulator.calls["ListSecrets"] == 2 and oci_emulator.calls["GetSecretBundle"] == 2

    predicted = run_oci_module("vault_secret", check_mode=True, diff=True, **secret(content="another-key"))
    assert predicted["changed"] is True and oci_emulator.calls.get("UpdateSecret", 0) == 0
    assert predicted["diff"] == {"before": {"content_matches": False}, "after": {"content_matches": True}}
    changed = run_oci_module("vault_secret", diff=True, **secret(content="another-key"))
    assert changed["changed"] is True and oci_emulator.calls["UpdateSecret"] == 1, changed
    assert live(oci_emulator)[0]["currentVersionNumber"] == 2
    assert run_oci_module("vault_secret", **secret(content="another-key"))["changed"] is False

    assert run_oci_module("vault_secret", state="absent", check_mode=True, **secret())["changed"] is True
    assert oci_emulator.calls.get("ScheduleSecretDeletion", 0) == 0
    gone = run_oci_module("vault_secret", state="absent", deletion_delay_days=7, **secret())
    assert gone["changed"] is True and live(oci_emulator)[0]["lifecycleState"] == "PENDING_DELETION", gone
    assert run_oci_module("vault_secret", state="absent", **secret())["changed"] is False
    assert oci_emulator.calls["ScheduleSecretDeletion"] == 1


def test_a_secret_pending_deletion_that_is_wanted_again_is_cancelled_and_updated(run_oci_module, oci_emulator):
    run_oci_module("vault_secret", **secret())
    run_oci_module("vault_secret", state="absent", **secret())
    predicted = run_oci_module("vault_secret", check_mode=True, **secret(content="new-key"))
    assert predicted["changed"] is True and predicted["deletion_cancelled"] is True
    assert oci_emulator.calls.get("CancelSecretDeletion", 0) == 0
    back = run_oci_module("vault_secret", **secret(content="new-key"))
    assert back["changed"] is True and back["deletion_cancelled"] is True, back
    assert oci_emulator.calls["CancelSecretDeletion"] == 1 and oci_emulator.calls["UpdateSecret"] == 1
    item = live(oci_emulator)[0]
    assert item["lifecycleState"] == "ACTIVE" and item["currentVersionNumber"] == 2


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"vault_id": "ocid1.key.oc1.iad.aaaaaaaawrongtype"}, "vault_id must be an OCID of type vault, got "),
    ({"key_id": "ocid1.vault.oc1.iad.aaaaaaaawrongtype"}, "key_id must be an OCID of type key, got "),
    ({"name": "team a"}, "name 'team a' may hold only letters"),
    ({"content": ""}, "content is required"),
    ({"state": "absent", "deletion_delay_days": 31}, "deletion_delay_days must be 1 to 30, got 31"),
])
def test_bad_input_is_refused_before_any_call(run_oci_module, oci_emulator, overrides, expected):
    result = run_oci_module("vault_secret", **secret(**overrides))
    assert result.get("failed") is True and expected in result["msg"], result
    assert sum(oci_emulator.calls.values()) == 0
    assert_never_printed(result)


def test_create_needs_the_key(run_oci_module, oci_emulator):
    result = run_oci_module("vault_secret", **secret(key_id=None))
    assert result.get("failed") is True and "key_id is required to create" in result["msg"], result
    assert oci_emulator.write_calls() == 0


def test_the_emulator_rules_through_the_real_sdk(oci_emulator, oci_test_identity):
    """Rules secret_name_unique_in_vault, secret_content_base64, secret_deletion_by_schedule (the SDK's bodies)."""
    import datetime as dt

    import oci
    from oci.vault.models import Base64SecretContentDetails, CreateSecretDetails, ScheduleSecretDeletionDetails

    config = oci.config.from_file(str(oci_test_identity.config_file))
    client = oci.vault.VaultsClient(config, service_endpoint=oci_emulator.endpoint,
                                    retry_strategy=oci.retry.NoneRetryStrategy())

    def create(content: str) -> Any:
        return client.create_secret(CreateSecretDetails(
            compartment_id=FIXTURE_COMPARTMENT_ID, vault_id=vault_ocid(), key_id=key_ocid(), secret_name="s",
            secret_content=Base64SecretContentDetails(content_type="BASE64", content=content)))

    with pytest.raises(oci.exceptions.ServiceError) as not_base64:
        create("not base64 !")
    assert not_base64.value.status == 400
    made = create("YQ==").data
    with pytest.raises(oci.exceptions.ServiceError) as twice:
        create("Yg==")
    assert twice.value.status == 409
    too_late = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    with pytest.raises(oci.exceptions.ServiceError) as out_of_range:
        client.schedule_secret_deletion(made.id, ScheduleSecretDeletionDetails(time_of_deletion=too_late))
    assert out_of_range.value.status == 400
    client.schedule_secret_deletion(made.id, ScheduleSecretDeletionDetails())
    assert client.get_secret(made.id).data.lifecycle_state == "PENDING_DELETION"
