"""Every operation through an unmodified boto3 client: results, and each error with its code."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import botocore.exceptions
import pytest

from ledger.application import HANDLERS
from ledger.context import Caller, RequestContext
from ledger.keys.kms_key import DISABLED
from ledger.keys.local_kms import STATE_FRESHNESS

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."


def error_of(call, *args, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return (response["Error"]["Code"], response["Error"]["Message"],
            response["ResponseMetadata"]["HTTPStatusCode"])


def code_of(call, *args, **kwargs) -> str:
    code, _, status = error_of(call, *args, **kwargs)
    assert status == 400
    return code


@pytest.fixture(scope="module")
def kms(audit):
    """Keys made in the ledger the server serves (the server reads them from the shared log)."""
    ledger = audit.ledger
    context = RequestContext.service("test", "CreateKey", "us-west-2", "123456789012")

    class Keys:
        def create(self) -> str:
            return ledger.kms.create_key("test key", datetime.now(timezone.utc),
                                         context.as_event_field()).arn

        def disable(self, arn: str) -> None:
            ledger.kms.set_state(arn, DISABLED, datetime.now(timezone.utc),
                                 context.as_event_field())
            time.sleep(STATE_FRESHNESS + 0.1)  # the server may reuse a key state this long
    return Keys()


@pytest.fixture
def name() -> str:
    return f"ops/{uuid.uuid4().hex[:12]}"


# ---- CreateSecret ----------------------------------------------------------------------------
def test_create_secret_with_a_string(client, name):
    created = client.create_secret(Name=name, SecretString="s3cret", Description="d",
                                   Tags=[{"Key": "team", "Value": "core"}])
    assert created["Name"] == name
    prefix = f"arn:aws:secretsmanager:us-west-2:123456789012:secret:{name}-"
    assert created["ARN"].startswith(prefix)
    assert len(created["ARN"]) == len(created["ARN"].rsplit("-", 1)[0]) + 7
    assert client.get_secret_value(SecretId=name)["SecretString"] == "s3cret"


def test_create_secret_with_binary(client, name):
    client.create_secret(Name=name, SecretBinary=b"\x00\xffbytes")
    assert client.get_secret_value(SecretId=name)["SecretBinary"] == b"\x00\xffbytes"


def test_create_secret_retry_with_same_token_returns_same_version(client, name):
    token = str(uuid.uuid4())
    first = client.create_secret(Name=name, SecretString="v", ClientRequestToken=token)
    again = client.create_secret(Name=name, SecretString="v", ClientRequestToken=token)
    assert first["VersionId"] == again["VersionId"] == token
    assert first["ARN"] == again["ARN"]


def test_create_secret_errors(client, name, kms):
    client.create_secret(Name=name, SecretString="v")
    assert code_of(client.create_secret, Name=name, SecretString="w") == "ResourceExistsException"
    assert code_of(client.create_secret, Name="bad name!") == "ValidationException"
    assert code_of(client.create_secret, Name=name + "x", SecretString="a",
                   SecretBinary=b"b") == "InvalidParameterException"
    assert code_of(client.create_secret, Name=name + "k", SecretString="a",
                   KmsKeyId="alias/does-not-exist") == "EncryptionFailure"
    assert code_of(client.create_secret, Name=name + "t",
                   Tags=[{"Key": "aws:x", "Value": "v"}]) == "InvalidParameterException"
    client.delete_secret(SecretId=name)
    code, message, _ = error_of(client.create_secret, Name=name)
    assert (code, message) == ("InvalidRequestException", "You can't create this secret because "
                               "a secret with this name is already scheduled for deletion.")


def test_create_secret_with_a_disabled_key_is_an_encryption_failure(client, name, kms):
    key = kms.create()
    kms.disable(key)
    assert code_of(client.create_secret, Name=name, SecretString="v",
                   KmsKeyId=key) == "EncryptionFailure"


# ---- UpdateSecret ----------------------------------------------------------------------------
def test_update_secret_value_makes_a_new_current_version(client, name):
    first = client.create_secret(Name=name, SecretString="one")
    second = client.update_secret(SecretId=name, SecretString="two")
    assert second["VersionId"] != first["VersionId"]
    assert client.get_secret_value(SecretId=name)["SecretString"] == "two"
    previous = client.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "one"


def test_update_secret_description_only_makes_no_version(client, name):
    client.create_secret(Name=name, SecretString="one")
    updated = client.update_secret(SecretId=name, Description="new")
    assert "VersionId" not in updated
    assert client.describe_secret(SecretId=name)["Description"] == "new"
    assert len(client.list_secret_version_ids(SecretId=name)["Versions"]) == 1


def test_update_secret_moves_to_a_new_key(client, name, kms):
    client.create_secret(Name=name, SecretString="v")
    key = kms.create()
    client.update_secret(SecretId=name, KmsKeyId=key)
    assert client.describe_secret(SecretId=name)["KmsKeyId"] == key
    assert client.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_update_secret_not_found(client):
    code, message, _ = error_of(client.update_secret, SecretId="ops/absent", SecretString="v")
    assert (code, message) == ("ResourceNotFoundException", NOT_FOUND)


def test_update_secret_invalid_name(client):
    assert code_of(client.update_secret, SecretId="bad id!", Description="d") == (
        "ValidationException")


def test_update_secret_with_both_value_kinds(client, name):
    client.create_secret(Name=name)
    assert code_of(client.update_secret, SecretId=name, SecretString="a",
                   SecretBinary=b"b") == "InvalidParameterException"


def test_update_secret_marked_for_deletion(client, name):
    client.create_secret(Name=name, SecretString="v")
    client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    code, message, _ = error_of(client.update_secret, SecretId=name, SecretString="w")
    assert (code, message) == ("InvalidRequestException", MARKED)


def test_update_secret_of_a_secret_another_service_manages(client, name, audit):
    audit.ledger.call("CreateSecret", {"Name": name, "SecretString": "v"}, Caller.system(),
                      owning_service="rds")
    code, message, _ = error_of(client.update_secret, SecretId=name, SecretString="w")
    assert code == "InvalidRequestException"
    assert message.startswith("This secret is managed by an AWS service (rds)")


def test_update_secret_with_an_overlong_description(client, name):
    client.create_secret(Name=name)
    assert code_of(client.update_secret, SecretId=name, Description="d" * 2049) == (
        "ValidationException")


def test_update_secret_token_reused_with_another_value(client, name):
    client.create_secret(Name=name, SecretString="v")
    token = str(uuid.uuid4())
    client.update_secret(SecretId=name, SecretString="w", ClientRequestToken=token)
    assert client.update_secret(SecretId=name, SecretString="w",
                                ClientRequestToken=token)["VersionId"] == token
    assert code_of(client.update_secret, SecretId=name, SecretString="x",
                   ClientRequestToken=token) == "ResourceExistsException"


def test_update_secret_with_an_unknown_or_disabled_key(client, name, kms):
    client.create_secret(Name=name, SecretString="v")
    assert code_of(client.update_secret, SecretId=name, KmsKeyId="alias/none") == (
        "EncryptionFailure")
    key = kms.create()
    kms.disable(key)
    assert code_of(client.update_secret, SecretId=name, KmsKeyId=key) == "EncryptionFailure"
    assert code_of(client.update_secret, SecretId=name, SecretString="w", KmsKeyId=key) == (
        "EncryptionFailure")
    assert client.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_update_secret_that_must_reencrypt_under_a_disabled_old_key(client, name, kms):
    old, new = kms.create(), kms.create()
    client.create_secret(Name=name, SecretString="v", KmsKeyId=old)
    kms.disable(old)
    assert code_of(client.update_secret, SecretId=name, KmsKeyId=new) == "DecryptionFailure"


def test_update_secret_past_the_version_quota(client, name):
    client.create_secret(Name=name, SecretString="0")
    for value in range(1, 100):
        client.update_secret(SecretId=name, SecretString=str(value))
    assert code_of(client.update_secret, SecretId=name, SecretString="100") == (
        "LimitExceededException")
    assert client.get_secret_value(SecretId=name)["SecretString"] == "99"


# ---- PutSecretValue --------------------------------------------------------------------------
def test_put_secret_value_and_its_stages(client, name):
    client.create_secret(Name=name, SecretString="one")
    pending = client.put_secret_value(SecretId=name, SecretString="two",
                                      VersionStages=["AWSPENDING"])
    assert pending["VersionStages"] == ["AWSPENDING"]
    assert client.get_secret_value(SecretId=name)["SecretString"] == "one"
    pending_value = client.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
    assert pending_value["SecretString"] == "two"


def test_put_secret_value_retry_is_a_no_op_and_reuse_with_another_value_fails(client, name):
    client.create_secret(Name=name)
    token = str(uuid.uuid4())
    first = client.put_secret_value(SecretId=name, SecretString="a", ClientRequestToken=token)
    again = client.put_secret_value(SecretId=name, SecretString="a", ClientRequestToken=token)
    assert first["VersionId"] == again["VersionId"] == token
    assert len(client.list_secret_version_ids(SecretId=name)["Versions"]) == 1
    assert code_of(client.put_secret_value, SecretId=name, SecretString="b",
                   ClientRequestToken=token) == "ResourceExistsException"


def test_put_secret_value_errors(client, name):
    assert code_of(client.put_secret_value, SecretId="ops/absent", SecretString="v") == (
        "ResourceNotFoundException")
    client.create_secret(Name=name)
    code, message, _ = error_of(client.put_secret_value, SecretId=name)
    assert (code, message) == ("InvalidRequestException",
                               "You must provide either SecretString or SecretBinary.")
    client.delete_secret(SecretId=name)
    assert code_of(client.put_secret_value, SecretId=name, SecretString="v") == (
        "InvalidRequestException")


# ---- GetSecretValue --------------------------------------------------------------------------
def test_get_secret_value_by_name_arn_partial_arn_and_version(client, name):
    created = client.create_secret(Name=name, SecretString="v")
    arn = created["ARN"]
    for secret_id in (name, arn, arn[:-7]):
        value = client.get_secret_value(SecretId=secret_id)
        assert value["SecretString"] == "v"
        assert value["VersionStages"] == ["AWSCURRENT"]
    by_version = client.get_secret_value(SecretId=name, VersionId=created["VersionId"])
    assert isinstance(by_version["CreatedDate"], datetime)


def test_get_secret_value_errors(client, name, kms):
    assert error_of(client.get_secret_value, SecretId="ops/absent")[:2] == (
        "ResourceNotFoundException", NOT_FOUND)
    created = client.create_secret(Name=name, SecretString="v")
    missing = str(uuid.uuid4())
    assert error_of(client.get_secret_value, SecretId=name, VersionId=missing)[:2] == (
        "ResourceNotFoundException",
        f"Secrets Manager can't find the specified secret value for VersionId: {missing}")
    assert error_of(client.get_secret_value, SecretId=name, VersionStage="AWSPENDING")[:2] == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING")
    assert error_of(client.get_secret_value, SecretId=name, VersionId=created["VersionId"],
                    VersionStage="AWSPREVIOUS")[:2] == (
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.")
    client.delete_secret(SecretId=name)
    assert code_of(client.get_secret_value, SecretId=name) == "InvalidRequestException"


def test_get_secret_value_under_a_disabled_key_is_a_decryption_failure(client, name, kms):
    key = kms.create()
    client.create_secret(Name=name, SecretString="v", KmsKeyId=key)
    kms.disable(key)
    assert code_of(client.get_secret_value, SecretId=name) == "DecryptionFailure"


# ---- DescribeSecret / ListSecretVersionIds / ListSecrets -------------------------------------
def test_describe_secret(client, name):
    created = client.create_secret(Name=name, SecretString="v", Description="about",
                                   Tags=[{"Key": "k", "Value": "v"}])
    described = client.describe_secret(SecretId=name)
    assert described["ARN"] == created["ARN"]
    assert described["Description"] == "about"
    assert described["Tags"] == [{"Key": "k", "Value": "v"}]
    assert described["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    assert "LastAccessedDate" not in described
    assert code_of(client.describe_secret, SecretId="ops/absent") == "ResourceNotFoundException"


def test_list_secret_version_ids(client, name):
    client.create_secret(Name=name, SecretString="a")
    client.update_secret(SecretId=name, SecretString="b")
    client.update_secret(SecretId=name, SecretString="c")
    listed = client.list_secret_version_ids(SecretId=name)
    assert sorted(s for v in listed["Versions"] for s in v["VersionStages"]) == [
        "AWSCURRENT", "AWSPREVIOUS"]
    assert len(client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)[
        "Versions"]) == 3
    assert code_of(client.list_secret_version_ids, SecretId="ops/absent") == (
        "ResourceNotFoundException")
    assert code_of(client.list_secret_version_ids, SecretId=name, NextToken="garbage") == (
        "InvalidNextTokenException")


def test_list_secrets_filters_paginates_and_hides_deleted(client):
    prefix = f"list-{uuid.uuid4().hex[:8]}"
    for i in range(3):
        client.create_secret(Name=f"{prefix}/{i}")
    client.delete_secret(SecretId=f"{prefix}/2")
    filters = [{"Key": "name", "Values": [prefix]}]
    pages = list(client.get_paginator("list_secrets").paginate(
        Filters=filters, PaginationConfig={"PageSize": 1}))
    names = [s["Name"] for page in pages for s in page["SecretList"]]
    assert sorted(names) == [f"{prefix}/0", f"{prefix}/1"]
    with_deleted = client.list_secrets(Filters=filters, IncludePlannedDeletion=True)
    assert len(with_deleted["SecretList"]) == 3
    assert code_of(client.list_secrets, Filters=[{"Key": "colour", "Values": ["x"]}]) == (
        "ValidationException")
    assert code_of(client.list_secrets, NextToken="garbage") == "InvalidNextTokenException"


# ---- UpdateSecretVersionStage ----------------------------------------------------------------
def test_update_secret_version_stage(client, name):
    first = client.create_secret(Name=name, SecretString="a")["VersionId"]
    second = client.put_secret_value(SecretId=name, SecretString="b",
                                     VersionStages=["AWSPENDING"])["VersionId"]
    client.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                       RemoveFromVersionId=first, MoveToVersionId=second)
    assert client.get_secret_value(SecretId=name)["SecretString"] == "b"
    stages = client.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert "AWSPREVIOUS" in stages[first]
    assert code_of(client.update_secret_version_stage, SecretId=name, VersionStage="AWSCURRENT",
                   MoveToVersionId=first) == "InvalidParameterException"
    assert code_of(client.update_secret_version_stage, SecretId=name, VersionStage="X",
                   MoveToVersionId=str(uuid.uuid4())) == "InvalidParameterException"
    assert code_of(client.update_secret_version_stage, SecretId="ops/absent",
                   VersionStage="X", MoveToVersionId=first) == "ResourceNotFoundException"


def test_update_secret_version_stage_past_the_label_quota(client, name):
    version = client.create_secret(Name=name, SecretString="a")["VersionId"]
    for i in range(19):
        client.update_secret_version_stage(SecretId=name, VersionStage=f"L{i}",
                                           MoveToVersionId=version)
    assert code_of(client.update_secret_version_stage, SecretId=name, VersionStage="L19",
                   MoveToVersionId=version) == "LimitExceededException"


# ---- DeleteSecret / RestoreSecret ------------------------------------------------------------
def test_delete_and_restore(client, name):
    client.create_secret(Name=name, SecretString="v")
    deleted = client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert deleted["Name"] == name
    assert isinstance(deleted["DeletionDate"], datetime)
    assert "DeletedDate" in client.describe_secret(SecretId=name)
    restored = client.restore_secret(SecretId=name)
    assert restored["Name"] == name
    assert client.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_forced_delete_frees_the_name_at_once(client, name):
    client.create_secret(Name=name, SecretString="v")
    client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert code_of(client.describe_secret, SecretId=name) == "ResourceNotFoundException"
    client.create_secret(Name=name, SecretString="again")
    client.delete_secret(SecretId="ops/never-was", ForceDeleteWithoutRecovery=True)


def test_delete_and_restore_errors(client, name):
    client.create_secret(Name=name)
    assert code_of(client.delete_secret, SecretId=name, RecoveryWindowInDays=7,
                   ForceDeleteWithoutRecovery=True) == "InvalidParameterException"
    assert code_of(client.delete_secret, SecretId=name, RecoveryWindowInDays=3) == (
        "InvalidParameterException")
    assert code_of(client.delete_secret, SecretId="ops/absent") == "ResourceNotFoundException"
    assert code_of(client.restore_secret, SecretId="ops/absent") == "ResourceNotFoundException"
    client.delete_secret(SecretId=name)
    assert code_of(client.delete_secret, SecretId=name) == "InvalidRequestException"


# ---- TagResource / UntagResource -------------------------------------------------------------
def test_tag_and_untag(client, name):
    client.create_secret(Name=name)
    client.tag_resource(SecretId=name,
                        Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    client.untag_resource(SecretId=name, TagKeys=["a"])
    assert client.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_tag_and_untag_errors(client, name):
    assert code_of(client.tag_resource, SecretId="ops/absent",
                   Tags=[{"Key": "a", "Value": "1"}]) == "ResourceNotFoundException"
    assert code_of(client.untag_resource, SecretId="ops/absent", TagKeys=["a"]) == (
        "ResourceNotFoundException")
    client.create_secret(Name=name)
    assert code_of(client.tag_resource, SecretId=name,
                   Tags=[{"Key": "aws:reserved", "Value": "1"}]) == "InvalidParameterException"
    client.delete_secret(SecretId=name)
    assert error_of(client.tag_resource, SecretId=name, Tags=[{"Key": "a", "Value": "1"}])[:2] == (
        "InvalidRequestException", MARKED)
    assert code_of(client.untag_resource, SecretId=name, TagKeys=["a"]) == (
        "InvalidRequestException")


# ---- BatchGetSecretValue / GetRandomPassword -------------------------------------------------
def test_batch_get_secret_value(client, name):
    client.create_secret(Name=name + "/a", SecretString="A")
    client.create_secret(Name=name + "/b", SecretBinary=b"B")
    result = client.batch_get_secret_value(SecretIdList=[name + "/a", name + "/b", "ops/absent"])
    values = {v["Name"]: v.get("SecretString", v.get("SecretBinary")) for v in
              result["SecretValues"]}
    assert values == {name + "/a": "A", name + "/b": b"B"}
    assert [(e["SecretId"], e["ErrorCode"]) for e in result["Errors"]] == [
        ("ops/absent", "ResourceNotFoundException")]
    filtered = client.batch_get_secret_value(Filters=[{"Key": "name", "Values": [name]}])
    assert len(filtered["SecretValues"]) == 2
    assert code_of(client.batch_get_secret_value, SecretIdList=[name + "/a"],
                   Filters=[{"Key": "name", "Values": [name]}]) == "InvalidParameterException"


def test_get_random_password(client):
    password = client.get_random_password(PasswordLength=40, ExcludePunctuation=True)
    assert len(password["RandomPassword"]) == 40
    assert password["RandomPassword"].isalnum()
    assert code_of(client.get_random_password, ExcludeNumbers=True, ExcludeLowercase=True,
                   ExcludeUppercase=True, ExcludePunctuation=True) == "InvalidParameterException"
    assert code_of(client.get_random_password, PasswordLength=5000) == "ValidationException"


# ---- coverage --------------------------------------------------------------------------------
def test_every_served_operation_answers_without_a_server_fault(client):
    """An empty request to each operation gets a modelled answer, never a 500 or Unknown."""
    for operation in sorted(HANDLERS):
        method = getattr(client, botocore.xform_name(operation))
        try:
            method(**{"SecretIdList": ["ops/absent"]} if operation == "BatchGetSecretValue" else {})
        except botocore.exceptions.ParamValidationError:
            continue  # boto3 refuses to send it: a required member is missing
        except botocore.exceptions.ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400, operation
            assert error.response["Error"]["Code"] != "UnknownOperationException", operation
