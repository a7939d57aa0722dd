"""Gas: the price (cached), the limit (one estimate reused per function and calldata size) and
the pre-flight (the call simulated with the limit it will carry, before anything is signed).

What a pre-flight costs the node (``bench/write_costs.py``, Ganache 7.9.2's own CPU time): an
``eth_call`` of ``recordAccess`` about as much as the whole transaction sent and mined (most of
both is reading the state trie from its database), of ``contribute`` about three quarters of it;
``eth_estimateGas`` 2 to 13 times an ``eth_call``, so it is asked once per function and size.
Sending the pre-flights of concurrent writers in one JSON-RPC batch costs Ganache a third less
a call, but released their sends in bursts, in which Ganache stranded transactions that arrived
while the account's previous one was being mined and receipts timed out: not done (measured before
the pipeline waited for that, :meth:`~ledger.tx.pipeline.TxPipeline._until_mined`). At ``pending``
or at the head's number, or with the gas limit given, an ``eth_call`` costs Ganache the same within
the measurement's noise; one that reads no state costs it about a tenth: the price is the state
read, which any simulation of the write makes. On geth the pre-flight costs the library about 0.03
of its rate (bench/NOTES.md)."""

from __future__ import annotations

import threading
import time
from typing import Any

from ledger.rpc import RpcClient, RpcError, out_of_gas, revert_from

GAS_MARGIN = 1.25
GAS_PRICE_TTL = 60.0
#: Seconds a cached gas estimate is reused (one ``eth_estimateGas`` per function and calldata size).
GAS_CACHE_TTL = 60.0

#: (to, selector, calldata length): the key of one cached estimate.
GasKey = tuple[str | None, str, int]


class GasPlanner:
    """The gas price and limit of each transaction, and its pre-flight.

    Args:
        rpc: The node.
        preflight: Simulate every write with ``eth_call`` before signing (the default), so a
            custom-error revert is decoded and nothing is sent. Either way the gas limit of each
            (contract, function, calldata size) is estimated once (``eth_estimateGas``) and
            reused for :data:`GAS_CACHE_TTL` seconds with :data:`GAS_MARGIN`; the pre-flight runs
            with that limit, and a call that would run out of it is estimated afresh. ``False``
            skips the simulation (one request less per write): a revert is then mined and named
            afterwards, and costs the gas it used.
    """

    def __init__(self, rpc: RpcClient, *, preflight: bool = True) -> None:
        self._rpc = rpc
        self.preflight = preflight
        self._price: tuple[float, int] | None = None
        self._cache: dict[GasKey, tuple[float, int]] = {}
        self._locks: dict[GasKey, threading.Lock] = {}

    def price(self) -> int:
        now = time.monotonic()
        if self._price is None or now - self._price[0] > GAS_PRICE_TTL:
            self._price = (now, int(self._rpc.request("eth_gasPrice"), 16))
        return self._price[1]

    def limit(self, tx: dict[str, Any], gas: int | None) -> int:
        """The gas limit ``tx`` is signed with, after its pre-flight (when on): ``gas`` if given."""
        if self.preflight:
            return self._preflight(tx, gas)
        return gas if gas is not None else self.cached(tx)

    def estimate(self, tx: dict[str, Any]) -> int:
        try:
            estimate = int(self._rpc.request("eth_estimateGas", [tx]), 16)
        except RpcError as exc:
            raise revert_from(exc) from exc
        return int(estimate * GAS_MARGIN) + 10_000

    def cached(self, tx: dict[str, Any], *, fresh: bool = False) -> int:
        """The gas limit from one estimate per (to, selector, size), reused for :data:`GAS_CACHE_TTL`.

        One caller estimates a missing entry while the others of the same key wait
        (concurrent ``eth_estimateGas`` is what Ganache 7 sometimes drops).
        """
        data = str(tx.get("data") or "0x")
        key = (tx.get("to"), data[:10], len(data))
        hit = self._cache.get(key)
        if not fresh and hit is not None and time.monotonic() - hit[0] < GAS_CACHE_TTL:
            return hit[1]
        with self._guard_for(key):
            hit2 = self._cache.get(key)
            if not fresh and hit2 is not None and time.monotonic() - hit2[0] < GAS_CACHE_TTL:
                return hit2[1]
            if fresh and hit2 is not None and hit2 is not hit:
                return hit2[1]  # another caller re-estimated meanwhile
            gas = self.estimate(tx)
            if hit2 is not None and fresh:
                gas = max(gas, hit2[1])
            self._cache[key] = (time.monotonic(), gas)
            return gas

    def _guard_for(self, key: GasKey) -> threading.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks.setdefault(key, threading.Lock())
        return lock

    def _preflight(self, tx: dict[str, Any], gas: int | None) -> int:
        """Simulate ``tx`` with the gas it will carry (``eth_call``); return that gas.

        A revert raises :class:`~ledger.errors.ContractReverted` before anything is signed. A call
        that runs out of the cached limit is estimated afresh (state can make a function dearer).
        """
        given = gas is not None
        limit = gas if gas is not None else self.cached(tx)
        for attempt in range(2):
            try:
                self._rpc.request("eth_call", [{**tx, "gas": hex(limit)}, "latest"])
                return limit
            except RpcError as exc:
                if given or attempt or not out_of_gas(exc):
                    raise revert_from(exc) from exc
                limit = self.cached(tx, fresh=True)
        return limit  # pragma: no cover - the loop returns or raises
