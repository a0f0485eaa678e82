"""The Secrets Manager operations other than UpdateSecret, through `SecretsLedger.call`."""
from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone

import pytest

from ledger.errors import MARKED_FOR_DELETION, InvalidParameterException, LedgerError
from ledger.shapes import epoch
from tests.grants import deny_key_action
from tests.core.support import (
    api_calls, create_key, event_types, secret_of, set_key_state, stages, token, value_of,
)

NAME = "team/api-key"


def call(ledger, caller, operation: str, **request):
    return ledger.call(operation, request, caller)


def fails(ledger, caller, operation: str, code: str, **request) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        ledger.call(operation, request, caller)
    assert caught.value.code == code, caught.value.message
    return caught.value


def create(ledger, caller, name: str = NAME, value: str | None = "v0", **extra) -> dict:
    request = {"Name": name, **extra}
    if value is not None:
        request["SecretString"] = value
    return ledger.call("CreateSecret", request, caller)


def put(ledger, caller, value: str, stages_: list[str] | None = None, secret_id: str = NAME,
        **extra) -> dict:
    request = {"SecretId": secret_id, "SecretString": value, **extra}
    if stages_ is not None:
        request["VersionStages"] = stages_
    return ledger.call("PutSecretValue", request, caller)


# ---- CreateSecret ------------------------------------------------------------------------

def test_create_with_a_value_makes_one_awscurrent_version_named_by_the_token(ledger, caller):
    version = token()
    response = create(ledger, caller, ClientRequestToken=version)
    assert response == {"ARN": response["ARN"], "Name": NAME, "VersionId": version}
    assert stages(ledger, caller, NAME) == {version: ["AWSCURRENT"]}
    assert value_of(ledger, caller, NAME) == "v0"


def test_create_without_a_value_has_no_version(ledger, caller):
    response = create(ledger, caller, value=None, ClientRequestToken=token())
    assert set(response) == {"ARN", "Name"}
    assert "VersionIdsToStages" not in call(ledger, caller, "DescribeSecret", SecretId=NAME)
    error = fails(ledger, caller, "GetSecretValue", "ResourceNotFoundException", SecretId=NAME)
    assert error.message == ("Secrets Manager can't find the specified secret value for staging "
                             "label: AWSCURRENT")


def test_create_retry_with_same_token_and_value_returns_the_original(ledger, caller):
    version = token()
    first = create(ledger, caller, ClientRequestToken=version)
    before = event_types(ledger, NAME)
    assert create(ledger, caller, ClientRequestToken=version) == first
    assert event_types(ledger, NAME) == before


def test_create_retry_with_same_token_and_another_value_is_resource_exists(ledger, caller):
    version = token()
    arn = create(ledger, caller, ClientRequestToken=version)["ARN"]
    error = fails(ledger, caller, "CreateSecret", "ResourceExistsException", Name=NAME,
                  SecretString="other", ClientRequestToken=version)
    assert error.message == (f"You can't use ClientRequestToken {version} because that value is "
                             f"already in use for a version of secret {arn}.")


def test_create_over_an_active_name_is_resource_exists(ledger, caller):
    create(ledger, caller)
    before = event_types(ledger, NAME)
    error = fails(ledger, caller, "CreateSecret", "ResourceExistsException", Name=NAME,
                  SecretString="v0", ClientRequestToken=token())
    assert error.message == f"The operation failed because the secret {NAME} already exists."
    assert event_types(ledger, NAME) == before


def test_create_over_a_name_scheduled_for_deletion_is_invalid_request(ledger, caller):
    create(ledger, caller)
    call(ledger, caller, "DeleteSecret", SecretId=NAME)
    error = fails(ledger, caller, "CreateSecret", "InvalidRequestException", Name=NAME)
    assert error.message == ("You can't create this secret because a secret with this name is "
                             "already scheduled for deletion.")


def test_name_is_reusable_after_a_forced_delete_with_a_new_arn(ledger, caller):
    old = create(ledger, caller, value="old")
    call(ledger, caller, "DeleteSecret", SecretId=NAME, ForceDeleteWithoutRecovery=True)
    new = create(ledger, caller, value="new")
    assert new["ARN"] != old["ARN"]
    assert new["ARN"][:-6] == old["ARN"][:-6]
    assert value_of(ledger, caller, NAME) == "new"
    assert stages(ledger, caller, NAME) == {new["VersionId"]: ["AWSCURRENT"]}
    fails(ledger, caller, "DescribeSecret", "ResourceNotFoundException", SecretId=old["ARN"])
    assert call(ledger, caller, "DescribeSecret", SecretId=new["ARN"])["ARN"] == new["ARN"]


def test_create_with_an_illegal_name_is_a_validation_error(ledger, caller):
    error = fails(ledger, caller, "CreateSecret", "ValidationException", Name="has space")
    assert error.message == ("Invalid name. Must be a valid name containing alphanumeric "
                             "characters, or any of the following: -/_+=.@!")


@pytest.mark.parametrize("with_value", [True, False])
def test_create_under_a_disabled_key_is_an_encryption_failure(ledger, caller, with_value):
    key = create_key(ledger, caller)
    set_key_state(ledger, caller, key, "Disabled")
    request = {"Name": NAME, "KmsKeyId": key.arn}
    if with_value:
        request["SecretString"] = "v0"
    fails(ledger, caller, "CreateSecret", "EncryptionFailure", **request)
    assert ledger.find_secret(NAME, missing_ok=True) is None


def test_create_naming_the_default_key_creates_it_on_first_use(ledger, caller):
    version = create(ledger, caller, KmsKeyId="alias/aws/secretsmanager")["VersionId"]
    listed = call(ledger, caller, "ListSecretVersionIds", SecretId=NAME)
    assert listed["Versions"][0]["VersionId"] == version
    assert listed["Versions"][0]["KmsKeyIds"] == ["DefaultEncryptionKey"]


def test_create_with_tags_and_description(ledger, caller):
    create(ledger, caller, Description="payments API", Tags=[{"Key": "env", "Value": "prod"}])
    described = call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert described["Description"] == "payments API"
    assert described["Tags"] == [{"Key": "env", "Value": "prod"}]


def test_reserved_tag_prefix_is_invalid_parameter(ledger, caller):
    fails(ledger, caller, "CreateSecret", "InvalidParameterException", Name=NAME,
          Tags=[{"Key": "aws:owner", "Value": "x"}])


# ---- PutSecretValue ----------------------------------------------------------------------

def test_put_without_stages_moves_awscurrent_and_awsprevious(ledger, caller):
    v0 = create(ledger, caller)["VersionId"]
    response = put(ledger, caller, "v1")
    assert response["VersionStages"] == ["AWSCURRENT"]
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"],
                                            response["VersionId"]: ["AWSCURRENT"]}


def test_put_with_stages_moves_only_those_labels(ledger, caller):
    v0 = create(ledger, caller)["VersionId"]
    first = put(ledger, caller, "v1", ["one", "two", "three"])
    second = put(ledger, caller, "v2", ["one", "two", "four"])
    assert first["VersionStages"] == ["one", "two", "three"]
    assert sorted(second["VersionStages"]) == ["four", "one", "two"]
    assert stages(ledger, caller, NAME) == {
        v0: ["AWSCURRENT"], first["VersionId"]: ["three"],
        second["VersionId"]: ["four", "one", "two"]}
    assert value_of(ledger, caller, NAME) == "v0"


def test_put_version_left_bare_becomes_deprecated(ledger, caller):
    create(ledger, caller)
    first = put(ledger, caller, "v1", ["blue"])
    put(ledger, caller, "v2", ["blue"])
    assert stages(ledger, caller, NAME)[first["VersionId"]] == []
    listed = call(ledger, caller, "ListSecretVersionIds", SecretId=NAME)
    assert first["VersionId"] not in [v["VersionId"] for v in listed["Versions"]]


def test_put_with_awscurrent_in_stages_moves_it_with_awsprevious(ledger, caller):
    v0 = create(ledger, caller)["VersionId"]
    response = put(ledger, caller, "v1", ["AWSCURRENT", "green"])
    assert stages(ledger, caller, NAME) == {v0: ["AWSPREVIOUS"],
                                            response["VersionId"]: ["AWSCURRENT", "green"]}


def test_put_keeps_awspending_on_the_new_current_when_it_asks_for_both(ledger, caller):
    v0 = create(ledger, caller)["VersionId"]
    response = put(ledger, caller, "v1", ["AWSCURRENT", "AWSPENDING"])
    assert stages(ledger, caller, NAME) == {
        v0: ["AWSPREVIOUS"], response["VersionId"]: ["AWSCURRENT", "AWSPENDING"]}


def test_first_value_of_an_empty_secret_gets_awscurrent_even_when_not_asked(ledger, caller):
    create(ledger, caller, value=None)
    response = put(ledger, caller, "v1", ["AWSPENDING"])
    assert sorted(response["VersionStages"]) == ["AWSCURRENT", "AWSPENDING"]
    assert value_of(ledger, caller, NAME) == "v1"


def test_put_without_a_value_is_invalid_request(ledger, caller):
    create(ledger, caller)
    error = fails(ledger, caller, "PutSecretValue", "InvalidRequestException", SecretId=NAME)
    assert error.message == "You must provide either SecretString or SecretBinary."


def test_put_retry_with_same_token_and_value_is_a_no_op(ledger, caller):
    create(ledger, caller)
    version = token()
    first = put(ledger, caller, "v1", ClientRequestToken=version)
    put(ledger, caller, "v2")
    before = event_types(ledger, NAME)
    again = put(ledger, caller, "v1", ClientRequestToken=version)
    assert again == {**first, "VersionStages": ["AWSPREVIOUS"]}
    assert event_types(ledger, NAME) == before


def test_put_same_token_other_value_is_resource_exists(ledger, caller):
    v0 = create(ledger, caller)["VersionId"]
    before = event_types(ledger, NAME)
    fails(ledger, caller, "PutSecretValue", "ResourceExistsException", SecretId=NAME,
          SecretString="other", ClientRequestToken=v0)
    assert event_types(ledger, NAME) == before


def test_put_on_a_secret_scheduled_for_deletion_is_invalid_request(ledger, caller):
    create(ledger, caller)
    call(ledger, caller, "DeleteSecret", SecretId=NAME, RecoveryWindowInDays=7)
    error = fails(ledger, caller, "PutSecretValue", "InvalidRequestException", SecretId=NAME,
                  SecretString="x")
    assert error.message == MARKED_FOR_DELETION


# ---- GetSecretValue ----------------------------------------------------------------------

@pytest.fixture
def two_versions(ledger, caller, clock) -> tuple[str, str]:
    v0 = create(ledger, caller, value="zero")["VersionId"]
    clock.advance(minutes=5)
    v1 = put(ledger, caller, "one")["VersionId"]
    return v0, v1


def test_get_without_selector_returns_awscurrent(ledger, caller, clock, two_versions):
    _, v1 = two_versions
    response = call(ledger, caller, "GetSecretValue", SecretId=NAME)
    assert response == {"ARN": secret_of(ledger, NAME).arn, "Name": NAME, "VersionId": v1,
                        "SecretString": "one", "VersionStages": ["AWSCURRENT"],
                        "CreatedDate": epoch(clock.now)}


def test_get_by_stage_by_version_or_both(ledger, caller, clock, two_versions):
    v0, v1 = two_versions
    by_stage = call(ledger, caller, "GetSecretValue", SecretId=NAME, VersionStage="AWSPREVIOUS")
    assert (by_stage["VersionId"], by_stage["SecretString"]) == (v0, "zero")
    assert by_stage["CreatedDate"] == epoch(clock.now - timedelta(minutes=5))
    assert call(ledger, caller, "GetSecretValue", SecretId=NAME, VersionId=v1)["SecretString"] \
        == "one"
    both = call(ledger, caller, "GetSecretValue", SecretId=NAME, VersionId=v0,
                VersionStage="AWSPREVIOUS")
    assert both["SecretString"] == "zero"


def test_get_with_stage_not_on_the_version_is_invalid_request(ledger, caller, two_versions):
    v0, _ = two_versions
    error = fails(ledger, caller, "GetSecretValue", "InvalidRequestException", SecretId=NAME,
                  VersionId=v0, VersionStage="AWSCURRENT")
    assert error.message == ("You provided a VersionStage that is not associated to the "
                             "provided VersionId.")


def test_get_missing_label_version_or_secret_messages(ledger, caller, two_versions):
    error = fails(ledger, caller, "GetSecretValue", "ResourceNotFoundException", SecretId=NAME,
                  VersionStage="AWSPENDING")
    assert error.message == ("Secrets Manager can't find the specified secret value for staging "
                             "label: AWSPENDING")
    missing = "f" * 32
    error = fails(ledger, caller, "GetSecretValue", "ResourceNotFoundException", SecretId=NAME,
                  VersionId=missing)
    assert error.message == ("Secrets Manager can't find the specified secret value for "
                             f"VersionId: {missing}")
    error = fails(ledger, caller, "GetSecretValue", "ResourceNotFoundException",
                  SecretId="team/nothing")
    assert error.message == "Secrets Manager can't find the specified secret."


def test_get_during_the_recovery_window_is_invalid_request(ledger, caller, two_versions):
    call(ledger, caller, "DeleteSecret", SecretId=NAME)
    error = fails(ledger, caller, "GetSecretValue", "InvalidRequestException", SecretId=NAME)
    assert "secret because it was marked for deletion" in error.message


def test_get_under_a_disabled_key_is_a_decryption_failure(ledger, caller):
    key = create_key(ledger, caller)
    create(ledger, caller, KmsKeyId=key.key_id)
    set_key_state(ledger, caller, key, "Disabled")
    error = fails(ledger, caller, "GetSecretValue", "DecryptionFailure", SecretId=NAME)
    assert key.arn in error.message and "Disabled" in error.message
    assert "v0" not in error.message.split()
    set_key_state(ledger, caller, key, "Enabled")
    assert value_of(ledger, caller, NAME) == "v0"


def test_last_accessed_date_is_the_utc_day_of_the_last_read(ledger, caller, clock, two_versions):
    v0, v1 = two_versions
    described = call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert "LastAccessedDate" not in described
    value_of(ledger, caller, NAME)
    midnight = datetime(clock.now.year, clock.now.month, clock.now.day, tzinfo=timezone.utc)
    assert call(ledger, caller, "DescribeSecret", SecretId=NAME)["LastAccessedDate"] == \
        midnight.timestamp()
    versions = {v["VersionId"]: v for v in
                call(ledger, caller, "ListSecretVersionIds", SecretId=NAME)["Versions"]}
    assert versions[v1]["LastAccessedDate"] == midnight.timestamp()
    assert "LastAccessedDate" not in versions[v0]


def test_reads_on_one_day_record_one_access(ledger, caller, clock, two_versions):
    value_of(ledger, caller, NAME)
    clock.advance(hours=1)
    value_of(ledger, caller, NAME)
    assert event_types(ledger, NAME).count("SecretAccessed") == 1
    clock.advance(days=1)
    value_of(ledger, caller, NAME)
    assert event_types(ledger, NAME).count("SecretAccessed") == 2
    described = call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert described["LastAccessedDate"] % 86400 == 0


def test_describe_does_not_count_as_access(ledger, caller, two_versions):
    call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert "SecretAccessed" not in event_types(ledger, NAME)


# ---- BatchGetSecretValue -----------------------------------------------------------------

def test_batch_by_ids_returns_values_and_per_secret_errors(ledger, caller):
    a = create(ledger, caller, "batch/a", "alpha")
    b = create(ledger, caller, "batch/b", "beta")
    create(ledger, caller, "batch/gone", "gamma")
    call(ledger, caller, "DeleteSecret", SecretId="batch/gone")
    response = call(ledger, caller, "BatchGetSecretValue",
                    SecretIdList=["batch/a", b["ARN"], "batch/missing", "batch/gone"])
    values = {v["Name"]: (v["SecretString"], v["VersionId"], v["VersionStages"])
              for v in response["SecretValues"]}
    assert values == {"batch/a": ("alpha", a["VersionId"], ["AWSCURRENT"]),
                      "batch/b": ("beta", b["VersionId"], ["AWSCURRENT"])}
    errors = {e["SecretId"]: (e["ErrorCode"], e["Message"]) for e in response["Errors"]}
    assert errors == {
        "batch/missing": ("ResourceNotFoundException",
                          "Secrets Manager can't find the specified secret."),
        "batch/gone": ("InvalidRequestException", MARKED_FOR_DELETION)}


def test_batch_records_one_get_secret_value_per_secret_read(ledger, caller):
    a = create(ledger, caller, "batch/a", "alpha")
    b = create(ledger, caller, "batch/b", "beta")
    before = len(api_calls(ledger))
    call(ledger, caller, "BatchGetSecretValue", SecretIdList=["batch/a", "batch/b", "batch/x"])
    records = api_calls(ledger)[before:]
    operations = sorted((r.context["operation"], tuple(r.resources)) for r in records)
    assert operations == sorted([("BatchGetSecretValue", (a["ARN"], b["ARN"])),
                                 ("GetSecretValue", (a["ARN"],)),
                                 ("GetSecretValue", (b["ARN"],))])
    assert all(r.response is None for r in records)


def test_batch_naming_one_secret_twice_reads_it_once_per_name(ledger, caller):
    arn = create(ledger, caller, "batch/a", "alpha")["ARN"]
    response = call(ledger, caller, "BatchGetSecretValue", SecretIdList=["batch/a", arn])
    assert [v["SecretString"] for v in response["SecretValues"]] == ["alpha", "alpha"]
    assert response["Errors"] == []
    assert event_types(ledger, "batch/a").count("SecretAccessed") == 1


def test_batch_by_filters_with_paging(ledger, caller):
    for name in ("svc/a", "svc/b", "svc/c", "other/d"):
        create(ledger, caller, name, name.upper())
    first = call(ledger, caller, "BatchGetSecretValue",
                 Filters=[{"Key": "name", "Values": ["svc/"]}], MaxResults=2)
    assert len(first["SecretValues"]) == 2 and "NextToken" in first
    rest = call(ledger, caller, "BatchGetSecretValue",
                Filters=[{"Key": "name", "Values": ["svc/"]}], MaxResults=2,
                NextToken=first["NextToken"])
    names = [v["Name"] for v in first["SecretValues"] + rest["SecretValues"]]
    assert sorted(names) == ["svc/a", "svc/b", "svc/c"]
    assert "NextToken" not in rest


def test_batch_needs_exactly_one_of_ids_or_filters(ledger, caller):
    create(ledger, caller)
    fails(ledger, caller, "BatchGetSecretValue", "InvalidParameterException")
    fails(ledger, caller, "BatchGetSecretValue", "InvalidParameterException",
          SecretIdList=[NAME], Filters=[{"Key": "name", "Values": ["x"]}])
    fails(ledger, caller, "BatchGetSecretValue", "InvalidParameterException",
          SecretIdList=[NAME], MaxResults=5)


# ---- DescribeSecret ----------------------------------------------------------------------

def test_describe_shows_metadata_and_never_the_value(ledger, caller, clock):
    v0 = create(ledger, caller, value="do-not-show", Description="d")["VersionId"]
    described = call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert described == {"ARN": secret_of(ledger, NAME).arn, "Name": NAME, "Description": "d",
                         "LastChangedDate": epoch(clock.now),
                         "VersionIdsToStages": {v0: ["AWSCURRENT"]},
                         "CreatedDate": epoch(clock.now)}
    assert "do-not-show" not in repr(described)


def test_describe_works_in_the_recovery_window_and_shows_the_deleted_date(ledger, caller, clock):
    create(ledger, caller)
    requested = clock.now
    response = call(ledger, caller, "DeleteSecret", SecretId=NAME, RecoveryWindowInDays=10)
    assert response["DeletionDate"] == epoch(requested + timedelta(days=10))
    clock.advance(days=2)
    described = call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert described["DeletedDate"] == epoch(requested)


def test_describe_tags_absent_until_tagged_then_empty_after_untagging(ledger, caller):
    create(ledger, caller)
    assert "Tags" not in call(ledger, caller, "DescribeSecret", SecretId=NAME)
    call(ledger, caller, "TagResource", SecretId=NAME, Tags=[{"Key": "env", "Value": "dev"}])
    call(ledger, caller, "UntagResource", SecretId=NAME, TagKeys=["env"])
    assert call(ledger, caller, "DescribeSecret", SecretId=NAME)["Tags"] == []


def test_describe_hides_deprecated_versions(ledger, caller):
    v0 = create(ledger, caller)["VersionId"]
    v1 = put(ledger, caller, "v1")["VersionId"]
    v2 = put(ledger, caller, "v2")["VersionId"]
    described = call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert described["VersionIdsToStages"] == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert v0 in stages(ledger, caller, NAME)


def test_describe_shows_a_customer_key_but_not_the_default_one(ledger, caller):
    create(ledger, caller)
    assert "KmsKeyId" not in call(ledger, caller, "DescribeSecret", SecretId=NAME)
    create_key(ledger, caller, alias="alias/team")
    call(ledger, caller, "UpdateSecret", SecretId=NAME, KmsKeyId="alias/team")
    assert call(ledger, caller, "DescribeSecret", SecretId=NAME)["KmsKeyId"] == "alias/team"


# ---- ListSecretVersionIds ----------------------------------------------------------------

def test_list_versions_hides_deprecated_unless_asked(ledger, caller, clock):
    v0 = create(ledger, caller)["VersionId"]
    clock.advance(minutes=1)
    v1 = put(ledger, caller, "v1")["VersionId"]
    clock.advance(minutes=1)
    v2 = put(ledger, caller, "v2")["VersionId"]
    listed = call(ledger, caller, "ListSecretVersionIds", SecretId=NAME)
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    assert (listed["ARN"], listed["Name"]) == (secret_of(ledger, NAME).arn, NAME)
    full = call(ledger, caller, "ListSecretVersionIds", SecretId=NAME, IncludeDeprecated=True)
    deprecated = [v for v in full["Versions"] if v["VersionId"] == v0]
    assert deprecated == [{"VersionId": v0, "CreatedDate": epoch(clock.now - timedelta(minutes=2)),
                           "KmsKeyIds": ["DefaultEncryptionKey"]}]


def test_list_versions_names_the_default_key_and_customer_keys(ledger, caller):
    v0 = create(ledger, caller)["VersionId"]
    key = create_key(ledger, caller)
    deny_key_action(ledger, "user/alice", "kms:Encrypt", key.arn)
    call(ledger, caller, "UpdateSecret", SecretId=NAME, KmsKeyId=key.key_id)
    v1 = put(ledger, caller, "v1")["VersionId"]
    listed = call(ledger, caller, "ListSecretVersionIds", SecretId=NAME)
    assert {v["VersionId"]: v["KmsKeyIds"] for v in listed["Versions"]} == {
        v0: ["DefaultEncryptionKey"], v1: [key.arn]}


def test_list_versions_pages(ledger, caller, clock):
    create(ledger, caller)
    put(ledger, caller, "x", ["a"])
    put(ledger, caller, "y", ["b"])
    first = call(ledger, caller, "ListSecretVersionIds", SecretId=NAME, MaxResults=2)
    second = call(ledger, caller, "ListSecretVersionIds", SecretId=NAME, MaxResults=2,
                  NextToken=first["NextToken"])
    ids = [v["VersionId"] for v in first["Versions"] + second["Versions"]]
    assert len(ids) == len(set(ids)) == 3
    assert "NextToken" not in second
    fails(ledger, caller, "ListSecretVersionIds", "InvalidNextTokenException", SecretId=NAME,
          NextToken="bm90IGEgdG9rZW4=")


# ---- UpdateSecretVersionStage ------------------------------------------------------------

def move_stage(ledger, caller, label: str, **request):
    return ledger.call("UpdateSecretVersionStage",
                       {"SecretId": NAME, "VersionStage": label, **request}, caller)


@pytest.fixture
def three(ledger, caller) -> tuple[str, str, str]:
    """v0 deprecated-to-be, v1 AWSPREVIOUS, v2 AWSCURRENT."""
    v0 = create(ledger, caller)["VersionId"]
    v1 = put(ledger, caller, "v1")["VersionId"]
    v2 = put(ledger, caller, "v2")["VersionId"]
    return v0, v1, v2


def test_stage_move_only_attaches_a_free_label(ledger, caller, three):
    v0, v1, v2 = three
    response = move_stage(ledger, caller, "blue", MoveToVersionId=v0)
    assert response == {"ARN": secret_of(ledger, NAME).arn, "Name": NAME}
    assert stages(ledger, caller, NAME)[v0] == ["blue"]


def test_stage_move_only_of_a_held_label_is_invalid_parameter(ledger, caller, three):
    v0, v1, v2 = three
    before = event_types(ledger, NAME)
    error = fails(ledger, caller, "UpdateSecretVersionStage", "InvalidParameterException",
                  SecretId=NAME, VersionStage="AWSCURRENT", MoveToVersionId=v0)
    assert v2 in error.message and "RemoveFromVersionId" in error.message
    assert event_types(ledger, NAME) == before


def test_stage_remove_only_detaches_and_may_deprecate(ledger, caller, three):
    v0, v1, v2 = three
    move_stage(ledger, caller, "AWSPREVIOUS", RemoveFromVersionId=v1)
    assert stages(ledger, caller, NAME) == {v0: [], v1: [], v2: ["AWSCURRENT"]}


def test_stage_move_from_to_keeps_the_targets_other_labels(ledger, caller, three):
    v0, v1, v2 = three
    move_stage(ledger, caller, "blue", MoveToVersionId=v0)
    move_stage(ledger, caller, "green", MoveToVersionId=v2)
    move_stage(ledger, caller, "green", RemoveFromVersionId=v2, MoveToVersionId=v0)
    assert stages(ledger, caller, NAME) == {v0: ["blue", "green"], v1: ["AWSPREVIOUS"],
                                            v2: ["AWSCURRENT"]}


def test_moving_awscurrent_gives_awsprevious_to_the_version_it_left(ledger, caller, three):
    v0, v1, v2 = three
    move_stage(ledger, caller, "AWSCURRENT", RemoveFromVersionId=v2, MoveToVersionId=v0)
    assert stages(ledger, caller, NAME) == {v0: ["AWSCURRENT"], v1: [], v2: ["AWSPREVIOUS"]}


def test_moving_awscurrent_back_to_awsprevious_swaps_them(ledger, caller, three):
    v0, v1, v2 = three
    move_stage(ledger, caller, "AWSCURRENT", RemoveFromVersionId=v2, MoveToVersionId=v1)
    assert stages(ledger, caller, NAME) == {v0: [], v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    assert value_of(ledger, caller, NAME) == "v1"


def test_moving_awscurrent_onto_itself_changes_nothing(ledger, caller, three):
    v0, v1, v2 = three
    before = event_types(ledger, NAME)
    move_stage(ledger, caller, "AWSCURRENT", RemoveFromVersionId=v2, MoveToVersionId=v2)
    assert event_types(ledger, NAME) == before


def test_removing_awscurrent_without_a_destination_is_invalid_parameter(ledger, caller, three):
    """Decision ([?] in the spec): AWSCURRENT may only move, so a secret keeps a current value."""
    v0, v1, v2 = three
    fails(ledger, caller, "UpdateSecretVersionStage", "InvalidParameterException",
          SecretId=NAME, VersionStage="AWSCURRENT", RemoveFromVersionId=v2)
    assert stages(ledger, caller, NAME)[v2] == ["AWSCURRENT"]


def test_stage_remove_from_a_version_without_it_is_invalid_parameter(ledger, caller, three):
    v0, v1, v2 = three
    error = fails(ledger, caller, "UpdateSecretVersionStage", "InvalidParameterException",
                  SecretId=NAME, VersionStage="AWSPREVIOUS", RemoveFromVersionId=v0)
    assert error.message == f"Version stage AWSPREVIOUS not found in version {v0}."


def test_stage_with_an_unknown_version_is_invalid_parameter(ledger, caller, three):
    missing = "0" * 32
    error = fails(ledger, caller, "UpdateSecretVersionStage", "InvalidParameterException",
                  SecretId=NAME, VersionStage="blue", MoveToVersionId=missing)
    assert error.message == f"Not a valid version: {missing}"


def test_twenty_labels_per_secret_then_limit_exceeded(ledger, caller, three):
    v0, v1, v2 = three
    for i in range(18):  # AWSCURRENT + AWSPREVIOUS + 18 = 20
        move_stage(ledger, caller, f"label-{i}", MoveToVersionId=v0 if i % 2 else v1)
    before = event_types(ledger, NAME)
    fails(ledger, caller, "UpdateSecretVersionStage", "LimitExceededException", SecretId=NAME,
          VersionStage="one-too-many", MoveToVersionId=v2)
    fails(ledger, caller, "PutSecretValue", "LimitExceededException", SecretId=NAME,
          SecretString="x", VersionStages=["another"])
    assert event_types(ledger, NAME) == before
    move_stage(ledger, caller, "label-0", RemoveFromVersionId=v1, MoveToVersionId=v2)  # a move


def test_stage_update_on_a_secret_scheduled_for_deletion_is_invalid_request(ledger, caller,
                                                                            three):
    v0, v1, v2 = three
    call(ledger, caller, "DeleteSecret", SecretId=NAME)
    fails(ledger, caller, "UpdateSecretVersionStage", "InvalidRequestException", SecretId=NAME,
          VersionStage="blue", MoveToVersionId=v0)


# ---- DeleteSecret / RestoreSecret --------------------------------------------------------

@pytest.mark.parametrize("days", [7, 30])
def test_delete_with_a_window_of_7_to_30_days(ledger, caller, clock, days):
    create(ledger, caller)
    response = call(ledger, caller, "DeleteSecret", SecretId=NAME, RecoveryWindowInDays=days)
    assert response == {"ARN": secret_of(ledger, NAME).arn, "Name": NAME,
                        "DeletionDate": epoch(clock.now + timedelta(days=days))}


def test_delete_defaults_to_a_30_day_window(ledger, caller, clock):
    create(ledger, caller)
    response = call(ledger, caller, "DeleteSecret", SecretId=NAME)
    assert response["DeletionDate"] == epoch(clock.now + timedelta(days=30))


@pytest.mark.parametrize("days", [6, 31])
def test_delete_window_outside_7_to_30_is_invalid_parameter(ledger, caller, days):
    create(ledger, caller)
    fails(ledger, caller, "DeleteSecret", "InvalidParameterException", SecretId=NAME,
          RecoveryWindowInDays=days)
    assert "DeletedDate" not in call(ledger, caller, "DescribeSecret", SecretId=NAME)


def test_delete_with_both_window_and_force_is_invalid_parameter(ledger, caller):
    create(ledger, caller)
    fails(ledger, caller, "DeleteSecret", "InvalidParameterException", SecretId=NAME,
          RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert value_of(ledger, caller, NAME) == "v0"


def test_forced_delete_ends_the_secret_and_destroys_its_data_keys(ledger, caller, clock):
    create(ledger, caller)
    put(ledger, caller, "v1")
    secret = secret_of(ledger, NAME)
    assert ledger.key_store.data_key(secret.id.hex, secret.labels["AWSCURRENT"]) is not None
    response = call(ledger, caller, "DeleteSecret", SecretId=NAME, ForceDeleteWithoutRecovery=True)
    assert response["DeletionDate"] == epoch(clock.now)
    for version_id in secret.versions:
        assert ledger.key_store.data_key(secret.id.hex, version_id) is None
    fails(ledger, caller, "GetSecretValue", "ResourceNotFoundException", SecretId=NAME)
    fails(ledger, caller, "DescribeSecret", "ResourceNotFoundException", SecretId=secret.arn)


def test_forced_delete_of_an_unknown_secret_succeeds(ledger, caller, clock):
    clock.advance(seconds=0.123456)
    response = call(ledger, caller, "DeleteSecret", SecretId="never/was",
                    ForceDeleteWithoutRecovery=True)
    assert response == {"Name": "never/was", "DeletionDate": epoch(clock.now)}
    assert api_calls(ledger)[-1].error_code is None


def test_delete_of_an_unknown_secret_is_resource_not_found(ledger, caller):
    fails(ledger, caller, "DeleteSecret", "ResourceNotFoundException", SecretId="never/was")


def test_delete_again_in_the_window_is_invalid_request_but_forced_delete_works(ledger, caller):
    create(ledger, caller)
    call(ledger, caller, "DeleteSecret", SecretId=NAME)
    fails(ledger, caller, "DeleteSecret", "InvalidRequestException", SecretId=NAME)
    call(ledger, caller, "DeleteSecret", SecretId=NAME, ForceDeleteWithoutRecovery=True)
    fails(ledger, caller, "DescribeSecret", "ResourceNotFoundException", SecretId=NAME)
    create(ledger, caller, value="again")
    assert value_of(ledger, caller, NAME) == "again"


def test_restore_makes_the_secret_usable_again(ledger, caller):
    create(ledger, caller)
    call(ledger, caller, "DeleteSecret", SecretId=NAME)
    response = call(ledger, caller, "RestoreSecret", SecretId=NAME)
    assert response == {"ARN": secret_of(ledger, NAME).arn, "Name": NAME}
    assert "DeletedDate" not in call(ledger, caller, "DescribeSecret", SecretId=NAME)
    assert value_of(ledger, caller, NAME) == "v0"
    put(ledger, caller, "v1")
    assert event_types(ledger, NAME).count("DeletionCancelled") == 1


def test_restore_of_an_unknown_secret_is_resource_not_found(ledger, caller):
    fails(ledger, caller, "RestoreSecret", "ResourceNotFoundException", SecretId="never/was")


def test_purge_after_the_window_frees_the_name(ledger, caller, clock):
    arn = create(ledger, caller)["ARN"]
    secret = secret_of(ledger, NAME)
    version = secret.labels["AWSCURRENT"]
    call(ledger, caller, "DeleteSecret", SecretId=NAME, RecoveryWindowInDays=7)
    clock.advance(days=6, hours=23)
    assert ledger.purge_expired() == []
    fails(ledger, caller, "CreateSecret", "InvalidRequestException", Name=NAME)
    clock.advance(hours=1)
    assert ledger.key_store.data_key(secret.id.hex, version) is not None
    assert ledger.purge_expired() == [arn]
    assert ledger.key_store.data_key(secret.id.hex, version) is None
    fails(ledger, caller, "DescribeSecret", "ResourceNotFoundException", SecretId=arn)
    assert create(ledger, caller, value="new")["ARN"] != arn
    assert ledger.purge_expired() == []
    service = api_calls(ledger)[-3]
    assert (service.event_type, service.resources) == ("AwsServiceEvent", [arn])


# ---- ListSecrets -------------------------------------------------------------------------

@pytest.fixture
def catalogue(ledger, caller, clock) -> list[str]:
    names = ["prod/db", "prod/api", "dev/db", "dev/cache"]
    for i, name in enumerate(names):
        clock.advance(minutes=1)
        create(ledger, caller, name, f"value-{i}", Description=f"{name} credentials",
               Tags=[{"Key": "env", "Value": name.split("/")[0]}])
    return names


def listed(ledger, caller, **request) -> list[str]:
    return [e["Name"] for e in call(ledger, caller, "ListSecrets", **request)["SecretList"]]


def test_list_defaults_to_creation_order_and_names_the_versions_map(ledger, caller, catalogue):
    response = call(ledger, caller, "ListSecrets")
    assert [e["Name"] for e in response["SecretList"]] == catalogue
    entry = response["SecretList"][0]
    assert "SecretVersionsToStages" in entry and "VersionIdsToStages" not in entry
    assert "value-0" not in repr(response)


def test_list_filters(ledger, caller, catalogue):
    assert listed(ledger, caller, Filters=[{"Key": "name", "Values": ["prod/"]}]) == \
        ["prod/db", "prod/api"]
    assert listed(ledger, caller, Filters=[{"Key": "tag-value", "Values": ["dev"]}]) == \
        ["dev/db", "dev/cache"]
    assert listed(ledger, caller, Filters=[{"Key": "name", "Values": ["!prod"]}]) == \
        ["dev/db", "dev/cache"]
    assert listed(ledger, caller, Filters=[{"Key": "description", "Values": ["DEV/C"]}]) == \
        ["dev/cache"]
    assert listed(ledger, caller, Filters=[{"Key": "all", "Values": ["db"]}]) == \
        ["prod/db", "dev/db"]


def test_list_sorts(ledger, caller, catalogue):
    assert listed(ledger, caller, SortBy="name", SortOrder="asc") == sorted(catalogue)
    assert listed(ledger, caller, SortBy="created-date", SortOrder="desc") == catalogue[::-1]


def test_list_pages_through_everything_once(ledger, caller, catalogue):
    first = call(ledger, caller, "ListSecrets", MaxResults=3)
    second = call(ledger, caller, "ListSecrets", MaxResults=3, NextToken=first["NextToken"])
    assert [e["Name"] for e in first["SecretList"] + second["SecretList"]] == catalogue
    assert "NextToken" not in second
    fails(ledger, caller, "ListSecrets", "InvalidNextTokenException", MaxResults=3,
          SortBy="name", NextToken=first["NextToken"])


def test_list_hides_scheduled_secrets_unless_asked(ledger, caller, catalogue):
    call(ledger, caller, "DeleteSecret", SecretId="dev/db")
    assert "dev/db" not in listed(ledger, caller)
    entries = call(ledger, caller, "ListSecrets", IncludePlannedDeletion=True)["SecretList"]
    deleted = [e for e in entries if e["Name"] == "dev/db"]
    assert len(deleted) == 1 and "DeletedDate" in deleted[0]
    call(ledger, caller, "DeleteSecret", SecretId="dev/cache", ForceDeleteWithoutRecovery=True)
    assert "dev/cache" not in listed(ledger, caller, IncludePlannedDeletion=True)


# ---- TagResource / UntagResource ---------------------------------------------------------

def test_tag_merges_and_untag_ignores_absent_keys(ledger, caller):
    create(ledger, caller, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "a"}])
    assert call(ledger, caller, "TagResource", SecretId=NAME,
                Tags=[{"Key": "env", "Value": "prod"}, {"Key": "Cost", "Value": "x"}]) == {}
    tags = {t["Key"]: t["Value"] for t in call(ledger, caller, "DescribeSecret",
                                                SecretId=NAME)["Tags"]}
    assert tags == {"env": "prod", "team": "a", "Cost": "x"}
    assert call(ledger, caller, "UntagResource", SecretId=NAME, TagKeys=["team", "nope"]) == {}
    tags = {t["Key"]: t["Value"] for t in call(ledger, caller, "DescribeSecret",
                                                SecretId=NAME)["Tags"]}
    assert tags == {"env": "prod", "Cost": "x"}


def test_a_tag_key_differing_only_in_case_from_another_is_refused(ledger, caller):
    """Policies read `aws:ResourceTag/env` without regard to case (README decisions)."""
    create(ledger, caller, Tags=[{"Key": "env", "Value": "dev"}])
    for tags in ([{"Key": "Env", "Value": "x"}],
                 [{"Key": "cost", "Value": "a"}, {"Key": "COST", "Value": "b"}]):
        with pytest.raises(InvalidParameterException, match="differs only in case"):
            call(ledger, caller, "TagResource", SecretId=NAME, Tags=tags)
    assert call(ledger, caller, "DescribeSecret", SecretId=NAME)["Tags"] == [
        {"Key": "env", "Value": "dev"}]


def test_tagging_in_the_recovery_window_is_invalid_request(ledger, caller):
    create(ledger, caller)
    call(ledger, caller, "DeleteSecret", SecretId=NAME)
    for operation, request in (("TagResource", {"Tags": [{"Key": "k", "Value": "v"}]}),
                               ("UntagResource", {"TagKeys": ["k"]})):
        error = fails(ledger, caller, operation, "InvalidRequestException", SecretId=NAME,
                      **request)
        assert error.message == MARKED_FOR_DELETION


def test_more_than_fifty_tags_is_invalid_parameter(ledger, caller):
    create(ledger, caller, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    fails(ledger, caller, "TagResource", "InvalidParameterException", SecretId=NAME,
          Tags=[{"Key": "k50", "Value": "v"}])
    call(ledger, caller, "TagResource", SecretId=NAME, Tags=[{"Key": "k0", "Value": "new"}])


def test_tagging_an_unknown_secret_is_resource_not_found(ledger, caller):
    fails(ledger, caller, "TagResource", "ResourceNotFoundException", SecretId="none",
          Tags=[{"Key": "k", "Value": "v"}])


# ---- GetRandomPassword -------------------------------------------------------------------

def test_random_password_defaults_to_32_characters_of_every_class(ledger, caller):
    password = call(ledger, caller, "GetRandomPassword")["RandomPassword"]
    assert len(password) == 32
    for cls in (string.ascii_lowercase, string.ascii_uppercase, string.digits,
                string.punctuation):
        assert any(c in cls for c in password)


def test_random_password_honours_length_and_exclusions(ledger, caller):
    password = call(ledger, caller, "GetRandomPassword", PasswordLength=64,
                    ExcludePunctuation=True, ExcludeCharacters="abc")
    assert len(password["RandomPassword"]) == 64
    assert not set(password["RandomPassword"]) & set(string.punctuation + "abc")


def test_random_password_is_never_recorded(ledger, caller):
    password = call(ledger, caller, "GetRandomPassword", PasswordLength=40)["RandomPassword"]
    record = api_calls(ledger)[-1]
    assert record.context["operation"] == "GetRandomPassword"
    assert record.response is None and password not in repr(record.__dict__)


def test_random_password_length_limit_comes_from_the_model(ledger, caller):
    fails(ledger, caller, "GetRandomPassword", "ValidationException", PasswordLength=4097)
    fails(ledger, caller, "GetRandomPassword", "ValidationException", PasswordLength=0)


# ---- SecretId forms on every operation ---------------------------------------------------

READS_AND_WRITES = [
    ("DescribeSecret", {}), ("GetSecretValue", {}), ("ListSecretVersionIds", {}),
    ("TagResource", {"Tags": [{"Key": "k", "Value": "v"}]}), ("UntagResource", {"TagKeys": ["k"]}),
    ("PutSecretValue", {"SecretString": "x"}), ("UpdateSecret", {"Description": "d"}),
]


@pytest.mark.parametrize(("operation", "extra"), READS_AND_WRITES)
def test_every_operation_finds_a_secret_by_name_full_or_partial_arn(ledger, caller, operation,
                                                                   extra):
    arn = create(ledger, caller)["ARN"]
    for secret_id in (NAME, arn, arn[:-7]):
        ledger.call(operation, {"SecretId": secret_id, **extra}, caller)


@pytest.mark.parametrize(("operation", "extra"), READS_AND_WRITES)
def test_no_operation_resolves_a_partial_arn_of_a_name_ending_like_a_suffix(ledger, caller,
                                                                           operation, extra):
    name = "svc/token-Ab12Cd"
    arn = create(ledger, caller, name)["ARN"]
    ledger.call(operation, {"SecretId": arn, **extra}, caller)
    error = fails(ledger, caller, operation, "ResourceNotFoundException", SecretId=arn[:-7],
                  **extra)
    assert error.message == "Secrets Manager can't find the specified secret."
