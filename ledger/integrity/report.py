"""What `verify` found, and its CloudTrail validate-logs style rendering.

Every digest and every range of log positions gets one line, `valid` or `INVALID: reason`;
an invalid event range names each problem with its log position and the first bad one.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# The kinds of problem an event range can show.
MODIFIED = "modified"
DELETED = "deleted"
INSERTED = "inserted"
REORDERED = "reordered"
CHAIN_BROKEN = "chain broken"
HASH_ALTERED = "recorded hash altered"
UNCOVERED = "not covered by a digest"
ROOT_MISMATCH = "Merkle root doesn't match"


@dataclass(frozen=True)
class Finding:
    kind: str
    position: int | None
    detail: str

    def line(self) -> str:
        where = f"position {self.position}" if self.position is not None else "range"
        return f"  {where}: {self.kind}: {self.detail}"


@dataclass
class DigestCheck:
    sequence: int
    description: str  # positions and times, when the body could be read
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        verdict = "valid" if self.valid else f"INVALID: {self.problem}"
        return f"Digest file {self.sequence}{self.description} {verdict}"


@dataclass
class RangeCheck:
    start: int
    end: int
    digest: int | None  # the sequence of the covering digest; None if no digest covers it
    findings: list[Finding] = field(default_factory=list)
    empty_interval: str | None = None  # "between T1 and T2" for a digest with no events

    @property
    def valid(self) -> bool:
        return not self.findings

    @property
    def first_bad_position(self) -> int | None:
        positions = [f.position for f in self.findings if f.position is not None]
        if positions:
            return min(positions)
        return self.start if self.findings else None

    def reason(self) -> str:
        counts = Counter(f.kind for f in self.findings)
        kinds = ", ".join(f"{n} {kind}" if n > 1 else kind for kind, n in counts.items())
        return f"{kinds}; first bad position {self.first_bad_position}"

    def lines(self) -> list[str]:
        if self.empty_interval is not None and self.valid:
            return [f"No events were recorded {self.empty_interval} (digest {self.digest})"]
        scope = (f"(digest {self.digest})" if self.digest is not None
                 else "not yet covered by a digest:")
        head = f"Events {self.start}-{self.end} {scope}"
        if self.valid:
            return [f"{head} valid"]
        return [f"{head} INVALID: {self.reason()}", *(f.line() for f in self.findings)]


@dataclass
class VerificationReport:
    requested: str
    key_note: str
    digests: list[DigestCheck] = field(default_factory=list)
    ranges: list[RangeCheck] = field(default_factory=list)
    found: str = ""
    published: list[str] = field(default_factory=list)  # what the published files prove wrong
    unproven: list[str] = field(default_factory=list)  # what nothing proves, though intact
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No tampering found (what was checked is intact; see `status` for what was not)."""
        return (all(d.valid for d in self.digests) and all(r.valid for r in self.ranges)
                and not self.published)

    @property
    def status(self) -> int:
        """The exit status: 0 proven, 1 tampering detected, 3 nothing proves some range."""
        return 1 if not self.ok else 3 if self.unproven else 0

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.ranges for f in r.findings]

    @property
    def first_bad_position(self) -> int | None:
        positions = [r.first_bad_position for r in self.ranges if not r.valid]
        return min((p for p in positions if p is not None), default=None)

    def lines(self) -> list[str]:
        out = [self.key_note, ""]
        by_digest: dict[int | None, list[RangeCheck]] = {}
        for check in self.ranges:
            by_digest.setdefault(check.digest, []).append(check)
        for digest in self.digests:
            out.append(digest.line())
            out.extend(line for r in by_digest.pop(digest.sequence, []) for line in r.lines())
        out.extend(line for rs in by_digest.values() for r in rs for line in r.lines())
        out += [f"Published digests INVALID: {problem}" for problem in self.published]
        out += [f"UNPROVEN: {reason}" for reason in self.unproven]
        out += self.notes
        out += ["", f"Results requested for {self.requested}"]
        if self.found:
            out.append(f"Results found for {self.found}:")
        out += ["", _tally(self.digests, "digest files"),
                _tally([r for r in self.ranges if r.empty_interval is None], "event ranges")]
        if self.first_bad_position is not None:
            out.append(f"First bad log position: {self.first_bad_position}")
        return out


def _tally(checks: list[DigestCheck] | list[RangeCheck], what: str) -> str:
    total, bad = len(checks), sum(1 for c in checks if not c.valid)
    line = f"{total - bad}/{total} {what} valid"
    return f"{line}, {bad}/{total} {what} INVALID" if bad else line
