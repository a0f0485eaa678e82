"""UpdateSecret, detail by detail, on the memory and SQLite stores."""
from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest

from ledger.errors import MARKED_FOR_DELETION, LedgerError
from ledger.servicemodel import string_limits
from ledger.shapes import epoch
from tests.grants import deny_key_action
from tests.core.support import (
    api_calls, create_key, event_types, key_ids, notifications, secret_events, secret_of,
    set_key_state, stages, token, value_of,
)

NAME = "app/db-password"
FIRST = "first-value-7Qe"


@pytest.fixture
def v0(ledger, caller) -> str:
    """A secret with one value; returns that version's id."""
    version = token()
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": FIRST,
                                 "ClientRequestToken": version}, caller)
    return version


def update(ledger, caller, **request):
    return ledger.call("UpdateSecret", {"SecretId": NAME, **request}, caller)


def new_value(ledger, caller, value: str) -> str:
    return update(ledger, caller, SecretString=value, ClientRequestToken=token())["VersionId"]


def assert_rejected(ledger, caller, request: dict, code: str, secret_id: str = NAME) -> LedgerError:
    """The call fails with `code`, appends nothing to the secret, and is itself recorded."""
    before = len(secret_events(ledger, secret_id)) if _exists(ledger, secret_id) else 0
    calls_before = len(api_calls(ledger))
    with pytest.raises(LedgerError) as caught:
        ledger.call("UpdateSecret", request, caller)
    assert caught.value.code == code
    after = len(secret_events(ledger, secret_id)) if _exists(ledger, secret_id) else 0
    assert after == before
    calls = api_calls(ledger)
    assert len(calls) == calls_before + 1
    assert calls[-1].context["operation"] == "UpdateSecret"
    assert calls[-1].error_code == code
    assert calls[-1].error_message == caught.value.message
    return caught.value


def _exists(ledger, secret_id: str) -> bool:
    return ledger.find_secret(secret_id, missing_ok=True) is not None


# ---- metadata-only calls -----------------------------------------------------------------

def test_description_only_creates_no_version_and_returns_no_version_id(ledger, caller, v0):
    response = update(ledger, caller, Description="rotated by hand")
    assert set(response) == {"ARN", "Name"}
    assert stages(ledger, caller, NAME) == {v0: ["AWSCURRENT"]}
    assert event_types(ledger, NAME)[-1] == "DescriptionChanged"
    assert ledger.call("DescribeSecret", {"SecretId": NAME}, caller)["Description"] == \
        "rotated by hand"


def test_metadata_only_call_with_a_token_still_creates_no_version(ledger, caller, v0):
    response = update(ledger, caller, Description="d", ClientRequestToken=token())
    assert "VersionId" not in response
    assert list(stages(ledger, caller, NAME)) == [v0]


def test_key_only_change_creates_no_version(ledger, caller, v0):
    key = create_key(ledger, caller)
    response = update(ledger, caller, KmsKeyId=key.key_id)
    assert "VersionId" not in response
    assert list(stages(ledger, caller, NAME)) == [v0]


def test_metadata_only_call_advances_last_changed_date(ledger, caller, clock, v0):
    clock.advance(hours=3)
    update(ledger, caller, Description="later")
    described = ledger.call("DescribeSecret", {"SecretId": NAME}, caller)
    assert described["LastChangedDate"] == epoch(clock.now)
    assert described["CreatedDate"] == epoch(clock.now - timedelta(hours=3))


def test_update_with_nothing_to_change_appends_nothing(ledger, caller, v0):
    before = event_types(ledger, NAME)
    assert set(update(ledger, caller)) == {"ARN", "Name"}
    assert event_types(ledger, NAME) == before


# ---- values and labels -------------------------------------------------------------------

def test_value_creates_a_version_named_by_the_client_request_token(ledger, caller, v0):
    version = token()
    response = update(ledger, caller, SecretString="second", ClientRequestToken=version)
    assert response["VersionId"] == version
    assert value_of(ledger, caller, NAME, VersionId=version) == "second"


def test_value_without_token_gets_a_generated_uuid4(ledger, caller, v0):
    version = update(ledger, caller, SecretString="second")["VersionId"]
    assert uuid.UUID(version).version == 4
    assert version in stages(ledger, caller, NAME)


def test_new_value_moves_awscurrent_and_awsprevious(ledger, caller, v0):
    v1 = new_value(ledger, caller, "second")
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"], v1: ["AWSCURRENT"]}
    v2 = new_value(ledger, caller, "third")
    assert stages(ledger, caller, NAME) == {v0: [], v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert value_of(ledger, caller, NAME) == "third"
    assert value_of(ledger, caller, NAME, VersionStage="AWSPREVIOUS") == "second"


def test_new_value_keeps_custom_labels_on_the_version_it_left(ledger, caller, v0):
    ledger.call("UpdateSecretVersionStage",
                {"SecretId": NAME, "VersionStage": "blue", "MoveToVersionId": v0}, caller)
    v1 = new_value(ledger, caller, "second")
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS", "blue"], v1: ["AWSCURRENT"]}


def test_new_value_takes_awspending_off_the_old_current_version(ledger, caller, v0):
    ledger.call("UpdateSecretVersionStage",
                {"SecretId": NAME, "VersionStage": "AWSPENDING", "MoveToVersionId": v0}, caller)
    v1 = new_value(ledger, caller, "second")
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"], v1: ["AWSCURRENT"]}
    moved = [e for e in secret_events(ledger, NAME) if type(e).__name__ == "LabelMoved"]
    assert ("AWSPENDING", v0, None) in [(m.label, m.from_version, m.to_version) for m in moved]


def test_new_value_abandons_a_pending_rotation_version(ledger, caller, v0):
    """AWSPENDING on a version of its own (a rotation in progress) is taken off too: the spec's
    RotationAbandoned case, a manual new version made mid-rotation (§3, §10.4)."""
    pending = ledger.call("PutSecretValue", {"SecretId": NAME, "SecretString": "rotating",
                                             "VersionStages": ["AWSPENDING"]}, caller)
    v2 = new_value(ledger, caller, "manual")
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"], pending["VersionId"]: [],
                                            v2: ["AWSCURRENT"]}


def test_identical_value_under_a_fresh_token_is_a_new_version(ledger, caller, v0):
    v1 = new_value(ledger, caller, FIRST)
    assert v1 != v0
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"], v1: ["AWSCURRENT"]}


def test_binary_value_round_trips(ledger, caller, v0):
    data = bytes(range(256))
    version = update(ledger, caller, SecretBinary=data)["VersionId"]
    response = ledger.call("GetSecretValue", {"SecretId": NAME, "VersionId": version}, caller)
    assert response["SecretBinary"] == data
    assert "SecretString" not in response


def test_same_token_and_value_again_is_an_idempotent_no_op(ledger, caller, v0):
    version = token()
    first = update(ledger, caller, SecretString="second", ClientRequestToken=version)
    log_before = [type(e).__name__ for e in secret_events(ledger, NAME)]
    notes_before = notifications(ledger)
    again = update(ledger, caller, SecretString="second", ClientRequestToken=version)
    assert again == first
    assert [type(e).__name__ for e in secret_events(ledger, NAME)] == log_before
    new_notes = notifications(ledger)[len(notes_before):]
    assert [n.topic for n in new_notes] == ["ledger.calls:ApiCallRecorded"]  # the retry's audit
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"], version: ["AWSCURRENT"]}


def test_same_token_as_an_older_version_with_its_value_moves_no_labels(ledger, caller, v0):
    new_value(ledger, caller, "second")
    before = stages(ledger, caller, NAME)
    response = update(ledger, caller, SecretString=FIRST, ClientRequestToken=v0)
    assert response["VersionId"] == v0
    assert stages(ledger, caller, NAME) == before


def test_same_token_with_another_value_is_resource_exists(ledger, caller, v0):
    error = assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "other",
                                             "ClientRequestToken": v0}, "ResourceExistsException")
    assert v0 in error.message and "other" not in error.message
    assert value_of(ledger, caller, NAME) == FIRST


def test_string_then_binary_under_one_token_is_resource_exists(ledger, caller, v0):
    assert_rejected(ledger, caller, {"SecretId": NAME, "SecretBinary": FIRST.encode(),
                                     "ClientRequestToken": v0}, "ResourceExistsException")


# ---- KMS keys ----------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["key id", "key ARN", "alias name", "alias ARN"])
def test_kms_key_may_be_named_by_id_arn_alias_or_alias_arn(ledger, caller, v0, form):
    key = create_key(ledger, caller, alias="alias/app-key")
    identifier = {"key id": key.key_id, "key ARN": key.arn, "alias name": "alias/app-key",
                  "alias ARN": "arn:aws:kms:us-east-1:123456789012:alias/app-key"}[form]
    update(ledger, caller, KmsKeyId=identifier)
    v1 = new_value(ledger, caller, "second")
    assert key_ids(ledger, caller, NAME)[v1] == [key.arn]
    assert key_ids(ledger, caller, NAME)[v0] == [key.arn]  # AWSPREVIOUS, re-encrypted
    assert ledger.call("DescribeSecret", {"SecretId": NAME}, caller)["KmsKeyId"] == identifier
    assert value_of(ledger, caller, NAME) == "second"
    assert value_of(ledger, caller, NAME, VersionId=v0) == FIRST


def test_empty_kms_key_id_returns_to_the_default_key(ledger, caller, v0):
    key = create_key(ledger, caller)
    update(ledger, caller, KmsKeyId=key.arn)
    assert key_ids(ledger, caller, NAME)[v0] == [key.arn]
    update(ledger, caller, KmsKeyId="")
    v1 = new_value(ledger, caller, "second")
    assert "KmsKeyId" not in ledger.call("DescribeSecret", {"SecretId": NAME}, caller)
    assert key_ids(ledger, caller, NAME) == {v0: ["DefaultEncryptionKey"],
                                             v1: ["DefaultEncryptionKey"]}
    assert value_of(ledger, caller, NAME, VersionId=v0) == FIRST


@pytest.mark.parametrize("identifier", [
    "alias/aws/secretsmanager",
    "arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager"])
def test_default_key_may_be_named_before_its_first_use(ledger, caller, identifier):
    ledger.call("CreateSecret", {"Name": NAME}, caller)
    assert ledger.kms.default_key_arn() is None
    version = update(ledger, caller, KmsKeyId=identifier, SecretString="x")["VersionId"]
    assert key_ids(ledger, caller, NAME) == {version: ["DefaultEncryptionKey"]}
    assert value_of(ledger, caller, NAME) == "x"


def test_key_change_re_encrypts_only_versions_labelled_current_pending_or_previous(
        ledger, caller, v0):
    v1 = new_value(ledger, caller, "custom")
    ledger.call("UpdateSecretVersionStage",
                {"SecretId": NAME, "VersionStage": "blue", "MoveToVersionId": v1}, caller)
    v2 = new_value(ledger, caller, "previous")
    v3 = new_value(ledger, caller, "current")
    v4 = ledger.call("PutSecretValue", {"SecretId": NAME, "SecretString": "pending",
                                        "VersionStages": ["AWSPENDING"]}, caller)["VersionId"]
    assert stages(ledger, caller, NAME) == {v0: [], v1: ["blue"], v2: ["AWSPREVIOUS"],
                                            v3: ["AWSCURRENT"], v4: ["AWSPENDING"]}
    key = create_key(ledger, caller)
    update(ledger, caller, KmsKeyId=key.key_id)
    re_encrypted = [e.version_id for e in secret_events(ledger, NAME)
                    if type(e).__name__ == "VersionReEncrypted"]
    assert sorted(re_encrypted) == sorted([v2, v3, v4])
    default = ["DefaultEncryptionKey"]
    assert key_ids(ledger, caller, NAME) == {v0: default, v1: default, v2: [key.arn],
                                             v3: [key.arn], v4: [key.arn]}
    for version, value in [(v0, FIRST), (v1, "custom"), (v2, "previous"), (v3, "current"),
                           (v4, "pending")]:
        assert value_of(ledger, caller, NAME, VersionId=version) == value


def test_re_encrypted_versions_no_longer_need_the_old_key(ledger, caller, v0):
    old, new = create_key(ledger, caller), create_key(ledger, caller)
    update(ledger, caller, KmsKeyId=old.key_id)
    v1 = new_value(ledger, caller, "second")  # under old; v0 re-encrypted to old
    v2 = new_value(ledger, caller, "third")   # under old; v0 now deprecated
    update(ledger, caller, KmsKeyId=new.key_id)
    set_key_state(ledger, caller, old, "Disabled")
    assert value_of(ledger, caller, NAME) == "third"
    assert value_of(ledger, caller, NAME, VersionId=v1) == "second"
    with pytest.raises(LedgerError) as caught:  # deprecated v0 stayed under the old key
        value_of(ledger, caller, NAME, VersionId=v0)
    assert caught.value.code == "DecryptionFailure"
    assert key_ids(ledger, caller, NAME)[v0] == [old.arn]
    assert key_ids(ledger, caller, NAME)[v2] == [new.arn]


def test_key_change_without_encrypt_permission_leaves_versions_under_the_old_key(
        ledger, caller, v0):
    key = create_key(ledger, caller)
    deny_key_action(ledger, "user/alice", "kms:Encrypt", key.arn)
    update(ledger, caller, KmsKeyId=key.key_id)
    assert "VersionReEncrypted" not in event_types(ledger, NAME)
    assert event_types(ledger, NAME)[-1] == "KeyChanged"
    v1 = new_value(ledger, caller, "second")
    assert key_ids(ledger, caller, NAME) == {v0: ["DefaultEncryptionKey"], v1: [key.arn]}
    assert value_of(ledger, caller, NAME, VersionId=v0) == FIRST


def test_value_and_key_in_one_call_seal_the_new_version_under_the_new_key(ledger, caller, v0):
    key = create_key(ledger, caller)
    v1 = update(ledger, caller, KmsKeyId=key.arn, SecretString="second")["VersionId"]
    assert key_ids(ledger, caller, NAME) == {v0: [key.arn], v1: [key.arn]}
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"], v1: ["AWSCURRENT"]}


def test_changing_to_a_disabled_key_is_an_encryption_failure_even_without_a_value(
        ledger, caller):
    ledger.call("CreateSecret", {"Name": NAME}, caller)
    key = create_key(ledger, caller)
    set_key_state(ledger, caller, key, "Disabled")
    error = assert_rejected(ledger, caller, {"SecretId": NAME, "KmsKeyId": key.key_id},
                            "EncryptionFailure")
    assert key.arn in error.message and "Disabled" in error.message


def test_unknown_kms_key_is_an_encryption_failure(ledger, caller, v0):
    assert_rejected(ledger, caller, {"SecretId": NAME, "KmsKeyId": "alias/nothing-here"},
                    "EncryptionFailure")
    assert "KmsKeyId" not in ledger.call("DescribeSecret", {"SecretId": NAME}, caller)


# ---- lookups -----------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["name", "full ARN", "partial ARN"])
def test_secret_is_found_by_name_full_arn_or_partial_arn(ledger, caller, v0, form):
    arn = secret_of(ledger, NAME).arn
    secret_id = {"name": NAME, "full ARN": arn, "partial ARN": arn[:-7]}[form]
    response = ledger.call("UpdateSecret", {"SecretId": secret_id, "Description": form}, caller)
    assert response == {"ARN": arn, "Name": NAME}
    assert ledger.call("DescribeSecret", {"SecretId": NAME}, caller)["Description"] == form


def test_arn_has_a_random_six_character_suffix(ledger, caller, v0):
    arn = secret_of(ledger, NAME).arn
    prefix = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{NAME}-"
    assert arn.startswith(prefix)
    suffix = arn[len(prefix):]
    assert len(suffix) == 6 and suffix.isalnum() and suffix.isascii()


def test_name_ending_like_a_suffix_is_found_by_name_and_full_arn_not_partial(ledger, caller):
    name = "svc/api-key-a1b2c3"
    arn = ledger.call("CreateSecret", {"Name": name, "SecretString": "x"}, caller)["ARN"]
    for secret_id in (name, arn):
        assert ledger.call("UpdateSecret", {"SecretId": secret_id, "Description": "ok"},
                           caller)["ARN"] == arn
    error = assert_rejected(ledger, caller, {"SecretId": arn[:-7], "Description": "no"},
                            "ResourceNotFoundException", secret_id=name)
    assert error.message == "Secrets Manager can't find the specified secret."


def test_arn_with_another_suffix_or_region_is_not_found(ledger, caller, v0):
    arn = secret_of(ledger, NAME).arn
    for wrong in (arn[:-6] + ("ZZZZZZ" if arn[-6:] != "ZZZZZZ" else "YYYYYY"),
                  arn.replace("us-east-1", "eu-west-1")):
        assert_rejected(ledger, caller, {"SecretId": wrong, "Description": "x"},
                        "ResourceNotFoundException")


def test_secret_id_with_illegal_characters_is_a_validation_error(ledger, caller, v0):
    with pytest.raises(LedgerError) as caught:
        update(ledger, caller, SecretId="bad name!", Description="x")
    assert caught.value.code == "ValidationException"
    assert caught.value.message.startswith("Invalid name.")


# ---- the version quota and cleanup -------------------------------------------------------

def _fill(ledger, caller, clock, count: int) -> list[str]:
    """`count` more values, one minute apart, so their age order is their creation order."""
    versions = []
    for i in range(count):
        clock.advance(minutes=1)
        versions.append(new_value(ledger, caller, f"value-{i}"))
    return versions


def test_cleanup_removes_label_less_versions_older_than_a_day_oldest_first(
        ledger, caller, clock, v0):
    old = [v0, *_fill(ledger, caller, clock, 5)]          # 6 versions
    clock.advance(hours=25)
    young = _fill(ledger, caller, clock, 4)                # 10 versions: the quota
    removed = []
    for _ in range(6):
        new_value(ledger, caller, "more")
        removed = [e.version_id for e in secret_events(ledger, NAME)
                   if type(e).__name__ == "VersionRemoved"]
        assert len(stages(ledger, caller, NAME)) == 10
    assert removed == old  # oldest first; all six were label-less and over a day old
    secret = secret_of(ledger, NAME)
    for version in old:
        assert ledger.key_store.data_key(secret.id.hex, version) is None
        with pytest.raises(LedgerError) as caught:
            value_of(ledger, caller, NAME, VersionId=version)
        assert caught.value.code == "ResourceNotFoundException"
    assert set(young) <= set(stages(ledger, caller, NAME))


def test_cleanup_never_removes_a_labelled_version(ledger, caller, clock, v0):
    ledger.call("UpdateSecretVersionStage",
                {"SecretId": NAME, "VersionStage": "keep", "MoveToVersionId": v0}, caller)
    old = _fill(ledger, caller, clock, 9)
    clock.advance(hours=25)
    new_value(ledger, caller, "more")
    assert v0 in stages(ledger, caller, NAME)
    assert old[0] not in stages(ledger, caller, NAME)


def test_version_quota_inside_a_day_is_limit_exceeded_and_writes_nothing(ledger, caller, v0):
    for i in range(9):
        new_value(ledger, caller, f"value-{i}")
    assert len(stages(ledger, caller, NAME)) == 10
    assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "one too many"},
                    "LimitExceededException")
    assert len(stages(ledger, caller, NAME)) == 10
    assert value_of(ledger, caller, NAME) == "value-8"


# ---- state guards ------------------------------------------------------------------------

def test_secret_scheduled_for_deletion_is_invalid_request(ledger, caller, v0):
    ledger.call("DeleteSecret", {"SecretId": NAME, "RecoveryWindowInDays": 7}, caller)
    error = assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "new"},
                            "InvalidRequestException")
    assert error.message == MARKED_FOR_DELETION
    assert_rejected(ledger, caller, {"SecretId": NAME, "Description": "new"},
                    "InvalidRequestException")


def test_secret_managed_by_another_service_is_invalid_request(ledger, caller):
    name = "rds-cluster-42"
    ledger.call("CreateSecret", {"Name": name, "SecretString": "x"}, caller,
                owning_service="rds")
    for request in ({"SecretId": name, "SecretString": "new"},
                    {"SecretId": name, "Description": "new"}):
        error = assert_rejected(ledger, caller, request, "InvalidRequestException",
                                secret_id=name)
        assert "managed by an AWS service (rds)" in error.message


def test_owning_service_itself_may_update_its_secret(ledger, caller):
    name = "rds-cluster-42"
    ledger.call("CreateSecret", {"Name": name, "SecretString": "x"}, caller,
                owning_service="rds")
    response = ledger.call("UpdateSecret", {"SecretId": name, "SecretString": "y"}, caller,
                           owning_service="rds")
    assert value_of(ledger, caller, name) == "y"
    assert stages(ledger, caller, name)[response["VersionId"]] == ["AWSCURRENT"]
    described = ledger.call("DescribeSecret", {"SecretId": name}, caller)
    assert described["OwningService"] == "rds"
    with pytest.raises(LedgerError):  # another service is not the owner either
        ledger.call("UpdateSecret", {"SecretId": name, "SecretString": "z"}, caller,
                    owning_service="appflow")


def test_unknown_secret_is_resource_not_found(ledger, caller, v0):
    error = assert_rejected(ledger, caller, {"SecretId": "app/nothing", "SecretString": "x"},
                            "ResourceNotFoundException", secret_id="app/nothing")
    assert error.message == "Secrets Manager can't find the specified secret."


# ---- request limits from the service model -----------------------------------------------

@pytest.mark.parametrize("member", ["Description", "KmsKeyId", "SecretString", "SecretId",
                                    "ClientRequestToken"])
def test_length_limits_come_from_the_service_model(ledger, caller, v0, member):
    low, high = string_limits("UpdateSecret", member)
    assert high is not None
    request = {"SecretId": NAME, member: "a" * (high + 1)}
    with pytest.raises(LedgerError) as caught:
        ledger.call("UpdateSecret", request, caller)
    assert caught.value.code == "ValidationException"
    assert f"less than or equal to {high}" in caught.value.message
    if low:
        with pytest.raises(LedgerError) as caught:
            ledger.call("UpdateSecret", {**request, member: "a" * (low - 1)}, caller)
        assert f"greater than or equal to {low}" in caught.value.message
    assert len(stages(ledger, caller, NAME)) == 1


def test_values_at_the_model_limits_are_accepted(ledger, caller, v0):
    low, high = string_limits("UpdateSecret", "ClientRequestToken")
    _, most = string_limits("UpdateSecret", "SecretString")
    _, most_bytes = string_limits("UpdateSecret", "SecretBinary")
    _, description = string_limits("UpdateSecret", "Description")
    v1 = update(ledger, caller, SecretString="s" * most, ClientRequestToken="t" * low,
                Description="d" * description)["VersionId"]
    v2 = update(ledger, caller, SecretBinary=b"\xff" * most_bytes,
                ClientRequestToken="u" * high)["VersionId"]
    assert (v1, v2) == ("t" * low, "u" * high)
    assert value_of(ledger, caller, NAME, VersionId=v1) == "s" * most
    assert value_of(ledger, caller, NAME) == b"\xff" * most_bytes


def test_binary_over_the_model_limit_is_rejected(ledger, caller, v0):
    _, most_bytes = string_limits("UpdateSecret", "SecretBinary")
    with pytest.raises(LedgerError) as caught:
        update(ledger, caller, SecretBinary=b"\0" * (most_bytes + 1))
    assert caught.value.code == "ValidationException"
    assert len(stages(ledger, caller, NAME)) == 1


# ---- one test per UpdateSecret error code ------------------------------------------------

def test_error_invalid_parameter_for_both_string_and_binary(ledger, caller, v0):
    assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "s",
                                     "SecretBinary": b"b"}, "InvalidParameterException")


def test_error_invalid_parameter_for_binary_that_is_not_base64(ledger, caller, v0):
    error = assert_rejected(ledger, caller, {"SecretId": NAME, "SecretBinary": "not*base64!"},
                            "InvalidParameterException")
    assert "not*base64!" not in error.message


def test_base64_text_binary_is_decoded(ledger, caller, v0):
    version = update(ledger, caller, SecretBinary=base64.b64encode(b"footest").decode())
    assert value_of(ledger, caller, NAME, VersionId=version["VersionId"]) == b"footest"


def test_error_invalid_request_for_a_secret_scheduled_for_deletion(ledger, caller, v0):
    ledger.call("DeleteSecret", {"SecretId": NAME}, caller)
    assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "x"},
                    "InvalidRequestException")


def test_error_limit_exceeded_when_no_version_can_be_removed(ledger, caller, v0):
    for i in range(9):
        new_value(ledger, caller, f"v{i}")
    assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "x"},
                    "LimitExceededException")


def test_error_encryption_failure_when_the_secret_key_is_disabled(ledger, caller):
    key = create_key(ledger, caller)
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": FIRST, "KmsKeyId": key.arn},
                caller)
    set_key_state(ledger, caller, key, "Disabled")
    error = assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "x"},
                            "EncryptionFailure")
    assert key.arn in error.message and "Disabled" in error.message


def test_error_encryption_failure_when_the_key_is_pending_deletion(ledger, caller):
    key = create_key(ledger, caller)
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": FIRST, "KmsKeyId": key.arn},
                caller)
    set_key_state(ledger, caller, key, "PendingDeletion")
    error = assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "x"},
                            "EncryptionFailure")
    assert "PendingDeletion" in error.message


def test_error_decryption_failure_when_re_encrypting_from_a_disabled_key(ledger, caller):
    old, new = create_key(ledger, caller), create_key(ledger, caller)
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": FIRST, "KmsKeyId": old.arn},
                caller)
    set_key_state(ledger, caller, old, "Disabled")
    error = assert_rejected(ledger, caller, {"SecretId": NAME, "KmsKeyId": new.arn},
                            "DecryptionFailure")
    assert old.arn in error.message and FIRST not in error.message
    assert ledger.call("DescribeSecret", {"SecretId": NAME}, caller)["KmsKeyId"] == old.arn


def test_error_resource_exists_for_a_used_token_with_another_value(ledger, caller, v0):
    assert_rejected(ledger, caller, {"SecretId": NAME, "SecretString": "changed",
                                     "ClientRequestToken": v0}, "ResourceExistsException")


def test_error_resource_not_found_for_an_unknown_secret(ledger, caller):
    assert_rejected(ledger, caller, {"SecretId": "missing", "Description": "x"},
                    "ResourceNotFoundException", secret_id="missing")
