"""Upgrades lose nothing: ledgers written by earlier code open, read, verify and show their
trail with today's code. Each fixture under tests/fixtures/ was written by
`python -m tools.fixtures.write_ledger` at the commit its name dates, before a storage or
layout change; they are copied, never opened in place."""
from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import ResourceExistsException, ResourceNotFoundException
from projections import audit_hash
from tools.cli import main
from tools.fixtures.write_ledger import SHREDDED, VALUES

FIXTURES = Path(__file__).parent.parent / "fixtures"
LEDGERS = sorted(p for p in FIXTURES.glob("ledger-*") if p.is_dir())


@pytest.fixture(params=LEDGERS, ids=[p.name for p in LEDGERS])
def old_ledger(request, tmp_path) -> tuple[Path, Path]:
    copy = tmp_path / request.param.name
    shutil.copytree(request.param, copy)
    return copy, request.param.with_suffix(".pem")


def test_there_is_a_fixture_ledger_from_before_each_change():
    assert any(p.name == "ledger-2026-12-03" for p in LEDGERS)


def test_an_old_ledger_verifies_with_its_published_key(old_ledger, capsys):
    data_dir, pem = old_ledger
    code = main(["verify", "--data-dir", str(data_dir), "--public-key", str(pem)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "INVALID" not in out and "2/2 digest files valid" in out


def test_an_old_ledger_opens_and_reads_every_live_value(old_ledger):
    data_dir, _ = old_ledger
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir, digest_interval=None))
    try:
        for name, value in VALUES.items():
            answer = ledger.call("GetSecretValue", {"SecretId": name}, Caller.system())
            assert answer["SecretString"] == value
        with pytest.raises(ResourceNotFoundException):
            ledger.call("GetSecretValue", {"SecretId": SHREDDED}, Caller.system())
        ledger.call("UpdateSecret", {"SecretId": "app/api", "SecretString": "fixture-api-v2"},
                    Caller.system())
        assert ledger.call("GetSecretValue", {"SecretId": "app/api"},
                           Caller.system())["SecretString"] == "fixture-api-v2"
        # that write gave the secret its key record and re-wrapped its older rows under it
        secret = ledger.find_secret("app/api")
        assert ledger.secret_keys.find(secret.id.hex) is not None
        assert ledger.call("GetSecretValue", {"SecretId": "app/api", "VersionStage": "AWSPREVIOUS"},
                           Caller.system())["SecretString"] == VALUES["app/api"]
    finally:
        ledger.close()


def test_an_old_ledger_shows_its_trail_and_past_states(old_ledger, capsys):
    data_dir, _ = old_ledger
    assert main(["audit", "lookup", "--data-dir", str(data_dir),
                 "--resource-name", "app/db"]) == 0
    names = [e["EventName"] for e in json.loads(capsys.readouterr().out)["Events"]]
    assert {"CreateSecret", "UpdateSecret", "GetSecretValue"} <= set(names)
    current_at = {}
    for position in (8, 14):  # after CreateSecret, after the UpdateSecret that changed its key
        assert main(["inspect", "app/db", "--data-dir", str(data_dir),
                     "--position", str(position)]) == 0
        past = json.loads(capsys.readouterr().out)
        current_at[position] = [v["versionId"] for v in past["versions"]
                                if "AWSCURRENT" in v["stages"]]
        assert past["kmsKeyId"] == (None if position == 8 else "alias/fixture")
    assert len(current_at[8]) == len(current_at[14]) == 1 and current_at[8] != current_at[14]
    assert main(["replay", "--data-dir", str(data_dir)]) == 0


def test_an_old_ledger_copied_with_open_modes_is_made_private_on_open(old_ledger):
    """Git checks fixtures out 0644 like any backup restored by a careless tool: opening the
    copy makes the directory 0700 and every file 0600 (with a warning each)."""
    data_dir, _ = old_ledger
    data_dir.chmod(0o755)
    for path in data_dir.iterdir():
        path.chmod(0o644)
    SecretsLedger(LedgerConfig(data_dir=data_dir, digest_interval=None)).close()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()} == {0o600}


def test_an_old_ledger_keeps_its_idempotent_retries_with_the_global_fingerprint_key(old_ledger):
    """Versions written before per-secret keys were fingerprinted with the one global key: a
    retry of their write (same token) must still be told apart from a clash (other value)."""
    data_dir, _ = old_ledger
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir, digest_interval=None))
    try:
        name, value = next(iter(VALUES.items()))
        current = ledger.call("GetSecretValue", {"SecretId": name}, Caller.system())
        retry = {"SecretId": name, "ClientRequestToken": current["VersionId"]}
        answer = ledger.call("PutSecretValue", {**retry, "SecretString": value}, Caller.system())
        assert answer["VersionId"] == current["VersionId"]
        with pytest.raises(ResourceExistsException):
            ledger.call("PutSecretValue", {**retry, "SecretString": value + "-other"},
                        Caller.system())
        assert len(ledger.find_secret(name).versions) == len(
            ledger.call("ListSecretVersionIds", {"SecretId": name}, Caller.system())["Versions"])
    finally:
        ledger.close()


def test_retiring_the_global_fingerprint_key_ends_old_fingerprint_checks_but_not_retries(
        old_ledger, capsys):
    data_dir, _ = old_ledger
    name, value = next(iter(VALUES.items()))

    def stored(ledger: SecretsLedger) -> bool:
        prints = audit_hash.fingerprints_of(ledger, "SecretString", value.encode())
        return bool(audit_hash.find(ledger, prints)["records"])

    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir, digest_interval=None))
    assert stored(ledger)  # written before the upgrade: recognised with the global key
    ledger.close()
    assert main(["keys", "retire-fingerprint-key", "--data-dir", str(data_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == {"Retired": True}
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir, digest_interval=None))
    try:
        assert ledger.key_store.material("audit-hmac") is None
        assert not stored(ledger)
        current = ledger.call("GetSecretValue", {"SecretId": name}, Caller.system())
        retry = {"SecretId": name, "ClientRequestToken": current["VersionId"]}
        assert ledger.call("PutSecretValue", {**retry, "SecretString": value},
                           Caller.system())["VersionId"] == current["VersionId"]
        with pytest.raises(ResourceExistsException):
            ledger.call("PutSecretValue", {**retry, "SecretString": "other"}, Caller.system())
    finally:
        ledger.close()
    assert main(["keys", "retire-fingerprint-key", "--data-dir", str(data_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == {"Retired": False}
