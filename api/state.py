"""What the running service holds: the ledger connection, signers, the index, the stores."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from api.apikeys import ApiKeyStore, engine_for
from api.settings import LedgerSettings, Settings, service_settings
from ledger.client import Ledger
from ledger.errors import ChainMismatch, ChainUnavailable, LedgerError, NotDeployed
from ledger.keys import Keystore, Signer, read_password
from ledger.manifest import Manifest

log = logging.getLogger("api")

#: Longest a read waits for the follower to index a block the service already acknowledged.
READ_YOUR_WRITES_WAIT = 10.0
#: Signed transactions answered 202 kept in memory, to send again if a node loses one.
SENT_KEPT = 10_000


@dataclass
class ServiceState:
    settings: Settings
    ledger: Ledger
    keystore: Keystore
    apikeys: ApiKeyStore
    manifest: Manifest | None = None
    _index: Any = None  # ledger.index.Indexer once the deployment is known (see `index`)
    idempotency: Any = None  # api.idempotency.IdempotencyStore
    docs: Any = None  # ledger.fund_docs.DocStore: the off-chain texts behind on-chain hashes
    chain_problem: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _follower: threading.Thread | None = None
    _index_lock: threading.RLock = field(default_factory=threading.RLock)
    _indexed: threading.Condition = field(default_factory=threading.Condition)
    _written_block: int = -1  # highest block of a write this service acknowledged
    _indexed_block: int = -1  # highest block the index is known to hold
    _sent: dict[str, bytes] = field(default_factory=dict)  # tx hash -> signed bytes (202 answers)
    _password: str | None = None

    @classmethod
    def build(cls, settings: LedgerSettings) -> ServiceState:
        settings = service_settings(settings)
        ledger = Ledger(
            settings.rpc_urls,
            confirmations=settings.confirmations,
            receipt_timeout=settings.receipt_timeout,
            preflight=settings.preflight,
        )
        from api.idempotency import IdempotencyStore
        from ledger.fund_docs import open_store

        engine = engine_for(settings.service_db_url)
        state = cls(
            settings=settings,
            ledger=ledger,
            keystore=Keystore(settings.keystore_dir),
            apikeys=ApiKeyStore(engine),
            idempotency=IdempotencyStore(engine, ledger),
            docs=open_store(settings, engine),
        )
        state.load_manifest()
        try:
            n = state.idempotency.reconcile()
            if n:
                log.info("re-sent %d signed transactions left unanswered by a previous run", n)
        except LedgerError as exc:
            log.warning("idempotency reconciliation skipped: %s", exc)
        if state.manifest is not None:
            try:  # texts of writes mined while no one was waiting (a crash, a 202): stored now
                state.docs.settle(ledger)
            except LedgerError as exc:
                log.warning("pending documents not settled: %s", exc)
        return state

    def load_manifest(self) -> None:
        try:
            self.manifest = Manifest.load(self.settings.manifest_path)
        except NotDeployed:
            self.manifest = None
            return
        self.ledger.manifest = self.manifest
        for name, dep in self.manifest.contracts.items():
            self.ledger.register(name, dep.address)

    def check_chain(self, *, fresh: bool = False) -> None:
        """Raise unless the chain answers and is the deployment's chain (for writes).

        A successful check is reused for ``chain_check_seconds`` (a genesis block cannot
        change under a running node); a connection error or a fail-over re-checks at
        once, and so does ``fresh`` (the follower and the health check).
        """
        if self.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        max_age = 0.0 if fresh else float(getattr(self.settings, "chain_check_seconds", 0.0))
        try:
            self.ledger.check_chain(max_age=max_age)
        except ChainMismatch as exc:
            self.chain_problem = exc.message
            raise
        self.chain_problem = None

    def remember_sent(self, tx_hash: str, signed: bytes) -> None:
        """Keep the signed bytes of a transaction answered 202 (to re-send if a node loses it)."""
        if len(self._sent) >= SENT_KEPT:
            self._sent.pop(next(iter(self._sent)), None)
        self._sent[tx_hash.lower()] = signed

    def sent(self, tx_hash: str) -> bytes | None:
        return self._sent.get(tx_hash.lower())

    def signer_for(self, key_label: str) -> Signer:
        if self._password is None:
            self._password = read_password()
        return self.keystore.signer(key_label, self._password)

    # -------------------------------------------------------------- index

    @property
    def index(self) -> Any:
        """The event index; with a follower, first brought up to every write already answered.

        Writes do not index (the follower does): a read that comes after an
        acknowledged write wakes the follower and waits until that write's block is
        indexed, so a caller always reads its own writes.
        """
        idx = self._index
        if idx is not None and self._follower is not None and self._written_block > self._indexed_block:
            self._await_indexed(self._written_block)
        return idx

    @index.setter
    def index(self, value: Any) -> None:
        self._index = value

    def start_index(self) -> None:
        if self.manifest is None or self._index is not None:
            return
        from ledger.index import Indexer

        self._index = Indexer(
            self.ledger,
            {name: dep.address for name, dep in self.manifest.contracts.items()},
            self.settings.index_db_url,
            confirmations=self.settings.confirmations - 1,
            start_block=self.manifest.start_block,
        )
        if self.settings.index_follow:
            self._follower = threading.Thread(
                target=self._follow, name="index-follower", daemon=True
            )
            self._follower.start()
        else:
            self.catch_up()  # no follower: reads and writes catch the index up

    def _follow(self) -> None:
        """Keep the index current; rebuild it from the chain when it is lost or corrupt.

        Never raises: an unreachable chain backs off, a replaced chain stops
        indexing (and writes) until the deployment matches again. A read waiting for
        an acknowledged write wakes it at once (:attr:`index`).
        """
        poll = self.settings.index_poll_interval
        delay = poll
        while not self._stop.is_set():
            try:
                self.check_chain(fresh=True)
                self._sync_or_rebuild()
                delay = poll
            except ChainMismatch as exc:
                delay = min(max(delay, poll) * 2, 30.0)
                log.error("not indexing: %s", exc.message)
            except (ChainUnavailable, LedgerError) as exc:
                delay = min(max(delay, poll) * 2, 30.0)
                log.warning("index follower: %s; retrying in %.1fs", exc, delay)
            except Exception:  # a bug must not kill the follower silently
                delay = min(max(delay, poll) * 2, 30.0)
                log.exception("index follower crashed; retrying in %.1fs", delay)
            self._wake.wait(delay)  # a read waiting for a write's block cuts this short
            self._wake.clear()

    def _sync_or_rebuild(self) -> None:
        idx = self._index
        assert idx is not None
        with self._index_lock:
            health = idx.health()
            if not health.ok and not health.rebuilding:
                log.warning("event index degraded (%s): rebuilding it from the chain", health.reason)
                idx.rebuild()
            else:
                idx.sync()
            last = idx.last_block()
        with self._indexed:
            self._indexed_block = -1 if last is None else last
            self._indexed.notify_all()

    def _await_indexed(self, block: int) -> None:
        """Wait (bounded) until the follower has indexed ``block``; a stale read rather than none."""
        self._wake.set()
        with self._indexed:
            if not self._indexed.wait_for(lambda: self._indexed_block >= block, READ_YOUR_WRITES_WAIT):
                log.warning("index still below block %d after %.0fs; answering from it", block,
                            READ_YOUR_WRITES_WAIT)

    def catch_up(self, block: int | None = None) -> None:
        """After a write (its block given) or before a read: make the index current.

        With the follower running this costs nothing here: the block is noted and the
        next read that finds the index below it wakes the follower and waits for it
        (:attr:`index`); under a stream of writes the follower keeps its own pace, one
        sync for many writes. Without a follower the index is synced now, best effort.
        """
        if self._index is None:
            return
        if self._follower is not None:
            if block is not None and block > self._written_block:
                with self._indexed:
                    self._written_block = max(self._written_block, block)
            return
        try:
            self._sync_or_rebuild()
        except (ChainUnavailable, LedgerError) as exc:
            log.warning("index catch-up failed: %s", exc)

    def close(self) -> None:
        gateway = getattr(self, "_data_gateway", None)  # built by api/routers/data.py on first use
        if gateway is not None:
            gateway.close()  # records the refusals it counted
        self._stop.set()
        self._wake.set()
        if self._follower is not None:
            self._follower.join(timeout=5)
