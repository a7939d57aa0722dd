"""Receipts: the typed :class:`TxReceipt`, one poller per ledger, and waiting for confirmations."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from eth_utils import to_checksum_address

from ledger.errors import ChainUnavailable, ContractReverted, LedgerError, OutOfGas, TransactionFailed
from ledger.rpc import RpcClient, RpcError, revert_from

if TYPE_CHECKING:
    from ledger.events import Event

log = logging.getLogger("ledger.tx.receipts")


@dataclass(frozen=True)
class TxReceipt:
    """What a write returns: where it landed and what it did."""

    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    status: int
    events: tuple[Event, ...] = field(default_factory=tuple)
    contract_address: str | None = None

    def event(self, name: str) -> Event:
        for e in self.events:
            if e.name == name:
                return e
        raise LookupError(f"transaction {self.tx_hash} emitted no {name} event")

    def events_named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


class LogDecoder(Protocol):
    """Decodes the logs of a receipt into the events of our contracts (the ledger does)."""

    def decode_logs(self, logs: list[dict[str, Any]]) -> list[Event]: ...


class Receipts:
    """Receipts of one ledger: fetched, waited for (with confirmations), typed, failures named.

    Args:
        rpc: The node.
        decoder: Names the events in a receipt's logs.
        confirmations: Blocks a write waits for (1 = included in a block).
        timeout: Seconds :meth:`wait` waits by default.
    """

    def __init__(self, rpc: RpcClient, decoder: LogDecoder, *, confirmations: int = 1, timeout: float = 120.0) -> None:
        self._rpc = rpc
        self._decoder = decoder
        self.confirmations = max(1, confirmations)
        self.timeout = timeout
        self._poller = ReceiptPoller(rpc)

    def get(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of a mined transaction, or None if it is not (yet) on chain."""
        raw = self._rpc.request("eth_getTransactionReceipt", [tx_hash])
        if raw is None or raw.get("blockNumber") is None:
            return None
        return self.typed(raw)

    def seen(self, tx_hash: str, timeout: float) -> bool:
        """Whether ``tx_hash`` is mined within ``timeout`` seconds (found by the shared poller; no
        confirmations, no status)."""
        return self._poller.wait(tx_hash, timeout) is not None

    def raw(self, tx_hash: str) -> dict[str, Any] | None:
        """The node's receipt as it sent it, or None."""
        found: dict[str, Any] | None = self._rpc.request("eth_getTransactionReceipt", [tx_hash])
        return found

    def wait(self, tx_hash: str, tx: dict[str, Any] | None = None, timeout: float | None = None) -> TxReceipt:
        """Wait for the receipt and the configured confirmations (``timeout``: default :attr:`timeout`).

        ``tx``: the call as sent, to name the error of a failed transaction (replayed on its
        parent block). With one confirmation, concurrent waiters share one poller that asks
        for all their receipts in one JSON-RPC batch per tick (instead of each thread polling
        on its own back-off): fewer requests for the node to answer, and a receipt is seen
        within a tick of being mined.
        """
        limit = self.timeout if timeout is None else timeout
        if self.confirmations <= 1:
            receipt = self._poller.wait(tx_hash, limit)
            if receipt is None:
                raise not_confirmed(tx_hash, limit)
            if int(receipt["status"], 16) != 1:
                raise self.explain_failure(tx_hash, receipt, tx)
            return self.typed(receipt)
        deadline = time.monotonic() + limit
        delay = 0.01
        while True:
            try:
                receipt = self._rpc.request("eth_getTransactionReceipt", [tx_hash])
            except ChainUnavailable:
                if time.monotonic() > deadline:
                    raise
                receipt = None
            if receipt is not None and receipt.get("blockNumber") is not None:
                block = int(receipt["blockNumber"], 16)
                if self._rpc.block_number() >= block + self.confirmations - 1:
                    # Re-read: a reorg below the depth may have moved it.
                    again = self._rpc.request("eth_getTransactionReceipt", [tx_hash])
                    if again is not None and again["blockHash"] == receipt["blockHash"]:
                        break
                    continue
            if time.monotonic() > deadline:
                raise not_confirmed(tx_hash, limit)
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        if int(receipt["status"], 16) != 1:
            raise self.explain_failure(tx_hash, receipt, tx)
        return self.typed(receipt)

    def typed(self, raw: dict[str, Any]) -> TxReceipt:
        return TxReceipt(
            tx_hash=raw["transactionHash"],
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            gas_used=int(raw["gasUsed"], 16),
            status=int(raw["status"], 16),
            events=tuple(self._decoder.decode_logs(raw["logs"])),
            contract_address=(
                to_checksum_address(raw["contractAddress"]) if raw.get("contractAddress") else None
            ),
        )

    def decode(self, logs: list[dict[str, Any]]) -> list[Event]:
        return self._decoder.decode_logs(logs)

    def explain_failure(self, tx_hash: str, receipt: dict[str, Any], tx: dict[str, Any] | None) -> LedgerError:
        """A mined transaction failed: replayed on the parent block to name its error; unnamed, it is
        :class:`~ledger.errors.OutOfGas` when it used at least 63/64 of the gas it carried (out of gas
        itself, or in a call it made, which gets 63/64 of what is left, its caller then reverting
        without data); else a bare ``TransactionReverted``."""
        replayed: ContractReverted | None = None
        if tx is not None:
            parent = hex(int(receipt["blockNumber"], 16) - 1)
            try:
                self._rpc.request("eth_call", [tx, parent])
            except RpcError as exc:
                err = revert_from(exc, tx_hash=tx_hash)
                if isinstance(err, ContractReverted):
                    if err.raw not in (None, "0x"):
                        return err  # named by its revert data
                    replayed = err
        try:
            sent = self._rpc.request("eth_getTransactionByHash", [tx_hash])
        except (ChainUnavailable, RpcError):
            sent = None
        if isinstance(sent, dict) and sent.get("gas"):
            gas = int(sent["gas"], 16)
            if int(receipt["gasUsed"], 16) * 64 >= gas * 63:
                return OutOfGas(tx_hash, gas)
        return replayed or ContractReverted("TransactionReverted", {}, tx_hash=tx_hash)


def not_confirmed(tx_hash: str, limit: float) -> TransactionFailed:
    """The error of a wait that saw no confirmed receipt of ``tx_hash`` within ``limit`` seconds."""
    return TransactionFailed(
        f"no confirmed receipt for {tx_hash} within {limit:.0f}s; "
        "it may still be mined: check it before sending again"
    )


class ReceiptPoller:
    """One thread per ledger finding the receipts every waiting caller wants.

    Runs only while someone waits. It asks the node for its height every
    :attr:`TICK` seconds (the cheapest request there is), backing off to
    :attr:`MAX_TICK` while nothing moves (slow blocks); only when new blocks
    appear does it read their transaction hashes and fetch the receipts of the
    waiting ones among them (JSON-RPC batches). A hash is also looked up once
    when its waiter arrives, in case it was mined before. So a caller pays about
    one receipt request per transaction instead of one per back-off step, and
    sees its receipt within a tick of the block.
    """

    TICK = 0.005
    MAX_TICK = 0.05  # idle polls back off to this (x1.5 each); a new block or waiter resets to TICK
    SWEEP = 0.5  # seconds between lookups of every waiting hash (a safety net)
    MAX_BATCH = 200

    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc
        self._lock = threading.Lock()
        self._pending: dict[str, list[_Slot]] = {}
        self._fresh: set[str] = set()
        self._thread: threading.Thread | None = None
        self._kick = threading.Event()

    def wait(self, tx_hash: str, timeout: float) -> dict[str, Any] | None:
        slot = _Slot()
        with self._lock:
            self._pending.setdefault(tx_hash.lower(), []).append(slot)
            self._fresh.add(tx_hash.lower())
            self._kick.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ledger-receipts", daemon=True)
                self._thread.start()
        if not slot.event.wait(timeout):
            with self._lock:
                slots = self._pending.get(tx_hash.lower(), [])
                if slot in slots:
                    slots.remove(slot)
                if not slots:
                    self._pending.pop(tx_hash.lower(), None)
        return slot.receipt

    def _run(self) -> None:
        last: int | None = None
        swept = time.monotonic()
        tick = self.TICK
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                fresh = [h for h in self._fresh if h in self._pending]
                self._fresh.clear()
            try:
                head = self._rpc.block_number()
                wanted = set(fresh)
                blocks: list[Any] = []
                if last is not None and head > last:
                    numbers = range(max(last + 1, head - self.MAX_BATCH + 1), head + 1)
                    blocks = self._rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
                    with self._lock:
                        for block in blocks:
                            for h in _transactions(block):
                                if str(h).lower() in self._pending:
                                    wanted.add(str(h).lower())
                now = time.monotonic()
                moved = bool(fresh) or last is None or head > last
                tick = self.TICK if moved else min(tick * 1.5, self.MAX_TICK)
                far_behind = last is not None and head - last > self.MAX_BATCH
                if far_behind or any(not isinstance(b, dict) for b in blocks) or now - swept > self.SWEEP:
                    swept = now  # a block not read, or a while since: look every waiting hash up
                    with self._lock:
                        wanted.update(self._pending)
                last = head
                found = self._fetch(sorted(wanted)[: self.MAX_BATCH]) if wanted else {}
            except (ChainUnavailable, RpcError) as exc:
                log.debug("receipt poll failed (%s); retrying", exc)
                found = {}
            if found:
                with self._lock:
                    for tx_hash, receipt in found.items():
                        for slot in self._pending.pop(tx_hash, []):
                            slot.receipt = receipt
                            slot.event.set()
            self._kick.wait(tick)  # a new waiter cuts the wait short
            self._kick.clear()

    def _fetch(self, hashes: list[str]) -> dict[str, dict[str, Any]]:
        answers = self._rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        return {
            h: r for h, r in zip(hashes, answers, strict=True)
            if isinstance(r, dict) and r.get("blockNumber") is not None
        }


def _transactions(block: Any) -> list[Any]:
    """The transaction hashes of a block answer (nothing for a missing block or an error)."""
    return list(block.get("transactions", [])) if isinstance(block, dict) else []


class _Slot:
    __slots__ = ("event", "receipt")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.receipt: dict[str, Any] | None = None
