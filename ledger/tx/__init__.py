"""The transaction pipeline: nonces, gas and pre-flight, send -> pending -> wait, receipts, status.

``pending = ledger.send(signer, call, journal)`` pre-flights, signs, records the
:class:`Pending` in the journal before the bytes leave, and sends; ``pending.wait()``
returns the :class:`TxReceipt` once confirmed. ``ledger.transact(...)`` is both.
"""

from ledger.tx.gas import GasPlanner
from ledger.tx.nonces import NonceManager
from ledger.tx.pipeline import ContractCall, Journal, Journals, Pending, TxPipeline
from ledger.tx.receipts import Receipts, TxReceipt
from ledger.tx.status import TxStatus

__all__ = [
    "ContractCall",
    "GasPlanner",
    "Journal",
    "Journals",
    "NonceManager",
    "Pending",
    "Receipts",
    "TxPipeline",
    "TxReceipt",
    "TxStatus",
]
