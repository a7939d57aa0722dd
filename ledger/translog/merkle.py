"""RFC 9162 (Certificate Transparency 2.0) §2.1 Merkle trees: hashes, proofs and their verification.

Hashing (§2.1.1): a leaf is ``SHA-256(0x00 || entry)``, an inner node
``SHA-256(0x01 || left || right)``; the tree of ``n > 1`` leaves splits at ``k``,
the largest power of two smaller than ``n``.

The proofs are built from a :class:`NodeSource`: the hash of every *complete*
subtree (``2**level`` leaves starting at a multiple of ``2**level``). Every
subtree that the recursive definitions of MTH, PATH and SUBPROOF name is
either complete or splits into a complete left part and a smaller right
part, so a root or a proof costs O(log n) node reads and hashes, whatever
``n`` is: the on-disk log (``ledger/translog/store.py``) keeps those nodes in
one fixed-width file per level, :class:`MemoryNodes` in lists.

Verification follows the algorithms of §2.1.3.2 (inclusion) and §2.1.4.2
(consistency) step by step; they trust nothing in the proof and answer a bool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from ledger.errors import ValidationFailed

#: Bytes of a hash (SHA-256).
HASH_SIZE = 32

#: MTH({}) = SHA-256() (§2.1.1): the root of the empty tree.
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeSource(Protocol):
    """The hashes of complete subtrees: ``node(level, i)`` covers leaves ``[i * 2**level, (i+1) * 2**level)``."""

    def node(self, level: int, index: int) -> bytes: ...


class MemoryNodes:
    """A :class:`NodeSource` in memory (tests, small logs, receipts' reference trees)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaves:
            self.add(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def add(self, leaf: bytes) -> None:
        """Append a leaf hash and every complete subtree it closes."""
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(nodes: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range whose start is a multiple of the largest power of two ≤ its length.

    Such a range is a run of complete subtrees of decreasing size; they fold from the right.
    """
    n = end - start
    if n <= 0:
        raise ValidationFailed("range", f"[{start}, {end}) is empty")
    parts: list[bytes] = []
    offset = start
    while offset < end:
        width = 1 << ((end - offset).bit_length() - 1)
        level = width.bit_length() - 1
        if offset % width:
            raise ValidationFailed("range", f"[{start}, {end}) is not made of complete subtrees")
        parts.append(nodes.node(level, offset >> level))
        offset += width
    acc = parts[-1]
    for h in reversed(parts[:-1]):
        acc = node_hash(h, acc)
    return acc


def root(nodes: NodeSource, size: int) -> bytes:
    """MTH of the first ``size`` leaves."""
    if size < 0:
        raise ValidationFailed("size", "must not be negative")
    return EMPTY_ROOT if size == 0 else subtree_hash(nodes, 0, size)


def inclusion_proof(nodes: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) (§2.1.3.1), leaf-side first."""
    if not 0 <= index < size:
        raise ValidationFailed("index", f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(nodes, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(nodes, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(nodes: NodeSource, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[0:second]) (§2.1.4.1); empty when ``first`` is 0 or equals ``second``."""
    if not 0 <= first <= second:
        raise ValidationFailed("first", f"a tree of size {first} cannot precede one of size {second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                proof.append(subtree_hash(nodes, start, end))
            break
        k = _split(n)
        if m <= k:
            proof.append(subtree_hash(nodes, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(nodes, start, start + k))
            start += k
            m -= k
            whole = False
    proof.reverse()
    return proof


def _lsb(x: int) -> bool:
    return bool(x & 1)


def _shift_to_set_lsb(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until LSB(fn) is set or fn is 0 (the step both verifications share)."""
    while not _lsb(fn) and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root that ``proof`` gives for ``leaf`` at ``index`` in a tree of ``size`` (§2.1.3.2), or None."""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_to_set_lsb(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """True when ``proof`` shows ``leaf`` at ``index`` in the tree of ``size`` leaves with root ``expected_root``."""
    return root_from_inclusion(leaf, index, size, proof) == expected_root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows the tree of ``first`` leaves is a prefix of the one of ``second`` (§2.1.4.2).

    Sizes 0 and ``first == second`` take an empty proof (and, for equal sizes, equal roots).
    """
    if not 0 <= first <= second or any(len(p) != HASH_SIZE for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _shift_to_set_lsb(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
