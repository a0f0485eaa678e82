"""`verify`: walk the digests and the events and say, for each, valid or INVALID and why.

The public key is the root of trust. Passed in from a published copy it catches a replaced
signing key; taken from the ledger's own key store it cannot, and the report says so.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.integrity.digest import Digest, format_time, parse_time
from ledger.integrity.digest_chain import check_digests
from ledger.integrity.proof import key_fingerprint
from ledger.integrity.ranges import classify_mismatches, compare_with_digest, scan_span
from ledger.integrity.report import DigestCheck, RangeCheck, VerificationReport
from ledger.integrity.span import Span
from ledger.integrity.store import IntegrityStore


def verify(store: IntegrityStore, public_key: Ed25519PublicKey, *, key_source: str,
           start: datetime | None = None, end: datetime | None = None) -> VerificationReport:
    """Check every digest and every event range whose time overlaps start..end (default: all)."""
    digests = [Digest.of(stored) for stored in store.digests()]
    orphans: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for oid, version, position in store.orphan_hashes():
        orphans[position].append((oid, version))
    max_position = max([store.max_position(), *orphans])
    checks, spans = check_digests(digests, public_key, max_position)
    checks, spans = _within(checks, spans, digests, start, end)

    scans = [scan_span(store, span, orphans) for span in spans]
    classify_mismatches(scans)
    for scan in scans:
        compare_with_digest(store, scan)
        if scan.span.empty and scan.span.digest is not None and scan.check.valid:
            f = scan.span.digest.fields
            scan.check.empty_interval = (f"between {f['digest_start_time']} and "
                                         f"{f['digest_end_time']}")

    report = VerificationReport(
        requested=f"{format_time(start) if start else 'the beginning'} to "
                  f"{format_time(end) if end else 'now'}",
        key_note=f"Public key fingerprint {key_fingerprint(public_key)} ({key_source})",
        digests=checks, ranges=[scan.check for scan in scans])
    readable = [d for d in digests if _readable(d) and any(c.sequence == d.sequence
                                                           for c in checks)]
    if readable:
        report.found = (f"{readable[0].fields['digest_start_time']} to "
                        f"{readable[-1].fields['digest_end_time']}")
    return report


def _readable(digest: Digest) -> bool:
    try:
        digest.fields["digest_start_time"], digest.end_time  # noqa: B018
        return True
    except (ValueError, KeyError, TypeError):
        return False


def _within(checks: list[DigestCheck], spans: list[Span], digests: list[Digest],
            start: datetime | None, end: datetime | None) -> tuple[list[DigestCheck], list[Span]]:
    """Keep the digests whose interval overlaps start..end, the missing or unreadable ones
    among them, and the events after the last digest if `end` reaches past it."""
    if start is None and end is None:
        return checks, spans
    chosen = [d.sequence for d in digests if _readable(d) and _overlaps(d, start, end)]
    newest = max((d.end_time for d in digests if _readable(d)), default=None)
    tail = end is None or newest is None or end >= newest
    if not chosen:
        low, high = (float("inf"), float("-inf"))
    else:
        low, high = min(chosen), max(chosen)
    if tail and digests:
        high = float("inf")
        low = min(low, digests[-1].sequence + 1)

    def keep(sequence: int | None) -> bool:
        return tail if sequence is None else low <= sequence <= high

    return ([c for c in checks if keep(c.sequence)], [s for s in spans if keep(s.sequence)])


def _overlaps(digest: Digest, start: datetime | None, end: datetime | None) -> bool:
    begins = parse_time(digest.fields["digest_start_time"])
    return (start is None or digest.end_time >= start) and (end is None or begins <= end)


__all__ = ["verify", "VerificationReport", "RangeCheck"]
