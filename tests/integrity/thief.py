"""A thief with a copy of the data directory, root.key included: every key it can get at.

It reads every row of every table in every committed state the copy still holds (the database
file and each commit its WAL keeps), and every file, and unwraps whatever any key it has opens,
until nothing new opens. It knows the ledger's wrapping formats (which associated data goes with
which row) but none of the ledger's code runs on its behalf.
"""
from __future__ import annotations

import base64
import hmac
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ledger.keys import envelope

WAL_HEADER, FRAME_HEADER = 32, 24


def committed_states(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The database as of the file alone and as of each commit its WAL holds."""
    db, wal = data_dir / "ledger.db", data_dir / "ledger.db-wal"
    raw = wal.read_bytes() if wal.exists() else b""
    ends = [0]
    if len(raw) >= WAL_HEADER:
        page_size = struct.unpack(">I", raw[8:12])[0]
        frame = FRAME_HEADER + page_size
        for offset in range(WAL_HEADER, len(raw) - frame + 1, frame):
            if struct.unpack(">I", raw[offset + 4:offset + 8])[0]:  # a commit frame
                ends.append(offset + frame)
    with tempfile.TemporaryDirectory() as scratch:
        for end in ends:
            state = Path(scratch) / f"state-{end}"
            state.mkdir()
            shutil.copy(db, state / "ledger.db")
            if end:
                (state / "ledger.db-wal").write_bytes(raw[:end])
            connection = sqlite3.connect(state / "ledger.db")
            try:
                yield connection
            finally:
                connection.close()


def _rows(connection: sqlite3.Connection) -> Iterator[tuple[str, sqlite3.Row]]:
    connection.row_factory = sqlite3.Row
    try:
        tables = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError:
        return
    for table in tables:
        try:
            rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
        except sqlite3.DatabaseError:
            continue  # a WAL prefix over pages a checkpoint has since written: torn, skip it
        for row in rows:
            yield table, row


class Thief:
    def __init__(self, data_dir: Path, arns: dict[str, str]) -> None:
        """`arns`: secret id (hex) -> ARN, read from the log, which keeps them for ever."""
        self.keys: set[bytes] = set()
        self._kms_arn = _kms_arn_maker(next(iter(arns.values()), "arn:aws:x:r:a:"))
        self.blobs: set[tuple[bytes, tuple[bytes, ...]]] = set()  # (blob, associated data tried)
        for path in sorted(data_dir.rglob("*")):
            if path.is_file() and path.suffix == ".key" and path.parent.name == "keys":
                kind, rest = path.name[:-4].split(".", 1)
                self.blobs.add((path.read_bytes(), self._material_aads(f"{kind}:{rest}")))
            elif path.name == "root.key":
                self.keys.add(base64.b64decode(path.read_text().strip()))
        for state in committed_states(data_dir):
            for table, row in _rows(state):
                self._take(table, row, arns)
        self._unwrap_all()

    def _take(self, table: str, row: sqlite3.Row, arns: dict[str, str]) -> None:
        names = row.keys()
        if "name" in names and "wrapped" in names:
            self.blobs.add((bytes(row["wrapped"]), self._material_aads(row["name"])))
        elif table == "data_keys":
            secret, version = row["secret_id"], row["version_id"]
            aads = (envelope.context_aad({"SecretId": secret, "SecretVersionId": version}),
                    envelope.context_aad({"SecretARN": arns.get(secret, ""),
                                          "SecretVersionId": version}))
            self.blobs.add((bytes(row["wrapped"]), aads))

    def _material_aads(self, name: str) -> tuple[bytes, ...]:
        """Materials are bound to their name; a KMS key's to its ARN."""
        if name.startswith("kms:"):
            return name.encode(), self._kms_arn(name[4:]).encode()
        return (name.encode(),)

    def _unwrap_all(self) -> None:
        opened: set[bytes] = set()
        while True:
            new = []
            for blob, aads in list(self.blobs):
                if blob in opened:
                    continue
                for key in list(self.keys):
                    plain = _open(key, blob, aads)
                    if plain is not None:
                        opened.add(blob)
                        new.append((plain, aads))
                        break
            if not new:
                return
            for plain, aads in new:
                if len(plain) in (32, 64):
                    self.keys.update({plain[:32], plain[32:]} - {b""})
                else:
                    self.blobs.add((plain, aads))

    def opens(self, ciphertext: bytes, context: dict[str, str]) -> bool:
        return _open_any(self.keys, ciphertext, envelope.context_aad(context))

    def checked_fingerprints(self, fingerprints: list[str], value_type: str,
                             candidates: list[bytes]) -> set[str]:
        """The fingerprints some key of the thief's and some candidate value reproduce."""
        wanted = {bytes.fromhex(fp.rsplit(":", 1)[1]): fp for fp in fingerprints}
        prefix = value_type.encode() + b"\0"
        return {wanted[d] for key in self.keys for value in candidates
                if (d := hmac.digest(key, prefix + value, "sha256")) in wanted}


def _kms_arn_maker(secret_arn: str):
    _, _, _, region, account = secret_arn.split(":")[:5]
    return lambda key_id: f"arn:aws:kms:{region}:{account}:key/{key_id}"


def _open(key: bytes, blob: bytes, aads: tuple[bytes, ...]) -> bytes | None:
    for aad in aads:
        try:
            return envelope.open_sealed(key, blob, aad)
        except envelope.SealBroken:
            continue
    return None


def _open_any(keys: set[bytes], blob: bytes, aad: bytes) -> bool:
    return any(_open(key, blob, (aad,)) is not None for key in keys)


def files_holding(directory: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(directory)) for p in sorted(directory.rglob("*"))
            if p.is_file() and needle in p.read_bytes()]
