"""Administration is in the log: principals, access keys, identity policies and KMS keys change
only by events whose context names who made the change, so past grants can be looked up."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.keys.kms_key import KmsKey
from ledger.policies import AuthzRequest, PolicyKind, evaluate, parse_policy
from ledger.principals import PolicyDeleted, PolicyPut, Principal, PrincipalError, Principals
from tests.core.support import api_calls
from tools.cli import main

SM = "secretsmanager"
ALICE = "arn:aws:iam::123456789012:user/alice"
READ_PROD = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": f"{SM}:GetSecretValue",
    "Resource": "arn:aws:secretsmanager:*:123456789012:secret:prod/*"}]})


def cli(*args: str) -> int:
    return main(list(args))


def who_granted(ledger: SecretsLedger, principal_arn: str, moment: datetime
                ) -> list[dict[str, object]]:
    """The identity policies `principal_arn` held at `moment`, each with who attached it and when:
    the principal's stream replayed up to its last event at or before `moment`."""
    stream = list(ledger.events.get(Principal.id_for(principal_arn)))
    version = max(e.originator_version for e in stream if e.timestamp <= moment)
    then: Principal = ledger.repository.get(Principal.id_for(principal_arn), version=version)
    answer = []
    for name, document in sorted(then.policies.items()):
        put = [e for e in stream if isinstance(e, PolicyPut) and e.policy_name == name
               and e.originator_version <= version][-1]
        answer.append({"policy": name, "document": document, "granted_at": put.timestamp,
                       "granted_by": put.context["caller"]["arn"],
                       "principal_type": put.context["caller"]["principal_type"],
                       "user_agent": put.context["user_agent"]})
    return answer


def test_who_granted_alice_access_and_when(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    assert cli("principals", "create", "alice", *data) == 0
    assert cli("principals", "policies", "put", "alice", "read-prod", READ_PROD, *data) == 0
    ledger = SecretsLedger(LedgerConfig(data_dir=tmp_path / "data"))
    alice = Principals(ledger).find("alice").caller("AKIAALICEEXAMPLE0001")
    arn = ledger.call("CreateSecret", {"Name": "prod/db", "SecretString": "v"},
                      Caller.system())["ARN"]
    ledger.call("GetSecretValue", {"SecretId": "prod/db"}, alice, request_id="alice-read")
    assert cli("principals", "policies", "delete", "alice", "read-prod", *data) == 0
    ledger.close()
    ledger = SecretsLedger(LedgerConfig(data_dir=tmp_path / "data"))
    with pytest.raises(LedgerError):
        ledger.call("GetSecretValue", {"SecretId": "prod/db"}, alice)

    # The question, asked afterwards from the log alone: alice read prod/db; who let her, when?
    (read,) = [c for c in api_calls(ledger) if c.context["request_id"] == "alice-read"]
    assert read.error_code is None and read.resources == [arn]
    (grant,) = who_granted(ledger, ALICE, read.timestamp)
    put = next(e for e in ledger.events.get(Principal.id_for(ALICE)) if isinstance(e, PolicyPut))
    assert grant["policy"] == "read-prod" and grant["granted_at"] == put.timestamp
    assert grant["granted_at"] < read.timestamp
    assert (grant["granted_by"], grant["principal_type"], grant["user_agent"]) == \
        ("arn:aws:iam::123456789012:root", "Root", "secrets-ledger-cli")
    # ... and the grant found is indeed what allowed that very read.
    document = parse_policy(str(grant["document"]), PolicyKind.IDENTITY)
    decision = evaluate(AuthzRequest(ALICE, "123456789012", f"{SM}:GetSecretValue", arn),
                        [document])
    assert decision.allowed
    # Today alice holds nothing, and the revocation is on record too.
    assert who_granted(ledger, ALICE, datetime.max.replace(tzinfo=read.timestamp.tzinfo)) == []
    revoked = [e for e in ledger.events.get(Principal.id_for(ALICE))
               if isinstance(e, PolicyDeleted)]
    assert [e.policy_name for e in revoked] == ["read-prod"]
    assert revoked[0].context["operation"] == "DeleteUserPolicy"
    ledger.close()


def test_principal_commands_record_each_change(tmp_path, capsys):
    data = ["--data-dir", str(tmp_path / "data")]
    assert cli("principals", "create", "deployer", "--role", *data) == 0
    assert cli("principals", "policies", "put", "deployer", "ci", READ_PROD, *data) == 0
    capsys.readouterr()
    assert cli("principals", "policies", "get", "deployer", "ci", *data) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["PolicyDocument"] == json.loads(READ_PROD)
    assert cli("principals", "list", *data) == 0
    assert json.loads(capsys.readouterr().out)[0]["Policies"] == ["ci"]
    assert cli("principals", "policies", "put", "deployer", "bad", '{"Statement": []}', *data) == 1
    assert "invalid syntax" in capsys.readouterr().err
    assert cli("principals", "policies", "put", "root", "x", READ_PROD, *data) == 1
    assert cli("principals", "access-keys", "create", "deployer", *data) == 0
    assert cli("principals", "delete", "deployer", *data) == 0
    assert cli("principals", "delete", "deployer", *data) == 1
    ledger = SecretsLedger(LedgerConfig(data_dir=tmp_path / "data"))
    arn = "arn:aws:iam::123456789012:role/deployer"
    history = list(ledger.events.get(Principal.id_for(arn)))
    assert [type(e).__name__ for e in history] == [
        "PrincipalCreated", "PolicyPut", "AccessKeyIssued", "AccessKeyWithdrawn",
        "PrincipalDeleted"]
    assert [e.context["operation"] for e in history] == [
        "CreateRole", "PutRolePolicy", "CreateAccessKey", "DeleteRole", "DeleteRole"]
    assert {e.context["user_agent"] for e in history} == {"secrets-ledger-cli"}
    assert {e.context["caller"]["principal_type"] for e in history} == {"Root"}
    ledger.close()


def test_key_commands_record_each_change(tmp_path, capsys):
    data = ["--data-dir", str(tmp_path / "data")]
    key_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*",
        "Resource": "*"}]})
    assert cli("keys", "create", "--description", "team", "--alias", "alias/team", *data) == 0
    key_id = json.loads(capsys.readouterr().out)["KeyId"]
    steps = [("disable", "alias/team"), ("enable", key_id),
             ("schedule-deletion", key_id, "--pending-window-in-days", "7"),
             ("cancel-deletion", key_id), ("enable", key_id),
             ("alias", "alias/other", key_id), ("policy", "put", key_id, key_policy)]
    for step in steps:
        assert cli("keys", *step, *data) == 0, step
    capsys.readouterr()
    assert cli("keys", "policy", "get", "alias/other", *data) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(key_policy)
    assert cli("keys", "list", *data) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["KeyState"], sorted(listed["Aliases"]), listed["KeyPolicy"]) == \
        ("Enabled", ["alias/other", "alias/team"], "custom")
    assert cli("keys", "alias", "alias/aws/secretsmanager", key_id, *data) == 1
    assert cli("keys", "enable", "alias/missing", *data) == 1
    ledger = SecretsLedger(LedgerConfig(data_dir=tmp_path / "data"))
    history = list(ledger.events.get(KmsKey.id_for(key_id)))
    assert [e.context["operation"] for e in history] == [
        "CreateKey", "DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
        "EnableKey", "PutKeyPolicy"]
    assert {(e.context["user_agent"], e.context["caller"]["principal_type"])
            for e in history} == {("secrets-ledger-cli", "Root")}
    ledger.close()


def test_the_root_takes_no_identity_policy_and_cannot_be_deleted(world):
    world.admin.ensure_root()
    with pytest.raises(PrincipalError):
        world.admin.put_policy("root", "x", READ_PROD)
    with pytest.raises(PrincipalError):
        world.admin.delete("root")


def test_putting_the_same_document_again_records_nothing(world):
    world.admin.put_policy("alice", "read", READ_PROD)
    before = len(list(world.ledger.events.get(Principal.id_for(ALICE))))
    world.admin.put_policy("alice", "read", READ_PROD)
    assert len(list(world.ledger.events.get(Principal.id_for(ALICE)))) == before
