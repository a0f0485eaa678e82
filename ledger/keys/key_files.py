"""Key records kept as one small file each under DATA_DIR/keys/, outside the database.

SQLite keeps old copies of a row in its WAL for as long as any reader, in any process, still
needs them, so deleting a key row cannot promise that the key is gone while someone reads. A
file here has no such copies: it is written whole and fsynced (under a private name, then linked
into place) before the events that use it commit, never rewritten in place, and erased (zeroed,
fsynced, unlinked) after the events that destroy it commit. An erasure is complete when the
file is gone, whatever the database's readers are doing.

Each file holds one record sealed under the root key and bound to its name, exactly as a
`key_materials` row: the files are only a different place for the same material.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

NAME = re.compile(r"(secret|kms):[0-9A-Za-z-]{1,64}")
SUFFIX = ".key"


class KeyFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @staticmethod
    def holds(name: str) -> bool:
        """Whether material of this name lives in a file (secret records and KMS keys)."""
        return NAME.fullmatch(name) is not None

    def path(self, name: str) -> Path:
        kind, rest = name.split(":", 1)
        return self.directory / f"{kind}.{rest}{SUFFIX}"

    def read(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        found = (p.name[:-len(SUFFIX)].replace(".", ":", 1) for p in self.directory.iterdir()
                 if p.name.endswith(SUFFIX) and not p.name.startswith("."))
        return sorted(name for name in found if self.holds(name))

    def create(self, name: str, wrapped: bytes) -> None:
        """Write a new record durably; FileExistsError if the name holds a different one
        (another writer created it first). Writing the same bytes again is a no-op."""
        self._write_whole(name, wrapped, replace=False)

    def replace(self, name: str, wrapped: bytes) -> None:
        """Swap a record for a re-sealed one (root key rotation); the old bytes are zeroed."""
        old = self.path(name)
        try:
            handle = os.open(old, os.O_WRONLY)
        except FileNotFoundError:
            raise KeyError(name) from None
        try:
            self._write_whole(name, wrapped, replace=True)
            _zero(handle)
        finally:
            os.close(handle)

    def erase(self, name: str) -> bool:
        """Zero, fsync and unlink the record; False if it was already gone."""
        path = self.path(name)
        try:
            handle = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return False
        try:
            _zero(handle)
        finally:
            os.close(handle)
        path.unlink(missing_ok=True)
        self._sync_directory()
        return True

    def _write_whole(self, name: str, wrapped: bytes, replace: bool) -> None:
        path = self.path(name)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".new.", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(wrapped)
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                os.replace(temporary, path)
            else:
                try:
                    os.link(temporary, path)
                except FileExistsError:
                    if path.read_bytes() != wrapped:
                        raise
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _zero(handle: int) -> None:
    size = os.fstat(handle).st_size
    os.pwrite(handle, b"\0" * size, 0)
    os.fsync(handle)
