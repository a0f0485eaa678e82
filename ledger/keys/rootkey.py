"""The root key wraps all key material at rest. It never enters the log or the key store.

Where it comes from, first match wins: a key file named by `--root-key` or LEDGER_ROOT_KEY_FILE;
the base64 key in LEDGER_ROOT_KEY; DATA_DIR/root.key. A new ledger with none of these gets a
fresh root.key beside its database; a ledger that already holds wrapped key material never
does (that key would open nothing, and what it sealed would be lost with it).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from pathlib import Path

from ledger.keys.envelope import new_key
from ledger.keys.private_files import KeyFileError, read_private_file, write_private_file

ROOT_KEY_ENV = "LEDGER_ROOT_KEY"
ROOT_KEY_FILE_ENV = "LEDGER_ROOT_KEY_FILE"
ROOT_KEY_FILE = "root.key"


class RootKeyError(KeyFileError):
    pass


class RootKeyRetired(RootKeyError):
    """This process's root key was rotated away by another process while it ran."""


def root_key_fingerprint(key: bytes) -> str:
    """A one-way name for a root key, safe to log and record: names which key, reveals none."""
    return "rk-" + hashlib.sha256(b"secrets-ledger root key\0" + key).hexdigest()[:24]


def encode_root_key(key: bytes) -> str:
    return base64.b64encode(key).decode() + "\n"


def _decode(text: str | bytes, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise RootKeyError(f"{source} is not base64") from None
    if len(key) != 32:
        raise RootKeyError(f"{source} must hold 32 bytes of key, base64-encoded")
    return key


def create_root_key_file(path: Path) -> bytes:
    """A new root key in a new file (mode 0600)."""
    key = new_key()
    write_private_file(path, encode_root_key(key))
    return key


def read_root_key_file(path: Path) -> bytes:
    return _decode(read_private_file(path), str(path))


def key_beside(data_dir: Path) -> bytes | None:
    """The key in DATA_DIR/root.key, if there is one (never through a symbolic link)."""
    path = Path(data_dir) / ROOT_KEY_FILE
    if not os.path.lexists(path):
        return None
    return _decode(read_private_file(path, follow_symlinks=False), str(path))


def root_key_source(data_dir: Path | None, key_file: Path | None,
                    environ: dict[str, str] | None = None) -> str:
    """Where `load_root_key` takes the key from, in words (for messages)."""
    environ = os.environ if environ is None else environ
    if key_file is not None:
        return str(key_file)
    if environ.get(ROOT_KEY_ENV):
        return ROOT_KEY_ENV
    return str(Path(data_dir) / ROOT_KEY_FILE) if data_dir is not None else "memory"


def load_root_key(data_dir: Path | None, key_file: Path | None = None,
                  environ: dict[str, str] | None = None, *, holds_keys: bool = False) -> bytes:
    """The root key, by the precedence in the module docstring. `holds_keys`: the ledger
    already has wrapped key material, so a missing key is an error, not a fresh start."""
    environ = os.environ if environ is None else environ
    if key_file is not None:
        return read_root_key_file(Path(key_file))
    if environ.get(ROOT_KEY_ENV):
        return _decode(environ[ROOT_KEY_ENV], ROOT_KEY_ENV)
    if data_dir is None:
        return new_key()
    beside = key_beside(data_dir)
    if beside is not None:
        return beside
    path = Path(data_dir) / ROOT_KEY_FILE
    if holds_keys:
        raise RootKeyError(f"no root key for the ledger in {data_dir}: its key material is "
                           f"sealed under a root key kept elsewhere; pass --root-key FILE (or "
                           f"set {ROOT_KEY_FILE_ENV} or {ROOT_KEY_ENV})")
    # Written whole under a private name, then linked into place: a second process opening
    # the directory at the same moment either wins the link or reads a complete file.
    fd, temporary = tempfile.mkstemp(prefix=".root.key.", dir=data_dir)
    try:
        with os.fdopen(fd, "w") as handle:
            key = new_key()
            handle.write(encode_root_key(key))
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return key_beside(data_dir)
    finally:
        os.unlink(temporary)
    return key
