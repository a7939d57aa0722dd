"""Keep an event index current: the loop behind the service's follower thread.

A :class:`Follower` syncs its :class:`~ledger.index.Indexer` round after round. A round first
asks the chain's head (one RPC) and ``stat``s the SQLite file: when neither moved since the last
full round (same head hash: no new block, no reorg, the same chain; the file as that round left
it) and that round was at most ``full_every`` seconds ago, the round ends there, nothing opened,
decoded or written. Otherwise it is a full round: the caller's ``check`` (the service checks that
the node is still the deployment's chain: a replaced chain stops indexing until it matches again),
then a sync (its reorg check against the kept block hashes), or a rebuild from the chain when the
index is lost or corrupt. Failures are logged and
retried with exponential backoff up to ``max_backoff``, never raised: an unreachable chain
is retried, a bug does not kill the thread silently. A reader that needs a block indexed
(its own write) calls :meth:`wait_for`, which wakes the thread at once.

Over PostgreSQL several processes (the API's workers) share one index, and it is synced by one
of them at a time: the leader, the holder of an advisory lock (:class:`~ledger.advisory.Leadership`).
The others' followers only read how far the index is; when the leader dies its lock goes with
its connection and the next round of another follower takes the lead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ledger.advisory import Leadership, advisory_lock, dispose, shared
from ledger.errors import ChainMismatch, LedgerError
from ledger.index.indexer import Indexer
from ledger.logs import header

log = logging.getLogger("ledger.index")

#: The advisory lock whose holder syncs a shared (PostgreSQL) index.
LEADER_LOCK = "cogov-index-follower"
#: How often a follower that does not lead reads the index's height while a reader waits.
OBSERVE_EVERY = 0.05
#: Longest a follower goes without a full round (check, health, sync) while nothing it watches
#: moved: what the head hash and the file's ``stat`` cannot show (a chain id changed under the same
#: blocks, an index written by another process through the WAL) shows within it.
FULL_EVERY = 10.0
#: Longest a sync without a follower thread waits for another process's sync of a shared index.
SYNC_WAIT = 30.0


class Follower:
    def __init__(
        self,
        index: Indexer,
        *,
        poll_interval: float = 1.0,
        max_backoff: float = 30.0,
        check: Callable[[], None] | None = None,
        full_every: float = FULL_EVERY,
    ) -> None:
        self.index = index
        self.poll_interval = poll_interval
        self.full_every = full_every
        self._quiet: tuple[object, ...] | None = None  # what the last complete full round left
        self._full_at = float("-inf")
        self.max_backoff = max_backoff
        self._check = check
        self._lock = threading.RLock()  # one sync or rebuild at a time (thread and callers)
        self._indexed = threading.Condition()
        self._indexed_block = -1
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        engine = index._store.engine
        self.leadership = Leadership(engine, LEADER_LOCK) if shared(engine) else None

    @property
    def leading(self) -> bool:
        """Whether this follower syncs the index (always, unless a shared index has another leader)."""
        return self.leadership is None or self.leadership.hold()

    def observe(self) -> int:
        """Read how far the index is (a follower that does not lead: another process syncs it)."""
        last = self.index.last_block()
        with self._indexed:
            self._indexed_block = -1 if last is None else last
            self._indexed.notify_all()
        return self._indexed_block

    @property
    def indexed_block(self) -> int:
        """The highest block the index is known to hold (-1: none yet)."""
        return self._indexed_block

    def sync_once(self) -> int | None:
        """Sync now, or rebuild the index from the chain when it is degraded; the last indexed block.

        On a shared index, called by a follower that does not lead (no follower thread: each
        process syncs when its reads need it), the sync runs under the leader's lock, waiting
        at most ``SYNC_WAIT`` for another process's sync; else it only reads how far the index is."""
        if self.leadership is not None and not self.leadership.held:
            with advisory_lock(self.leadership.engine, LEADER_LOCK, timeout=SYNC_WAIT) as held:
                if held is None:
                    log.warning("another process holds the index (its follower?); not syncing here")
                    last = self.observe()
                    return None if last < 0 else last
                return self._sync()
        return self._sync()

    def round(self) -> bool:
        """One round of the thread (a leader's; raises what it meets): whether it was a full one.

        An idle round is one RPC (the head) and one ``stat``; a full round runs when the head or
        the file moved, when the last one did not complete, or ``full_every`` after the last."""
        head, store = self.index.head_mark(), self.index.store_mark()
        now = time.monotonic()
        if self._quiet == (head, store) and now - self._full_at < self.full_every:
            return False
        self._quiet, self._full_at = None, now
        if self._check is not None:
            self._check()
        last = self._sync()
        if self._holds_exactly(head, last):  # quiet until something moves
            self._quiet = (head, self.index.store_mark())
        return True

    def _holds_exactly(self, head: tuple[int, str] | None, last: int | None) -> bool:
        """Whether the index ends exactly where ``head`` (read before the sync) leads, on its branch:
        nothing beyond it (a chain that moved during the sync, and maybe back), the last block's
        kept hash the head's (no confirmations) or the chain's at that height, read between it
        and the head read again."""
        index = self.index
        if head is None:
            return False
        target = max(head[0] - index.confirmations, index.start_block - 1)
        if (last if last is not None else index.start_block - 1) != target:
            return False
        if last is None:
            return True
        version = index.version()
        if version is None or version[0] != last:
            return False
        if index.confirmations == 0:
            return version[1] == head[1]
        there = header(index.node, last)
        return there is not None and there.hash == version[1] and index.head_mark() == head

    def _sync(self) -> int | None:
        with self._lock:
            health = self.index.health()
            if not health.ok and not health.rebuilding:
                log.warning("event index degraded (%s): rebuilding it from the chain", health.reason)
                self.index.rebuild()
            else:
                self.index.sync()
            last = self.index.last_block()
        with self._indexed:
            self._indexed_block = -1 if last is None else last
            self._indexed.notify_all()
        return last

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Follow until ``stop`` is set, pausing ``poll_interval`` between rounds (longer after a
        failure) on ``wake`` (which cuts the pause short) or else on ``stop``."""
        try:
            self._follow(stop, wake)
        finally:
            if self.leadership is not None:  # the lead goes to another process's follower
                self.leadership.release()

    def _follow(self, stop: threading.Event, wake: threading.Event | None) -> None:
        delay = self.poll_interval
        while not stop.is_set():
            try:
                if not self.leading:
                    self.observe()
                else:
                    self.round()
                delay = self.poll_interval
            except ChainMismatch as exc:
                delay = self._backoff(delay)
                log.error("not indexing: %s", exc.message)
            except LedgerError as exc:  # ChainUnavailable among them
                delay = self._backoff(delay)
                log.warning("event index follower: %s; retrying in %.1fs", exc, delay)
            except Exception:
                delay = self._backoff(delay)
                log.exception("event index follower crashed; retrying in %.1fs", delay)
            if wake is None:
                stop.wait(delay)
            else:
                wake.wait(delay)
                wake.clear()

    def _backoff(self, delay: float) -> float:
        return min(max(delay, self.poll_interval) * 2, self.max_backoff)

    def start(self) -> None:
        """Follow in a daemon thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run, args=(self._stop, self._wake), name="index-follower", daemon=True
            )
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wait_for(self, block: int, timeout: float) -> bool:
        """Wake the thread and wait (at most ``timeout`` s) until ``block`` is indexed; whether it is."""
        self._wake.set()
        if self.leadership is not None and not self.leadership.held:
            return self._observe_until(block, timeout)  # the leader is in another process
        with self._indexed:
            return self._indexed.wait_for(lambda: self._indexed_block >= block, timeout)

    def _observe_until(self, block: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.observe() >= block:
                    return True
            except LedgerError as exc:
                log.warning("reading the index's height: %s", exc)
            if time.monotonic() >= deadline:
                return False
            self._stop.wait(OBSERVE_EVERY)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        if self.leadership is not None:
            self.leadership.release()
            dispose(self.index._store.engine)  # the idle connection that held the lead
