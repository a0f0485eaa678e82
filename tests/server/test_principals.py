"""Principals and access keys as aggregates in the ledger's log, and the CLI over them."""
from __future__ import annotations

import json
import random

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.principals import (
    AccessKey, AccessKeyIssued, Principal, PrincipalCreated, PrincipalError, Principals,
    RecentCredentials, material_name,
)
from tools.cli import main


@pytest.fixture(params=["memory", "sqlite"])
def principals(request, tmp_path, clock) -> Principals:
    data_dir = None if request.param == "memory" else tmp_path / "data"
    return Principals(SecretsLedger(LedgerConfig(data_dir=data_dir), clock=clock,
                                    rng=random.Random(5)))


def all_event_bytes(ledger: SecretsLedger) -> bytes:
    notes = ledger.recorder.select_notifications(start=None, limit=100_000)
    return b"".join(note.state for note in notes)


def test_users_and_roles_get_iam_arns_and_ids(principals):
    user = principals.create("alice")
    role = principals.create("deployer", role=True)
    assert user.arn == "arn:aws:iam::123456789012:user/alice"
    assert user.principal_type == "IAMUser" and user.principal_id.startswith("AIDA")
    assert role.arn == "arn:aws:iam::123456789012:role/deployer"
    assert role.principal_type == "Role" and role.principal_id.startswith("AROA")
    assert principals.find("alice").arn == user.arn
    assert {p.name for p in principals.all()} == {"alice", "deployer"}


def test_root_is_the_account(principals):
    root = principals.ensure_root()
    assert root.arn == "arn:aws:iam::123456789012:root"
    assert root.principal_type == "Root" and root.principal_id == "123456789012"
    assert principals.ensure_root().id == root.id


def test_a_name_is_taken_once_and_must_be_valid(principals):
    principals.create("alice")
    with pytest.raises(PrincipalError, match="already exists"):
        principals.create("alice")
    with pytest.raises(PrincipalError):
        principals.create("no spaces allowed")


def test_an_issued_key_authenticates_as_its_principal(principals):
    user = principals.create("alice")
    issued = principals.issue_key(user)
    assert issued.access_key_id.startswith("AKIA") and len(issued.access_key_id) == 20
    assert len(issued.secret_access_key) == 40
    caller, secret = principals.credentials(issued.access_key_id)
    assert secret == issued.secret_access_key
    assert caller.arn == user.arn and caller.access_key_id == issued.access_key_id
    assert issued.secret_access_key not in repr(issued)


def test_the_secret_access_key_is_never_in_an_event(principals):
    issued = principals.issue_key(principals.create("alice"))
    assert issued.secret_access_key.encode() not in all_event_bytes(principals.ledger)
    wrapped = principals.ledger.key_store.material(material_name(issued.access_key_id))
    assert wrapped is not None and issued.secret_access_key.encode() not in wrapped


def test_who_granted_a_key_and_when_is_in_the_log(principals, clock):
    user = principals.create("alice")
    clock.advance(hours=1)
    issued = principals.issue_key(user)
    history = list(principals.ledger.events.get(Principal.id_for(user.arn)))
    assert [type(e) for e in history] == [PrincipalCreated, AccessKeyIssued]
    grant = history[1]
    assert grant.access_key_id == issued.access_key_id
    assert grant.timestamp == clock.now
    assert grant.context["caller"]["principal_type"] == "Root"
    assert grant.context["operation"] == "CreateAccessKey"


def test_a_deleted_key_stops_working_and_its_secret_is_destroyed(principals):
    user = principals.create("alice")
    issued = principals.issue_key(user)
    principals.delete_key(issued.access_key_id)
    assert principals.credentials(issued.access_key_id) is None
    assert principals.ledger.key_store.material(material_name(issued.access_key_id)) is None
    assert principals.find("alice").access_keys == {issued.access_key_id: False}
    with pytest.raises(PrincipalError):
        principals.delete_key(issued.access_key_id)


def test_a_key_is_found_by_its_own_stream(principals):
    issued = principals.issue_key(principals.create("alice"))
    key: AccessKey = principals.ledger.repository.get(AccessKey.id_for(issued.access_key_id))
    assert key.principal_arn == "arn:aws:iam::123456789012:user/alice"
    assert principals.credentials("AKIANOTREGISTERED000") is None
    assert principals.credentials("not a key id") is None


def test_recent_credentials_are_reused_only_while_fresh(principals):
    issued = principals.issue_key(principals.create("alice"))
    now = [100.0]
    recent = RecentCredentials(principals, freshness=0.2, monotonic=lambda: now[0])
    assert recent(issued.access_key_id)[1] == issued.secret_access_key
    principals.delete_key(issued.access_key_id)
    now[0] += 0.19
    assert recent(issued.access_key_id) is not None  # still within its freshness
    now[0] += 0.02
    assert recent(issued.access_key_id) is None


def test_ensure_key_registers_once_and_refuses_a_different_secret(principals):
    root = principals.ensure_root()
    assert principals.ensure_key(root, "AKIACONFIGURED000001", "s1") is True
    assert principals.ensure_key(root, "AKIACONFIGURED000001", "s1") is False
    with pytest.raises(PrincipalError, match="another secret"):
        principals.ensure_key(root, "AKIACONFIGURED000001", "s2")


def test_the_cli_creates_lists_and_issues_keys(tmp_path, capsys):
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["principals", "create", "bob", *data]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["Arn"] == "arn:aws:iam::123456789012:user/bob"
    assert main(["principals", "access-keys", "create", "bob", *data]) == 0
    key = json.loads(capsys.readouterr().out)
    assert set(key) == {"AccessKeyId", "SecretAccessKey", "Principal"}
    assert main(["principals", "list", *data]) == 0
    listed = capsys.readouterr().out
    assert key["AccessKeyId"] in listed and key["SecretAccessKey"] not in listed
    assert main(["principals", "access-keys", "delete", key["AccessKeyId"], *data]) == 0
    assert main(["principals", "access-keys", "delete", key["AccessKeyId"], *data]) == 1
    assert main(["principals", "create", "bob", *data]) == 1
