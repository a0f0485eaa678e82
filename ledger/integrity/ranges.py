"""Checking the events of one span of log positions against their chain and their digest.

Each event is re-hashed from its stored bytes and its predecessor's recorded hash, and
compared with its own recorded hash and position; the re-hashed values also rebuild the
span's Merkle root, so whatever the hash table says, the events themselves must match what
the digest signed. Problems are named by what must have happened: a position with no event
(deleted), an event with no recorded hash (inserted), an event at another position than
recorded, or holding another event's state (reordered), an event whose bytes changed
(modified), a predecessor with no recorded hash (chain broken).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.integrity.merkle import MerkleAccumulator
from ledger.integrity.proof import GENESIS, canonical_bytes, chain_hash, leaf_hash
from ledger.integrity.report import (
    CHAIN_BROKEN, DELETED, HASH_ALTERED, INSERTED, MODIFIED, REORDERED, ROOT_MISMATCH, UNCOVERED,
    Finding, RangeCheck,
)
from ledger.integrity.span import Span
from ledger.integrity.store import ChainRow, IntegrityStore

_PAIRING_LIMIT = 200  # mismatched events compared pairwise to recognise swapped states


@dataclass
class SpanScan:
    span: Span
    check: RangeCheck
    tree: MerkleAccumulator = field(default_factory=MerkleAccumulator)
    # originator id -> (version, hash, position) of its last event in the span
    tips: dict[str, tuple[int, bytes, int]] = field(default_factory=dict)
    mismatches: list[ChainRow] = field(default_factory=list)
    first: int | None = None  # positions of the span's first and last events
    last: int | None = None

    @property
    def clean(self) -> bool:
        """Every event chains to its recorded hash, none missing, inserted or moved."""
        return not self.check.findings and not self.mismatches

    def first_bad_position(self) -> int | None:
        positions = [f.position for f in self.check.findings if f.position is not None]
        return min([*positions, *(row.position for row in self.mismatches)], default=None)


def content_hash(row: ChainRow, state: bytes | None = None) -> bytes:
    previous = row.previous_hash if row.previous_hash is not None else GENESIS
    return chain_hash(previous, canonical_bytes(row.originator_id, row.version, row.topic,
                                                row.state if state is None else state))


def scan_span(store: IntegrityStore, span: Span,
              orphans: dict[int, list[tuple[str, int]]]) -> SpanScan:
    """Re-hash the span's events; `orphans` (recorded hashes with no event) are consumed."""
    scan = SpanScan(span, RangeCheck(span.start, span.end, span.sequence))
    findings = scan.check.findings
    if span.gap:
        findings.append(Finding(UNCOVERED, span.start, span.gap))
    missing: list[int] = []
    expected = span.start
    for row in store.chain_rows(span.start - 1, span.end):
        missing += range(expected, row.position)
        expected = max(expected, row.position + 1)
        _check_row(row, scan)
    missing += range(expected, span.end + 1)
    if not store.contiguous_positions:
        missing = []
    for position in missing:
        lost = orphans.pop(position, [])
        findings += [Finding(DELETED, position, f"event {oid}:{v} not found") for oid, v in lost]
        if not lost:
            findings.append(Finding(DELETED, position, "no event at this position (the event "
                                                       "and its recorded hash were removed)"))
    for position in [p for p in orphans if span.start <= p <= span.end]:
        findings += [Finding(DELETED, position, f"event {oid}:{v} recorded at this position "
                                                f"not found") for oid, v in orphans.pop(position)]
    return scan


def _check_row(row: ChainRow, scan: SpanScan) -> None:
    ident = f"{row.originator_id}:{row.version}"
    canonical = canonical_bytes(row.originator_id, row.version, row.topic, row.state)
    # The predecessor's hash as recorded, and as re-derived from its bytes when it is in this
    # span: an event is intact if its bytes chain to its recorded hash from either, so an
    # altered hash row is blamed on its own event only, not on the next one as well.
    candidates = [GENESIS] if row.version == 1 else []
    tip = scan.tips.get(row.originator_id)
    if row.version > 1 and row.previous_hash is not None:
        candidates.append(row.previous_hash)
    if row.version > 1 and tip is not None and tip[0] == row.version - 1:
        candidates.append(tip[1])
    hashes = [chain_hash(previous, canonical) for previous in candidates]
    actual = row.recorded_hash if row.recorded_hash in hashes else (
        hashes[-1] if hashes else chain_hash(GENESIS, canonical))
    if row.recorded_hash is None:
        scan.check.findings.append(Finding(
            INSERTED, row.position, f"event {ident} has no recorded hash (written outside the "
                                    "ledger)"))
    elif not hashes:
        scan.check.findings.append(Finding(
            CHAIN_BROKEN, row.position, f"event {ident} follows version {row.version - 1}, "
                                        "which has no recorded hash"))
    elif actual != row.recorded_hash:
        scan.mismatches.append(row)
    elif row.recorded_position != row.position:
        scan.check.findings.append(Finding(
            REORDERED, row.position, f"event {ident} was recorded at position "
                                     f"{row.recorded_position}"))
    scan.tree.add(leaf_hash(row.position, actual))
    scan.tips[row.originator_id] = (row.version, actual, row.position)
    scan.first = row.position if scan.first is None else scan.first
    scan.last = row.position


def classify_mismatches(scans: Iterable[SpanScan]) -> None:
    """Name each event whose bytes don't match its hash: a moved state, or a modified one."""
    owned = [(row, scan) for scan in scans for row in scan.mismatches]
    rows = [row for row, _ in owned][:_PAIRING_LIMIT]
    belongs: dict[int, int] = {}  # position -> position whose recorded hash its state fits
    for a in rows:
        for b in rows:
            if a is not b and content_hash(b, a.state) == b.recorded_hash:
                belongs[a.position] = b.position
    for row, scan in owned:
        ident = f"{row.originator_id}:{row.version}"
        target = belongs.get(row.position)
        if target is not None and belongs.get(target) == row.position:
            finding = Finding(REORDERED, row.position,
                              f"event {ident} holds the state of position {target} "
                              f"(states swapped)")
        elif target is not None:
            finding = Finding(REORDERED, row.position,
                              f"event {ident} holds the state recorded at position {target}")
        else:
            finding = Finding(MODIFIED, row.position,
                              f"event {ident} ({row.topic}) doesn't match its recorded hash")
        scan.check.findings.append(finding)


def compare_with_digest(store: IntegrityStore, scan: SpanScan) -> None:
    """The span's rebuilt Merkle root and chain tips against what its digest signed."""
    digest, check = scan.span.digest, scan.check
    if digest is None:
        return
    fields = digest.fields
    root_ok = (scan.tree.size == fields.get("event_count")
               and scan.tree.root().hex() == fields.get("merkle_root"))
    if root_ok:
        for i, finding in enumerate(check.findings):
            if finding.kind == MODIFIED:  # the bytes are what was signed: the hash row changed
                detail = finding.detail.replace("doesn't match its recorded hash",
                                                "matches the digest; its recorded hash changed")
                check.findings[i] = Finding(HASH_ALTERED, finding.position, detail)
    elif not check.findings:
        check.findings += _localise(store, scan)
    if not scan.span.trusted:
        check.findings.append(Finding(UNCOVERED, scan.span.start,
                                      f"digest {digest.sequence} is INVALID, so it vouches for "
                                      "nothing"))
    check.findings.sort(key=lambda f: (f.position is None, f.position or 0))


def _localise(store: IntegrityStore, scan: SpanScan) -> list[Finding]:
    """Root mismatch with every event matching its hash row: the rows were rewritten too.
    The signed chain tips say which originators' chains no longer end where they did."""
    digest = scan.span.digest
    assert digest is not None
    blob = digest.chain_tips if digest.chain_tips is not None else store.chain_tips(
        digest.sequence)  # a published digest carries its own
    if blob is None or hashlib.sha256(blob).hexdigest() != digest.fields.get("chain_tips_hash"):
        return [Finding(ROOT_MISMATCH, scan.span.start, "the events' hashes don't match the "
                                                        "digest, and its chain tips were altered")]
    signed = json.loads(blob)
    rewritten = {oid: version for oid, (version, actual, _) in scan.tips.items()
                 if signed.get(oid) != [version, actual.hex()]}
    positions: dict[str, list[int]] = {}
    for row in store.chain_rows(scan.span.start - 1, scan.span.end):
        if row.originator_id in rewritten:
            positions.setdefault(row.originator_id, []).append(row.position)
    findings = []
    for oid, version in rewritten.items():
        where = positions.get(oid) or [scan.tips[oid][2]]
        listed = ", ".join(map(str, where[:10])) + (", ..." if len(where) > 10 else "")
        findings.append(Finding(ROOT_MISMATCH, where[0],
                                f"the chain of {oid} ends at version {version} with a hash "
                                "the digest doesn't have: its events at positions "
                                f"{listed} include one rewritten, with its hashes"))
    for oid in sorted(set(signed) - set(scan.tips)):
        findings.append(Finding(ROOT_MISMATCH, scan.span.start,
                                f"the digest's chain tip of {oid} has no event in this range"))
    return findings or [Finding(ROOT_MISMATCH, scan.span.start,
                                "the events' hashes don't match the digest")]
