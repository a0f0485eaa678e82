"""A key change re-seals values on the caller's behalf: it may move only what the caller could
open. Attacks through boto3 against the real server, then the rule's edges in process."""
from __future__ import annotations

import botocore.exceptions
import pytest

from ledger.keys.admin import KeyAdmin
from ledger.principals import Principals
from tests.authorization.conftest import data_key_arns, allow, deny, policy, refused
from tests.core.support import events
from tests.server.conftest import make_client

SM, KMS_DENIED = "secretsmanager", "Access to KMS is not allowed"
USE_KEYS = ["kms:GenerateDataKey", "kms:Decrypt"]


def http_user(server, ledger, name: str, *statements) -> object:
    admin = Principals(ledger, user_agent="secrets-ledger-cli")
    admin.create(name)
    admin.put_policy(name, "p", policy(*statements))
    issued = admin.issue_key(admin.find(name))
    return make_client(server.url, key_id=issued.access_key_id,
                       secret=issued.secret_access_key)


def error_of(call, **request) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**request)
    return caught.value.response["Error"]


def test_a_key_change_cannot_move_a_value_the_caller_may_not_decrypt(server, audit):
    """The reported attack: refused the value under a customer key, the caller re-points the
    secret at aws/secretsmanager (which every principal of the account may use) and reads."""
    key = KeyAdmin(audit.ledger, user_agent="secrets-ledger-cli").create("payroll key")
    root = make_client(server.url)
    root.create_secret(Name="reseal/other", SecretString="x")  # aws/secretsmanager now exists
    root.create_secret(Name="reseal/payroll", SecretString="payroll-db-password",
                       KmsKeyId=key.arn)
    root.put_secret_value(SecretId="reseal/payroll", SecretString="payroll-db-password-2")
    mallory = http_user(server, audit.ledger, "mallory",
                        allow([f"{SM}:GetSecretValue", f"{SM}:UpdateSecret"]))
    assert error_of(mallory.get_secret_value, SecretId="reseal/payroll") == \
        {"Code": "AccessDeniedException", "Message": KMS_DENIED}
    before, position = data_key_arns(audit.ledger, "reseal/payroll"), audit.position()

    refused = error_of(mallory.update_secret, SecretId="reseal/payroll",
                       KmsKeyId="alias/aws/secretsmanager")

    assert refused == {"Code": "AccessDeniedException", "Message": KMS_DENIED}
    assert [type(e).__name__ for e in audit.events_after(position)] == ["ApiCallRecorded"]
    assert data_key_arns(audit.ledger, "reseal/payroll") == before == \
        {vid: key.arn for vid in before}
    assert error_of(mallory.get_secret_value, SecretId="reseal/payroll")["Code"] == \
        "AccessDeniedException"
    assert root.describe_secret(SecretId="reseal/payroll")["KmsKeyId"] == key.arn


def test_a_key_change_by_an_owner_of_both_keys_still_re_encrypts_over_http(server, audit):
    keys = KeyAdmin(audit.ledger, user_agent="secrets-ledger-cli")
    old, new = keys.create("old"), keys.create("new")
    owner = http_user(server, audit.ledger, "owner", allow(f"{SM}:*"),
                      allow([*USE_KEYS, "kms:Encrypt"], [old.arn, new.arn]))
    owner.create_secret(Name="reseal/owned", SecretString="v1", KmsKeyId=old.arn)
    owner.update_secret(SecretId="reseal/owned", KmsKeyId=new.arn)
    assert set(data_key_arns(audit.ledger, "reseal/owned").values()) == {new.arn}
    assert owner.get_secret_value(SecretId="reseal/owned")["SecretString"] == "v1"


# ---- the rule's edges, in process -----------------------------------------------------------

def test_decrypt_is_needed_on_the_key_of_every_version_re_encrypted(world, keys):
    """AWSCURRENT and AWSPENDING under two keys: Decrypt on one of them is not enough."""
    first, second, new = keys.create("first"), keys.create("second"), keys.create("new")
    world.grant("bob", allow(f"{SM}:*"), allow(USE_KEYS))  # no Encrypt: nothing re-encrypted
    world.call("bob", "CreateSecret", Name="k/db", SecretString="v1", KmsKeyId=first.arn)
    world.call("bob", "UpdateSecret", SecretId="k/db", KmsKeyId=second.arn)
    world.call("bob", "PutSecretValue", SecretId="k/db", SecretString="v2",
               VersionStages=["AWSPENDING"])
    assert sorted(data_key_arns(world.ledger, "k/db").values()) == sorted([first.arn,
                                                                           second.arn])
    world.grant("alice", allow(f"{SM}:*"), allow([*USE_KEYS, "kms:Encrypt"], new.arn),
                allow("kms:Decrypt", second.arn))
    log_before = len(events(world.ledger))
    error = refused(world, "alice", "UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
    assert (error.code, error.message) == ("AccessDeniedException", KMS_DENIED)
    assert [type(e).__name__ for e in events(world.ledger)[log_before:]] == ["ApiCallRecorded"]
    world.grant("alice", allow(f"{SM}:*"), allow([*USE_KEYS, "kms:Encrypt"], new.arn),
                allow("kms:Decrypt", [first.arn, second.arn]))
    world.call("alice", "UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
    assert set(data_key_arns(world.ledger, "k/db").values()) == {new.arn}


def test_decrypt_conditioned_on_the_secret_is_judged_per_secret(world, keys):
    """The old key's Decrypt is asked with the secret's ARN as encryption context."""
    old = keys.create("old")
    one = world.as_system("CreateSecret", Name="k/one", SecretString="1", KmsKeyId=old.arn)
    world.as_system("CreateSecret", Name="k/two", SecretString="2", KmsKeyId=old.arn)
    world.grant("alice", allow(f"{SM}:*"), allow(["kms:Decrypt"], old.arn, Condition={
        "StringEquals": {"kms:EncryptionContext:SecretARN": one["ARN"]}}))
    world.call("alice", "UpdateSecret", SecretId="k/one", KmsKeyId="")
    assert refused(world, "alice", "UpdateSecret", SecretId="k/two",
                   KmsKeyId="").message == KMS_DENIED


def test_without_encrypt_on_the_new_key_nothing_is_opened_so_nothing_is_asked_of_the_old(
        world, keys):
    """AWS: without kms:Encrypt on the new key the versions are not re-encrypted; the key
    change itself still happens, and needs nothing of the old key."""
    old, new = keys.create("old"), keys.create("new")
    world.as_system("CreateSecret", Name="k/db", SecretString="v1", KmsKeyId=old.arn)
    world.grant("alice", allow(f"{SM}:*"), allow(USE_KEYS, new.arn))
    world.call("alice", "UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
    assert set(data_key_arns(world.ledger, "k/db").values()) == {old.arn}
    assert world.as_system("DescribeSecret", SecretId="k/db")["KmsKeyId"] == new.arn


def test_a_deny_on_encrypt_conditioned_on_the_source_ip_is_obeyed(world, keys):
    """The re-encryption decision sees the call's own condition keys (it once did not)."""
    old, new = keys.create("old"), keys.create("new")
    world.as_system("CreateSecret", Name="k/db", SecretString="v1", KmsKeyId=old.arn)
    world.grant("alice", allow(f"{SM}:*"), allow("kms:*"),
                deny("kms:Encrypt", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    world.call("alice", "UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
    assert set(data_key_arns(world.ledger, "k/db").values()) == {old.arn}


def test_a_read_raced_by_a_key_change_is_asked_about_the_key_that_opens_it(world, keys,
                                                                           monkeypatch):
    """GetSecretValue is authorized on the key the version it looked up was sealed under; if a
    key change re-encrypts that version before the data key is read, the key that will open it
    is another one, and the reader must be allowed that one too."""
    old, new = keys.create("old"), keys.create("new")
    world.as_system("CreateSecret", Name="k/db", SecretString="v1", KmsKeyId=old.arn)
    world.as_system("GetSecretValue", SecretId="k/db")  # today's access is recorded: a later
    # read writes nothing to the secret, so no write conflict makes it start again
    world.grant("alice", allow(f"{SM}:*"), allow("kms:Decrypt", old.arn))  # not on `new`
    store, data_key = world.ledger.key_store, world.ledger.key_store.data_key
    raced = []

    def key_change_first(secret_id: str, version_id: str):
        if not raced:  # another writer commits a key change between lookup and open
            raced.append(version_id)
            world.as_system("UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
        return data_key(secret_id, version_id)

    monkeypatch.setattr(store, "data_key", key_change_first)
    error = refused(world, "alice", "GetSecretValue", SecretId="k/db")
    assert raced and (error.code, error.message) == ("AccessDeniedException", KMS_DENIED)
    monkeypatch.undo()
    assert set(data_key_arns(world.ledger, "k/db").values()) == {new.arn}
    assert refused(world, "alice", "GetSecretValue", SecretId="k/db").message == KMS_DENIED


def test_a_write_raced_by_an_alias_re_point_is_asked_about_the_key_that_seals_it(
        world, keys, monkeypatch):
    """PutSecretValue is authorized on the key the secret's alias names; if the alias is moved
    before the value is sealed, the key that seals it is another one, asked about too."""
    mine, theirs = keys.create("mine", alias="alias/team"), keys.create("theirs")
    world.grant("alice", allow(f"{SM}:*"), allow(USE_KEYS, mine.arn))  # nothing on `theirs`
    world.call("alice", "CreateSecret", Name="k/db", SecretString="v1", KmsKeyId="alias/team")
    kms, key_for_secret = world.ledger.kms, world.ledger.kms.key_for_secret

    def alias_moved_first(*args):
        keys.alias("alias/team", theirs.arn)  # an administrator re-points it in between
        monkeypatch.setattr(kms, "key_for_secret", key_for_secret)
        return key_for_secret(*args)

    monkeypatch.setattr(kms, "key_for_secret", alias_moved_first)
    error = refused(world, "alice", "PutSecretValue", SecretId="k/db", SecretString="v2")
    assert (error.code, error.message) == ("AccessDeniedException", KMS_DENIED)
    assert set(data_key_arns(world.ledger, "k/db").values()) == {mine.arn}
