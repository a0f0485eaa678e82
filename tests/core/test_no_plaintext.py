"""No secret value reaches disk, the log, an error or a repr: not as text, not as base64."""
from __future__ import annotations

import base64
import random
import stat
from pathlib import Path

import pytest

from ledger import values
from ledger.errors import LedgerError
from ledger.keys.keystore import DataKey
from ledger.secret import SealedValue
from tests.core.support import create_key, events, secret_of, set_key_state, token

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class Values:
    """Distinct random values; remembers each one so the scan can look for it."""

    def __init__(self) -> None:
        self.rng = random.Random(2026)
        self.strings: list[str] = []
        self.binaries: list[bytes] = []

    def string(self) -> str:
        value = "pw-" + "".join(self.rng.choice(ALPHABET) for _ in range(29))
        self.strings.append(value)
        return value

    def binary(self) -> bytes:
        value = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(16, 48)))
        self.binaries.append(value)
        return value

    def forms(self) -> list[tuple[str, bytes]]:
        """Every value as raw bytes, standard base64 and urlsafe base64."""
        raw = [("string", s.encode()) for s in self.strings] + \
            [("binary", b) for b in self.binaries]
        found = []
        for kind, data in raw:
            found += [(f"{kind} plaintext", data),
                      (f"{kind} base64", base64.b64encode(data)),
                      (f"{kind} urlsafe base64", base64.urlsafe_b64encode(data))]
        return found


def _many_writes(ledger, caller, clock, vals: Values) -> list[LedgerError]:
    """Strings and binaries, updates, key changes, cleanup, deletes; returns the errors met."""
    errors: list[LedgerError] = []

    def attempt(operation: str, request: dict) -> None:
        try:
            ledger.call(operation, request, caller)
        except LedgerError as error:
            errors.append(error)

    key = create_key(ledger, caller, alias="alias/scan")
    names = [f"scan/s{i}" for i in range(8)]
    for i, name in enumerate(names):
        request = {"Name": name, "ClientRequestToken": token()}
        if i % 2:
            request["SecretBinary"] = vals.binary()
        else:
            request["SecretString"] = vals.string()
        if i % 3 == 0:
            request["KmsKeyId"] = "alias/scan"
        ledger.call("CreateSecret", request, caller)
    for round_ in range(4):
        clock.advance(hours=7)
        for i, name in enumerate(names):
            if (i + round_) % 2:
                ledger.call("UpdateSecret", {"SecretId": name, "SecretString": vals.string()},
                            caller)
            else:
                ledger.call("PutSecretValue", {"SecretId": name, "SecretBinary": vals.binary(),
                                               "VersionStages": ["AWSCURRENT", f"r{round_}"]},
                            caller)
            ledger.call("GetSecretValue", {"SecretId": name}, caller)
    # base64 text on the wire, for one more binary per secret
    for name in names[:3]:
        encoded = base64.b64encode(vals.binary()).decode()
        ledger.call("PutSecretValue", {"SecretId": name, "SecretBinary": encoded}, caller)
    # key changes, with and without re-encryption
    ledger.call("UpdateSecret", {"SecretId": names[1], "KmsKeyId": key.arn}, caller)
    ledger.call("UpdateSecret", {"SecretId": names[0], "KmsKeyId": ""}, caller)
    # past the version quota, so cleanup removes versions
    clock.advance(hours=25)
    for _ in range(8):
        ledger.call("UpdateSecret", {"SecretId": names[2], "SecretString": vals.string()}, caller)
    ledger.call("BatchGetSecretValue", {"SecretIdList": names}, caller)
    # failures that carry a value
    used = secret_of(ledger, names[2]).labels["AWSCURRENT"]
    attempt("UpdateSecret", {"SecretId": names[2], "SecretString": vals.string(),
                             "ClientRequestToken": used})
    attempt("PutSecretValue", {"SecretId": names[2], "SecretString": vals.string(),
                               "SecretBinary": vals.binary()})
    attempt("CreateSecret", {"Name": names[3], "SecretString": vals.string()})
    attempt("UpdateSecret", {"SecretId": names[4], "SecretString": vals.string() * 2100})
    set_key_state(ledger, caller, key, "Disabled")
    attempt("UpdateSecret", {"SecretId": names[1], "SecretString": vals.string()})
    attempt("GetSecretValue", {"SecretId": names[1]})
    set_key_state(ledger, caller, key, "Enabled")
    # deletes: scheduled, restored, forced, purged
    ledger.call("DeleteSecret", {"SecretId": names[5], "RecoveryWindowInDays": 7}, caller)
    ledger.call("DeleteSecret", {"SecretId": names[6], "RecoveryWindowInDays": 7}, caller)
    ledger.call("RestoreSecret", {"SecretId": names[6]}, caller)
    ledger.call("DeleteSecret", {"SecretId": names[7], "ForceDeleteWithoutRecovery": True},
                caller)
    clock.advance(days=8)
    ledger.purge_expired()
    ledger.call("CreateSecret", {"Name": names[7], "SecretString": vals.string()}, caller)
    return errors


def _hits(data_dir: Path, forms: list[tuple[str, bytes]]) -> list[str]:
    hits = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        hits += [f"{label} in {path.name}" for label, form in forms if form in raw]
    return hits


def test_no_value_in_any_file_of_the_data_directory(sqlite_ledger, caller, clock, tmp_path):
    vals = Values()
    errors = _many_writes(sqlite_ledger, caller, clock, vals)
    assert len(errors) == 6
    strings, binaries = len(vals.strings), len(vals.binaries)
    assert strings >= 30 and binaries >= 15
    data_dir = tmp_path / "data"
    files = {p.name for p in data_dir.rglob("*") if p.is_file()}
    assert "ledger.db" in files and "root.key" in files
    assert _hits(data_dir, vals.forms()) == []
    sqlite_ledger.close()  # checkpoint the WAL into the database file, then look again
    assert _hits(data_dir, vals.forms()) == []


def test_the_scan_would_find_a_value_written_in_the_clear(tmp_path):
    vals = Values()
    value, blob = vals.string(), vals.binary()
    (tmp_path / "leak.bin").write_bytes(b"..." + base64.urlsafe_b64encode(blob) + b"...")
    (tmp_path / "leak.txt").write_text(f"x{value}x")
    hits = set(_hits(tmp_path, vals.forms()))
    assert {"binary urlsafe base64 in leak.bin", "string plaintext in leak.txt"} <= hits
    assert not any(hit.startswith("string") and hit.endswith("leak.bin") for hit in hits)


def test_root_key_file_is_private(sqlite_ledger, tmp_path):
    mode = stat.S_IMODE((tmp_path / "data" / "root.key").stat().st_mode)
    assert mode == 0o600


def test_no_value_in_errors_events_or_reprs(ledger, caller, clock):
    vals = Values()
    errors = _many_writes(ledger, caller, clock, vals)
    forms = vals.forms()
    texts = [repr(e) for e in errors] + [str(e) for e in errors] + \
        [e.message for e in errors] + [repr(vars(e)) for e in events(ledger)]
    for name in ("scan/s0", "scan/s1", "scan/s2"):
        secret = secret_of(ledger, name)
        texts += [repr(secret), str(secret), repr(secret.versions)]
    for text in texts:
        for label, form in forms:
            assert form not in text.encode(), label
            assert form.decode("latin-1") not in text, label


@pytest.mark.parametrize("value", ["correct horse battery staple", b"\x00\x01binary-secret"])
def test_value_holders_never_show_the_value(value):
    data = value.encode() if isinstance(value, str) else value
    kind = "SecretString" if isinstance(value, str) else "SecretBinary"
    plain = values.Plaintext(kind, data)
    sealed = SealedValue(kind, b"\x07" * 40 + data, "hmac-sha256:" + "0" * 64, "arn:key")
    data_key = DataKey("arn:key", data)
    for holder in (plain, sealed, data_key):
        for text in (repr(holder), str(holder), f"{holder}", repr([holder])):
            assert repr(data) not in text
            assert data.decode("latin-1") not in text
            assert base64.b64encode(data).decode() not in text
    assert "hidden" in repr(plain)


def test_errors_about_a_value_do_not_contain_it(ledger, caller):
    secret = "Zq8-very-secret-" + "x" * 70000
    with pytest.raises(LedgerError) as caught:
        ledger.call("CreateSecret", {"Name": "n", "SecretString": secret}, caller)
    assert caught.value.code == "ValidationException"
    assert "Zq8-very-secret" not in repr(caught.value) + str(caught.value)
    with pytest.raises(LedgerError) as caught:
        ledger.call("CreateSecret", {"Name": "n", "SecretBinary": "Zq8-not-base64!"}, caller)
    assert caught.value.code == "InvalidParameterException"
    assert "Zq8" not in repr(caught.value) + str(caught.value)
