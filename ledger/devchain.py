"""Development-chain helpers: funding new keys from Ganache's unlocked accounts.

This is the one place that uses node-side unlocked accounts, and only on a
development chain (Ganache); it refuses anywhere else.
"""

from __future__ import annotations

from ledger.client import Ledger
from ledger.errors import NotADevChain


def is_dev_chain(ledger: Ledger) -> bool:
    try:
        client = str(ledger.rpc("web3_clientVersion"))
    except Exception:
        return False
    return "ganache" in client.lower() or "ethereumtester" in client.lower()


def fund(ledger: Ledger, address: str, wei: int = 10**19) -> str | None:
    """Top ``address`` up to ``wei`` from the first unlocked dev account. Returns the tx hash."""
    if not is_dev_chain(ledger):
        raise NotADevChain("funding from unlocked accounts is only allowed on the development chain")
    balance = int(ledger.rpc("eth_getBalance", [address, "latest"]), 16)
    if balance >= wei:
        return None
    source = ledger.rpc("eth_accounts")[0]
    tx_hash = str(
        ledger.rpc(
            "eth_sendTransaction",
            [{"from": source, "to": address, "value": hex(wei - balance), "gas": hex(21000)}],
        )
    )
    ledger.wait(tx_hash)
    return tx_hash
