"""The data directory is private: the directory 0700, every file in it 0600.

Names, policies, the trail, source addresses and fingerprints are in `ledger.db` and its
`-wal`/`-shm` files, and the keys in `root.key` and `root-credentials`: no other local user
may read them, or hold read locks on the database. SQLite creates `-wal` and `-shm` with the
mode of the database file, so creating `ledger.db` 0600 before SQLite opens it covers them.
Looser modes found on open (a directory made by older code, a copied fixture, a restored
backup) are tightened, each with one warning naming the path and the mode it had.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
log = logging.getLogger(__name__)


def private_data_dir(data_dir: Path, db_path: Path | None = None) -> None:
    """Create `data_dir` (0700) and `db_path` in it (0600) if missing; tighten looser modes."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _tighten(data_dir, PRIVATE_DIR)
    if db_path is not None:
        os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    for path in data_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            _tighten(path, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    old = stat.S_IMODE(path.lstat().st_mode)
    if old & ~mode == 0:
        return
    try:
        path.chmod(old & mode)
    except OSError as error:
        log.warning("%s has mode %04o, open to other users, and could not be made %04o: %s",
                    path, old, old & mode, error.strerror)
        return
    log.warning("%s had mode %04o, open to other users; now %04o", path, old, old & mode)
