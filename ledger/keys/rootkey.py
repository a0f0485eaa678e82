"""The root key wraps all key material at rest. It never enters the log or the key store."""
from __future__ import annotations

import base64
import binascii
import os
import tempfile
from pathlib import Path

from ledger.keys.envelope import new_key

ROOT_KEY_ENV = "LEDGER_ROOT_KEY"
ROOT_KEY_FILE = "root.key"


class RootKeyError(Exception):
    pass


def _decode(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise RootKeyError(f"{source} is not base64") from None
    if len(key) != 32:
        raise RootKeyError(f"{source} must hold 32 bytes of key, base64-encoded")
    return key


def load_root_key(data_dir: Path | None, environ: dict[str, str] | None = None) -> bytes:
    """From LEDGER_ROOT_KEY, else from DATA_DIR/root.key (created 0600), else a fresh one in memory."""
    environ = os.environ if environ is None else environ
    if environ.get(ROOT_KEY_ENV):
        return _decode(environ[ROOT_KEY_ENV], ROOT_KEY_ENV)
    if data_dir is None:
        return new_key()
    path = Path(data_dir) / ROOT_KEY_FILE
    if path.exists():
        return _decode(path.read_text(), str(path))
    # Written whole under a private name, then linked into place: a second process opening
    # the directory at the same moment either wins the link or reads a complete file.
    fd, temporary = tempfile.mkstemp(prefix=".root.key.", dir=data_dir)
    try:
        with os.fdopen(fd, "w") as handle:
            key = new_key()
            handle.write(base64.b64encode(key).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return _decode(path.read_text(), str(path))
    finally:
        os.unlink(temporary)
    return key
