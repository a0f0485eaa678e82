"""A block of hostile traffic may add audit records of refused calls to the log, and nothing
else: no other event, no successful call, no call without its record; `verify` still passes."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.calls import ApiCallRecorded
from tests.reliability.crash_checks import check_verify
from tests.reliability.eventlog import business_digest
from tests.server.conftest import AuditLog


class Answered:
    """How many requests got an answer inside the guarded block."""

    def __init__(self) -> None:
        self.count = 0

    def add(self) -> None:
        self.count += 1


@contextmanager
def only_refusals_recorded(data_dir: Path, verify: bool = False) -> Iterator[Answered]:
    before = business_digest(data_dir)
    audit = AuditLog(data_dir)
    try:
        position = audit.position()
        answered = Answered()
        yield answered
        assert business_digest(data_dir) == before, "hostile requests changed the log"
        new = audit.events_after(position)
    finally:
        audit.close()
    assert all(isinstance(event, ApiCallRecorded) for event in new)
    succeeded = [e.context["operation"] for e in new if not e.error_code]
    assert not succeeded, f"calls succeeded: {succeeded[:5]}"
    assert len(new) == answered.count, (
        f"{answered.count} requests answered, {len(new)} audit records written")
    if verify:
        check_verify(data_dir)
