"""Root key rotation through the library on each store: every key material row re-wrapped in
one save with its event, the ledger reopened with the new key, the old key refused."""
from __future__ import annotations

import random

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.keys import envelope
from ledger.keys.custody import load_custody
from ledger.keys.admin import KeyAdmin
from ledger.keys.rootkey import (
    RootKeyError, RootKeyRetired, create_root_key_file, root_key_fingerprint,
)
from ledger.keys.rotation import RotationError, rotate_root_key
from ledger.principals import Principals
from tests.scaleout.pg import STORE_PARAMS, store_env

DURABLE = [p for p in STORE_PARAMS if p != "memory"]


def _open(data_dir, key_file, store, env) -> SecretsLedger:
    return SecretsLedger(LedgerConfig(data_dir=data_dir, root_key_file=key_file, store=store,
                                      digest_interval=None), rng=random.Random(5), env=env)


@pytest.mark.parametrize("param", DURABLE)
def test_rotation_rewraps_every_key_material_and_the_old_key_is_refused(tmp_path, param):
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    old_key, new_key = create_root_key_file(old_file), create_root_key_file(new_file)
    with store_env(param) as (store, env):
        ledger = _open(tmp_path / "d", old_file, store, env)
        ledger.call("CreateSecret", {"Name": "app/db", "SecretString": "pw-1"}, Caller.system())
        ledger.write_digest()
        before = ledger.key_store.all_materials()
        rotation = rotate_root_key(ledger, old_key, new_key, operator="tester")
        assert rotation.rewrapped == len(before) and rotation.rewrapped >= 3
        with pytest.raises(RotationError):  # the new key is now the current one
            rotate_root_key(ledger, new_key, new_key, operator="tester")
        assert rotate_root_key(ledger, old_key, new_key, operator="tester").rewrapped == 0
        after = ledger.key_store.all_materials()
        assert set(after) == set(before)
        assert not any(envelope.opens(old_key, w, ledger.kms.material_context(n))
                       for n, w in after.items())
        ledger.close()

        with pytest.raises(RootKeyError, match=root_key_fingerprint(new_key)):
            _open(tmp_path / "d", old_file, store, env)
        ledger = _open(tmp_path / "d", new_file, store, env)
        try:
            assert ledger.call("GetSecretValue", {"SecretId": "app/db"},
                               Caller.system())["SecretString"] == "pw-1"
            custody = load_custody(ledger.repository)
            assert custody.root_fingerprint == root_key_fingerprint(new_key)
        finally:
            ledger.close()


def test_a_process_still_holding_the_retired_root_key_seals_no_new_key_material(tmp_path):
    """A server left running through a rotation keeps serving values (data keys are wrapped
    by KMS key material, which a rotation leaves as it is) but cannot seal a new KMS key or
    access key under the retired root key, where the new key would never open it."""
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    old_key, new_key = create_root_key_file(old_file), create_root_key_file(new_file)
    stale = _open(tmp_path / "d", old_file, "sqlite", {})
    rotating = _open(tmp_path / "d", old_file, "sqlite", {})
    try:
        stale.call("CreateSecret", {"Name": "app/db", "SecretString": "pw-1"}, Caller.system())
        rotate_root_key(rotating, old_key, new_key, operator="tester")
        assert stale.call("GetSecretValue", {"SecretId": "app/db"},
                          Caller.system())["SecretString"] == "pw-1"
        with pytest.raises(RootKeyRetired, match="restart it with the new root key"):
            KeyAdmin(stale).create("made after the rotation")
        with pytest.raises(RootKeyRetired):
            Principals(stale).issue_key(Principals(stale).create("alice"))
    finally:
        stale.close()
        rotating.close()
