"""Checking the chain of signed digests, and which log positions each one vouches for.

Each digest must be readable, sit at the sequence its body names, carry the fingerprint of one
of the trusted keys (several after a key rotation) and a good signature by it, and name its
predecessor's hash and signature; its positions must follow on from the predecessor's. A
missing or unreadable digest leaves a span of positions that nothing vouches for, and that
span is reported against it.
"""
from __future__ import annotations

from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.integrity.digest import Digest
from ledger.integrity.proof import signature_message
from ledger.integrity.report import DigestCheck
from ledger.integrity.span import Span


def check_digests(digests: list[Digest], keys: Mapping[str, Ed25519PublicKey],
                  max_position: int) -> tuple[list[DigestCheck], list[Span]]:
    """`keys`: the trusted public keys by fingerprint."""
    checks: list[DigestCheck] = []
    spans: list[Span] = []
    previous: Digest | None = None  # the digest before, as found (readable or not)
    last_readable: Digest | None = None
    unaccounted: list[str] = []  # missing or unreadable digests since `last_readable`
    for digest in digests:
        expected = previous.sequence + 1 if previous else 1
        missing = list(range(expected, digest.sequence))
        checks += [DigestCheck(m, "", "not found (deleted)") for m in missing]
        unaccounted += [f"{m} not found" for m in missing]
        link = None if missing else previous
        problem = _problem(digest, link, keys)
        readable = problem != "invalid format"
        checks.append(DigestCheck(digest.sequence, _describe(digest) if readable else "", problem))
        previous = digest
        if not readable:
            unaccounted.append(f"{digest.sequence} unreadable")
            continue
        covered_to = last_readable.end_position if last_readable else 0
        if digest.start_position > covered_to + 1:
            spans.append(_gap(covered_to + 1, digest.start_position - 1,
                              unaccounted or [f"{digest.sequence} skips them"]))
        spans.append(Span(digest.start_position, digest.end_position, digest.sequence, digest,
                          trusted=problem is None))
        last_readable, unaccounted = digest, []
    covered_to = last_readable.end_position if last_readable else 0
    if unaccounted:
        spans.append(_gap(covered_to + 1, max(max_position, covered_to + 1), unaccounted))
    elif max_position > covered_to:
        spans.append(Span(covered_to + 1, max_position, None))
    return checks, spans


def _gap(start: int, end: int, reasons: list[str]) -> Span:
    """Positions no readable digest covers, reported under the first digest to blame."""
    return Span(start, end, int(reasons[0].split()[0]),
                gap=f"no valid digest covers these positions (digest {', digest '.join(reasons)})")


def _describe(digest: Digest) -> str:
    f = digest.fields
    return (f" (positions {f['start_position']}-{f['end_position']}, "
            f"{f['digest_start_time']} to {f['digest_end_time']})")


def _problem(digest: Digest, previous: Digest | None,
             keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """The first thing wrong with one digest, in CloudTrail's words where it has them."""
    try:
        fields = digest.fields
        digest.start_position, digest.end_position, digest.end_time  # noqa: B018
    except (ValueError, KeyError, TypeError):
        return "invalid format"
    if fields.get("sequence") != digest.sequence:
        return (f"has been moved from its original location (its body names digest "
                f"{fields.get('sequence')})")
    found = fields.get("public_key_fingerprint")
    key = keys.get(found) if isinstance(found, str) else None
    if key is None:
        changed = ""
        if previous is not None and _fingerprint(previous) not in (
                None, fields.get("public_key_fingerprint")):
            changed = f" (the signing key changed after digest {previous.sequence})"
        return f"public key not found for fingerprint {found}{changed}"
    try:
        key.verify(digest.signature, signature_message(digest.body))
    except (InvalidSignature, ValueError, KeyError):
        return "signature verification failed"
    if previous is None:
        if digest.sequence == 1 and fields.get("previous_digest_hash") is not None:
            return "the first digest names a previous digest"
        return None
    if (fields.get("previous_digest_hash") != previous.hash
            or fields.get("previous_digest_signature") != previous.signature.hex()):
        return (f"previous digest hash doesn't match digest {previous.sequence} "
                "(digest chain broken)")
    try:
        if digest.start_position != previous.end_position + 1:
            return f"positions don't follow on from digest {previous.sequence}"
        if fields["digest_start_time"] != previous.fields["digest_end_time"]:
            return f"time gap after digest {previous.sequence}"
    except (ValueError, KeyError, TypeError):
        pass  # the previous digest is unreadable; it is reported on its own line
    return None


def _fingerprint(digest: Digest) -> str | None:
    try:
        return digest.fields.get("public_key_fingerprint")
    except ValueError:
        return None
