"""Look for secret values in bytes: as plaintext (whole or any 12-character piece), hex,
standard or URL-safe base64 at each of the three byte alignments a value can have inside a
longer encoded blob, and (for binary values) the text of Python's repr."""
from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PIECE = 12  # characters of a string value that count as a leak on their own


@dataclass(frozen=True)
class Hit:
    where: str
    form: str
    value: int  # index of the value in the scanner's list


def _base64_cores(value: bytes) -> list[tuple[str, bytes]]:
    """The part of base64(prefix + value + suffix) that depends on `value` only, for prefixes
    of 0, 1 and 2 bytes: whole 3-byte groups, minus the first group when it mixes in prefix."""
    forms = []
    for shift in range(3):
        padded = b"\0" * shift + value
        whole = padded[:len(padded) - len(padded) % 3]
        for name, encode in (("base64", base64.b64encode), ("urlsafe base64",
                                                            base64.urlsafe_b64encode)):
            core = encode(whole)[4 if shift else 0:]
            forms.append((f"{name} (offset {shift})", core))
    return forms


def needles(value: bytes, is_text: bool) -> list[tuple[str, bytes]]:
    found = [("plaintext", value), ("hex", value.hex().encode()),
             ("HEX", value.hex().upper().encode()), *_base64_cores(value)]
    if not is_text:  # bytes shown with repr(), e.g. in an exception or a careless print
        found.append(("python repr", repr(value)[2:-1].encode()))
    if is_text:
        found += [(f"piece {i}", value[i:i + PIECE]) for i in range(len(value) - PIECE + 1)]
    return found


class LeakScanner:
    def __init__(self) -> None:
        self.values: list[bytes] = []
        self._needles: list[tuple[int, str, bytes]] = []

    def watch(self, value: bytes, is_text: bool) -> None:
        index = len(self.values)
        self.values.append(value)
        self._needles += [(index, form, needle) for form, needle in needles(value, is_text)]

    def scan(self, where: str, data: bytes | str) -> list[Hit]:
        blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        return [Hit(where, form, index) for index, form, needle in self._needles
                if needle in blob]

    def scan_files(self, paths: Iterable[Path], label: str = "") -> list[Hit]:
        hits = []
        for path in paths:
            if path.is_file():
                hits += self.scan(f"{label}{path}", path.read_bytes())
        return hits

    def scan_tree(self, root: Path) -> list[Hit]:
        return self.scan_files(sorted(root.rglob("*")))
