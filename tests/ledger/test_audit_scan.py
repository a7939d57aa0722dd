"""The auditor reads logs in bounded ranges: every block once, in order, no answer growing with the chain,
and a range the node refuses is halved (no node needed: a fake node answers eth_getLogs)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ledger.audit.events import scanner
from ledger.errors import RpcError


class FakeNode:
    """``per_block(n)`` logs in block n; refuses ranges wider than ``max_range`` blocks."""

    def __init__(self, per_block: Any, max_range: int | None = None) -> None:
        self.per_block = per_block
        self.max_range = max_range
        self.asked: list[tuple[int, int]] = []

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        assert method == "eth_getLogs" and params is not None
        frm, to = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
        self.asked.append((frm, to))
        if self.max_range is not None and to - frm + 1 > self.max_range:
            raise RpcError("query returned more than 10000 results", None, -32005)
        return [{"blockNumber": hex(b), "i": i} for b in range(frm, to + 1) for i in range(self.per_block(b))]

    def rpc_batch(self, calls: Any) -> list[Any]:
        raise AssertionError("no batches: logs only")

    def iter_logs(
        self, addresses: list[str], frm: int, to: int, step: int, target: int = 10_000
    ) -> list[tuple[int, int, list[Any]]]:
        """The auditor's ranges of logs (``first block, last block, logs``)."""
        ranges = scanner(self, addresses, step, target).scan(frm, to, with_headers=False)
        return [(r.first, r.last, r.logs) for r in ranges]


def _check_cover(node: FakeNode, got: list[tuple[int, int, list[Any]]], frm: int, to: int) -> None:
    assert got[0][0] == frm and got[-1][1] == to
    for (_, end, _), (start, _, _) in itertools.pairwise(got):
        assert start == end + 1  # consecutive, no gap, no overlap
    logs = [log for *_, chunk in got for log in chunk]
    assert len(logs) == sum(node.per_block(b) for b in range(frm, to + 1))
    assert [int(x["blockNumber"], 16) for x in logs] == sorted(int(x["blockNumber"], 16) for x in logs)


def test_dense_chain_is_read_in_bounded_answers() -> None:
    node = FakeNode(lambda b: 600 if b >= 70 else (b % 2))
    got = list(node.iter_logs(["0x"], 1, 250, step=2000, target=5000))
    _check_cover(node, got, 1, 250)
    # one answer overshoots where the chain turns dense; after it none exceeds the target by a block's logs
    sizes = [len(chunk) for *_, chunk in got]
    first_dense = next(i for i, n in enumerate(sizes) if n > 5000)
    assert sizes[first_dense] <= 2 * 32 * 600
    assert sizes[first_dense + 1] <= 2 * 5000  # its mixed range underestimates the density once
    assert max(sizes[first_dense + 2 :]) <= 5000 + 600
    assert len(got) >= 150 * 600 // 5000  # many bounded requests, not one answer of 108,000 logs


def test_sparse_chain_is_read_in_few_requests() -> None:
    node = FakeNode(lambda b: 1 if b % 10 == 0 else 0)
    got = list(node.iter_logs(["0x"], 0, 9_999, step=2000, target=5000))
    _check_cover(node, got, 0, 9_999)
    assert all(end - start + 1 <= 2000 for start, end, _ in got)  # never wider than step
    assert len(got) <= 12


@pytest.mark.parametrize("max_range", [1, 7, 50])
def test_a_refused_range_is_halved(max_range: int) -> None:
    node = FakeNode(lambda b: 3, max_range=max_range)
    got = list(node.iter_logs(["0x"], 5, 300, step=2000, target=10_000))
    _check_cover(node, got, 5, 300)


def test_a_single_block_the_node_refuses_is_an_error() -> None:
    node = FakeNode(lambda b: 1, max_range=0)
    with pytest.raises(RpcError):
        list(node.iter_logs(["0x"], 0, 10, step=100))
