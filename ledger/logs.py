"""The one log scanner: ranges of ``eth_getLogs`` for a set of addresses, with their blocks' times.

As certificate-transparency-go's ``scanner/fetcher.go`` separates the fetcher from what
consumes its batches, :class:`LogScanner` only fetches: it yields ranges (:class:`LogRange`)
(raw JSON-RPC logs, the headers it read) over a small client interface (:class:`Node`), and
the indexer, the auditor and the fund report decode and use them, each its own way.

* Ranges adapt: the first is ``first`` blocks wide, each next one is sized from the log
  density seen so far to bring about ``target`` logs (at most ``grow`` times the last, at
  most ``max_blocks``, and never wider than ``target`` logs at the density of the busiest range
  seen, that density halved for every eighth of ``max_blocks`` blocks since, so a quiet
  stretch between busy ones does not widen the range into a huge answer), so answers stay
  bounded as the chain grows.
* A range the node refuses (too many results, a response too large) is halved and asked
  again, and the ranges after it start from the halved width; a single block refused is an
  error (:class:`~ledger.errors.RpcError`).
* Each range's last block header is read *before* its logs: whoever stores the range with
  that block's hash (the indexer's reorg check) sees a reorg that happened meanwhile at the
  next look, never a hash of a chain the logs did not come from. Consumers that keep no
  hash (the auditor, the reports) ask for the scan's last header only (``end_headers=False``).
* Block times come from the logs' ``blockTimestamp`` where the node gives it, otherwise from
  the headers of the blocks with logs, in one batch per range.
* :meth:`LogScanner.ranges` fetches the next ranges in a thread while the consumer works on
  the current one (``prefetch`` ranges ahead); closing the generator stops and joins it.

Nothing else in ``ledger`` asks for logs or block headers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.abi import hex_text, quantity
from ledger.errors import RpcError

log = logging.getLogger("ledger.logs")

#: headers asked in one JSON-RPC batch
HEADER_BATCH = 200


class Node(Protocol):
    """What the scanner needs of a JSON-RPC client (:class:`~ledger.client.Ledger` is one).

    ``rpc`` returns a request's result, raising :class:`~ledger.errors.RpcError` for an error
    answer and :class:`~ledger.errors.ChainUnavailable` when no node answers; ``rpc_batch``
    sends several requests at once and gives their results in order (None for an error answer).
    """

    def rpc(self, method: str, params: list[Any] | None = None) -> Any: ...

    def rpc_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Header:
    """What the scanner keeps of a block header."""

    number: int
    hash: str
    parent_hash: str | None
    time: int

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> Header | None:
        """A header from a JSON-RPC block (hex, or as web3 formats it); None for no block."""
        if not raw:
            return None
        parent = raw.get("parentHash")
        return cls(
            number=quantity(raw["number"]),
            hash=hex_text(raw["hash"]),
            parent_hash=hex_text(parent) if parent is not None else None,
            time=quantity(raw["timestamp"]),
        )


def header(node: Node, number: int | str = "latest") -> Header | None:
    """The header of block ``number`` (or ``"latest"``); None when the node has no such block."""
    tag = hex(number) if isinstance(number, int) else number
    return Header.of(node.rpc("eth_getBlockByNumber", [tag, False]))


def head_time(node: Node) -> int:
    """The head block's time (the wall clock when the node has no block): the ``now`` at which
    the contracts' views derive what the clock decides."""
    top = header(node)
    return top.time if top is not None else int(time.time())


def headers(node: Node, numbers: Sequence[int]) -> dict[int, Header | None]:
    """Headers of several blocks, in batches of :data:`HEADER_BATCH` (None: the node has no such block)."""
    out: dict[int, Header | None] = {}
    for i in range(0, len(numbers), HEADER_BATCH):
        chunk = numbers[i : i + HEADER_BATCH]
        answers = node.rpc_batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
        got = {h.number: h for h in map(Header.of, answers) if h is not None}  # matched by number
        out.update((n, got.get(n)) for n in chunk)
    return out


@dataclass(frozen=True, slots=True)
class LogRange:
    """The logs of blocks ``[first, last]`` and what the scanner read about their blocks."""

    first: int
    last: int
    #: the last block's header, read before the logs (or, without ``end_headers``, with the others
    #: and only for the scan's last range); None when not read or the node does not have that block
    end: Header | None
    #: raw JSON-RPC logs, in the node's order (hex text, or as web3 formats them)
    logs: list[Any] = field(default_factory=list)
    #: headers of the blocks whose logs carry no ``blockTimestamp`` (``last``'s is :attr:`end`)
    headers: Mapping[int, Header | None] = field(default_factory=dict)

    def times(self) -> dict[int, int]:
        """Block number -> Unix time of the blocks with logs and of the last block."""
        out: dict[int, int] = {}
        if self.end is not None:
            out[self.end.number] = self.end.time
        for n, h in self.headers.items():
            if h is not None:
                out[n] = h.time
        for lg in self.logs:
            stamp = lg.get("blockTimestamp")
            if stamp is not None:
                out[quantity(lg["blockNumber"])] = quantity(stamp)
        return out


class LogScanner:
    """Fetches the logs of ``addresses`` range by range (see the module's docstring).

    Args:
        node: the JSON-RPC client.
        addresses: the contracts whose logs are wanted.
        first: the first range's width in blocks.
        max_blocks: the widest range.
        target: the number of logs a range aims at.
        grow: how many times wider than the last a range may be.
        prefetch: ranges fetched ahead of the consumer by :meth:`ranges`.
        end_headers: read each range's last header before its logs (what a consumer storing
            that block's hash needs); without, only the scan's last block's header is read, with
            the others (a request less per range).
    """

    def __init__(
        self,
        node: Node,
        addresses: Sequence[str],
        *,
        first: int = 4,
        max_blocks: int = 2000,
        target: int = 5000,
        grow: int = 4,
        prefetch: int = 2,
        end_headers: bool = True,
    ) -> None:
        self.node = node
        self.addresses = sorted(addresses)
        self.first = max(1, min(first, max_blocks))
        self.max_blocks = max_blocks
        self.target = target
        self.grow = grow
        self.prefetch = prefetch
        self.end_headers = end_headers

    def get_logs(self, frm: int, to: int) -> list[Any]:
        """One ``eth_getLogs`` of every address over ``[frm, to]`` (the node's error raised)."""
        params = {"fromBlock": hex(frm), "toBlock": hex(to), "address": self.addresses}
        return list(self.node.rpc("eth_getLogs", [params]) or [])

    def scan(self, frm: int, to: int, *, with_headers: bool = True) -> Iterator[LogRange]:
        """Consecutive ranges covering ``[frm, to]``, fetched as they are consumed.

        ``with_headers`` False reads logs only (no :attr:`LogRange.end`, no times). After a
        range whose last block the node does not have, nothing more is fetched.
        """
        start, width = frm, self.first
        densest, dense_end = 1, frm  # the most logs a block held (a range's average), and where
        while start <= to:
            end = min(to, start + width - 1)
            first_end = with_headers and self.end_headers
            top = header(self.node, end) if first_end else None
            if first_end and top is None:
                yield LogRange(start, end, None)
                return
            try:
                logs = self.get_logs(start, end)
            except RpcError as exc:
                if end == start:
                    raise
                width = max(1, (end - start + 1) // 2)
                log.info("eth_getLogs %d-%d refused (%s); halving", start, end, exc.message)
                continue
            found: dict[int, Header | None] = {}
            if first_end:
                found = self._times_needed(logs, known=end)
            elif with_headers:  # the scan's last block: its header comes with the others
                found = self._times_needed(logs, also=to if end == to else None)
                top = found.pop(end, None) if end == to else None
            yield LogRange(start, end, top, logs, found)
            got = end - start + 1
            density = -(-len(logs) // got)
            # the busiest density seen, halved for every eighth of max_blocks since: a burst long ago
            # no longer narrows the ranges
            lately = densest >> min(62, 8 * (end - dense_end) // self.max_blocks)
            if density >= lately:
                densest, dense_end = density, end
            width = max(
                1,
                min(
                    self.max_blocks,
                    got * self.grow,
                    got * self.target // max(len(logs), 1),
                    self.target // max(1, lately, density),  # quiet blocks do not widen past a busy range's fill
                ),
            )
            start = end + 1

    def _times_needed(
        self, logs: list[Any], *, known: int | None = None, also: int | None = None
    ) -> dict[int, Header | None]:
        """Headers of the blocks whose logs carry no time, but ``known`` (read already), and ``also``."""
        need = {
            quantity(lg["blockNumber"])
            for lg in logs
            if lg.get("blockTimestamp") is None and not lg.get("removed")
        }
        if known is not None:
            need.discard(known)
        if also is not None:
            need.add(also)
        return headers(self.node, sorted(need)) if need else {}

    def ranges(self, frm: int, to: int) -> Generator[LogRange, None, None]:
        """:meth:`scan`, with the next ranges fetched by a thread while the consumer works.

        Closing the generator (the consumer stopped or failed) stops the thread and waits
        for it, so no fetch outlives the scan; a fetch's error is raised to the consumer.
        """
        if frm > to:
            return
        out: queue.Queue[LogRange | BaseException | None] = queue.Queue(maxsize=max(1, self.prefetch))
        stop = threading.Event()

        def put(item: LogRange | BaseException | None) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            try:
                for got in self.scan(frm, to):
                    if not put(got):
                        return
                put(None)
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)

        thread = threading.Thread(target=fetch, name="log-scan", daemon=True)
        thread.start()
        try:
            while True:
                item = out.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join()


__all__ = ["HEADER_BATCH", "Header", "LogRange", "LogScanner", "Node", "header", "headers"]
