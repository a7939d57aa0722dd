"""Where a transaction is now: :class:`TxStatus` (for writes answered before their receipt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.errors import LedgerError
from ledger.rpc import RpcClient
from ledger.tx.receipts import Receipts

if TYPE_CHECKING:
    from ledger.events import Event


@dataclass(frozen=True)
class TxStatus:
    """Where a transaction is: ``unknown``, ``pending``, ``mined`` (fewer confirmations than
    the ledger waits for), ``confirmed``, or ``failed`` (mined and reverted; ``error`` names why)."""

    tx_hash: str
    state: str
    block_number: int | None = None
    block_hash: str | None = None
    confirmations: int = 0
    required_confirmations: int = 1
    gas_used: int | None = None
    events: tuple[Event, ...] = ()
    error: LedgerError | None = None


def status(rpc: RpcClient, receipts: Receipts, tx_hash: str) -> TxStatus:
    """Where ``tx_hash`` is now, against the confirmations ``receipts`` waits for; a failure is
    named (:class:`~ledger.errors.ContractReverted`, by replaying the call on the parent block)."""
    need = receipts.confirmations
    raw = receipts.raw(tx_hash)
    if raw is None or raw.get("blockNumber") is None:
        known = rpc.request("eth_getTransactionByHash", [tx_hash])
        return TxStatus(tx_hash, "pending" if known else "unknown", required_confirmations=need)
    block = int(raw["blockNumber"], 16)
    confirmations = max(0, rpc.block_number() - block + 1)
    common: dict[str, Any] = {
        "block_number": block,
        "block_hash": raw["blockHash"],
        "confirmations": confirmations,
        "required_confirmations": need,
        "gas_used": int(raw["gasUsed"], 16),
    }
    if int(raw["status"], 16) != 1:
        sent = rpc.request("eth_getTransactionByHash", [tx_hash]) or {}
        call: dict[str, Any] | None = None
        if sent:
            call = {"from": sent["from"], "data": sent.get("input") or sent.get("data") or "0x",
                    "value": sent.get("value") or "0x0", "gas": sent.get("gas")}
            if sent.get("to"):
                call["to"] = sent["to"]
        return TxStatus(tx_hash, "failed", error=receipts.explain_failure(tx_hash, raw, call), **common)
    state = "confirmed" if confirmations >= need else "mined"
    return TxStatus(tx_hash, state, events=tuple(receipts.decode(raw["logs"])), **common)
