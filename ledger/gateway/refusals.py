"""Refused fetches recorded on chain off the request path, and bounded per caller.

A refused fetch by an active account of a member is recorded on chain with
``recordRefusal``, signed by the dataset owner's key (issue 14 item 3). The
request never waits for it: :meth:`RefusalRecorder.submit` only queues, and one
background thread sends. What a caller can make the owner sign is bounded:

* at most one record per (caller member, dataset) per ``window`` seconds. A
  refusal inside the window is counted, not sent; the count goes into the next
  record of that pair (its ``attempts``, which names the latest attempt), sent
  once the window has passed — by the next refusal or by the thread's own sweep
  — so every refused attempt is on chain, in at most one transaction per pair
  and window;
* the queue holds at most ``capacity`` records; a refusal that finds it full is
  counted like one inside the window, never blocking the request.

A caller that is not an active account of a member is refused without any of
this (the gateway logs it locally): see :meth:`ledger.gateway.Gateway.serve`.
:meth:`flush` queues every counted refusal at once, ignoring the window (at
shutdown, so that nothing counted is lost; tests use it too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from ledger.data import Grant, GrantState, RefusalReason
from ledger.errors import ChainUnavailable, TransactionFailed

log = logging.getLogger("ledger.gateway")

Outcome = Literal["queued", "counted"]


#: The refusal reason of each state of a grant that is not active.
REFUSAL_FOR_STATE = {
    GrantState.EXPIRED: RefusalReason.GRANT_EXPIRED,
    GrantState.REVOKED: RefusalReason.GRANT_REVOKED,
    GrantState.FROZEN: RefusalReason.GRANT_FROZEN,
}


def reason_name(reason: RefusalReason) -> str:
    """``GRANT_EXPIRED`` -> ``GrantExpired``: the name answers and log entries give a reason."""
    return "".join(p.capitalize() for p in reason.name.split("_"))


def state_detail(grant: Grant) -> str:
    """Why a grant that is not active refuses, in words."""
    if grant.state == GrantState.REVOKED:
        return f"grant {grant.id} was revoked at {grant.revoked_at}"
    if grant.state == GrantState.EXPIRED:
        return f"grant {grant.id} expired at {grant.expires_at}"
    if grant.state == GrantState.FROZEN:
        what = "the grant" if grant.frozen else "its grantee member"
        return f"grant {grant.id} is frozen ({what} is frozen by data governance)"
    return f"grant {grant.id} is {grant.state.name.lower()}"


@dataclass(frozen=True)
class Refusal:
    """One refused fetch by a member (``attempts`` of them once coalesced)."""

    dataset_id: int
    owner_id: int
    grant_id: int  # the grant presented on the dataset (0: none)
    requester_id: int  # the caller's member (never 0: non-members are not recorded)
    reason: RefusalReason
    query_hash: bytes
    attempts: int = 1

    @property
    def key(self) -> tuple[int, int]:
        return (self.requester_id, self.dataset_id)


class RefusalRecorder:
    """Args:
    send: records one (coalesced) refusal on chain; called on the recorder's thread only.
    window: seconds between two records of one (caller member, dataset).
    capacity: most records waiting to be sent.
    clock: monotonic seconds (tests may pass their own).
    """

    def __init__(
        self,
        send: Callable[[Refusal], object],
        window: float = 60.0,
        capacity: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self.window = window
        self.capacity = capacity
        self._clock = clock
        self._cv = threading.Condition()
        self._queue: deque[Refusal] = deque()
        self._last: dict[tuple[int, int], float] = {}  # pair -> when its last record was queued
        self._counted: dict[tuple[int, int], Refusal] = {}  # pair -> latest refusal, attempts counted
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ request side

    def submit(self, refusal: Refusal) -> Outcome:
        """Queue ``refusal`` for the chain, or count it into its pair's next record. Never blocks."""
        with self._cv:
            now = self._clock()
            key = refusal.key
            counted = self._counted.pop(key, None)
            if counted is not None:
                refusal = replace(refusal, attempts=counted.attempts + refusal.attempts)
            last = self._last.get(key)
            if (last is not None and now - last < self.window) or len(self._queue) >= self.capacity or self._closed:
                self._counted[key] = refusal
                return "counted"
            self._enqueue(refusal, now)
            return "queued"

    # ------------------------------------------------------------ control

    def flush(self) -> None:
        """Queue every counted refusal now, whatever its window (shutdown; tests)."""
        with self._cv:
            now = self._clock()
            for refusal in list(self._counted.values()):
                self._enqueue(refusal, now)
            self._counted.clear()

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every queued record was sent (or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Flush, send what is queued, stop the thread."""
        self.flush()
        self.drain(timeout)
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def pending(self) -> tuple[int, int]:
        """(records queued or being sent, attempts counted and not yet queued)."""
        with self._cv:
            return len(self._queue) + int(self._busy), sum(r.attempts for r in self._counted.values())

    # ------------------------------------------------------------ the thread

    def _enqueue(self, refusal: Refusal, now: float) -> None:
        self._queue.append(refusal)
        self._last[refusal.key] = now
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gateway-refusals", daemon=True)
            self._thread.start()
        self._cv.notify_all()

    def _sweep(self) -> None:
        """Queue counted refusals whose window has passed; forget pairs idle for a window."""
        now = self._clock()
        for key, refusal in list(self._counted.items()):
            if now - self._last.get(key, now - self.window) >= self.window and len(self._queue) < self.capacity:
                del self._counted[key]
                self._enqueue(refusal, now)
        for key, last in list(self._last.items()):
            if now - last >= self.window and key not in self._counted:
                del self._last[key]

    def _run(self) -> None:
        while True:
            with self._cv:
                self._sweep()
                while not self._queue and not self._closed:
                    self._cv.wait(timeout=min(self.window, 5.0))
                    self._sweep()
                if not self._queue:
                    return  # closed and nothing left
                refusal = self._queue.popleft()
                self._busy = True
            try:
                self._send(refusal)
            except (ChainUnavailable, TransactionFailed) as exc:  # passing: counted into the next record
                log.warning(
                    "could not record %d refused attempt(s) of member %d on dataset %d now (%s); "
                    "they go into the next record",
                    refusal.attempts,
                    refusal.requester_id,
                    refusal.dataset_id,
                    exc,
                )
                with self._cv:
                    counted = self._counted.get(refusal.key)
                    total = refusal.attempts + (counted.attempts if counted is not None else 0)
                    self._counted[refusal.key] = replace(counted or refusal, attempts=total)
            except Exception as exc:  # lasting (no owner key here, a refused write): logged, dropped
                log.error(
                    "could not record %d refused attempt(s) of member %d on dataset %d: %s",
                    refusal.attempts,
                    refusal.requester_id,
                    refusal.dataset_id,
                    exc,
                )
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()
