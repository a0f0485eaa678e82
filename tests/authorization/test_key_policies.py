"""KMS permissions on the keys that seal secret values: key policies with identity policies,
the re-encryption rule of a key change, the default key, and key states."""
from __future__ import annotations

import time

import botocore.exceptions
import pytest

from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.events import KeyChanged, VersionReEncrypted
from ledger.keys.admin import KeyAdmin
from ledger.keys.local_kms import STATE_FRESHNESS
from ledger.principals import Principals
from tests.authorization.conftest import data_key_arns, allow, deny, policy, refused
from tests.core.support import api_calls, events, secret_events
from tests.server.conftest import make_client

SM, KMS_DENIED = "secretsmanager", "Access to KMS is not allowed"
USE_KEYS = ["kms:GenerateDataKey", "kms:Decrypt"]


def test_writing_under_a_customer_key_needs_generate_data_key_and_decrypt(world, keys):
    key = keys.create("team key")
    world.grant("alice", allow(f"{SM}:*"))
    log_before = len(events(world.ledger))
    error = refused(world, "alice", "CreateSecret", Name="k/db", SecretString="v",
                    KmsKeyId=key.arn)
    assert (error.code, error.message) == ("AccessDeniedException", KMS_DENIED)
    new = events(world.ledger)[log_before:]
    assert [type(e).__name__ for e in new] == ["ApiCallRecorded"]  # its audit record only
    world.grant("alice", allow("kms:GenerateDataKey", key.arn), policy_name="gdk")
    assert refused(world, "alice", "CreateSecret", Name="k/db", SecretString="v",
                   KmsKeyId=key.arn).message == KMS_DENIED
    world.grant("alice", allow("kms:Decrypt", key.arn), policy_name="decrypt")
    world.call("alice", "CreateSecret", Name="k/db", SecretString="v", KmsKeyId=key.arn)
    assert world.call("alice", "GetSecretValue", SecretId="k/db")["SecretString"] == "v"


def test_reading_needs_decrypt_on_the_key_that_sealed_the_version(world, keys):
    key = keys.create("team key")
    world.grant("alice", allow(f"{SM}:*"), allow(USE_KEYS, key.arn))
    world.call("alice", "CreateSecret", Name="k/db", SecretString="v", KmsKeyId=key.arn)
    world.grant("alice", allow(f"{SM}:*"), allow("kms:GenerateDataKey", key.arn))
    assert refused(world, "alice", "GetSecretValue", SecretId="k/db").message == KMS_DENIED
    assert world.call("alice", "DescribeSecret", SecretId="k/db")["Name"] == "k/db"
    batch = world.call("alice", "BatchGetSecretValue", SecretIdList=["k/db"])
    assert batch["SecretValues"] == []
    assert [(e["ErrorCode"], e["Message"]) for e in batch["Errors"]] == \
        [("AccessDeniedException", KMS_DENIED)]


def test_the_key_policy_must_allow_whatever_the_identity_policies_say(world, keys):
    key = keys.create("bob's key", policy=policy({
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/bob"},
        "Action": "kms:*", "Resource": "*"}))
    world.grant("alice", allow(f"{SM}:*"), allow("kms:*"))  # no account statement in the key
    assert refused(world, "alice", "CreateSecret", Name="k/a", SecretString="v",
                   KmsKeyId=key.arn).message == KMS_DENIED
    world.grant("bob", allow(f"{SM}:*"))  # the key policy names bob: enough in its account
    world.call("bob", "CreateSecret", Name="k/b", SecretString="v", KmsKeyId=key.arn)
    assert world.call("bob", "GetSecretValue", SecretId="k/b")["SecretString"] == "v"


def test_a_deny_in_the_key_policy_wins(world, keys):
    key = keys.create("team key")
    world.grant("alice", allow(f"{SM}:*"), allow("kms:*"))
    world.call("alice", "CreateSecret", Name="k/db", SecretString="v", KmsKeyId=key.arn)
    keys.put_policy(key.arn, policy(
        {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "123456789012"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "NoAlice", "Effect": "Deny",
         "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
         "Action": "kms:Decrypt", "Resource": "*"}))
    assert refused(world, "alice", "GetSecretValue", SecretId="k/db").message == KMS_DENIED
    # nor may she re-seal it under a key she can read (aws/secretsmanager): that opens it too
    assert refused(world, "alice", "UpdateSecret", SecretId="k/db",
                   KmsKeyId="").message == KMS_DENIED
    assert set(data_key_arns(world.ledger, "k/db").values()) == {key.arn}


def test_the_default_key_asks_for_nothing_but_obeys_an_explicit_deny(world):
    world.grant("alice", allow(f"{SM}:*"))
    world.call("alice", "CreateSecret", Name="d/db", SecretString="v")
    assert world.call("alice", "GetSecretValue", SecretId="d/db")["SecretString"] == "v"
    world.grant("alice", allow(f"{SM}:*"), deny("kms:Decrypt"))
    assert refused(world, "alice", "GetSecretValue", SecretId="d/db").message == KMS_DENIED


def test_without_kms_encrypt_a_key_change_leaves_existing_versions_where_they_were(world, keys):
    old, new = keys.create("old"), keys.create("new")
    world.grant("alice", allow(f"{SM}:*"), allow(USE_KEYS))  # no kms:Encrypt anywhere
    world.call("alice", "CreateSecret", Name="k/db", SecretString="v1", KmsKeyId=old.arn)
    world.call("alice", "PutSecretValue", SecretId="k/db", SecretString="v2")
    before = data_key_arns(world.ledger, "k/db")
    world.call("alice", "UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
    changed = secret_events(world.ledger, "k/db")
    assert any(isinstance(e, KeyChanged) and e.to_key == new.arn for e in changed)
    assert not any(isinstance(e, VersionReEncrypted) for e in changed)
    assert data_key_arns(world.ledger, "k/db") == before == {v: old.arn for v in before}
    put = world.call("alice", "PutSecretValue", SecretId="k/db", SecretString="v3")
    assert data_key_arns(world.ledger, "k/db")[put["VersionId"]] == new.arn  # new versions: new key
    previous = world.call("alice", "GetSecretValue", SecretId="k/db", VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "v2"  # still readable under the old key


def test_with_kms_encrypt_a_key_change_re_encrypts_the_labelled_versions(world, keys):
    old, new = keys.create("old"), keys.create("new")
    world.grant("alice", allow(f"{SM}:*"), allow(USE_KEYS), allow("kms:Encrypt", new.arn))
    world.call("alice", "CreateSecret", Name="k/db", SecretString="v1", KmsKeyId=old.arn)
    world.call("alice", "PutSecretValue", SecretId="k/db", SecretString="v2")
    world.call("alice", "UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
    moved = [e for e in secret_events(world.ledger, "k/db") if isinstance(e, VersionReEncrypted)]
    assert len(moved) == 2 and {e.to_key_arn for e in moved} == {new.arn}
    assert set(data_key_arns(world.ledger, "k/db").values()) == {new.arn}
    assert world.call("alice", "GetSecretValue", SecretId="k/db")["SecretString"] == "v2"


def test_the_system_identity_always_re_encrypts(world, keys):
    old, new = keys.create("old"), keys.create("new")
    world.as_system("CreateSecret", Name="k/db", SecretString="v1", KmsKeyId=old.arn)
    world.as_system("UpdateSecret", SecretId="k/db", KmsKeyId=new.arn)
    assert set(data_key_arns(world.ledger, "k/db").values()) == {new.arn}


def test_a_disabled_key_blocks_reads_and_writes_after_authorization(world, keys):
    key = keys.create("team key")
    world.grant("alice", allow(f"{SM}:*"), allow("kms:*"))
    world.grant("bob", allow(f"{SM}:*"))  # no KMS rights
    world.call("alice", "CreateSecret", Name="k/db", SecretString="v", KmsKeyId=key.arn)
    keys.disable(key.arn)
    write = refused(world, "alice", "PutSecretValue", SecretId="k/db", SecretString="v2")
    read = refused(world, "alice", "GetSecretValue", SecretId="k/db")
    assert (write.code, read.code) == ("EncryptionFailure", "DecryptionFailure")
    assert "Disabled" in write.message and "Disabled" in read.message
    assert refused(world, "bob", "GetSecretValue", SecretId="k/db").message == KMS_DENIED
    keys.enable(key.arn)
    assert world.call("alice", "GetSecretValue", SecretId="k/db")["SecretString"] == "v"


def test_another_account_cannot_read_a_secret_under_the_default_key(world, keys):
    outsider = Caller(arn="arn:aws:iam::210987654321:root", principal_type="Root",
                      account_id="210987654321")
    shared = policy({"Effect": "Allow", "Principal": {"AWS": "210987654321"},
                     "Action": f"{SM}:GetSecretValue", "Resource": "*"})
    world.as_system("CreateSecret", Name="x/default", SecretString="v")
    world.as_system("PutResourcePolicy", SecretId="x/default", ResourcePolicy=shared)
    with pytest.raises(LedgerError) as caught:
        world.ledger.call("GetSecretValue", {"SecretId": "x/default"}, outsider)
    assert caught.value.code == "InvalidRequestException"
    assert "default KMS service key" in caught.value.message
    key = keys.create("shared", policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": ["123456789012", "210987654321"]},
         "Action": "kms:*", "Resource": "*"}))
    arn = world.as_system("CreateSecret", Name="x/shared", SecretString="v2",
                          KmsKeyId=key.arn)["ARN"]
    world.as_system("PutResourcePolicy", SecretId="x/shared", ResourcePolicy=shared)
    read = world.ledger.call("GetSecretValue", {"SecretId": arn}, outsider)
    assert read["SecretString"] == "v2"


def test_kms_refusals_over_http(server, audit):
    admin = Principals(audit.ledger, user_agent="secrets-ledger-cli")
    admin.create("kms-user")
    key = KeyAdmin(audit.ledger, user_agent="secrets-ledger-cli").create("http key")
    admin.put_policy("kms-user", "sm", policy(allow(f"{SM}:*")))
    issued = admin.issue_key(admin.find("kms-user"))
    user = make_client(server.url, key_id=issued.access_key_id, secret=issued.secret_access_key)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        user.create_secret(Name="http/kms", SecretString="v", KmsKeyId=key.arn)
    assert caught.value.response["Error"] == {"Code": "AccessDeniedException",
                                              "Message": KMS_DENIED}
    admin.put_policy("kms-user", "kms", policy(allow(USE_KEYS, key.arn)))
    user.create_secret(Name="http/kms", SecretString="v", KmsKeyId=key.arn)
    KeyAdmin(audit.ledger).disable(key.arn)
    time.sleep(STATE_FRESHNESS + 0.1)  # the server may reuse a key state this long
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        user.get_secret_value(SecretId="http/kms")
    assert caught.value.response["Error"]["Code"] == "DecryptionFailure"
    failures = [c for c in api_calls(audit.ledger) if c.error_code]
    assert [c.error_code for c in failures][-2:] == ["AccessDeniedException", "DecryptionFailure"]
