"""ledger.merkle: OpenZeppelin StandardMerkleTree compatibility, proofs, tampering."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from ledger.errors import ValidationFailed
from ledger.merkle import AccessRecord, MerkleTree, access_leaf, hash_pair, process_proof, verify

# A tree dumped by @openzeppelin/merkle-tree's StandardMerkleTree.of(values, ["address"])
# (format standard-v1): the root and where each value sits in the tree array.
OZ_VALUES = [
    "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4",
    "0x000000000000d34c44564053af35e4fe271d0caa",
    "0x0000000000078c65a676f9a1f2ae66db0cbdff48",
    "0x00000000000a29a0800f6f557ddbbe8249397de7",
    "0x00000000000a40322164e8b9e1b909c388bf8317",
    "0x00000000000b69ec332f49b7c4d2b101f93c3bed",
    "0x00000000000be4d9faacf7f669f25118b1736666",
    "0xA8CC44274A9b35D1b55fBe7cfCa528b7a78Fb940",
]
OZ_TREE_INDEX = [14, 12, 8, 9, 13, 11, 10, 7]
OZ_ROOT = "7b304f9d916a40cd36caa8f6c157d088804dd56b4b5f1597167414f1e57c6699"


def make_records(n: int, grant_id: int = 7, start: int = 1_700_000_000) -> list[AccessRecord]:
    return [
        AccessRecord(grant_id, keccak(text=f"SELECT * FROM t WHERE id={i}"), i % 997, start + i)
        for i in range(n)
    ]


def test_matches_openzeppelin_standard_merkle_tree() -> None:
    leaves = [keccak(keccak(encode(["address"], [v]))) for v in OZ_VALUES]
    tree = MerkleTree(leaves)
    assert tree.root.hex() == OZ_ROOT
    assert tree._position == OZ_TREE_INDEX  # same layout, so the same proofs as the JS library
    for i, leaf in enumerate(leaves):
        assert verify(leaf, tree.proof(i), tree.root)


def test_leaf_is_double_hashed_abi_encoding() -> None:
    q = keccak(text="q")
    inner = keccak(
        (5).to_bytes(32, "big") + q + (42).to_bytes(32, "big") + (1_700_000_123).to_bytes(32, "big")
    )
    assert access_leaf(5, q, 42, 1_700_000_123) == keccak(inner)
    assert AccessRecord(5, q, 42, 1_700_000_123).leaf() == keccak(inner)


def test_hash_pair_is_commutative() -> None:
    a, b = keccak(b"a"), keccak(b"b")
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(min(a, b) + max(a, b))


def test_single_leaf_tree_root_is_the_leaf() -> None:
    leaf = make_records(1)[0].leaf()
    tree = MerkleTree([leaf])
    assert tree.root == leaf
    assert tree.proof(0) == []
    assert verify(leaf, [], tree.root)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 33])
def test_small_trees_prove_every_leaf(n: int) -> None:
    records = make_records(n)
    tree = MerkleTree.of_records(records)
    assert len(tree) == n
    for i, rec in enumerate(records):
        assert tree.leaf(i) == rec.leaf()
        assert process_proof(rec.leaf(), tree.proof(i)) == tree.root


def test_ten_thousand_records_every_proof_verifies_and_tampering_fails() -> None:
    records = make_records(10_000)
    tree = MerkleTree.of_records(records)
    root = tree.root
    for i, rec in enumerate(records):
        assert verify(rec.leaf(), tree.proof(i), root), i
    assert max(len(tree.proof(i)) for i in range(0, 10_000, 97)) <= 14
    rec = records[1234]
    proof = tree.proof(1234)
    for forged in (
        AccessRecord(rec.grant_id, rec.query_hash, rec.row_count + 1, rec.timestamp),
        AccessRecord(rec.grant_id + 1, rec.query_hash, rec.row_count, rec.timestamp),
        AccessRecord(rec.grant_id, keccak(text="other"), rec.row_count, rec.timestamp),
        AccessRecord(rec.grant_id, rec.query_hash, rec.row_count, rec.timestamp + 1),
    ):
        assert not verify(forged.leaf(), proof, root)
    assert not verify(rec.leaf(), tree.proof(1235), root)
    assert not verify(rec.leaf(), proof[:-1], root)


def test_order_of_records_does_not_change_the_root() -> None:
    records = make_records(50)
    assert MerkleTree.of_records(records).root == MerkleTree.of_records(reversed(records)).root


def test_refusals() -> None:
    with pytest.raises(ValidationFailed):
        MerkleTree([])
    with pytest.raises(ValidationFailed):
        MerkleTree([b"short"])
    with pytest.raises(ValidationFailed):
        MerkleTree.of_records(make_records(3)).proof(3)
    with pytest.raises(ValidationFailed):
        access_leaf(1, b"\x00" * 31, 1, 1)
