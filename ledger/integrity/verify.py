"""`verify`: walk the digests and the events and say, for each, valid or INVALID and why.

The public keys are the root of trust. Passed in from published copies they catch a replaced
signing key; taken from the ledger's own key store they cannot, and the report says so. The
published digest files (`published`) are the only evidence that survives deleting digests
from the database; without them the report says that such a removal cannot be detected.
Events that no digest covers, though one should by now (`now` past their time plus
`unproven_after`), are reported as unproven: nothing shows they are what was written.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.integrity.digest import Digest, event_time, format_time, parse_time
from ledger.integrity.digest_chain import check_digests
from ledger.integrity.proof import key_fingerprint
from ledger.integrity.published import PublishedFiles, compare, merged
from ledger.integrity.ranges import SpanScan, classify_mismatches, compare_with_digest, scan_span
from ledger.integrity.report import DigestCheck, RangeCheck, VerificationReport
from ledger.integrity.span import Span
from ledger.integrity.store import IntegrityStore


# How long after the digest interval an event may still wait for its digest before it is
# called unproven: the scheduler checks every second, but a busy or restarting server may lag.
UNPROVEN_GRACE = timedelta(minutes=10)


def verify(store: IntegrityStore, public_keys: Ed25519PublicKey | Sequence[Ed25519PublicKey],
           *, key_source: str, start: datetime | None = None, end: datetime | None = None,
           published: PublishedFiles | None = None, now: datetime | None = None,
           max_age: timedelta | None = None,
           unproven_after: timedelta | None = None) -> VerificationReport:
    """Check every digest and every event range whose time overlaps start..end (default: all),
    against the published files too when given."""
    keys = [public_keys] if isinstance(public_keys, Ed25519PublicKey) else list(public_keys)
    stored = [Digest.of(row) for row in store.digests()]
    digests = stored if published is None else merged(published, stored)
    orphans: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for oid, version, position in store.orphan_hashes():
        orphans[position].append((oid, version))
    max_position = max([store.max_position(), *orphans])
    checks, spans = check_digests(digests, {key_fingerprint(k): k for k in keys}, max_position)
    checks, spans = _within(checks, spans, digests, start, end)

    scans = [scan_span(store, span, orphans) for span in spans]
    classify_mismatches(scans)
    for scan in scans:
        compare_with_digest(store, scan)
        if scan.span.empty and scan.span.digest is not None and scan.check.valid:
            f = scan.span.digest.fields
            scan.check.empty_interval = (f"between {f['digest_start_time']} and "
                                         f"{f['digest_end_time']}")

    fingerprints = ", ".join(key_fingerprint(k) for k in keys)
    report = VerificationReport(
        requested=f"{format_time(start) if start else 'the beginning'} to "
                  f"{format_time(end) if end else 'now'}",
        key_note=f"Public key fingerprint{'s' if len(keys) > 1 else ''} {fingerprints} "
                 f"({key_source})",
        digests=checks, ranges=[scan.check for scan in scans])
    if published is None:
        report.notes.append("No published digest files given (--digests DIR): digests "
                            "removed from the database, with the events they covered "
                            "rewritten, cannot be detected.")
    else:
        report.published, report.notes = compare(published, stored, now, max_age)
    if not digests:
        report.unproven.append("no signed digest at all: nothing proves this log")
    elif (start or end) and not checks and all(scan.first is None for scan in scans):
        report.unproven.append("no digest and no event lies in the requested window: "
                               "nothing proves this range")
    elif now is not None and unproven_after is not None:
        report.unproven += _overdue(store, scans, now - unproven_after, start)
    readable = [d for d in digests if _readable(d) and any(c.sequence == d.sequence
                                                           for c in checks)]
    if readable:
        report.found = (f"{readable[0].fields['digest_start_time']} to "
                        f"{readable[-1].fields['digest_end_time']}")
    return report


def _overdue(store: IntegrityStore, scans: list[SpanScan], cutoff: datetime,
             start: datetime | None) -> list[str]:
    """The events after the last digest, if the oldest is from before `cutoff` (and the
    newest not from before the requested `start`)."""
    tail = scans[-1] if scans and scans[-1].span.sequence is None else None
    if tail is None or tail.first is None or tail.last is None:
        return []
    oldest, newest = (next((event_time(row.state) for row in
                            store.chain_rows(position - 1, position)), None)
                      for position in (tail.first, tail.last))
    if (oldest is not None and oldest >= cutoff) or (
            start is not None and newest is not None and newest < start):
        return []
    since = f"the oldest from {format_time(oldest)}" if oldest else "of unknown time"
    return [f"events {tail.span.start}-{tail.span.end} ({since}) are covered by no digest, "
            "though the digest interval and its grace have passed: nothing proves them"]


def _readable(digest: Digest) -> bool:
    try:
        digest.fields["digest_start_time"], digest.end_time  # noqa: B018
        return True
    except (ValueError, KeyError, TypeError):
        return False


def _within(checks: list[DigestCheck], spans: list[Span], digests: list[Digest],
            start: datetime | None, end: datetime | None) -> tuple[list[DigestCheck], list[Span]]:
    """Keep the digests whose interval overlaps start..end, every missing or unreadable one
    between the window's nearest readable neighbours (a gap next to or inside the window
    may hide its events), and the events after the last digest if `end` reaches past it."""
    if start is None and end is None:
        return checks, spans
    readable = [d for d in digests if _readable(d)]
    chosen = [d.sequence for d in readable if _overlaps(d, start, end)]
    before = [d.sequence for d in readable
              if start is not None and d.end_time < start and d.sequence not in chosen]
    after = [d.sequence for d in readable if end is not None and d.sequence not in chosen
             and parse_time(d.fields["digest_start_time"]) > end]
    low = min([max(before, default=0) + 1, *chosen])
    high = max([min(after, default=float("inf")) - 1, *chosen])
    newest = max((d.end_time for d in readable), default=None)
    tail = end is None or newest is None or end >= newest

    def keep(sequence: int | None) -> bool:
        return tail if sequence is None else low <= sequence <= high

    return ([c for c in checks if keep(c.sequence)], [s for s in spans if keep(s.sequence)])


def _overlaps(digest: Digest, start: datetime | None, end: datetime | None) -> bool:
    begins = parse_time(digest.fields["digest_start_time"])
    return (start is None or digest.end_time >= start) and (end is None or begins <= end)


__all__ = ["verify", "VerificationReport", "RangeCheck"]
