"""RFC 9162 §2.1 Merkle hashing and proofs, against the RFC's own recursive definitions and published vectors.

The reference below is written straight from the RFC (MTH, PATH, PROOF/SUBPROOF over
lists: tiny, obviously correct, O(n)); ``ledger.translog.merkle`` computes the same
from complete-subtree hashes in O(log n). The known answers are transparency-dev/merkle's
``testonly/constants.go`` (commit 582a6ad, the RFC 6962 leaves, every complete
subtree and every root of sizes 0..8), the inclusion/consistency proofs of its
``proof/verify_test.go`` being paths through those nodes.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from ledger.errors import ValidationFailed
from ledger.translog import merkle

# ------------------------------------------------------------------ the RFC, verbatim


def ref_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) over entries (not leaf hashes)."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# ------------------------------------------------------------------ published vectors

LEAF_INPUTS = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
NODE_HASHES = [[bytes.fromhex(h) for h in level] for level in (
    ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
    ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
    ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
)]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
NH = NODE_HASHES
#: (index, size, proof) and (first, second, proof) of transparency-dev/merkle's proof/verify_test.go.
KNOWN_INCLUSION = [(0, 8, [NH[0][1], NH[1][1], NH[2][1]]), (5, 8, [NH[0][4], NH[1][3], NH[2][0]]),
                   (2, 3, [NH[1][0]]), (1, 5, [NH[0][0], NH[1][1], NH[0][4]])]
KNOWN_CONSISTENCY = [(1, 1, []), (1, 8, [NH[0][1], NH[1][1], NH[2][1]]), (6, 8, [NH[1][2], NH[1][3], NH[2][0]]),
                     (2, 5, [NH[1][1], NH[0][4]])]


def tree(entries: list[bytes]) -> merkle.MemoryNodes:
    return merkle.MemoryNodes(merkle.leaf_hash(e) for e in entries)


def test_the_published_nodes_and_roots() -> None:
    t = tree(LEAF_INPUTS)
    assert t.levels[: len(NODE_HASHES)] == NODE_HASHES
    for n, want in enumerate(ROOTS):
        assert merkle.root(t, n) == want == ref_mth(LEAF_INPUTS[:n])
    assert ROOTS[0] == merkle.EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "proof"), KNOWN_INCLUSION)
def test_the_published_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    t = tree(LEAF_INPUTS)
    assert merkle.inclusion_proof(t, index, size) == proof
    assert merkle.verify_inclusion(NH[0][index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), KNOWN_CONSISTENCY)
def test_the_published_consistency_proofs(first: int, second: int, proof: list[bytes]) -> None:
    t = tree(LEAF_INPUTS)
    assert merkle.consistency_proof(t, first, second) == proof
    assert merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)


# ------------------------------------------------------------------ everything against the reference

ENTRIES = [i.to_bytes(2, "big") * (1 + i % 3) for i in range(64)]
T64 = tree(ENTRIES)


def test_every_root_path_and_proof_up_to_64_leaves_is_the_rfcs() -> None:
    for n in range(1, 65):
        d = ENTRIES[:n]
        r = merkle.root(T64, n)
        assert r == ref_mth(d)
        for i in range(n):
            path = merkle.inclusion_proof(T64, i, n)
            assert path == ref_path(i, d), (i, n)
            assert merkle.verify_inclusion(T64.node(0, i), i, n, path, r)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(T64, m, n)
            assert proof == (ref_proof(m, d) if m < n else []), (m, n)
            assert merkle.verify_consistency(m, n, merkle.root(T64, m), r, proof), (m, n)


def test_random_large_trees_agree_with_the_reference() -> None:
    rng = random.Random(9162)
    entries = [rng.randbytes(rng.randint(0, 40)) for _ in range(3000)]
    t = tree(entries)
    for _ in range(12):
        n = rng.randint(65, len(entries))
        i, m = rng.randrange(n), rng.randint(1, n - 1)
        d = entries[:n]
        r = ref_mth(d)
        assert merkle.root(t, n) == r
        assert merkle.inclusion_proof(t, i, n) == ref_path(i, d)
        proof = merkle.consistency_proof(t, m, n)
        assert proof == ref_proof(m, d)
        assert merkle.verify_consistency(m, n, ref_mth(entries[:m]), r, proof)


# ------------------------------------------------------------------ refusals


def _tampered(proof: list[bytes]) -> list[list[bytes]]:
    out = []
    for j in range(len(proof)):
        bad = list(proof)
        bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
        out.append(bad)
    out += [proof[:-1], [*proof, proof[-1]], [merkle.EMPTY_ROOT, *proof], list(reversed(proof)),
            [proof[0][:31], *proof[1:]]]
    return [p for p in out if p != proof]


def test_tampered_inclusion_proofs_wrong_sizes_and_indices_are_refused() -> None:
    for n in (2, 3, 7, 8, 13, 33, 64):
        r = merkle.root(T64, n)
        for i in range(n):
            leaf = T64.node(0, i)
            path = merkle.inclusion_proof(T64, i, n)
            for bad in _tampered(path):
                assert not merkle.verify_inclusion(leaf, i, n, bad, r), (i, n)
            assert not merkle.verify_inclusion(leaf, i, n, path, merkle.root(T64, n - 1))
            assert not merkle.verify_inclusion(T64.node(0, (i + 1) % n), i, n, path, r)
            for wrong_i, wrong_n in ((i + 1, n), (i - 1, n), (i, n + 1), (i, n - 1), (i, 2 * n)):
                if 0 <= wrong_i < wrong_n <= 64:  # the root a checkpoint would give for the claimed size
                    ok = merkle.verify_inclusion(leaf, wrong_i, wrong_n, path, merkle.root(T64, wrong_n))
                    assert not ok, (i, n, wrong_i, wrong_n)
            assert not merkle.verify_inclusion(leaf, n, n, path, r)  # index >= size
            assert not merkle.verify_inclusion(leaf, -1, n, path, r)
    assert not merkle.verify_inclusion(T64.node(0, 0), 0, 0, [], merkle.EMPTY_ROOT)
    with pytest.raises(ValidationFailed):
        merkle.inclusion_proof(T64, 5, 5)


def test_tampered_consistency_proofs_and_wrong_sizes_are_refused() -> None:
    for n in (3, 8, 13, 64):
        r = merkle.root(T64, n)
        for m in range(1, n):
            rm = merkle.root(T64, m)
            proof = merkle.consistency_proof(T64, m, n)
            for bad in _tampered(proof):
                assert not merkle.verify_consistency(m, n, rm, r, bad), (m, n)
            assert not merkle.verify_consistency(m, n, merkle.root(T64, m - 1) if m > 1 else r, r, proof)
            assert not merkle.verify_consistency(m, n, rm, merkle.root(T64, n - 1), proof)
            assert not merkle.verify_consistency(m, n, rm, r, [])
            assert not merkle.verify_consistency(n, m, r, rm, proof)
            if n < 64:
                assert not merkle.verify_consistency(m, n + 1, rm, merkle.root(T64, n + 1), proof)
    assert merkle.verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    assert not merkle.verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    assert not merkle.verify_consistency(5, 5, ROOTS[5], ROOTS[5], [ROOTS[5]])
    assert merkle.verify_consistency(0, 5, ROOTS[0], ROOTS[5], [])
    with pytest.raises(ValidationFailed):
        merkle.consistency_proof(T64, 6, 5)
