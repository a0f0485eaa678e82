"""The Merkle tree is RFC 6962's: its roots and audit paths match the published vectors."""
from __future__ import annotations

import hashlib

import pytest

from ledger.integrity.merkle import MerkleAccumulator, audit_path, merkle_root
from ledger.integrity.proof import EMPTY_ROOT, leaf_hash, node_hash, root_from_path

# Certificate Transparency's reference leaves and the roots of their first n, n = 0..8.
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = [  # (leaf index, tree size, audit path)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
]


def rfc_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def test_roots_match_the_rfc_6962_reference_for_every_size_up_to_eight():
    hashes = [rfc_leaf(leaf) for leaf in LEAVES]
    assert [merkle_root(hashes[:n]).hex() for n in range(9)] == ROOTS
    assert EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize(("index", "size", "path"), PATHS)
def test_audit_paths_match_the_reference_and_lead_back_to_the_root(index, size, path):
    hashes = [rfc_leaf(leaf) for leaf in LEAVES[:size]]
    assert [h.hex() for h in audit_path(index, hashes)] == path
    assert root_from_path(index, size, hashes[index], [bytes.fromhex(h) for h in path]) \
        == bytes.fromhex(ROOTS[size])


def test_an_odd_leaf_is_carried_up_unpaired_not_duplicated():
    a, b, c = (hashlib.sha256(bytes([i])).digest() for i in range(3))
    assert merkle_root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert merkle_root([a, b, c]) != merkle_root([a, b, c, c])


def test_every_leaf_of_every_tree_size_proves_and_a_wrong_path_does_not():
    for size in range(1, 40):
        leaves = [hashlib.sha256(size.to_bytes(2, "big") + bytes([i])).digest()
                  for i in range(size)]
        root = merkle_root(leaves)
        for index in range(size):
            path = audit_path(index, leaves)
            assert root_from_path(index, size, leaves[index], path) == root
            if path:
                bent = [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]
                assert root_from_path(index, size, leaves[index], bent) != root
            other = leaves[(index + 1) % size]
            assert size == 1 or root_from_path(index, size, other, path) != root


def test_a_path_for_a_leaf_outside_the_tree_proves_nothing():
    assert root_from_path(3, 3, b"x" * 32, []) is None
    assert root_from_path(0, 1, b"x" * 32, [b"y" * 32]) is None


def test_the_streaming_accumulator_equals_the_whole_tree_root():
    leaves = [leaf_hash(p, hashlib.sha256(bytes([p])).digest()) for p in range(1, 101)]
    accumulator = MerkleAccumulator()
    for count, leaf in enumerate(leaves, start=1):
        accumulator.add(leaf)
        if count in (1, 2, 3, 64, 65, 100):
            assert accumulator.root() == merkle_root(leaves[:count])
    assert accumulator.size == 100
