"""web3 middleware a proof-of-authority network needs (re-exported by :mod:`ledger.network`)."""

from __future__ import annotations

from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware


def poa(w3: Web3) -> Web3:
    """Let web3's block formatting accept proof-of-authority headers (Clique, QBFT).

    Their ``extraData`` holds the signers and a seal (> 32 bytes), which web3's
    validation middleware rejects. Code that reads blocks through ``w3.eth`` or
    ``w3.manager`` (the event indexer does) needs this on such chains.
    Idempotent; returns ``w3``.
    """
    if "poa" not in w3.middleware_onion:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0, name="poa")
    return w3
