"""What the running service holds: the ledger connection, signers, the index, the stores."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from api.apikeys import ApiKeyStore, engine_for
from api.settings import Settings
from ledger.client import Ledger
from ledger.errors import ChainMismatch, ChainUnavailable, LedgerError, NotDeployed
from ledger.keys import Keystore, Signer, read_password
from ledger.manifest import Manifest

log = logging.getLogger("api")


@dataclass
class ServiceState:
    settings: Settings
    ledger: Ledger
    keystore: Keystore
    apikeys: ApiKeyStore
    manifest: Manifest | None = None
    index: Any = None  # ledger.index.Indexer once the deployment is known
    idempotency: Any = None  # api.idempotency.IdempotencyStore
    chain_problem: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _follower: threading.Thread | None = None
    _index_lock: threading.RLock = field(default_factory=threading.RLock)
    _password: str | None = None

    @classmethod
    def build(cls, settings: Settings) -> ServiceState:
        ledger = Ledger(
            settings.rpc_urls,
            confirmations=settings.confirmations,
            receipt_timeout=settings.receipt_timeout,
        )
        from api.idempotency import IdempotencyStore

        engine = engine_for(settings.service_db_url)
        state = cls(
            settings=settings,
            ledger=ledger,
            keystore=Keystore(settings.keystore_dir),
            apikeys=ApiKeyStore(engine),
            idempotency=IdempotencyStore(engine, ledger),
        )
        state.load_manifest()
        try:
            n = state.idempotency.reconcile()
            if n:
                log.info("re-sent %d signed transactions left unanswered by a previous run", n)
        except LedgerError as exc:
            log.warning("idempotency reconciliation skipped: %s", exc)
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

    def check_chain(self) -> None:
        """Raise unless the chain answers and is the deployment's chain (for writes)."""
        if self.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        try:
            self.ledger.check_chain()
        except ChainMismatch as exc:
            self.chain_problem = exc.message
            raise
        self.chain_problem = None

    def signer_for(self, key_label: str) -> Signer:
        if self._password is None:
            self._password = read_password()
        return self.keystore.signer(key_label, self._password)

    # -------------------------------------------------------------- index

    def start_index(self) -> None:
        if self.manifest is None or self.index is not None:
            return
        from ledger.index import Indexer

        self.index = Indexer(
            self.ledger.w3,
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
            self.catch_up()  # no follower: writes catch the index up as they land

    def _follow(self) -> None:
        """Keep the index current; rebuild it from the chain when it is lost or corrupt.

        Never raises: an unreachable chain backs off, a replaced chain stops
        indexing (and writes) until the deployment matches again.
        """
        poll = self.settings.index_poll_interval
        delay = poll
        while not self._stop.is_set():
            try:
                self.check_chain()
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
            self._stop.wait(delay)

    def _sync_or_rebuild(self) -> None:
        assert self.index is not None
        with self._index_lock:
            health = self.index.health()
            if not health.ok and not health.rebuilding:
                log.warning("event index degraded (%s): rebuilding it from the chain", health.reason)
                self.index.rebuild()
            else:
                self.index.sync()

    def catch_up(self, block: int | None = None) -> None:
        """Bring the index up to the chain head (after a write), best effort."""
        if self.index is None:
            return
        try:
            self._sync_or_rebuild()
        except (ChainUnavailable, LedgerError) as exc:
            log.warning("index catch-up failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=5)
