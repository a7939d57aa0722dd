"""The auditor reads logs in bounded ranges: every block once, in order, no answer growing with the chain,
and a range the node refuses is halved (no node needed: a fake node answers eth_getLogs)."""

from __future__ import annotations

import itertools
import tracemalloc
from typing import Any

import pytest
from eth_abi import encode

from ledger.abi import contract_spec
from ledger.audit.events import ChainStream, scanner
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


class AccessNode:
    """A node whose every block ``1..blocks`` holds ``per_block`` DataSharing ``AccessRecorded`` logs
    (encoded with the committed ABI), with headers; nothing kept between answers."""

    ADDRESS = "0x" + "5a" * 20

    def __init__(self, blocks: int, per_block: int) -> None:
        spec = contract_spec("DataSharing", self.ADDRESS).events_by_name["AccessRecorded"]
        self.topics = ["0x" + spec.topic0.hex(), *("0x" + (n).to_bytes(32, "big").hex() for n in (1, 2, 3))]
        self.blocks, self.per_block = blocks, per_block

    def _log(self, block: int, i: int) -> dict[str, Any]:
        data = encode(["uint64", "bytes32", "uint64", "uint48", "uint256"], [i + 1, bytes(32), 7, block, 1])
        return {
            "address": self.ADDRESS, "topics": self.topics, "data": "0x" + data.hex(), "blockNumber": hex(block),
            "blockHash": "0x" + block.to_bytes(32, "big").hex(), "transactionHash": "0x" + (block * 1000 + i).to_bytes(
                32, "big").hex(), "logIndex": hex(i), "transactionIndex": hex(i), "removed": False,
        }  # fmt: skip

    def _header(self, n: int) -> dict[str, Any]:
        return {"number": hex(n), "hash": "0x" + n.to_bytes(32, "big").hex(), "parentHash": None, "timestamp": hex(n)}

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        assert params is not None
        if method == "eth_getBlockByNumber":
            return self._header(int(params[0], 16))
        assert method == "eth_getLogs"
        frm, to = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
        return [self._log(b, i) for b in range(frm, to + 1) for i in range(self.per_block)]

    def rpc_batch(self, calls: Any) -> list[Any]:
        return [self.rpc(m, p) for m, p in calls]


def _peak_while_streaming(blocks: int) -> tuple[int, int]:
    """(events, peak traced bytes) of streaming ``blocks`` blocks of 50 logs, 10 blocks a window."""
    stream = ChainStream(AccessNode(blocks, 50), {"DataSharing": AccessNode.ADDRESS}, 1, blocks, step=10)
    tracemalloc.start()
    try:
        events = sum(len(w) for w in stream.windows())
        return events, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_auditor_holds_one_window_not_the_history() -> None:
    """Four times the windows, the same memory: the stream keeps no event of a window it has yielded
    (the chain view that held every event grew with them, 1,500 bytes an event)."""
    _peak_while_streaming(20)  # imports, the ABI's caches
    small_events, small = _peak_while_streaming(40)
    big_events, big = _peak_while_streaming(160)
    assert (small_events, big_events) == (2_000, 8_000)
    assert big < small * 1.3, (small, big)


def test_a_quiet_stretch_between_busy_ones_does_not_widen_into_a_huge_answer() -> None:
    """Busy, quiet for 200 blocks, busy again: the range that reaches the second busy stretch is
    sized by the busy one seen, not widened by the quiet blocks to hundreds of blocks of 600 logs."""
    node = FakeNode(lambda b: 600 if b < 40 or b >= 240 else 0)
    got = list(node.iter_logs(["0x"], 0, 400, step=2000, target=5000))
    _check_cover(node, got, 0, 400)
    after_quiet = [len(chunk) for start, _, chunk in got if start >= 40]
    assert max(after_quiet) <= 5000 + 600, after_quiet


def test_a_burst_long_ago_does_not_keep_the_ranges_narrow() -> None:
    node = FakeNode(lambda b: 600 if b < 10 else int(b % 10 == 0))
    got = list(node.iter_logs(["0x"], 0, 20_000, step=2000, target=5000))
    _check_cover(node, got, 0, 20_000)
    assert len(got) <= 90  # ~60 narrow ranges while the burst fades, then wide ones
