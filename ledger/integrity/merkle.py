"""Merkle roots and audit paths over leaf hashes (RFC 6962 trees; hashing in `proof`).

`MerkleAccumulator` folds leaves in one pass with O(log n) memory, so a digest or a
verification over millions of events never holds all leaves at once.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.integrity.proof import EMPTY_ROOT, node_hash


class MerkleAccumulator:
    """Streaming root: the perfect subtrees seen so far, largest first."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        size, node = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            _, left = self._stack.pop()
            size, node = size * 2, node_hash(left, node)
        self._stack.append((size, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    accumulator = MerkleAccumulator()
    for leaf in leaves:
        accumulator.add(leaf)
    return accumulator.root()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def audit_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The sibling hashes from leaf `index` up to the root (RFC 9162 PATH)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is outside a tree of {len(leaves)}")
    lo, hi = 0, len(leaves)
    siblings: list[bytes] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            siblings.append(merkle_root(leaves[lo + k:hi]))
            hi = lo + k
        else:
            siblings.append(merkle_root(leaves[lo:lo + k]))
            lo = lo + k
    return siblings[::-1]
