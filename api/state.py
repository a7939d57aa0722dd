"""What the running service holds: the ledger connection, signers, the index, the stores."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from api import marks
from api.apikeys import ApiKeyStore, engine_for
from api.idempotency import IdempotencyStore
from api.open311.store import ReportStore
from api.settings import LedgerSettings, Settings, service_settings
from ledger import advisory
from ledger.advisory import shared
from ledger.client import Ledger
from ledger.errors import ChainMismatch, LedgerError, NotDeployed
from ledger.index import Follower, Indexer
from ledger.keys import Keystore, Signer, read_password
from ledger.manifest import Manifest
from ledger.tx.nonces import SharedNonceManager

if TYPE_CHECKING:
    from ledger.fund.docs import DocStore

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
    idempotency: IdempotencyStore
    docs: DocStore  # the off-chain texts behind on-chain hashes
    reports: ReportStore  # residents' reports (Open311): off chain, their commitments on chain
    manifest: Manifest | None = None
    _index: Indexer | None = None  # once the deployment is known (see `index`)
    _follower: Follower | None = None  # keeps the index current (a thread with `index_follow`)
    chain_problem: str | None = None
    _written_lock: threading.Lock = field(default_factory=threading.Lock)
    _written_block: int = -1  # highest block of a write this service acknowledged
    _synced_for: int = -1  # with no follower running: the written block the index was last synced for
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
        from ledger.fund.docs import open_store

        engine = engine_for(settings.service_db_url, upgrade=settings.upgrade_at_start)
        if shared(engine):  # several processes may send from one account: one sender across them
            ledger.tx.nonces = SharedNonceManager(ledger.rpc_client, engine)
        state = cls(
            settings=settings,
            ledger=ledger,
            keystore=Keystore(settings.keystore_dir),
            apikeys=ApiKeyStore(engine),
            idempotency=IdempotencyStore(engine, ledger),
            docs=open_store(settings, engine),
            reports=ReportStore(engine),
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
    def index(self) -> Indexer | None:
        """The event index, first brought up to every write already answered.

        Writes do not index: a read that comes after an acknowledged write (its block noted by
        :meth:`note_written`) wakes the follower and waits until that block is indexed, or,
        with no follower running, syncs the index itself; so a caller always reads its own writes.
        """
        follower = self._follower
        if follower is not None and self.written_block > follower.indexed_block:
            if not follower.running:
                if self._written_block > self._synced_for:  # once per write (its block may await confirmations)
                    self.catch_up()
            elif not follower.wait_for(self._written_block, READ_YOUR_WRITES_WAIT):
                log.warning("index still below block %d after %.0fs; answering from it", self._written_block,
                            READ_YOUR_WRITES_WAIT)
        return self._index

    @index.setter
    def index(self, value: Indexer | None) -> None:
        self._index = value
        self._follower = None if value is None else self._follower_of(value)

    @property
    def _engine(self) -> sa.Engine:
        return self.apikeys.engine  # the service database

    @property
    def written_block(self) -> int:
        """The highest block of a write the service acknowledged: in any of its processes over
        PostgreSQL (one small query, no RPC), in this one over SQLite."""
        if shared(self._engine):
            with self._engine.connect() as conn:
                value = marks.read(conn, "written_block")
            if value is not None:
                with self._written_lock:
                    self._written_block = max(self._written_block, int(value))
        return self._written_block

    def index_if_current(self) -> Indexer | None:
        """The event index when a follower keeps it and it already holds every write this service
        answered, in any of its processes (:attr:`index` would not wait); None otherwise. Never waits
        for the index (over PostgreSQL it asks the shared written block: one small query)."""
        follower = self._follower
        if follower is None or not follower.running or self.written_block > follower.indexed_block:
            return None
        return self._index

    def _follower_of(self, index: Indexer) -> Follower:
        """The library's follower (ledger.index.Follower); each full round checks the chain first
        (an idle round, the same head hash, is the same chain): an unreachable chain backs off, a
        replaced chain stops indexing (and writes) until the deployment matches again."""
        return Follower(
            index, poll_interval=self.settings.index_poll_interval, check=lambda: self.check_chain(fresh=True)
        )

    def start_index(self) -> None:
        if self.manifest is None or self._index is not None:
            return
        self.index = Indexer(
            self.ledger,
            {name: dep.address for name, dep in self.manifest.contracts.items()},
            self.settings.index_db_url,
            confirmations=self.settings.confirmations - 1,
            start_block=self.manifest.start_block,
            upgrade=self.settings.upgrade_at_start,
        )
        if self.settings.index_follow:
            assert self._follower is not None
            self._follower.start()
        else:
            self.catch_up()  # no follower: reads and writes catch the index up

    def note_written(self, block: int) -> None:
        """A write this service acknowledged is in ``block``: reads after it wait until the index
        holds it (:attr:`index`). Nothing is synced here: under a stream of writes the index keeps
        its own pace, one sync for many writes, and a write never waits for the index."""
        with self._written_lock:
            self._written_block = max(self._written_block, block)
        if shared(self._engine):
            with self._engine.begin() as conn:
                marks.raise_to(conn, "written_block", block)

    def catch_up(self, block: int | None = None) -> None:
        """After a write (its block given: :meth:`note_written`) or before a read: make the index current.

        With the follower running this costs nothing here: the next read that finds the index
        below the block wakes the follower and waits for it (:attr:`index`). Without a follower
        a read syncs the index now, best effort.
        """
        if block is not None:
            self.note_written(block)
            return
        follower = self._follower
        if follower is None or follower.running:
            return
        self._synced_for = max(self._synced_for, self._written_block)
        try:
            follower.sync_once()
        except LedgerError as exc:
            log.warning("index catch-up failed: %s", exc)

    def close(self) -> None:
        gateway = getattr(self, "_data_gateway", None)  # built by api/routers/data.py on first use
        if gateway is not None:
            gateway.close()  # records the refusals it counted
        if self._follower is not None:
            self._follower.stop()
        # the databases' pooled connections: a PostgreSQL server counts them against its
        # max_connections until they are closed (SQLite files: closed handles)
        if self._index is not None:
            self._index.close()
        self.apikeys.verdicts.close()
        self.reports.close()  # its change counter's connection
        self.apikeys.engine.dispose()  # the service database (idempotency, documents and reports share it)
        advisory.dispose(self.apikeys.engine)  # its advisory locks' connections (several processes)
