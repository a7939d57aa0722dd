"""The auditor's own view of the chain: every log of the deployment, decoded, with block times.

Logs come from the log scanner (:class:`~ledger.logs.LogScanner`, never from the operator's
index) and are decoded with the committed ABIs into events (:class:`~ledger.events.Event`), logs
no ABI decodes kept as :data:`~ledger.abi.UNKNOWN_EVENT` (as the index keeps them), so they
can be compared with index rows (:mod:`ledger.audit.index_compare`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from operator import attrgetter

from ledger.abi import contract_spec, quantity
from ledger.events import Event, decode_logs
from ledger.logs import LogScanner, Node, header

#: logs wanted per answer, and the first range's width in blocks (it adapts from there, at most
#: doubling: a stretch turning dense overshoots little)
LOGS_PER_REQUEST = 10_000
FIRST_RANGE = 16
_CHAIN_ORDER = attrgetter("block_number", "log_index")
#: seconds between GIL hand-overs while a stream runs (Python's default is 0.005)
SWITCH_INTERVAL = 0.0005


def scanner(node: Node, addresses: Sequence[str], step: int, target: int = LOGS_PER_REQUEST) -> LogScanner:
    """The auditor's ranges: at most ``step`` blocks, aiming at ``target`` logs, one fetched ahead,
    block headers only for the blocks with logs and the last one."""
    return LogScanner(
        node, addresses, first=FIRST_RANGE, max_blocks=step, target=target, grow=2, prefetch=1, end_headers=False
    )


class ChainStream:
    """Every log of ``contracts`` (name -> address) in ``[from_block, to_block]``, decoded, one
    window at a time: :meth:`windows` yields each range's events in chain order and keeps none of
    them, so what the auditor holds does not grow with the history, only with the window.

    The next range is fetched while this one is decoded and replayed, so the node's work and
    the auditor's overlap. After :meth:`windows` is exhausted, :attr:`head_time` is the time of
    ``to_block`` and :attr:`events` how many events there were.
    """

    def __init__(
        self, node: Node, contracts: Mapping[str, str], from_block: int, to_block: int, *, step: int = 2000
    ) -> None:
        self.node = node
        self.specs = {addr.lower(): contract_spec(name, addr) for name, addr in contracts.items()}
        self.from_block = from_block
        self.to_block = to_block
        self.step = step
        #: events yielded so far, blocks covered so far, and the time of ``to_block`` once read
        self.events = 0
        self.blocks_done = 0
        self.head_time = 0

    @property
    def blocks(self) -> int:
        return self.to_block - self.from_block + 1

    def windows(self) -> Iterator[list[Event]]:
        """Each range's events, sorted by (block, log index); the ranges are consecutive."""
        addresses = sorted({s.address for s in self.specs.values()})
        ranges = scanner(self.node, addresses, self.step).ranges(self.from_block, self.to_block)
        head_known = False
        # the fetching thread reads each answer in many small pieces, each waiting for this (busy)
        # thread to let go of the GIL: handed over every 0.5 ms instead of 5 while the stream runs
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL))
        try:
            for got in ranges:
                known = got.times()
                # a block whose header the node did not give: time 0 (each block once: thousands of logs share it)
                for number in {lg["blockNumber"] for lg in got.logs}:
                    known.setdefault(quantity(number), 0)
                if self.to_block in known:
                    self.head_time, head_known = known[self.to_block], True
                batch = decode_logs(got.logs, self.specs, known, keep_unknown=True)
                batch.sort(key=_CHAIN_ORDER)
                self.events += len(batch)
                self.blocks_done = got.last - self.from_block + 1
                yield batch
        finally:
            ranges.close()
            sys.setswitchinterval(switch)
        if not head_known:
            top = header(self.node, self.to_block)
            self.head_time = top.time if top is not None else 0
