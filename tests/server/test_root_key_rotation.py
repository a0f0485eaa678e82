"""Changing the configured root key pair revokes the old one (a restart is a rotation)."""
from __future__ import annotations

import botocore.exceptions
import pytest
from eventsourcing.utils import get_topic

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.principals import Principals, RootKeyReplaced
from tests.server.conftest import ROOT_ENV, ROOT_KEY_ID, ROOT_SECRET, ServerProcess, make_client
from tools.commands.serve import KEY_ID_ENV, SECRET_ENV, ensure_root_credentials

KEY_B, SECRET_B = "AKIATESTROOT00000002", "test-root-secret-access-key-bbbbbbbbbbbbb"
ENV_B = {KEY_ID_ENV: KEY_B, SECRET_ENV: SECRET_B}


def replacements(data_dir) -> list[RootKeyReplaced]:
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir))
    try:
        notes = ledger.recorder.select_notifications(start=None, limit=10_000,
                                                     topics=[get_topic(RootKeyReplaced)])
        return [ledger.mapper.to_domain_event(note) for note in notes]
    finally:
        ledger.close()


def test_restarting_with_another_root_pair_revokes_the_previous_pair(tmp_path):
    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, ROOT_ENV).start()
    try:
        make_client(first.url).list_secrets()
    finally:
        first.stop()
    second = ServerProcess(data_dir, ENV_B).start()
    try:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            make_client(second.url).list_secrets()  # signed with pair A
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        make_client(second.url, key_id=KEY_B, secret=SECRET_B).list_secrets()
    finally:
        second.stop()
    assert f"root access key {ROOT_KEY_ID} replaced by {KEY_B}" in second.stderr()
    [event] = replacements(data_dir)
    assert (event.access_key_id, event.replaced_key_ids) == (KEY_B, [ROOT_KEY_ID])
    assert event.context["operation"] == "ReplaceRootAccessKey"
    assert ROOT_SECRET not in repr(event.__dict__) and SECRET_B not in repr(event.__dict__)


def test_the_revoked_pair_cannot_be_configured_again(tmp_path):
    data_dir = tmp_path / "data"
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir))
    try:
        ensure_root_credentials(ledger, data_dir, ROOT_ENV)
        ensure_root_credentials(ledger, data_dir, ENV_B)
    finally:
        ledger.close()
    with pytest.raises(RuntimeError, match="was deleted; configure another"):
        ServerProcess(data_dir, ROOT_ENV).start()


def test_keep_previous_root_key_keeps_both_pairs_working(tmp_path):
    data_dir = tmp_path / "data"
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir))
    try:
        ensure_root_credentials(ledger, data_dir, ROOT_ENV)
        ensure_root_credentials(ledger, data_dir, ENV_B, keep_previous=True)
        principals = Principals(ledger)
        assert principals.credentials(ROOT_KEY_ID) is not None
        assert principals.credentials(KEY_B) is not None
        # The next start without the flag makes B the only configured key.
        ensure_root_credentials(ledger, data_dir, ENV_B)
        assert principals.credentials(ROOT_KEY_ID) is None
    finally:
        ledger.close()


def test_a_generated_root_key_is_replaced_by_a_configured_pair_but_cli_keys_stay(tmp_path):
    data_dir = tmp_path / "data"
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir))
    try:
        ensure_root_credentials(ledger, data_dir, {})  # generates root-credentials
        generated = Principals(ledger).find("root").access_keys
        cli = Principals(ledger, user_agent="secrets-ledger-cli")
        issued = cli.issue_key(cli.find("root"))
        ensure_root_credentials(ledger, data_dir, ROOT_ENV)
        principals = Principals(ledger)
        assert all(principals.credentials(key) is None for key in generated)
        assert principals.credentials(issued.access_key_id) is not None
        assert principals.credentials(ROOT_KEY_ID) is not None
    finally:
        ledger.close()
