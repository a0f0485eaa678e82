"""`verify --digests DIR`: the database's digests against the files published outside it.

The files are the evidence an attacker with the database alone cannot change: a published
digest missing from the database or different there, a file missing from the middle of the
published chain, and (with `max_age`) a newest file older than expected are each a finding.
The published digests then take the database's place where both exist, so the events are
checked against what was published, not against what the database says now.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ledger.integrity.digest import Digest, format_time
from ledger.integrity.digest_file import (
    UnreadableDigestFile, file_name, is_digest_file, parse, read_file,
)


@dataclass
class PublishedFiles:
    """What a digest directory holds: readable digests by sequence, and what is wrong."""

    directory: Path
    digests: dict[int, Digest] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, directory: Path) -> PublishedFiles:
        found = cls(directory)
        for name in sorted(os.listdir(directory)):
            if not is_digest_file(name):
                continue
            try:
                content = read_file(directory / name)
            except UnreadableDigestFile as error:
                found.problems.append(f"file {name} {error}")
                continue
            found._add(name, content)
        return found

    def _add(self, name: str, content: bytes) -> None:
        try:
            digest = parse(content)
            expected = file_name(digest)
        except (UnreadableDigestFile, ValueError, KeyError, TypeError) as error:
            self.problems.append(f"file {name}: {error}")
            return
        if name != expected:
            self.problems.append(f"file {name} holds digest {digest.sequence} "
                                 f"(its name would be {expected}): renamed or moved")
        other = self.digests.setdefault(digest.sequence, digest)
        if other != digest:
            self.problems.append(f"two different files for digest {digest.sequence} "
                                 f"(positions {_positions(digest)})")


def compare(files: PublishedFiles, stored: list[Digest], now: datetime | None,
            max_age: timedelta | None) -> tuple[list[str], list[str]]:
    """(problems, notes): what the files prove wrong with the database, and what is merely
    worth knowing (digests the database has that are not published yet)."""
    problems = list(files.problems)
    in_db = {d.sequence: d for d in stored}
    published = files.digests
    if not published:
        problems.append(f"{files.directory} holds no digest files" + (
            f" though the database has {len(stored)} digests" if stored else ""))
        return problems, []
    newest = max(published)
    for sequence in range(1, newest + 1):
        digest = published.get(sequence)
        if digest is None:
            around = in_db.get(sequence)
            where = f" (positions {_positions(around)})" if around else ""
            problems.append(f"digest file {sequence}{where} missing from {files.directory}: "
                            "a gap in the published chain")
        elif sequence not in in_db:
            problems.append(f"published digest {sequence} (positions {_positions(digest)}) "
                            "missing from the database")
        elif in_db[sequence] != digest:
            problems.append(f"digest {sequence} in the database differs from its published "
                            f"file (positions {_positions(digest)})")
    if max_age is not None and now is not None:
        ended = _end_time(published[newest])
        if ended is None or now - ended > max_age:
            problems.append(f"the newest published digest ({newest}) ended at "
                            f"{format_time(ended) if ended else 'an unreadable time'}, more "
                            f"than --max-age ago: newer files may have been removed")
    unpublished = sorted(s for s in in_db if s > newest)
    notes = [f"digests {unpublished[0]}-{unpublished[-1]} in the database are not published "
             f"in {files.directory} yet"] if unpublished else []
    return problems, notes


def merged(files: PublishedFiles, stored: list[Digest]) -> list[Digest]:
    """The digests to check the events against: the published one wherever there is one."""
    by_sequence = {d.sequence: d for d in stored}
    by_sequence.update(files.digests)
    return [by_sequence[s] for s in sorted(by_sequence)]


def _positions(digest: Digest) -> str:
    try:
        return f"{digest.start_position}-{digest.end_position}"
    except (ValueError, KeyError, TypeError):
        return "unknown"


def _end_time(digest: Digest) -> datetime | None:
    try:
        return digest.end_time
    except (ValueError, KeyError, TypeError):
        return None
