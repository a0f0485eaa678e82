"""Inclusion proofs: one event, its Merkle path and the signed digest, checkable by anyone
holding only the proof and the public key."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ledger.integrity.proof as proof_module
from ledger.integrity.inclusion import ProofUnavailable
from ledger.integrity.proof import check_proof
from tests.integrity.conftest import open_ledger


@pytest.fixture
def proved(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "d", clock)
    for i in range(5):
        ledger.call("CreateSecret", {"Name": f"s{i}", "SecretString": "v"}, caller)
        ledger.call("PutSecretValue", {"SecretId": f"s{i}", "SecretString": "w"}, caller)
    ledger.write_digest()
    return ledger


def test_a_proof_for_every_event_checks_with_the_public_key(proved):
    pem = proved.integrity.public_key_pem()
    for position in range(1, proved.recorder.max_notification_id() + 1):
        assert check_proof(json.dumps(proved.integrity.prove(str(position))), pem), position


def test_an_event_can_be_named_by_originator_and_version(proved):
    secret_id = proved.name_index("s3").secret_id
    proof = proved.integrity.prove(f"{secret_id}:2")
    assert proof["event"]["originator_id"] == secret_id.hex
    assert proof["event"]["originator_version"] == 2
    assert check_proof(proof, proved.integrity.public_key_pem())


@pytest.mark.parametrize("tamper", [
    "state", "position", "path", "index", "body", "signature", "previous_hash"])
def test_a_proof_altered_anywhere_fails(proved, tamper):
    proof = proved.integrity.prove("7")
    event, digest = proof["event"], proof["digest"]
    if tamper == "state":
        state = base64.b64decode(event["state"])
        event["state"] = base64.b64encode(state[:-1] + bytes([state[-1] ^ 1])).decode()
    elif tamper == "position":
        event["position"] = 8
    elif tamper == "path":
        proof["audit_path"][0] = "00" * 32
    elif tamper == "index":
        proof["leaf_index"] += 1
    elif tamper == "body":
        digest["body"] = digest["body"].replace('"event_count":', '"event_count":1')
    elif tamper == "signature":
        digest["signature"] = "00" * 64
    elif tamper == "previous_hash":
        event["previous_hash"] = "11" * 32
    assert not check_proof(json.dumps(proof), proved.integrity.public_key_pem())


def test_a_proof_fails_against_another_key_and_on_garbage(proved):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from ledger.integrity.signing import public_key_pem
    proof = json.dumps(proved.integrity.prove("3"))
    assert not check_proof(proof, public_key_pem(Ed25519PrivateKey.generate().public_key()))
    assert not check_proof("{not json", proved.integrity.public_key_pem())
    assert not check_proof(proof, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_an_event_not_yet_under_a_digest_has_no_proof(proved, caller):
    proved.call("DescribeSecret", {"SecretId": "s1"}, caller)
    with pytest.raises(ProofUnavailable, match="not yet covered by a digest"):
        proved.integrity.prove(str(proved.recorder.max_notification_id()))
    with pytest.raises(ProofUnavailable):
        proved.integrity.prove("999999")


def test_a_third_party_checks_a_proof_with_only_the_proof_the_key_and_one_file(proved, tmp_path):
    """The checker runs in a fresh interpreter that cannot import the ledger or eventsourcing:
    it has the proof file, the public key file and a copy of `proof.py`, nothing more."""
    outside = tmp_path / "auditor"
    outside.mkdir()
    (outside / "proof.json").write_text(json.dumps(proved.integrity.prove("9")))
    (outside / "ledger.pem").write_text(proved.integrity.public_key_pem())
    shutil.copy(Path(proof_module.__file__), outside / "checker.py")
    script = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('ledger', 'eventsourcing', 'tools', 'msgpack'):\n"
        "            raise ImportError('not available to the auditor: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.path.insert(0, '.')\n"
        "from checker import check_proof\n"
        "ok = check_proof(open('proof.json').read(), open('ledger.pem').read())\n"
        "print('proof valid' if ok else 'proof INVALID')\n"
        "sys.exit(0 if ok else 1)\n")
    result = subprocess.run([sys.executable, "-I", "-c", script], cwd=outside,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "proof valid"), result.stderr
    forged = json.loads((outside / "proof.json").read_text())
    forged["event"]["topic"] = "ledger.events:SecretDeleted"
    (outside / "proof.json").write_text(json.dumps(forged))
    result = subprocess.run([sys.executable, "-I", "-c", script], cwd=outside,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (1, "proof INVALID")
