"""The root key in a file outside the data directory, and its rotation: a copy of the data
directory opens no value, and after a rotation the old root key opens nothing in a copy."""
from __future__ import annotations

import base64
import binascii
import json
import re
import stat
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.keys.rootkey import read_root_key_file
from tests.custody.support import REPO, cli, every_file, materials, ok, steal
from tools.fixtures.write_ledger import VALUES

FIXTURE = REPO / "tests" / "fixtures" / "ledger-2026-12-03"
SECRETS = {f"app/{i}": f"value-{i}" for i in range(2)}
BASE64_KEY = re.compile(rb"[A-Za-z0-9+/]{43}=")


def _fill(data: Path, *key_args: str) -> None:
    for name, value in SECRETS.items():
        ok("call", "--data-dir", str(data), *key_args, "CreateSecret",
           json.dumps({"Name": name, "SecretString": value}))
    ok("principals", "create", "alice", "--data-dir", str(data), *key_args)
    ok("principals", "access-keys", "create", "alice", "--data-dir", str(data), *key_args)
    ok("digest", "--data-dir", str(data), *key_args)  # the signing key, kept in the key store


def _reads_all(data: Path, *key_args: str, values: dict[str, str] = SECRETS) -> None:
    answer = json.loads(ok("call", "--data-dir", str(data), *key_args, "BatchGetSecretValue",
                           json.dumps({"SecretIdList": list(values)})))
    assert {v["Name"]: v["SecretString"] for v in answer["SecretValues"]} == values


def _opens(key: bytes, wrapped: bytes, name: str) -> bool:
    try:
        AESGCM(key).decrypt(wrapped[:12], wrapped[12:], name.encode())
        return True
    except (InvalidTag, ValueError):
        return False


def _candidate_keys(directory: Path) -> set[bytes]:
    """Everything in the copy that could be a root key: every 32-byte run of every file at
    every offset, and every base64 token of 32 bytes."""
    found: set[bytes] = set()
    for path in every_file(directory):
        data = path.read_bytes()
        found.update(data[i:i + 32] for i in range(max(len(data) - 31, 0)))
        for token in BASE64_KEY.findall(data):
            try:
                found.add(base64.b64decode(token))
            except binascii.Error:
                pass
    return found


def test_root_key_create_writes_a_private_key_file_and_prints_its_fingerprint(tmp_path):
    key = tmp_path / "root.key"
    printed = ok("root-key", "create", str(key)).strip()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and printed.startswith("rk-")
    assert base64.b64encode(read_root_key_file(key)).decode() not in printed


def test_with_the_root_key_outside_a_copy_of_the_data_directory_opens_no_value(tmp_path):
    data, key = tmp_path / "data", tmp_path / "keys" / "root.key"
    key.parent.mkdir()
    ok("root-key", "create", str(key))
    _fill(data, "--root-key", str(key))
    _reads_all(data, "--root-key", str(key))
    assert not (data / "root.key").exists()

    copy = steal(data, tmp_path / "stolen")
    refused = cli("call", "--data-dir", str(copy), "GetSecretValue", '{"SecretId": "app/0"}')
    assert refused.returncode == 2 and "--root-key" in refused.stderr
    assert "Traceback" not in refused.stderr and not (copy / "root.key").exists()
    name, wrapped = next((n, w) for n, w in materials(copy / "ledger.db").items()
                         if n.startswith("secret:"))  # a secret's key record
    candidates = _candidate_keys(copy)
    assert len(candidates) > 10_000
    assert not [c for c in candidates if _opens(c, wrapped, name)]
    for token in {base64.b64encode(c).decode() for c in candidates
                  if base64.b64encode(c) in b"".join(p.read_bytes() for p in every_file(copy))}:
        tried = cli("call", "--data-dir", str(copy), "GetSecretValue", '{"SecretId": "app/0"}',
                    env={"LEDGER_ROOT_KEY": token})
        assert tried.returncode != 0 and "value-0" not in tried.stdout


def _rotate(data: Path, new_key: Path, *key_args: str) -> dict:
    return json.loads(ok("root-key", "rotate", "--data-dir", str(data), *key_args,
                         "--new-root-key", str(new_key)))


def test_after_rotation_the_old_root_key_opens_nothing_in_a_copy(tmp_path):
    data, new_key = tmp_path / "data", tmp_path / "keys" / "new.key"
    new_key.parent.mkdir()
    _fill(data)  # root.key beside the database, as before key files existed
    old_key = base64.b64decode((data / "root.key").read_text())
    before = materials(data / "ledger.db")

    rotation = _rotate(data, new_key)
    # KMS key, the two secrets' key records, access key, signing key
    assert rotation["RewrappedKeyMaterials"] == len(before) == 5
    assert rotation["ErasedOldRootKeyFile"] and not (data / "root.key").exists()

    copy = steal(data, tmp_path / "copy")
    after = materials(copy / "ledger.db")
    assert set(after) == set(before)
    everything = b"".join(p.read_bytes() for p in every_file(copy))
    for name, wrapped in before.items():  # no old wrapping survives, in any page or the WAL
        assert wrapped not in everything, name
    record = next(n for n in after if n.startswith("secret:"))
    assert _opens(old_key, before[record], record) and not _opens(old_key, after[record], record)
    refused = cli("call", "--data-dir", str(copy), "GetSecretValue", '{"SecretId": "app/0"}',
                  env={"LEDGER_ROOT_KEY": base64.b64encode(old_key).decode()})
    assert refused.returncode == 2 and rotation["NewRootKeyFingerprint"] in refused.stderr
    _reads_all(copy, "--root-key", str(new_key))
    trail = ok("audit", "export", "--data-dir", str(copy), "--root-key", str(new_key))
    assert '"eventName":"RotateRootKey"' in trail
    assert rotation["OldRootKeyFingerprint"] in trail and rotation["NewRootKeyFingerprint"] in trail
    assert base64.b64encode(old_key).decode() not in trail


_CRASH = """
import os, sys
from ledger import storage
import tools.commands.custody as custody
point = sys.argv[1]
if point == "in-transaction":
    write_keys = storage.SqlKeyStore._write_keys
    def dying(self, c, changes):
        write_keys(self, c, changes)
        if changes.rewrapped:
            os._exit(9)  # the rows are re-wrapped, the transaction is not committed
    storage.SqlKeyStore._write_keys = dying
else:
    def dying(path):
        os._exit(9)  # committed, the old root.key not yet erased
    custody.erase_file = dying
from tools.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("point", ["in-transaction", "before-erasing-the-old-key"])
def test_a_rotation_killed_midway_leaves_a_ledger_one_of_the_keys_opens(tmp_path, point):
    data, new_key = tmp_path / "data", tmp_path / "keys" / "new.key"
    new_key.parent.mkdir()
    _fill(data)
    crashed = cli_python(_CRASH, point, "root-key", "rotate", "--data-dir", str(data),
                         "--new-root-key", str(new_key))
    assert crashed.returncode == 9, crashed.stderr
    if point == "in-transaction":  # nothing committed: the old key opens it, the new is refused
        _reads_all(data)
        refused = cli("call", "--data-dir", str(data), "--root-key", str(new_key),
                      "GetSecretValue", '{"SecretId": "app/0"}')
        assert refused.returncode == 2 and "does not open" in refused.stderr
        _rotate(data, new_key)  # run again, it finishes
    else:  # committed: the old key beside the database is refused, naming the new one
        refused = cli("call", "--data-dir", str(data), "GetSecretValue", '{"SecretId": "app/0"}')
        assert refused.returncode == 2 and "needs root key rk-" in refused.stderr
    _reads_all(data, "--root-key", str(new_key))


def cli_python(code: str, *argv: str):
    import os
    import subprocess
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    environment.update({"PYTHONPATH": str(REPO), "LEDGER_DIGEST_INTERVAL": "0"})
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=120)


def test_the_fixture_ledger_opens_and_rotates_its_root_key(tmp_path):
    data = steal(FIXTURE, tmp_path / FIXTURE.name)
    _reads_all(data, values=VALUES)
    new_key = tmp_path / "new.key"
    _rotate(data, new_key)
    _reads_all(data, "--root-key", str(new_key), values=VALUES)
    verified = cli("verify", "--data-dir", str(data),
                   "--public-key", str(FIXTURE.with_suffix(".pem")))
    assert verified.returncode == 0, verified.stdout


def test_a_new_root_key_inside_the_data_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    ok("call", "--data-dir", str(data), "ListSecrets")
    refused = cli("root-key", "rotate", "--data-dir", str(data),
                  "--new-root-key", str(data / "new.key"))
    assert refused.returncode == 2 and "inside the data directory" in refused.stderr
    assert not (data / "new.key").exists()


def test_rotating_a_directory_without_a_ledger_says_so_and_creates_no_key(tmp_path):
    refused = cli("root-key", "rotate", "--data-dir", str(tmp_path / "none"),
                  "--new-root-key", str(tmp_path / "new.key"))
    assert refused.returncode == 2 and "no ledger" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "new.key").exists()
