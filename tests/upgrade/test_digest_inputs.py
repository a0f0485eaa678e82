"""Once published, a digest's inputs are fixed for ever: the hashed event bytes, the positions,
the Merkle leaves and the published file's format. These tests recompute the committed
fixture's digests from its raw rows with nothing but the hashing rules in
`ledger/integrity/proof.py`, and compare the files published today with the committed ones,
so a later storage change that moves any hashed byte fails here, not in an auditor's hands."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from ledger.integrity.proof import (
    EMPTY_ROOT, GENESIS, canonical_bytes, canonical_json, chain_hash, check_proof, leaf_hash,
    node_hash, signature_message,
)
from ledger.integrity.publisher import DigestPublisher
from ledger.integrity.signing import load_public_key
from ledger.integrity.store import SQLiteIntegrityStore
from tools.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
FIXTURE = FIXTURES / "ledger-2026-12-03"
PEM = FIXTURE.with_suffix(".pem")
PUBLISHED = FIXTURES / "digests-2026-12-03"  # its digests as published, committed


@pytest.fixture
def copy(tmp_path) -> Path:
    """The fixture is copied, never opened in place."""
    shutil.copytree(FIXTURE, tmp_path / FIXTURE.name)
    return tmp_path / FIXTURE.name


def query(copy: Path, statement: str) -> list[tuple]:
    with sqlite3.connect(copy / "ledger.db") as db:
        found = db.execute(statement).fetchall()
    db.close()
    return found


@pytest.fixture
def rows(copy) -> list[tuple[int, str, int, str, bytes]]:
    return query(copy, "SELECT rowid, originator_id, originator_version, topic, "
                       "CAST(state AS BLOB) FROM stored_events ORDER BY rowid")


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962, written out again here on purpose: split at the largest power of two below n."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(merkle_root(leaves[:split]), merkle_root(leaves[split:]))


def test_the_fixture_digests_recompute_from_the_raw_event_bytes(copy, rows):
    key = load_public_key(PEM.read_bytes())
    tips: dict[str, bytes] = {}
    digests = query(copy, "SELECT sequence, body, signature, chain_tips FROM digests "
                          "ORDER BY sequence")
    assert len(digests) == 2
    for sequence, body_bytes, signature, chain_tips in digests:
        body_bytes, signature, chain_tips = bytes(body_bytes), bytes(signature), bytes(chain_tips)
        body = json.loads(body_bytes)
        assert body_bytes == canonical_json(body)  # the one serialisation that is signed
        key.verify(signature, signature_message(body_bytes))
        leaves, touched = [], {}
        for position, oid, version, topic, state in rows:
            if body["start_position"] <= position <= body["end_position"]:
                event_hash = chain_hash(tips.get(oid, GENESIS) if version > 1 else GENESIS,
                                        canonical_bytes(oid, version, topic, bytes(state)))
                tips[oid], touched[oid] = event_hash, [version, event_hash.hex()]
                leaves.append(leaf_hash(position, event_hash))
        assert body["event_count"] == len(leaves), sequence
        assert body["merkle_root"] == merkle_root(leaves).hex(), sequence
        assert chain_tips == canonical_json(touched)
        assert body["chain_tips_hash"] == hashlib.sha256(chain_tips).hexdigest()
    assert rows[-1][0] == body["end_position"]  # every event is under a digest


def test_every_fixture_event_still_proves_with_the_published_key(copy, rows, capsys):
    pem = PEM.read_text()
    for position, *_ in rows:
        assert main(["prove", "--data-dir", str(copy), str(position)]) == 0
        assert check_proof(capsys.readouterr().out, pem), position


def test_the_fixture_digests_publish_as_the_committed_files(copy, tmp_path, capsys):
    published = tmp_path / "published"
    DigestPublisher(SQLiteIntegrityStore.open_file(copy / "ledger.db"),
                    published).publish_pending()
    assert sorted(p.name for p in published.iterdir()) == sorted(
        p.name for p in PUBLISHED.iterdir())
    for committed in PUBLISHED.iterdir():
        assert (published / committed.name).read_bytes() == committed.read_bytes()
    assert main(["verify", "--data-dir", str(copy), "--public-key", str(PEM),
                 "--digests", str(PUBLISHED)]) == 0, capsys.readouterr().out
