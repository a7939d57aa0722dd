"""Nonces per account, handed out in order to concurrent senders."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.rpc import RpcClient


@dataclass
class NonceSlot:
    """The nonce a sender holds while it signs and sends; it may move the slot past a nonce that
    must not be used (see :meth:`~ledger.tx.pipeline.TxPipeline.send`)."""

    value: int


class NonceManager:
    """Hands out nonces per account, safe under concurrent callers.

    The per-account lock is held from nonce reservation through signing and
    sending, so transactions reach the node in nonce order. Any failure after
    a nonce was taken makes the next caller re-read the count from the node,
    so a lost or rejected transaction never leaves a gap.
    """

    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc
        self._next: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def _fetch(self, address: str) -> int:
        """The node's count of the account's transactions, its pool included."""
        return int(self._rpc.request("eth_getTransactionCount", [address, "pending"]), 16)

    @contextmanager
    def reserve(self, address: str) -> Iterator[NonceSlot]:
        lock = self._lock_for(address)
        with lock:
            nonce = self._next.get(address)
            slot = NonceSlot(self._fetch(address) if nonce is None else nonce)
            try:
                yield slot
            except BaseException:
                self._next.pop(address, None)  # resync from the node next time
                raise
            self._next[address] = slot.value + 1

    def reset(self, address: str | None = None) -> None:
        with self._guard:
            if address is None:
                self._next.clear()
            else:
                self._next.pop(address, None)
