"""Writes that survive a node dying between "accepted" and "propagated".

:meth:`Ledger.transact` fails over when a node stops answering, but if a node
accepts a transaction into its pool and is killed before gossiping it, the
transaction exists nowhere else, and ``Ledger.wait`` would wait for a receipt
that never comes. :func:`confirmed_write` keeps the signed bytes (the
``before_send`` hook) and re-sends exactly those bytes while no receipt shows up:
one signature, one nonce, one hash, so at most one transaction, whichever node
relays it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ledger.client import Ledger, TxReceipt
from ledger.errors import ChainUnavailable, ContractReverted, TransactionFailed
from ledger.keys import Signer


@dataclass
class WriteStats:
    resends: int = 0


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
    sent: dict[str, Any] = {}

    def keep(tx_hash: str, raw: bytes) -> None:
        sent["hash"], sent["raw"] = tx_hash, raw

    try:
        ledger.transact(signer, contract, fn, *args, wait=False, before_send=keep)
    except ChainUnavailable:
        if "raw" not in sent:
            raise  # never signed: nothing can be on chain
    tx_hash: str = sent["hash"]
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
                    ledger.rebroadcast(sent["raw"])
                    if stats is not None:
                        stats.resends += 1
                except TransactionFailed:
                    pass  # e.g. "nonce too low": it was mined meanwhile; the receipt says so
        except ChainUnavailable:
            pass
        if time.monotonic() > deadline:
            raise TransactionFailed(f"no confirmed receipt for {tx_hash} within {timeout:.0f}s")
        time.sleep(0.1)
