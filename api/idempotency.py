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

A request's write runs straight through one :class:`WriteSession` (no callbacks)::

    with store.session(scope, key, fingerprint(...), state, detach=..., texts=...) as w:
        if w.earlier is not None:            # a replay: the stored answer
            return w.earlier
        receipt = w.resumed                  # signed by an earlier attempt, now mined
        if receipt is None:
            pending = ledger.send(signer, call, w.journal)   # persisted, then sent
            if w.detached:                   # Prefer: respond-async
                return w.accepted(pending)   # 202, never waits
            receipt = pending.wait()
        return w.done(receipt, 201, answer(receipt))

Without an ``Idempotency-Key`` :func:`unkept` gives the same session with nothing stored.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from pydantic import BaseModel

from ledger.advisory import advisory_lock, shared
from ledger.client import ContractCall, Journal, Ledger, Pending, TxReceipt
from ledger.errors import ChainUnavailable, Conflict, ContractReverted, LedgerError, NonceSuperseded
from ledger.fund.docs import TextJournal
from ledger.keys import Signer
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

#: The refusal of a retry that arrives while its first attempt still runs (in any process).
IN_PROGRESS = "a request with this Idempotency-Key is still in progress; retry shortly"
#: The status resource of a transaction answered 202.
TX_STATUS_PATH = "/api/v1/tx/{tx_hash}"


class Answer(NamedTuple):
    """A write's answer: the HTTP status and the JSON body."""

    status_code: int
    body: dict[str, Any]


class Sent(Protocol):
    """Where a transaction answered 202 is kept, to send its bytes again if a node loses it
    (:class:`api.state.ServiceState`), and where an acknowledged write's block is noted (reads
    after it wait until the index holds that block)."""

    def remember_sent(self, tx_hash: str, signed: bytes) -> None: ...

    def note_written(self, block: int) -> None: ...


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
        """One request per (scope, key) at a time: a concurrent retry is a 409. Over PostgreSQL in
        every process (an advisory lock, dropped by the server if its process dies, so a retry
        after a crash resumes the signed transaction); over SQLite in this process (one process)."""
        lock = self._lock(scope, key)
        if not lock.acquire(blocking=False):
            raise Conflict(IN_PROGRESS)
        try:
            if not shared(self.engine):
                yield
                return
            with advisory_lock(self.engine, f"cogov-idempotency:{scope}:{key}", wait=False) as held:
                if held is None:
                    raise Conflict(IN_PROGRESS)
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

    @contextmanager
    def session(
        self, scope: str, key: str, fp: str, sent: Sent | None = None, *, detach: bool = False,
        texts: TextJournal | None = None,
    ) -> Iterator[WriteSession]:
        """One request's write under (scope, key), holding the key's lock (a concurrent retry: 409).

        Raises :class:`~ledger.errors.Conflict` for a different request with the same key. On
        :class:`~ledger.errors.ContractReverted` the key is forgotten (a retry runs again) and the
        texts' pending entries go."""
        kept = Kept(self, scope, key)
        with self._alone(scope, key), _reverted(kept, texts):
            w = WriteSession(sent, detach, texts, kept)
            row = self._row(scope, key)
            if row is not None and row["fingerprint"] != fp:
                raise Conflict("this Idempotency-Key was used for a different request")
            if row is not None and row["state"] in ("done", "accepted"):
                if row["state"] == "accepted":
                    self._keep_alive(row)
                w.earlier = Answer(int(row["status_code"]), json.loads(row["response"]))
            elif row is not None and row["state"] == "signed" and row["raw_tx"]:
                # None: the chain shows it can never be mined (another holds its nonce): sign anew.
                w.resumed = self._resume(row)
            elif row is None:
                now = time.time()
                with self.engine.begin() as conn:
                    conn.execute(records.insert().values(
                        scope=scope, key=key, fingerprint=fp, state="started", created_at=now, updated_at=now
                    ))
            yield w

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

    def _resume(self, row: sa.RowMapping) -> TxReceipt | None:
        """The receipt of a signed transaction, re-sending the same bytes if the node lost it;
        None only when the chain proves it can never be mined (then the caller signs anew)."""
        tx_hash = str(row["tx_hash"])
        receipt = self.ledger.receipt(tx_hash)
        if receipt is not None:
            if receipt.status != 1:
                raise self.ledger.status(tx_hash).error or ContractReverted("TransactionReverted", {}, tx_hash=tx_hash)
            return receipt
        signed = bytes.fromhex(row["raw_tx"])
        try:
            self.ledger.rebroadcast(signed)  # returns if it is pending or mined anywhere
            return self.ledger.wait_signed(signed)
        except NonceSuperseded as exc:  # at once, or found while waiting (a stale pending entry)
            log.info("%s; signing the request again", exc.message)
            self.ledger.nonces.reset(exc.sender)
            return None

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


class WriteSession:
    """One request's write, straight through (see the module): ``earlier`` is an answer to
    replay; ``resumed`` the receipt of the transaction signed by an earlier attempt; else sign
    and send with ``journal`` (``pending = ledger.send(signer, call, w.journal)``), answer
    :meth:`accepted` when ``detached``, else ``pending.wait()`` and :meth:`done`.

    Without a store (no ``Idempotency-Key``) nothing is kept: the same steps, answered as given.
    """

    def __init__(self, sent: Sent | None, detach: bool, texts: TextJournal | None, kept: Kept | None = None) -> None:
        self.earlier: Answer | None = None
        self.resumed: TxReceipt | None = None
        self._answer: Answer | None = None
        self._sent, self._detach, self._texts, self._kept = sent, detach, texts, kept

    @property
    def detached(self) -> bool:
        """Answer 202 once sent, never waiting (``Prefer: respond-async``; not for a resumed write)."""
        return self._detach and self.resumed is None

    @property
    def journal(self) -> Journal | None:
        """What the send records the :class:`Pending` into before it leaves: the texts, then the store."""
        return self._texts if self._kept is None else Journals(self._texts, self._kept)

    @property
    def answer(self) -> Answer:
        """The session's answer: the one replayed, accepted (202) or done."""
        answer = self._answer or self.earlier
        if answer is None:
            raise RuntimeError("this write has no answer yet")
        return answer

    def send(self, ledger: Ledger, signer: Signer, call: ContractCall) -> TxReceipt | None:
        """The steps of the module's example for one ``ledger.send``: the receipt to answer from
        (:meth:`done`), or None once the session is answered (:attr:`answer`: a replay, a 202)."""
        if self.earlier is not None:
            return None
        if self.resumed is not None:
            return self.resumed
        pending = ledger.send(signer, call, self.journal)
        if self.detached:
            self.accepted(pending)
            return None
        return pending.wait()

    def accepted(self, pending: Pending) -> Answer:
        """The 202 answer for ``pending`` (kept); its signed bytes are kept to send again if a node loses them."""
        from api.schemas.tx import TxAccepted

        if self._sent is not None:
            self._sent.remember_sent(pending.tx_hash, pending.raw)
        url = TX_STATUS_PATH.format(tx_hash=pending.tx_hash)
        body: dict[str, Any] = TxAccepted(tx_hash=pending.tx_hash, status_url=url).model_dump(mode="json")
        self._keep("accepted", 202, body)
        self._answer = Answer(202, body)
        return self._answer

    def done(self, receipt: TxReceipt, status_code: int, body: BaseModel | dict[str, Any]) -> Answer:
        """The answer built from ``receipt`` (kept); reads after it see the write."""
        out: dict[str, Any] = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        if self._sent is not None:
            self._sent.note_written(receipt.block_number)
        self._keep("done", status_code, out, tx_hash=receipt.tx_hash)
        self._answer = Answer(status_code, out)
        return self._answer

    def _keep(self, state: str, status_code: int, body: dict[str, Any], **values: Any) -> None:
        if self._kept is not None:
            self._kept.update(state=state, status_code=status_code,
                              response=json.dumps(body, ensure_ascii=False, default=str), **values)


@dataclass(frozen=True)
class Kept:
    """One request's row in the store: the journal that persists its signed transaction before it is sent."""

    store: IdempotencyStore
    scope: str
    key: str

    def record(self, pending: Pending) -> None:
        self.update(state="signed", tx_hash=pending.tx_hash, raw_tx=pending.raw.hex())

    def update(self, **values: Any) -> None:
        self.store._update(self.scope, self.key, **values)

    def forget(self) -> None:
        self.store._forget(self.scope, self.key)


@contextmanager
def _reverted(kept: Kept | None, texts: TextJournal | None) -> Iterator[None]:
    """A revert (refused before sending, or mined and reverted): nothing changed, so the key is
    forgotten (a retry runs again and may be corrected) and the pending texts go."""
    try:
        yield
    except ContractReverted as exc:
        if kept is not None:
            kept.forget()
        if texts is not None:
            texts.reverted(exc)
        raise


@contextmanager
def unkept(
    sent: Sent | None = None, *, detach: bool = False, texts: TextJournal | None = None
) -> Iterator[WriteSession]:
    """A write without an ``Idempotency-Key``: the same session, with nothing stored."""
    with _reverted(None, texts):
        yield WriteSession(sent, detach, texts)


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
