"""Shape validation against botocore's Secrets Manager model, and the model accessors."""
from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.model import ShapeResolver

from ledger import servicemodel, validation
from ledger.errors import ValidationException
from ledger.servicemodel import (
    input_shape, is_sensitive, operation_names, output_shape, sensitive_members, string_limits,
)
from ledger.validation import validate_request

ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
TOKEN = "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1"

MINIMAL: dict[str, dict[str, Any]] = {
    "AssociateCrossAccountReplica": {"SecretId": "app/db", "CrossAccountReplicaARN": ARN},
    "BatchGetSecretValue": {},
    "CancelRotateSecret": {"SecretId": "app/db"},
    "CreateSecret": {"Name": "app/db"},
    "DeleteResourcePolicy": {"SecretId": "app/db"},
    "DeleteSecret": {"SecretId": "app/db"},
    "DescribeSecret": {"SecretId": "app/db"},
    "DisassociateCrossAccountReplica": {"SecretId": "app/db", "CrossAccountReplicaARN": ARN},
    "GetRandomPassword": {},
    "GetResourcePolicy": {"SecretId": "app/db"},
    "GetSecretValue": {"SecretId": ARN},
    "ListResourcePolicies": {"SecretId": "app/db"},
    "ListSecretVersionIds": {"SecretId": "app/db"},
    "ListSecrets": {},
    "PutResourcePolicy": {"SecretId": "app/db", "ResourcePolicy": "{}"},
    "PutSecretValue": {"SecretId": "app/db"},
    "RemoveRegionsFromReplication": {"SecretId": "app/db", "RemoveReplicaRegions": ["eu-west-1"]},
    "ReplicateSecretToRegions": {
        "SecretId": "app/db", "AddReplicaRegions": [{"Region": "eu-west-1"}],
    },
    "RestoreSecret": {"SecretId": "app/db"},
    "RotateSecret": {"SecretId": "app/db"},
    "StopReplicationToReplica": {"SecretId": "app/db"},
    "TagResource": {"SecretId": "app/db", "Tags": []},
    "UntagResource": {"SecretId": "app/db", "TagKeys": []},
    "UpdateSecret": {"SecretId": "app/db"},
    "UpdateSecretVersionStage": {"SecretId": "app/db", "VersionStage": "AWSCURRENT"},
    "ValidateResourcePolicy": {"ResourcePolicy": "{}"},
}


def error_of(operation: str, params: dict[str, Any]) -> ValidationException:
    with pytest.raises(ValidationException) as info:
        validate_request(operation, params)
    assert info.value.code == "ValidationException"
    return info.value


# --- service model accessors -------------------------------------------------------------

def test_operation_names_cover_the_core_api() -> None:
    names = operation_names()
    for op in ("CreateSecret", "GetSecretValue", "PutSecretValue", "DeleteSecret", "ListSecrets"):
        assert op in names


def test_shapes_come_from_the_model() -> None:
    assert "SecretString" in input_shape("CreateSecret").members
    assert "ARN" in output_shape("CreateSecret").members
    assert output_shape("TagResource") is None


def test_unknown_operation_raises_value_error() -> None:
    with pytest.raises(ValueError):
        input_shape("CreateSecrets")
    with pytest.raises(ValueError):
        validate_request("NoSuchOperation", {})


def test_sensitive_members_include_secret_string_and_binary() -> None:
    for op in ("CreateSecret", "UpdateSecret", "PutSecretValue"):
        assert {"SecretString", "SecretBinary"} <= sensitive_members(op)
    assert sensitive_members("PutSecretValue") == {"SecretString", "SecretBinary", "RotationToken"}
    assert sensitive_members("DescribeSecret") == frozenset()


def test_is_sensitive_looks_inside_nested_shapes() -> None:
    assert is_sensitive(input_shape("CreateSecret"))
    assert is_sensitive(output_shape("BatchGetSecretValue"))  # SecretValues[].SecretString
    assert not is_sensitive(input_shape("DescribeSecret"))


def test_string_limits_are_read_from_the_model() -> None:
    assert string_limits("CreateSecret", "ClientRequestToken") == (32, 64)
    assert string_limits("CreateSecret", "Description") == (None, 2048)
    assert string_limits("CreateSecret", "SecretBinary") == (1, 65536)


def test_string_limits_reject_unknown_or_unsized_members() -> None:
    with pytest.raises(ValueError):
        string_limits("CreateSecret", "Nope")
    with pytest.raises(ValueError):
        string_limits("DeleteSecret", "RecoveryWindowInDays")


# --- valid requests ----------------------------------------------------------------------

def test_minimal_requests_cover_every_operation() -> None:
    assert set(MINIMAL) == set(operation_names())


@pytest.mark.parametrize("operation", sorted(MINIMAL))
def test_valid_request_passes(operation: str) -> None:
    validate_request(operation, MINIMAL[operation])


def test_fully_populated_requests_pass() -> None:
    lo, hi = string_limits("CreateSecret", "ClientRequestToken")
    validate_request("CreateSecret", {
        "Name": "app/db", "ClientRequestToken": "a" * lo, "Description": "d" * 2048,
        "KmsKeyId": "alias/app", "SecretString": "x" * 65536, "Type": "",
        "Tags": [{"Key": "env", "Value": ""}], "ForceOverwriteReplicaSecret": False,
        "AddReplicaRegions": [{"Region": "us-west-2", "KmsKeyId": "alias/r"}],
    })
    validate_request("PutSecretValue", {
        "SecretId": ARN, "ClientRequestToken": "b" * hi, "SecretBinary": b"\x00\xff",
        "VersionStages": ["AWSCURRENT", "custom"], "RotationToken": TOKEN,
    })
    validate_request("RotateSecret", {
        "SecretId": "app/db", "RotateImmediately": True, "RotationLambdaARN": "",
        "RotationRules": {"AutomaticallyAfterDays": 30, "Duration": "3h",
                          "ScheduleExpression": "rate(10 days)"},
    })
    validate_request("ListSecrets", {
        "MaxResults": 100, "SortOrder": "desc", "SortBy": "name", "IncludePlannedDeletion": True,
        "Filters": [{"Key": "tag-key", "Values": ["!env", "a b:c/d"]}],
    })


def test_unknown_members_are_ignored() -> None:
    validate_request("DescribeSecret", {"SecretId": "app/db", "Bogus": {"x": 1}})
    validate_request("TagResource", {"SecretId": "s", "Tags": [{"Key": "k", "Extra": 5}]})


def test_null_optional_member_is_treated_as_absent() -> None:
    validate_request("GetSecretValue", {"SecretId": "s", "VersionId": None})


# --- required members --------------------------------------------------------------------

def test_missing_required_member_names_it_in_camel_case() -> None:
    exc = error_of("DescribeSecret", {})
    assert exc.message == ("1 validation error detected: Value null at 'secretId' "
                           "failed to satisfy constraint: Member must not be null")


def test_null_required_member_counts_as_missing() -> None:
    exc = error_of("PutResourcePolicy", {"SecretId": "s", "ResourcePolicy": None})
    assert "Value null at 'resourcePolicy'" in exc.message


def test_every_missing_required_member_is_reported() -> None:
    exc = error_of("AssociateCrossAccountReplica", {})
    assert exc.message.startswith("2 validation errors detected: ")
    assert "'secretId'" in exc.message and "'crossAccountReplicaARN'" in exc.message


# --- lengths, ranges, patterns, enums ----------------------------------------------------

def test_token_shorter_than_model_minimum_is_rejected() -> None:
    lo, _ = string_limits("PutSecretValue", "ClientRequestToken")
    token = "t" * (lo - 1)
    exc = error_of("PutSecretValue", {"SecretId": "s", "ClientRequestToken": token})
    assert exc.message == (
        f"1 validation error detected: Value '{token}' at 'clientRequestToken' failed to "
        f"satisfy constraint: Member must have length greater than or equal to {lo}")


def test_token_longer_than_model_maximum_is_rejected() -> None:
    _, hi = string_limits("UpdateSecret", "ClientRequestToken")
    exc = error_of("UpdateSecret", {"SecretId": "s", "ClientRequestToken": "t" * (hi + 1)})
    assert exc.message.endswith(f"Member must have length less than or equal to {hi}")


def test_too_long_description() -> None:
    _, hi = string_limits("CreateSecret", "Description")
    exc = error_of("CreateSecret", {"Name": "n", "Description": "d" * (hi + 1)})
    assert "at 'description' failed to satisfy constraint: " in exc.message
    assert exc.message.endswith(f"Member must have length less than or equal to {hi}")


def test_long_echoed_value_is_truncated() -> None:
    exc = error_of("CreateSecret", {"Name": "n", "Description": "d" * 5000})
    assert f"Value '{'d' * validation.MAX_ECHO}...' at 'description'" in exc.message
    assert "d" * (validation.MAX_ECHO + 1) not in exc.message


def test_string_length_counts_characters_not_bytes() -> None:
    _, hi = string_limits("CreateSecret", "Description")
    validate_request("CreateSecret", {"Name": "n", "Description": "é" * hi})


def test_blob_length_counts_bytes() -> None:
    _, hi = string_limits("CreateSecret", "SecretBinary")
    validate_request("CreateSecret", {"Name": "n", "SecretBinary": b"\x01" * hi})
    exc = error_of("CreateSecret", {"Name": "n", "SecretBinary": b""})
    assert exc.message.endswith("at 'secretBinary' failed to satisfy constraint: "
                                "Member must have length greater than or equal to 1")


def test_recovery_window_range() -> None:
    # The model gives RecoveryWindowInDays no range; 7-30 is an operation rule
    # (InvalidParameterException), so shape validation lets 3 and 31 through.
    shape = input_shape("DeleteSecret").members["RecoveryWindowInDays"]
    assert shape.type_name == "long"
    assert "min" not in shape.metadata and "max" not in shape.metadata
    validate_request("DeleteSecret", {"SecretId": "s", "RecoveryWindowInDays": 3})
    validate_request("DeleteSecret", {"SecretId": "s", "RecoveryWindowInDays": 31})


def test_numeric_range_from_model() -> None:
    meta = input_shape("GetRandomPassword").members["PasswordLength"].metadata
    lo, hi = meta["min"], meta["max"]
    exc = error_of("GetRandomPassword", {"PasswordLength": lo - 1})
    assert exc.message == (
        f"1 validation error detected: Value '{lo - 1}' at 'passwordLength' failed to "
        f"satisfy constraint: Member must have value greater than or equal to {lo}")
    exc = error_of("GetRandomPassword", {"PasswordLength": hi + 1})
    assert exc.message.endswith(f"Member must have value less than or equal to {hi}")


def test_enum_sort_order() -> None:
    exc = error_of("ListSecrets", {"SortOrder": "ascending"})
    assert exc.message == (
        "1 validation error detected: Value 'ascending' at 'sortOrder' failed to satisfy "
        "constraint: Member must satisfy enum value set: [asc, desc]")


def test_pattern_is_matched_against_the_whole_value() -> None:
    exc = error_of("RotateSecret", {"SecretId": "s", "RotationRules": {"Duration": "3d"}})
    assert exc.message == (
        "1 validation error detected: Value '3d' at 'rotationRules.duration' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: [0-9]+h")


def test_each_broken_constraint_of_one_member_is_reported() -> None:
    exc = error_of("GetResourcePolicy", {"SecretId": "s", "PolicyName": "p!" * 40})
    assert exc.message.startswith("2 validation errors detected: ")
    assert "Member must have length less than or equal to 64" in exc.message
    assert "Member must satisfy regular expression pattern: [0-9A-Za-z\\-\\_]+" in exc.message


def test_two_errors_counted() -> None:
    exc = error_of("CreateSecret", {"Name": "", "Type": "t" * 257})
    assert exc.message == (
        "2 validation errors detected: "
        "Value '' at 'name' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        f"Value '{'t' * 256}...' at 'type' failed to satisfy constraint: "
        "Member must have length less than or equal to 256")


# --- nesting -----------------------------------------------------------------------------

def test_nested_tag_key_length_path() -> None:
    exc = error_of("TagResource", {"SecretId": "s", "Tags": [{"Key": "ok"}, {"Key": ""}]})
    assert exc.message == (
        "1 validation error detected: Value '' at 'tags.2.member.key' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1")


def test_list_of_strings_element_path_and_list_length() -> None:
    exc = error_of("PutSecretValue", {"SecretId": "s", "VersionStages": ["AWSCURRENT", ""]})
    assert "Value '' at 'versionStages.2.member'" in exc.message
    exc = error_of("PutSecretValue", {"SecretId": "s", "VersionStages": []})
    assert exc.message.endswith("Value '[]' at 'versionStages' failed to satisfy constraint: "
                                "Member must have length greater than or equal to 1")


def test_filter_value_pattern_deep_path() -> None:
    exc = error_of("ListSecrets", {"Filters": [{"Key": "name", "Values": ["ok", "bad#"]}]})
    assert "Value 'bad#' at 'filters.1.member.values.2.member'" in exc.message
    assert "Member must satisfy regular expression pattern: " in exc.message


def test_null_inside_a_list_is_reported() -> None:
    exc = error_of("UntagResource", {"SecretId": "s", "TagKeys": ["a", None]})
    assert "Value null at 'tagKeys.2.member'" in exc.message


# --- types -------------------------------------------------------------------------------

@pytest.mark.parametrize(("operation", "params", "path", "kind"), [
    ("CreateSecret", {"Name": 5}, "name", "string"),
    ("DeleteSecret", {"SecretId": "s", "ForceDeleteWithoutRecovery": "true"},
     "forceDeleteWithoutRecovery", "boolean"),
    ("DeleteSecret", {"SecretId": "s", "RecoveryWindowInDays": "7"}, "recoveryWindowInDays",
     "long"),
    ("ListSecrets", {"MaxResults": True}, "maxResults", "integer"),
    ("ListSecrets", {"MaxResults": 5.0}, "maxResults", "integer"),
    ("TagResource", {"SecretId": "s", "Tags": {"Key": "k"}}, "tags", "list"),
    ("TagResource", {"SecretId": "s", "Tags": ["k"]}, "tags.1.member", "structure"),
    ("CreateSecret", {"Name": "n", "SecretBinary": "Zm9v"}, "secretBinary", "blob"),
])
def test_wrong_type(operation: str, params: dict[str, Any], path: str, kind: str) -> None:
    exc = error_of(operation, params)
    assert exc.message.startswith("1 validation error detected: ")
    assert exc.message.endswith(
        f"at '{path}' failed to satisfy constraint: Member must be of type {kind}")


def test_wrong_type_echoes_plain_values_only() -> None:
    assert "Value '5' at 'name'" in error_of("CreateSecret", {"Name": 5}).message
    assert "Value at 'tags'" in error_of("TagResource", {"SecretId": "s", "Tags": {"K": 1}}).message


def test_non_object_request_is_rejected() -> None:
    error_of("DescribeSecret", ["SecretId"])  # type: ignore[arg-type]


# --- secrets never reach a message -------------------------------------------------------

def test_sensitive_value_never_echoed() -> None:
    _, hi = string_limits("CreateSecret", "SecretString")
    secret = ("hunter2-" * (hi // 8 + 1))[: hi + 1]
    assert len(secret) == 65537
    exc = error_of("CreateSecret", {"Name": "n", "SecretString": secret})
    assert exc.message == (
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
        f"Member must have length less than or equal to {hi}")
    for text in (exc.message, str(exc), repr(exc)):
        assert "hunter2" not in text


def test_sensitive_value_of_wrong_type_never_echoed() -> None:
    exc = error_of("UpdateSecret", {"SecretId": "s", "SecretString": 424242})
    assert "424242" not in exc.message
    assert "Value at 'secretString'" in exc.message


def test_rotation_token_pattern_failure_hides_value() -> None:
    token = "not a valid token but long enough to pass 36"
    exc = error_of("PutSecretValue", {"SecretId": "s", "RotationToken": token})
    assert token not in exc.message and token not in repr(exc)
    assert "Value at 'rotationToken' failed to satisfy constraint: Member must satisfy " \
           "regular expression pattern: " in exc.message


def test_blob_value_never_echoed() -> None:
    _, hi = string_limits("PutSecretValue", "SecretBinary")
    exc = error_of("PutSecretValue", {"SecretId": "s", "SecretBinary": b"PLAINBYTES" * hi})
    assert "PLAINBYTES" not in exc.message
    assert "Value at 'secretBinary'" in exc.message


def test_other_members_still_echoed_next_to_a_secret() -> None:
    exc = error_of("CreateSecret", {"Name": "", "SecretString": ""})
    assert "Value '' at 'name'" in exc.message
    assert "Value at 'secretString'" in exc.message


# --- shapes Secrets Manager's input model does not use -----------------------------------

def synthetic(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = {
        "Req": {"type": "structure", "members": {
            "Labels": {"shape": "Labels"}, "At": {"shape": "When"},
            "Code": {"shape": "JavaOnly"}, "Hidden": {"shape": "Bag", "sensitive": True},
        }},
        "Labels": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Val"}, "max": 2},
        "Key": {"type": "string", "min": 1, "max": 3},
        "Val": {"type": "integer", "max": 9},
        "When": {"type": "timestamp"},
        "JavaOnly": {"type": "string", "pattern": "\\p{Alpha}+"},
        "Bag": {"type": "list", "member": {"shape": "Key"}},
    }
    shape = ShapeResolver(shapes).get_shape_by_name("Req")
    monkeypatch.setattr(servicemodel, "input_shape", lambda operation: shape)


def test_map_keys_and_values_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    synthetic(monkeypatch)
    exc = error_of("Synthetic", {"Labels": {"long": 1, "ok": 10}})
    assert "Value 'long' at 'labels.1.key'" in exc.message
    assert "Value '10' at 'labels.2.value' failed to satisfy constraint: " \
           "Member must have value less than or equal to 9" in exc.message


def test_timestamps_accept_numbers_and_datetimes(monkeypatch: pytest.MonkeyPatch) -> None:
    synthetic(monkeypatch)
    validate_request("Synthetic", {"At": 1523477145.713})
    validate_request("Synthetic", {"At": datetime.datetime.now(datetime.timezone.utc)})
    assert error_of("Synthetic", {"At": "2024-01-01"}).message.endswith(
        "Member must be of type timestamp")


def test_pattern_python_cannot_compile_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    synthetic(monkeypatch)
    validate_request("Synthetic", {"Code": "123 not alpha"})


def test_member_marked_sensitive_on_its_reference_hides_nested_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    synthetic(monkeypatch)
    exc = error_of("Synthetic", {"Hidden": ["ok", "toolong"]})
    assert "toolong" not in exc.message
    assert "Value at 'hidden.2.member'" in exc.message
