"""The data directory is private: ours alone, the directory 0700, every file in it 0600.

Names, policies, the trail, source addresses and fingerprints are in `ledger.db` and its
`-wal`/`-shm` files, and the keys in `root.key` and `root-credentials`: no other local user
may read them, or hold read locks on the database. SQLite creates `-wal` and `-shm` with the
mode of the database file, so creating `ledger.db` 0600 before SQLite opens it covers them.
Looser modes found on open (a directory made by older code, a copied fixture, a restored
backup) are tightened, each with one warning naming the path and the mode it had.

A directory or file another user owns is refused, not adopted: its owner could loosen the
modes again at any time, and a directory someone else made may hold a root key they know.
So is a symbolic link (it points where anyone may have aimed it), anything but a directory
or regular file, and a mode that stays open to others because chmod failed.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
log = logging.getLogger(__name__)


class NotPrivate(Exception):
    """A data directory (or a file in it) that other local users could own or reach."""


def private_data_dir(data_dir: Path, db_path: Path | None = None) -> None:
    """Create `data_dir` (0700) and `db_path` in it (0600) if missing; tighten looser modes;
    raise NotPrivate if the directory or anything in it is not ours alone."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _make_private(data_dir)
    if db_path is not None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            os.close(os.open(db_path, flags, PRIVATE_FILE))
        except OSError as error:
            raise NotPrivate(f"cannot create {db_path}: {error.strerror}") from None
        _make_private(db_path)


def _make_private(path: Path) -> None:
    """Check `path` (and, for a directory, what it holds) is ours, tightening modes."""
    found = path.lstat()
    if stat.S_ISLNK(found.st_mode):
        raise NotPrivate(f"{path} is a symbolic link; the data directory and its files must "
                         "be real ones, owned by this user")
    if found.st_uid != os.geteuid():
        raise NotPrivate(f"{path} is owned by uid {found.st_uid}, not this user "
                         f"(uid {os.geteuid()}): another user could read every secret; use a "
                         "data directory this user created")
    if stat.S_ISDIR(found.st_mode):
        _tighten(path, stat.S_IMODE(found.st_mode), PRIVATE_DIR)
        for entry in path.iterdir():
            _make_private(entry)
    elif stat.S_ISREG(found.st_mode):
        _tighten(path, stat.S_IMODE(found.st_mode), PRIVATE_FILE)
    else:
        raise NotPrivate(f"{path} is neither a file nor a directory")


def _tighten(path: Path, old: int, mode: int) -> None:
    if old & ~mode == 0:
        return
    try:
        os.chmod(path, old & mode)
    except OSError as error:
        raise NotPrivate(f"{path} has mode {old:04o}, open to other users, and could not be "
                         f"made {old & mode:04o}: {error.strerror}") from None
    log.warning("%s had mode %04o, open to other users; now %04o", path, old, old & mode)
