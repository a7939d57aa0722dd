"""Merkle trees of access-log batches, verifiable on chain by OpenZeppelin's MerkleProof.

The tree has the shape of OpenZeppelin's ``StandardMerkleTree`` (JavaScript
library ``@openzeppelin/merkle-tree``), so roots and proofs agree with it:

* a leaf is the double keccak256 of the ABI-encoded record,
  ``keccak256(keccak256(abi.encode(uint256 grantId, bytes32 queryHash,
  uint64 rowCount, uint48 timestamp))``, exactly ``DataSharing.accessLeaf``;
* leaves are sorted by hash and stored, as in OpenZeppelin's layout, at the end
  of a complete binary tree held in one array (node ``i`` has children
  ``2i+1`` and ``2i+2``; the root is node 0);
* an inner node is ``keccak256(min(a, b) ++ max(a, b))`` (sorted pairs), so a
  proof is just the list of siblings from the leaf up, with no left/right bits.

Building is O(n) hashes and a proof O(log n): 10,000 records take a fraction of
a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from ledger.errors import ValidationFailed

#: ABI types of an access record, in leaf order (see ``IDataSharing.accessLeaf``).
ACCESS_RECORD_TYPES = ("uint256", "bytes32", "uint64", "uint48")


@dataclass(frozen=True)
class AccessRecord:
    """One access served by a gateway, as it goes into a batch leaf."""

    grant_id: int
    query_hash: bytes
    row_count: int
    timestamp: int

    def leaf(self) -> bytes:
        return access_leaf(self.grant_id, self.query_hash, self.row_count, self.timestamp)


def access_leaf(grant_id: int, query_hash: bytes, row_count: int, timestamp: int) -> bytes:
    """The leaf of one access record, identical to ``DataSharing.accessLeaf``."""
    if len(query_hash) != 32:
        raise ValidationFailed("query_hash", "must be 32 bytes")
    encoded = encode(list(ACCESS_RECORD_TYPES), [grant_id, query_hash, row_count, timestamp])
    return keccak(keccak(encoded))


def batch_document(records: Iterable[AccessRecord], batch_id: int | None = None) -> dict[str, Any]:
    """A batch file's JSON document, as ``cogov data log --batch-out`` writes it and ``cogov data
    prove`` and ``cogov audit verify --batch`` read it: ``{"batch_id": N, "records": [...]}``."""
    doc: dict[str, Any] = {} if batch_id is None else {"batch_id": batch_id}
    doc["records"] = [
        {
            "grant_id": r.grant_id,
            "query_hash": "0x" + r.query_hash.hex(),
            "row_count": r.row_count,
            "timestamp": r.timestamp,
        }
        for r in records
    ]
    return doc


def batch_records(doc: Any) -> list[AccessRecord]:
    """The records of a batch file's document (ValueError, KeyError or TypeError if malformed)."""
    return [
        AccessRecord(
            int(r["grant_id"]),
            bytes.fromhex(str(r["query_hash"]).removeprefix("0x")),
            int(r["row_count"]),
            int(r["timestamp"]),
        )
        for r in doc["records"]
    ]


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's commutative node hash: keccak256 of the sorted pair."""
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``leaf`` and ``proof`` lead to (``MerkleProof.processProof``)."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True if ``proof`` proves ``leaf`` under ``root`` (``MerkleProof.verify``)."""
    return process_proof(leaf, proof) == root


class MerkleTree:
    """A tree over 32-byte leaves (already hashed), in OpenZeppelin's standard layout.

    ``proof(i)`` takes the index of a leaf in the order given to the constructor.
    """

    def __init__(self, leaves: Iterable[bytes]) -> None:
        given = list(leaves)
        if not given:
            raise ValidationFailed("leaves", "a Merkle tree needs at least one leaf")
        for leaf in given:
            if len(leaf) != 32:
                raise ValidationFailed("leaves", "every leaf must be 32 bytes")
        n = len(given)
        order = sorted(range(n), key=given.__getitem__)
        size = 2 * n - 1
        tree: list[bytes] = [b""] * size
        # The k-th smallest leaf sits at tree[size - 1 - k], as in OpenZeppelin's makeMerkleTree.
        self._position = [0] * n
        for k, i in enumerate(order):
            tree[size - 1 - k] = given[i]
            self._position[i] = size - 1 - k
        for i in range(size - 1 - n, -1, -1):
            tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        self._tree = tree
        self._leaves = given

    @classmethod
    def of_records(cls, records: Iterable[AccessRecord]) -> MerkleTree:
        """The tree of access records, leaf ``i`` being record ``i``."""
        return cls(r.leaf() for r in records)

    @property
    def root(self) -> bytes:
        return self._tree[0]

    def __len__(self) -> int:
        return len(self._leaves)

    def leaf(self, index: int) -> bytes:
        return self._leaves[self._check(index)]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from leaf ``index`` up to the root."""
        node = self._position[self._check(index)]
        path: list[bytes] = []
        while node > 0:
            sibling = node + 1 if node % 2 == 1 else node - 1
            path.append(self._tree[sibling])
            node = (node - 1) // 2
        return path

    def _check(self, index: int) -> int:
        if not 0 <= index < len(self._leaves):
            raise ValidationFailed("index", f"no leaf {index} in a tree of {len(self._leaves)}")
        return index
