"""The auditor's reads of the chain: through the ledger (its fail-over, its JSON-RPC batches),
counted, so the report says how many requests the audit made.

The number of requests grows with the number of records divided by the batch size
(:data:`~ledger.client.VIEW_BATCH` views, :data:`~ledger.logs.HEADER_BATCH` headers),
never with anything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.client import VIEW_BATCH, Ledger, View


@dataclass(frozen=True)
class Call:
    """One view call of a manifest contract."""

    contract: str
    fn: str
    args: tuple[Any, ...] = ()


class Reads:
    """A :class:`~ledger.logs.Node` over the ledger that counts its requests, and batched view
    calls at pinned blocks.

    Args:
        ledger: the chain (the auditor reads through its URL list, failing over past a node
            that does not answer).
        addresses: contract name -> the manifest's address (views are called there).
    """

    def __init__(self, ledger: Ledger, addresses: Mapping[str, str] | None = None) -> None:
        self.ledger = ledger
        self.addresses = dict(addresses or {})
        self.requests = 0
        self._parent: Reads | None = None

    @property
    def url(self) -> str:
        """The node the ledger is on now (it moves to the next URL when one stops answering)."""
        return self.ledger.url

    def _count(self, n: int = 1) -> None:
        self.requests += n
        if self._parent is not None:
            self._parent._count(n)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        self._count()
        return self.ledger.rpc(method, params)

    def rpc_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        if calls:
            self._count()
        return self.ledger.rpc_batch(calls)

    def calls(self, calls: Sequence[Call], block: int | Sequence[int]) -> list[Any]:
        """View calls at ``block`` (or each at its own block), batched; a call that reverts or whose
        answer does not decode gives its :class:`~ledger.errors.LedgerError` in its place."""
        views: list[View] = [(c.contract, c.fn, c.args, self.addresses[c.contract]) for c in calls]
        self._count(-(-len(views) // VIEW_BATCH) if len(views) > 1 else len(views))
        return self.ledger.views(views, block=block, raise_errors=False)

    def at(self, url: str) -> Reads:
        """Reads from the node at ``url`` alone (no fail-over), e.g. to compare nodes; counted here too."""
        one = Reads(Ledger(url), self.addresses)
        one._parent = self
        return one
