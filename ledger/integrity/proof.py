"""The hashing rules of the tamper-evident log, and the check of an inclusion proof.

This module is self-contained on purpose: it imports only the standard library and
`cryptography`, so a third party can copy this one file and check a proof printed by
`secrets-ledger prove` with nothing but the proof and the ledger's published public key.
The ledger's own chain, Merkle and digest code build on the same functions, so there is one
definition of every hashed byte.

- Canonical event bytes: `u32 len | originator_id | u64 version | u32 len | topic |
  u32 len | state`, big-endian; the id is its stored text (32 hex digits for a UUID), the
  state the event's msgpack bytes exactly as stored.
- Chain: `hash = SHA-256(previous hash of the same originator || canonical bytes)`, the
  previous hash of a first event being 32 zero bytes.
- Merkle tree (RFC 6962/9162): leaf = `SHA-256(0x00 || u64 position || event hash)`, node =
  `SHA-256(0x01 || left || right)`; a tree of n > 1 leaves splits at the largest power of two
  below n, so an odd leaf is carried up unpaired, never duplicated; the empty root is
  `SHA-256("")`.
- Signature: Ed25519 over `signature_message(body)` (see there), CloudTrail's digest string
  with the previous digest's signature in it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = bytes(32)
DIGEST_FORMAT = "secrets-ledger-digest/1"
PROOF_FORMAT = "secrets-ledger-inclusion-proof/1"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def canonical_bytes(originator_id: str, originator_version: int, topic: str, state: bytes) -> bytes:
    """The fixed encoding of one stored event that the chain hashes."""
    oid, top = originator_id.encode(), topic.encode()
    return b"".join((len(oid).to_bytes(4, "big"), oid, originator_version.to_bytes(8, "big"),
                     len(top).to_bytes(4, "big"), top, len(state).to_bytes(4, "big"), state))


def chain_hash(previous: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(previous + canonical).digest()


def leaf_hash(position: int, event_hash: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + position.to_bytes(8, "big") + event_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(leaf_index: int, tree_size: int, leaf: bytes,
                   path: Sequence[bytes]) -> bytes | None:
    """The root an audit path leads to (RFC 9162, 2.1.3.2), or None if the path cannot fit."""
    if not 0 <= leaf_index < tree_size:
        return None
    fn, sn, result = leaf_index, tree_size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return result if sn == 0 else None


def canonical_json(document: Any) -> bytes:
    """The one serialisation of a digest body that is hashed and signed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signature_message(body_bytes: bytes) -> bytes:
    """What a digest's signature covers, after CloudTrail's digest signing string:
    format, end time, `ledger/sequence` (the digest's place), the body's SHA-256 and the
    previous digest's signature (`null` for the first digest), one per line."""
    body = json.loads(body_bytes)
    lines = (DIGEST_FORMAT, body["digest_end_time"], f"{body['ledger']}/{body['sequence']}",
             hashlib.sha256(body_bytes).hexdigest(), body["previous_digest_signature"] or "null")
    return "\n".join(lines).encode()


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def check_proof(proof_json: str | bytes | dict[str, Any], public_key_pem: str | bytes) -> bool:
    """True if the proof shows its event at its position under a digest the key signed."""
    try:
        proof = json.loads(proof_json) if isinstance(proof_json, (str, bytes)) else proof_json
        key = serialization.load_pem_public_key(
            public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem)
        if not isinstance(key, Ed25519PublicKey) or proof["format"] != PROOF_FORMAT:
            return False
        body_bytes = proof["digest"]["body"].encode()
        body = json.loads(body_bytes)
        if body["public_key_fingerprint"] != key_fingerprint(key):
            return False
        key.verify(bytes.fromhex(proof["digest"]["signature"]), signature_message(body_bytes))
        event = proof["event"]
        position = int(event["position"])
        canonical = canonical_bytes(event["originator_id"], int(event["originator_version"]),
                                    event["topic"], base64.b64decode(event["state"], validate=True))
        event_hash = chain_hash(bytes.fromhex(event["previous_hash"]), canonical)
        if event_hash.hex() != event["hash"]:
            return False
        if not body["start_position"] <= position <= body["end_position"]:
            return False
        if int(proof["tree_size"]) != body["event_count"]:
            return False
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        root = root_from_path(int(proof["leaf_index"]), int(proof["tree_size"]),
                              leaf_hash(position, event_hash), path)
        return root is not None and root.hex() == body["merkle_root"]
    except (InvalidSignature, UnsupportedAlgorithm, KeyError, TypeError, ValueError,
            binascii.Error, AttributeError):
        return False
