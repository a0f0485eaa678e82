"""Key files kept outside the data directory: created private, refused when others can read.

A key in its own file, away from the database, is what makes a stolen copy of the data
directory useless: the copy holds only material wrapped (or signed) by keys it does not hold.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path


MAX_KEY_FILE = 64 * 1024  # a PEM or base64 key is far smaller; more is not a key file


class KeyFileError(Exception):
    """A key file that cannot be used (message names the file, never its contents)."""


def write_private_file(path: Path, text: str) -> None:
    """Create `path` with mode 0600 and `text` in it, durably; never replace an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; a key file is never overwritten") from None
    except OSError as error:
        raise KeyFileError(f"cannot create {path}: {error.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    directory = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
    try:
        os.fsync(directory)  # the file's name survives a crash too
    finally:
        os.close(directory)


def read_private_file(path: Path, *, follow_symlinks: bool = True) -> bytes:
    """The contents of a key file that only its owner can read (as ssh insists), and that
    this user (or root) owns: another owner could swap the key or read it at will. Inside the
    data directory (`follow_symlinks=False`) a symbolic link is refused too."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise KeyFileError(f"no key file {path}") from None
    except PermissionError:
        raise KeyFileError(f"cannot read {path}: permission denied") from None
    except OSError as error:  # ELOOP: a symbolic link where none is allowed
        raise KeyFileError(f"cannot read {path}: {error.strerror}") from None
    try:
        _check(path, os.fstat(fd))
    except KeyFileError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        content = handle.read(MAX_KEY_FILE + 1)
    if len(content) > MAX_KEY_FILE:
        raise KeyFileError(f"{path} is too large to be a key file")
    return content


def _check(path: Path, found: os.stat_result) -> None:
    if stat.S_ISDIR(found.st_mode):
        raise KeyFileError(f"{path} is a directory, not a key file")
    if not stat.S_ISREG(found.st_mode):
        raise KeyFileError(f"{path} is not a regular file")
    if found.st_uid not in (os.geteuid(), 0):
        raise KeyFileError(f"{path} is owned by uid {found.st_uid}, not this user: "
                           "another user could read or replace the key")
    if found.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} can be read by other users (mode "
                           f"{stat.S_IMODE(found.st_mode):04o}); chmod 600 it")


def erase_file(path: Path) -> None:
    """Overwrite a key file with zeros before unlinking it, so its blocks do not keep the key."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
