"""Nonces per account, handed out in order to concurrent senders: the threads of one process
(:class:`NonceManager`), or every process over one PostgreSQL database (:class:`SharedNonceManager`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from eth_account import Account

from ledger.advisory import advisory_lock
from ledger.rpc import RpcClient, RpcError, quantity


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


def nonce_holder(rpc: RpcClient, node: int, sender: str, nonce: int) -> tuple[bool, str | None]:
    """On node ``node``'s chain: whether ``nonce`` of ``sender`` is used, and the hash of the
    transaction using it (None when the node keeps no state old enough to say: geth prunes state
    older than 128 blocks). The block is found by the account's nonce at past blocks (exponential,
    then binary search back from the head: a few requests for a nonce used lately)."""

    def used_at(block: int) -> bool:
        return int(rpc.request_at(node, "eth_getTransactionCount", [sender, hex(block)]), 16) > nonce

    hi = int(rpc.request_at(node, "eth_blockNumber", []), 16)
    if not used_at(hi):
        return False, None
    step = 1  # used at `hi`, unused at `lo` (-1: before genesis)
    try:
        lo = hi - step
        while lo >= 0 and used_at(lo):
            hi, step = lo, step * 2
            lo = hi - step
        lo = max(lo, -1)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if used_at(mid):
                hi = mid
            else:
                lo = mid
    except RpcError:
        return True, None  # no state that far back
    block = rpc.request_at(node, "eth_getBlockByNumber", [hex(hi), True]) or {}
    for t in block.get("transactions", []):
        if str(t.get("from", "")).lower() == sender.lower() and quantity(t["nonce"]) == nonce:
            return True, str(t["hash"])
    return True, None


def tx_nonce(signed: bytes) -> int:
    """The nonce of a signed legacy (RLP list) or typed transaction."""
    import rlp

    if signed[0] >= 0xC0:  # legacy: [nonce, gasPrice, gas, to, value, data, v, r, s]
        return int.from_bytes(rlp.decode(signed)[0], "big")
    return int.from_bytes(rlp.decode(signed[1:])[1], "big")  # EIP-2718: [chainId, nonce, ...]


def call_of(signed: bytes) -> dict[str, Any]:
    """The call a signed legacy or EIP-2718 (type 1, 2) transaction makes, as JSON-RPC sends it
    (``from``, ``to``, ``data``, ``value``: to replay it and name a revert)."""
    import rlp

    if signed[0] >= 0xC0:  # legacy: [nonce, gasPrice, gas, to, value, data, v, r, s]
        to, value, data = rlp.decode(signed)[3:6]
    else:  # type 1: [chainId, nonce, gasPrice, gas, to, value, data, ...]; type 2: one fee more
        fields = rlp.decode(signed[1:])
        to, value, data = fields[4:7] if signed[0] == 1 else fields[5:8]
    tx: dict[str, Any] = {"from": str(Account.recover_transaction(signed)), "data": "0x" + bytes(data).hex(),
                          "value": hex(int.from_bytes(value, "big"))}
    if to:
        tx["to"] = "0x" + bytes(to).hex()
    return tx


# ------------------------------------------------------------- across processes

metadata = sa.MetaData()

#: The next nonce per account, shared by every process sending over one PostgreSQL database.
#: ``next_nonce`` NULL: re-read the node's count (a failure, a reset); ``in_flight``: a holder
#: took the nonce and never said how it ended (its process died): the row may be stale.
nonce_rows = sa.Table(
    "tx_nonces",
    metadata,
    sa.Column("account", sa.String(42), primary_key=True),  # lower-case hex address
    sa.Column("next_nonce", sa.BigInteger, nullable=True),
    sa.Column("in_flight", sa.Boolean, nullable=False, default=False),
)


class SharedNonceManager(NonceManager):
    """One sender per account across every process over one PostgreSQL database.

    :meth:`reserve` keeps the contract of :class:`NonceManager` (held from reservation through
    signing and sending; a failure resyncs from the node) across processes: an advisory lock per
    account (``pg_advisory_lock``, on a connection of its own, released by PostgreSQL if the
    process dies) is held while the account's row is read, marked in flight, and, once the
    transaction is sent, moved to the next nonce. Each reservation takes max(row, the node's
    pending count): a row left in flight (its process was killed between sending and updating) and
    a sender outside the service (the CLI with the same key, which the row cannot see) are both
    caught up, so a nonce is never used twice and never skipped; a missing or reset row takes the
    node's count. One ``eth_getTransactionCount`` and two small commits per transaction.
    """

    def __init__(self, rpc: RpcClient, engine: sa.Engine) -> None:
        super().__init__(rpc)
        self.engine = engine
        metadata.create_all(engine)

    @contextmanager
    def reserve(self, address: str) -> Iterator[NonceSlot]:
        account = address.lower()
        # this process's callers queue on the thread lock, so each process waits on one connection
        with self._lock_for(address), advisory_lock(self.engine, "cogov-nonce:" + account) as conn:
            assert conn is not None
            slot = NonceSlot(self._take(conn, account, address))
            try:
                yield slot
            except BaseException:
                self._set(conn, account, None)  # resync from the node next time
                raise
            self._set(conn, account, slot.value + 1)

    def _take(self, conn: sa.Connection, account: str, address: str) -> int:
        row = conn.execute(
            sa.select(nonce_rows.c.next_nonce, nonce_rows.c.in_flight).where(nonce_rows.c.account == account)
        ).first()
        stored = None if row is None else row.next_nonce
        # The node's count too, every time: a holder may have died after (or before) sending, and a
        # sender outside the service (the CLI with the same key) moves the count without the row.
        # The row still wins when it is ahead: a transaction sent to another node, not yet seen here.
        nonce = self._fetch(address) if stored is None else max(int(stored), self._fetch(address))
        if row is None:
            conn.execute(nonce_rows.insert().values(account=account, next_nonce=nonce, in_flight=True))
        else:
            conn.execute(nonce_rows.update().where(nonce_rows.c.account == account)
                         .values(next_nonce=nonce, in_flight=True))
        conn.commit()
        return nonce

    def _set(self, conn: sa.Connection, account: str, next_nonce: int | None) -> None:
        conn.execute(nonce_rows.update().where(nonce_rows.c.account == account)
                     .values(next_nonce=next_nonce, in_flight=False))
        conn.commit()

    def reset(self, address: str | None = None) -> None:
        super().reset(address)
        query = nonce_rows.update().values(next_nonce=None)
        if address is not None:
            query = query.where(nonce_rows.c.account == address.lower())
        with self.engine.begin() as conn:
            conn.execute(query)
