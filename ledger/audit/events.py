"""The auditor's own view of the chain: every log of the deployment, decoded, with block times.

Logs come from the log scanner (:class:`~ledger.logs.LogScanner`, never from the operator's
index) and are decoded with the committed ABIs into events (:class:`~ledger.events.Event`), logs
no ABI decodes kept as :data:`~ledger.abi.UNKNOWN_EVENT` (as the index keeps them), so they
can be compared with index rows (:mod:`ledger.audit.index_compare`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ledger.abi import contract_spec, quantity
from ledger.events import Event, decode_logs
from ledger.logs import LogScanner, Node, header

#: logs wanted per answer, and the first range's width in blocks (it adapts from there, at most
#: doubling: a stretch turning dense overshoots little)
LOGS_PER_REQUEST = 10_000
FIRST_RANGE = 16


@dataclass
class ChainView:
    events: list[Event]
    from_block: int
    to_block: int
    head_time: int
    times: dict[int, int]


def scanner(node: Node, addresses: Sequence[str], step: int, target: int = LOGS_PER_REQUEST) -> LogScanner:
    """The auditor's ranges: at most ``step`` blocks, aiming at ``target`` logs, one fetched ahead,
    block headers only for the blocks with logs and the last one."""
    return LogScanner(
        node, addresses, first=FIRST_RANGE, max_blocks=step, target=target, grow=2, prefetch=1, end_headers=False
    )


def scan(
    node: Node,
    contracts: Mapping[str, str],
    from_block: int,
    to_block: int,
    *,
    step: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> ChainView:
    """Fetch and decode every log of ``contracts`` (name → address) in ``[from_block, to_block]``.

    The next range is fetched while this one decodes, so the node's work and the auditor's
    overlap. Cost: linear in logs.
    """
    specs = {addr.lower(): contract_spec(name, addr) for name, addr in contracts.items()}
    events: list[Event] = []
    times: dict[int, int] = {}
    ranges = scanner(node, sorted({s.address for s in specs.values()}), step).ranges(from_block, to_block)
    try:
        for got in ranges:
            known = got.times()
            for lg in got.logs:  # a block whose header the node did not give: time 0
                known.setdefault(quantity(lg["blockNumber"]), 0)
            times.update(known)
            events += decode_logs(got.logs, specs, known, keep_unknown=True)
            if progress is not None:
                progress(got.last - from_block + 1, len(events))
    finally:
        ranges.close()
    if to_block not in times:
        top = header(node, to_block)
        if top is not None:
            times[to_block] = top.time
    events.sort(key=lambda e: (e.block_number, e.log_index))
    return ChainView(events, from_block, to_block, times.get(to_block, 0), times)
