"""Publishing signed digests as files in a directory (`--digest-dir`), never rewriting one.

Each file is written whole to a temporary name, flushed to disk, then hard-linked to its
final name: the link fails if the name exists, so a published file is never replaced, and a
reader never sees half a file. A name already there with the same content is another
process's copy of the same digest (their content is a function of the digest); different
content is evidence of tampering on one side, reported and left alone.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from ledger.integrity.digest import Digest
from ledger.integrity.digest_file import (
    PREFIX, UnreadableDigestFile, file_name, is_digest_file, read_file, render,
)
from ledger.integrity.store import IntegrityStore

log = logging.getLogger(__name__)


class PublishConflict(Exception):
    """A file of that name holds other content; it was not rewritten."""


class DigestPublisher:
    def __init__(self, store: IntegrityStore, directory: Path) -> None:
        self._store, self.directory = store, Path(directory)
        self._through = 0  # every digest up to this sequence is known to be published
        self._lock = threading.Lock()

    def publish_pending(self) -> list[Path]:
        """Publish every digest in the database that has no file yet: on the first call all of
        them (digests made before the directory was configured), then those since. Raises
        PublishConflict, after publishing the rest, if a file holds other content."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            present = self._published_names() if self._through == 0 else {}
            written, conflicts = [], []
            for stored in self._store.digests_after(self._through):
                digest = Digest.of(stored)
                try:
                    written += self._publish(digest, present.get(digest.sequence, []))
                except PublishConflict as error:
                    conflicts.append(str(error))
                if not conflicts:
                    self._through = digest.sequence
            if conflicts:
                raise PublishConflict("; ".join(conflicts))
            return written

    def _published_names(self) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for name in os.listdir(self.directory):
            if is_digest_file(name):
                try:
                    found.setdefault(int(name[len(PREFIX):].split("_", 1)[0]), []).append(name)
                except ValueError:
                    continue  # not one of ours; `verify --digests` names it
        return found

    def _publish(self, digest: Digest, existing: list[str]) -> list[Path]:
        """The digest's file, written unless there already; [] if it was."""
        content = render(digest, self._store.chain_tips(digest.sequence) or b"{}")
        target = self.directory / file_name(digest)
        others = [name for name in existing if name != target.name]
        if others:
            raise PublishConflict(f"digest {digest.sequence} is already published as "
                                  f"{self.directory / others[0]}; not published again")
        if existing:
            _same(target, content, digest)
            return []
        temporary = self.directory / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, target)  # fails if the name exists: never a rewrite
            except FileExistsError:  # another process published it just now
                _same(target, content, digest)
                return []
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(self.directory)
        return [target]


def _same(target: Path, content: bytes, digest: Digest) -> None:
    try:
        found = read_file(target)
    except UnreadableDigestFile as error:
        raise PublishConflict(f"{target} {error}; not published again") from None
    if found != content:
        raise PublishConflict(f"{target} already holds other content than digest "
                              f"{digest.sequence} in the database; not rewritten")


def _sync_directory(directory: Path) -> None:
    """Make the new name durable: a crash after this cannot lose the published file."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
