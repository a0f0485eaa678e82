"""A version's ClientRequestToken is an idempotent retry only for the caller who made the
version. For anyone else, "same value: success, other value: ResourceExistsException" would
answer whether a guess equals a value they may write but not read."""
from __future__ import annotations

import pytest

from ledger.errors import ResourceExistsException
from tests.authorization.conftest import allow, deny

SECRET = "arn:aws:secretsmanager:*:123456789012:secret:prod/*"


@pytest.fixture
def writer_world(world):
    world.as_system("CreateSecret", Name="prod/pin", SecretString="1234")
    world.grant("alice", allow(["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret",
                                "secretsmanager:DescribeSecret", "secretsmanager:CreateSecret"],
                               SECRET),
                deny("secretsmanager:GetSecretValue"))
    return world


def _current_version(world) -> str:
    stages = world.as_system("DescribeSecret", SecretId="prod/pin")["VersionIdsToStages"]
    return next(v for v, labels in stages.items() if "AWSCURRENT" in labels)


def _versions(world) -> int:
    return len(world.as_system("ListSecretVersionIds", SecretId="prod/pin",
                               IncludeDeprecated=True)["Versions"])


@pytest.mark.parametrize("operation", ["PutSecretValue", "UpdateSecret"])
def test_a_write_only_caller_cannot_test_guesses_against_another_callers_version(
        writer_world, operation):
    current, before = _current_version(writer_world), _versions(writer_world)
    answers = {}
    for guess in ("0000", "1234"):
        with pytest.raises(ResourceExistsException) as refused:
            writer_world.call("alice", operation, SecretId="prod/pin",
                              ClientRequestToken=current, SecretString=guess)
        answers[guess] = str(refused.value)
    assert answers["0000"] == answers["1234"]  # the right guess answers like a wrong one
    assert _versions(writer_world) == before


def test_creating_an_existing_name_with_its_token_and_value_reveals_nothing(writer_world):
    current = _current_version(writer_world)
    arn = writer_world.as_system("DescribeSecret", SecretId="prod/pin")["ARN"]
    with pytest.raises(ResourceExistsException) as refused:
        writer_world.call("alice", "CreateSecret", Name="prod/pin",
                          ClientRequestToken=current, SecretString="1234")
    assert arn not in str(refused.value)


def test_the_caller_who_made_a_version_still_retries_it_idempotently(writer_world):
    token = "11111111-2222-3333-4444-555555555555"
    first = writer_world.call("alice", "PutSecretValue", SecretId="prod/pin",
                              ClientRequestToken=token, SecretString="5678")
    before = _versions(writer_world)
    again = writer_world.call("alice", "PutSecretValue", SecretId="prod/pin",
                              ClientRequestToken=token, SecretString="5678")
    assert again["VersionId"] == first["VersionId"] == token
    assert _versions(writer_world) == before
    with pytest.raises(ResourceExistsException):
        writer_world.call("alice", "PutSecretValue", SecretId="prod/pin",
                          ClientRequestToken=token, SecretString="other")


def test_a_create_retried_by_its_own_caller_answers_as_the_first_time(writer_world):
    token = "99999999-2222-3333-4444-555555555555"
    first = writer_world.call("alice", "CreateSecret", Name="prod/new",
                              ClientRequestToken=token, SecretString="v")
    assert writer_world.call("alice", "CreateSecret", Name="prod/new",
                             ClientRequestToken=token, SecretString="v") == first
