"""Checkpoints of the gateway's transparency logs anchored on chain within the maximum merge delay.

One background thread (like ``refusals.py``'s recorder) anchors each tracked log's
(size, root) with ``anchorCheckpoint``, signed by the log's member (the gateway
passes ``anchor``; it signs through ``Gateway._as_owner``):

* **when**: a log is due once its oldest un-anchored entry is ``mmd / 2`` seconds old
  (so every entry is anchored within half the MMD plus one transaction, leaving the
  other half for a node that is slow or a retry), or at once when ``every`` entries
  wait (a busy log anchors by count, a quiet one by time), or at once for what a
  crash left un-anchored (a log tracked with entries beyond its last anchored size);
* **failures** (node down, no owner key here, a refused write) are logged and
  retried with exponential backoff (1 s doubling up to ``mmd / 4``); the entries stay
  pending, never dropped, and after a failure the anchored size is read from the chain
  again (another process of the same member may have anchored meanwhile);
* **fail closed**: :meth:`overdue` says when a log's oldest un-anchored entry is older
  than ``mmd + grace``; the gateway then refuses to serve that member's datasets (503)
  until an anchor succeeds, and ``/health`` shows :meth:`status`.

The thread sees the logs through :class:`AnchoredLog` (size, root, entry), the chain
through two callables, and time through ``clock`` (wall seconds: entries carry unix times).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("ledger.gateway")


class AnchoredLog(Protocol):
    """What the anchorer reads of a log (``ledger.translog.TransparencyLog`` is one)."""

    @property
    def size(self) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def entry(self, index: int) -> bytes: ...


@dataclass(frozen=True)
class LogStatus:
    """One log as the anchorer sees it (``/health``; the 503's reason)."""

    log_id: int
    size: int
    anchored: int | None  # None: not read from the chain yet
    oldest_pending_age: float | None  # seconds since the oldest un-anchored entry's time
    overdue: float | None  # seconds beyond mmd + grace (None: not overdue)
    failures: int
    last_error: str | None


@dataclass
class _Tracked:
    log: AnchoredLog
    anchored: int | None = None
    known: int = 0  # entries appended as far as the anchorer was told
    oldest: float | None = None  # time of the oldest un-anchored entry
    at_once: bool = False  # anchor without waiting (start-up, count reached, flush)
    failures: int = 0
    retry_at: float = 0.0
    last_error: str | None = None


def entry_time(entry: bytes) -> float:
    """The ``time`` of a log entry (canonical JSON)."""
    return float(json.loads(entry)["time"])


class Anchorer:
    """Args:
    anchor: anchors (log id, size, root) on chain, returning once it is mined (False: another
        process had anchored that size already, nothing was sent).
    anchored_size: the size of the log's latest checkpoint on chain (0: none).
    mmd: the maximum merge delay the receipts promise (seconds).
    every: anchor at once when this many entries of one log wait.
    grace: seconds past the MMD before :meth:`overdue` answers.
    clock: wall seconds (the entries' times are unix times).
    """

    def __init__(
        self,
        anchor: Callable[[int, int, bytes], object],
        anchored_size: Callable[[int], int],
        *,
        mmd: float = 60.0,
        every: int = 1000,
        grace: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._anchor = anchor
        self._anchored_size = anchored_size
        self.mmd, self.every, self.grace = mmd, every, grace
        self._clock = clock
        self._cv = threading.Condition()
        self._logs: dict[int, _Tracked] = {}
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.anchors = 0  # checkpoints anchored by this anchorer (tests, the benchmark)

    # ------------------------------------------------------------ the gateway's side

    def track(self, log_id: int, tlog: AnchoredLog) -> None:
        """Anchor ``tlog`` from now on; entries beyond its anchored size are anchored at once."""
        read = self._read_anchored(log_id)
        with self._cv:
            if log_id in self._logs:
                return
            t = _Tracked(tlog, known=tlog.size)
            self._logs[log_id] = t
            self._refresh(log_id, t, read)
            t.at_once = t.anchored is None or t.log.size > t.anchored
            self._start()
            self._cv.notify_all()

    def appended(self, log_id: int, index: int, when: float) -> None:
        """Entry ``index`` of log ``log_id`` (time ``when``) is durable. Never blocks on the chain."""
        with self._cv:
            t = self._logs[log_id]
            t.known = max(t.known, index + 1)
            if t.oldest is None:
                t.oldest = when
            if t.anchored is not None and t.known - t.anchored >= self.every and not t.at_once:
                t.at_once = True
                self._cv.notify_all()

    def overdue(self, log_id: int) -> LogStatus | None:
        """The log's status when its oldest un-anchored entry is older than MMD + grace, else None."""
        s = self.status(log_id)
        return s if s is not None and s.overdue is not None else None

    def status(self, log_id: int) -> LogStatus | None:
        with self._cv:
            t = self._logs.get(log_id)
            return None if t is None else self._status(log_id, t, self._clock())

    def statuses(self) -> list[LogStatus]:
        with self._cv:
            now = self._clock()
            return [self._status(i, t, now) for i, t in sorted(self._logs.items())]

    def flush(self, timeout: float = 60.0) -> bool:
        """Anchor every pending entry now and wait for it; False when something stayed pending."""
        deadline = time.monotonic() + timeout
        with self._cv:
            for t in self._logs.values():
                t.at_once, t.retry_at = True, 0.0
            self._cv.notify_all()
            while any(self._pending(t) for t in self._logs.values()) or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return False
                self._cv.wait(min(left, 0.5))
                for t in self._logs.values():
                    t.at_once = True
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Anchor what is pending (best effort: what fails stays in the log for the next start), stop."""
        if self._thread is not None:
            self.flush(timeout)
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------ the thread

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="gateway-anchorer", daemon=True)
            self._thread.start()

    def _pending(self, t: _Tracked) -> bool:
        return t.anchored is None or max(t.known, t.log.size) > t.anchored

    def _status(self, log_id: int, t: _Tracked, now: float) -> LogStatus:
        age = None if t.oldest is None else max(0.0, now - t.oldest)
        late = None if age is None or age <= self.mmd + self.grace else age - self.mmd - self.grace
        return LogStatus(log_id, max(t.known, t.log.size), t.anchored, age, late, t.failures, t.last_error)

    def _read_anchored(self, log_id: int) -> int | Exception:
        """The log's anchored size on chain (read with no lock held: the request path asks :meth:`overdue`)."""
        try:
            return self._anchored_size(log_id)
        except Exception as exc:
            return exc

    def _refresh(self, log_id: int, t: _Tracked, read: int | Exception) -> None:
        """Take the anchored size ``read`` from the chain, the oldest un-anchored entry's time from the log."""
        if isinstance(read, Exception):  # the chain is unreadable: judged from the log's first entry meanwhile
            t.anchored = None
            t.last_error = f"reading the anchored size: {read}"
            t.retry_at = self._clock() + self._backoff(t)
            if t.oldest is None and t.log.size:
                t.oldest = entry_time(t.log.entry(0))
            return
        t.anchored = read
        size = t.log.size
        if t.anchored > size:  # a fork: pending (and failing closed) until an operator resolves it
            t.last_error = (
                f"the chain's latest checkpoint of log {log_id} has {t.anchored} entries, this copy {size}: "
                "another store writes this member's log (or this one lost entries)"
            )
            log.error("%s", t.last_error)
            t.anchored, t.failures = None, t.failures + 1
            t.retry_at = self._clock() + self._backoff(t)
            t.oldest = entry_time(t.log.entry(0)) if size else None
            return
        t.oldest = entry_time(t.log.entry(t.anchored)) if size > t.anchored else None

    def _backoff(self, t: _Tracked) -> float:
        return float(min(2 ** min(t.failures, 16), max(1.0, self.mmd / 4)))

    def _due_at(self, t: _Tracked, now: float) -> float | None:
        if not self._pending(t):
            return None
        if t.oldest is None and t.anchored is not None:  # appended, not told yet: the log has its time
            t.oldest = entry_time(t.log.entry(t.anchored))
        due = now if t.at_once or t.oldest is None else t.oldest + self.mmd / 2
        return max(due, t.retry_at)

    def _run(self) -> None:
        while True:
            with self._cv:
                while True:
                    if self._closed:
                        return
                    now = self._clock()
                    due = [(d, i) for i, t in self._logs.items() if (d := self._due_at(t, now)) is not None]
                    ready = [i for d, i in sorted(due) if d <= now]
                    if ready:
                        self._busy = True
                        break
                    wait = min((d for d, _ in due), default=now + 1.0) - now
                    self._cv.wait(timeout=min(max(wait, 0.01), 1.0))  # at least once a second: clocks jump
            try:
                for log_id in ready:
                    self._anchor_one(log_id, self._logs[log_id])
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _anchor_one(self, log_id: int, t: _Tracked) -> None:
        if t.anchored is None:
            read = self._read_anchored(log_id)
            with self._cv:
                self._refresh(log_id, t, read)
        anchored = t.anchored
        if anchored is None:
            return
        size = t.log.size
        anchored_here = False
        try:
            if size > anchored:
                anchored_here = self._anchor(log_id, size, t.log.root(size)) is not False
        except Exception as exc:  # logged, retried with backoff; the entries stay pending
            with self._cv:
                t.failures += 1
                t.last_error = str(exc)
                t.retry_at = self._clock() + self._backoff(t)
                t.anchored = None  # read again: another process of this member may have anchored
                t.at_once = True
            log.warning(
                "could not anchor log %d at size %d (attempt %d; retried in %.0f s): %s",
                log_id,
                size,
                t.failures,
                t.retry_at - self._clock(),
                exc,
            )
            return
        with self._cv:
            if anchored_here:
                self.anchors += 1
                log.info("anchored log %d at size %d", log_id, size)
            t.anchored = size
            t.failures, t.retry_at, t.last_error = 0, 0.0, None
            now_size = max(t.known, t.log.size)
            t.oldest = entry_time(t.log.entry(size)) if now_size > size else None
            t.at_once = now_size - size >= self.every
