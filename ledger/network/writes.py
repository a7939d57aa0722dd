"""Writes that survive a node dying between "accepted" and "propagated".

:meth:`Ledger.transact` fails over when a node stops answering, but if a node
accepts a transaction into its pool and is killed before gossiping it, the
transaction exists nowhere else, and ``Ledger.wait`` would wait for a receipt
that never comes. :func:`confirmed_write` keeps the signed bytes (its journal has
the :class:`~ledger.tx.Pending`) and re-sends exactly those bytes while no receipt shows up:
one signature, one nonce, one hash, so at most one transaction, whichever node
relays it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ledger.client import Ledger, Pending, TxReceipt
from ledger.errors import ChainUnavailable, ContractReverted, TransactionFailed
from ledger.keys import Signer


@dataclass
class WriteStats:
    resends: int = 0


@dataclass
class _Kept:
    """The journal of one write: its signed transaction, kept before it is sent."""

    pending: Pending | None = None

    def record(self, pending: Pending) -> None:
        self.pending = pending


def confirmed_write(
    ledger: Ledger,
    signer: Signer,
    contract: str,
    fn: str,
    *args: Any,
    resend_after: float = 3.0,
    timeout: float = 120.0,
    stats: WriteStats | None = None,
) -> TxReceipt:
    """Sign once, send, re-send the same bytes while unmined, wait for the confirmations."""
    kept = _Kept()
    try:
        ledger.send(signer, ledger.prepare(contract, fn, *args), kept)
    except ChainUnavailable:
        if kept.pending is None:
            raise  # never signed: nothing can be on chain
    assert kept.pending is not None  # recorded before the send could fail
    tx_hash, raw = kept.pending.tx_hash, kept.pending.raw
    deadline = time.monotonic() + timeout
    last_send = time.monotonic()
    while True:
        try:
            receipt = ledger.receipt(tx_hash)
            if receipt is not None:
                depth = ledger.block_number() - receipt.block_number + 1
                if depth >= ledger.confirmations:
                    again = ledger.receipt(tx_hash)  # a reorg below the depth may have moved it
                    if again is not None and again.block_hash == receipt.block_hash:
                        if again.status != 1:
                            raise ContractReverted("TransactionReverted", {}, tx_hash=tx_hash)
                        return again
            elif time.monotonic() - last_send > resend_after:
                last_send = time.monotonic()
                try:
                    ledger.rebroadcast(raw)
                    if stats is not None:
                        stats.resends += 1
                except TransactionFailed:
                    pass  # e.g. "nonce too low": it was mined meanwhile; the receipt says so
        except ChainUnavailable:
            pass
        if time.monotonic() > deadline:
            raise TransactionFailed(f"no confirmed receipt for {tx_hash} within {timeout:.0f}s")
        time.sleep(0.1)
