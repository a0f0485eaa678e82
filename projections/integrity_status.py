"""The log's integrity in one line, for pages and summaries that show it beside what they derive.

A history or a report is only as trustworthy as the log it was read from, so each carries what
`verify` said about that log: valid, INVALID (with the first bad position), or unavailable when
the event store keeps no hash chain. Valid but unproven (no digest covers some of it yet) says
so in its summary.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ledger.integrity.service import IntegrityUnsupported

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

VALID, INVALID, UNAVAILABLE = "valid", "INVALID", "unavailable"


@dataclass(frozen=True)
class IntegrityStatus:
    state: str  # VALID, INVALID or UNAVAILABLE
    summary: str
    lines: tuple[str, ...] = ()  # the verify report, line by line
    first_bad_position: int | None = None


def integrity_status(ledger: SecretsLedger, start: datetime | None = None,
                     end: datetime | None = None) -> IntegrityStatus:
    """Run `verify` over start..end (default: the whole log) with the ledger's own key."""
    try:
        report = ledger.integrity.verify(start=start, end=end)
    except IntegrityUnsupported as error:
        return IntegrityStatus(UNAVAILABLE, f"integrity not checked: {error}")
    lines = tuple(report.lines())
    tallies = "; ".join(line for line in lines if line.endswith(("valid", "INVALID"))
                        and "/" in line.split(" ", 1)[0])
    if report.ok and report.unproven:
        return IntegrityStatus(VALID, f"log intact but unproven ({report.unproven[0]}): "
                                      f"{tallies}", lines)
    if report.ok:
        return IntegrityStatus(VALID, f"log verified: {tallies}", lines)
    first = report.first_bad_position
    return IntegrityStatus(INVALID, f"log INVALID: first bad position {first}; {tallies}",
                           lines, first)
