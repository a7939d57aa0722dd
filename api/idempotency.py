"""Idempotent writes: the same ``Idempotency-Key`` never changes the chain twice.

Per (API key, idempotency key) the store keeps a fingerprint of the request,
the signed transaction (persisted *before* it is sent) and, once known, the
response. A retry:

* of a finished request returns the stored response;
* of a request whose transaction was signed but whose answer was lost (a
  crash, a timeout, the node going away) re-sends the *same signed bytes*
  (one hash, so at most one transaction) and answers from its receipt; it is
  signed anew only when the chain proves the first can never be mined (a
  different transaction holds its nonce: :class:`~ledger.errors.NonceSuperseded`),
  never on a node's "nonce too low" alone (the first may be what used the nonce);
* with the same key but a different body is refused (409), as is a retry
  while the first attempt is still running (409, try again);
* of a request answered 202 (``Prefer: respond-async``) returns the same 202
  (re-sending the same signed bytes if the node lost them), never a second
  transaction;
* of a request that reverted is run again (nothing stays recorded): the same
  problem whether the revert was refused before sending or mined.

A request's write is started by a function that sends it with the store's journal
(``ledger.send(signer, call, journal)``): the journal persists the signed transaction,
then it leaves. A synchronous answer waits for ``pending.wait()``; a 202 is built from
the :class:`~ledger.tx.Pending` and never waits.

At start-up :meth:`IdempotencyStore.reconcile` re-sends every signed but
unanswered transaction, so nothing signed is left behind by a crash.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a write costs three small
commits here, none of them an fsync of the main database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledger.client import Journal, Ledger, Pending, TxReceipt
from ledger.errors import ChainUnavailable, Conflict, ContractReverted, LedgerError, NonceSuperseded
from ledger.tx import Journals

log = logging.getLogger("api.idempotency")

metadata = sa.MetaData()

records = sa.Table(
    "idempotency",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),  # the API key id
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # started | signed | accepted | done
    sa.Column("tx_hash", sa.String(66), nullable=True),
    sa.Column("raw_tx", sa.Text, nullable=True),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("response", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: Starts the request's one write: signs it, has the journal keep the :class:`Pending` (the
#: store persists it there, before it is sent), sends it (``ledger.send``) and returns it.
Start = Callable[[Journal | None], Pending]
Respond = Callable[[TxReceipt], tuple[int, dict[str, Any]]]
#: Builds the 202 answer for a transaction sent without waiting (``Prefer: respond-async``).
Accepted = Callable[[Pending], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, engine: sa.Engine, ledger: Ledger) -> None:
        self.engine = engine
        self.ledger = ledger
        if engine.dialect.name == "sqlite":
            _sqlite_fast_commits(engine)
        metadata.create_all(engine)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, scope: str, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((scope, key), threading.Lock())

    @contextmanager
    def _alone(self, scope: str, key: str) -> Iterator[None]:
        """One request per (scope, key) at a time in this process: a concurrent retry is a 409."""
        lock = self._lock(scope, key)
        if not lock.acquire(blocking=False):
            raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly")
        try:
            yield
        finally:
            lock.release()

    def _row(self, scope: str, key: str) -> sa.RowMapping | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(records).where(records.c.scope == scope, records.c.key == key)
            ).mappings().first()

    def _update(self, scope: str, key: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                records.update()
                .where(records.c.scope == scope, records.c.key == key)
                .values(updated_at=time.time(), **values)
            )

    def execute(
        self,
        scope: str,
        key: str,
        fp: str,
        start: Start,
        respond: Respond,
        accepted: Accepted | None = None,
        journal: Journal | None = None,
    ) -> Outcome:
        """Start the write at most once per (scope, key) and answer ``respond(receipt)`` once it is
        confirmed; with ``accepted``, answer 202 once it is sent and never wait. ``journal`` keeps
        the signed transaction before the store does (the write's pending texts)."""
        with self._alone(scope, key):
            row = self._row(scope, key)
            if row is not None and row["fingerprint"] != fp:
                raise Conflict("this Idempotency-Key was used for a different request")
            if row is not None and row["state"] == "done":
                return Outcome(int(row["status_code"]), json.loads(row["response"]), replayed=True)
            if row is not None and row["state"] == "accepted":
                self._keep_alive(row)
                return Outcome(int(row["status_code"]), json.loads(row["response"]), replayed=True)
            if row is not None and row["state"] == "signed" and row["raw_tx"]:
                try:
                    receipt = self._resume(row)
                except ContractReverted:
                    self._forget(scope, key)  # as a refused request: the same problem again on a retry
                    raise
                if receipt is not None:
                    return self._finish(scope, key, receipt, respond, replayed=True)
                # The chain shows the signed transaction can never be mined (a different one holds
                # its nonce): sign anew.
            if row is None:
                now = time.time()
                with self.engine.begin() as conn:
                    conn.execute(
                        records.insert().values(
                            scope=scope, key=key, fingerprint=fp, state="started", created_at=now, updated_at=now
                        )
                    )
            try:
                pending = start(Journals(journal, _Signed(self, scope, key)))
                if accepted is not None:  # answered once sent: never waits
                    status_code, body = accepted(pending)
                    self._update(scope, key, state="accepted", status_code=status_code,
                                 response=json.dumps(body, ensure_ascii=False, default=str))
                    return Outcome(status_code, body, replayed=False)
                receipt = pending.wait()
            except ContractReverted:
                # Refused before anything was sent, or mined and reverted (COGOV_PREFLIGHT=false):
                # either way nothing changed, and the key may be reused for a corrected request.
                self._forget(scope, key)
                raise
            return self._finish(scope, key, receipt, respond, replayed=False)

    def _forget(self, scope: str, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(records.delete().where(records.c.scope == scope, records.c.key == key))

    def _keep_alive(self, row: sa.RowMapping) -> None:
        """A retry of a 202: if the node lost the transaction, send the same bytes again."""
        tx_hash = str(row["tx_hash"])
        try:
            if self.ledger.receipt(tx_hash) is not None:
                self._update(str(row["scope"]), str(row["key"]), state="done")
            elif self.ledger.rpc_client.transaction(tx_hash) is None and row["raw_tx"]:
                log.warning("node lost accepted tx %s; sending the same bytes again", tx_hash)
                self.ledger.rebroadcast(bytes.fromhex(row["raw_tx"]))
        except LedgerError as exc:  # the stored answer stands; the status URL tells the rest
            log.warning("could not check accepted tx %s: %s", tx_hash, exc)

    def _finish(self, scope: str, key: str, receipt: TxReceipt, respond: Respond, replayed: bool) -> Outcome:
        status_code, body = respond(receipt)
        self._update(
            scope,
            key,
            state="done",
            tx_hash=receipt.tx_hash,
            status_code=status_code,
            response=json.dumps(body, ensure_ascii=False, default=str),
        )
        return Outcome(status_code, body, replayed)

    def _resume(self, row: sa.RowMapping) -> TxReceipt | None:
        """The receipt of a signed transaction, re-sending the same bytes if the node lost it;
        None only when the chain proves it can never be mined (then the caller signs anew)."""
        tx_hash = str(row["tx_hash"])
        receipt = self.ledger.receipt(tx_hash)
        if receipt is not None:
            if receipt.status != 1:
                raise self.ledger.status(tx_hash).error or ContractReverted("TransactionReverted", {}, tx_hash=tx_hash)
            return receipt
        try:
            self.ledger.rebroadcast(bytes.fromhex(row["raw_tx"]))  # returns if it is pending or mined anywhere
        except NonceSuperseded as exc:
            log.info("%s; signing the request again", exc.message)
            self.ledger.nonces.reset(exc.sender)
            return None
        return self.ledger.wait(tx_hash)

    def reconcile(self) -> int:
        """At start-up: re-send signed transactions that never got an answer. Returns how many."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(records).where(records.c.state.in_(("signed", "accepted")), records.c.raw_tx.is_not(None))
            ).mappings().all()
        n = 0
        for row in rows:
            try:
                if self.ledger.receipt(str(row["tx_hash"])) is None:
                    self.ledger.rebroadcast(bytes.fromhex(row["raw_tx"]))
                    n += 1
                elif row["state"] == "accepted":
                    self._update(str(row["scope"]), str(row["key"]), state="done")  # its 202 stays the answer
            except (ChainUnavailable, LedgerError) as exc:
                log.warning("could not reconcile %s: %s", row["tx_hash"], exc)
        return n


@dataclass(frozen=True)
class _Signed:
    """The store's journal of one request: its signed transaction persisted before it is sent."""

    store: IdempotencyStore
    scope: str
    key: str

    def record(self, pending: Pending) -> None:
        self.store._update(self.scope, self.key, state="signed", tx_hash=pending.tx_hash, raw_tx=pending.raw.hex())


def _sqlite_fast_commits(engine: sa.Engine) -> None:
    """WAL and ``synchronous=NORMAL`` on every connection (durable across crashes of the process;
    a power cut may lose the last commits, never corrupt the file)."""

    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    sa.event.listen(engine, "connect", _pragmas)
    engine.dispose()  # connections opened before this listener get the pragmas too
