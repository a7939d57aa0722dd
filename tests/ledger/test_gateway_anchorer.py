"""The anchorer's schedule (when it anchors, retries and says a log is overdue), over an in-memory log.

What it anchors on chain, and the gateway failing closed, are tested with the chain in
``tests/api/test_gateway_log.py``; here the clock is the test's own, so no test waits for time.
"""

from __future__ import annotations

import json
import threading
import time

from ledger.gateway.anchorer import Anchorer


class ListLog:
    """Entries in a list; the root is the size, enough to tell checkpoints apart."""

    def __init__(self) -> None:
        self.entries: list[bytes] = []

    @property
    def size(self) -> int:
        return len(self.entries)

    def root(self, size: int | None = None) -> bytes:
        return (self.size if size is None else size).to_bytes(32, "big")

    def entry(self, index: int) -> bytes:
        return self.entries[index]


class Chain:
    """The checkpoints anchored, by log; ``fail`` makes the next anchors raise."""

    def __init__(self) -> None:
        self.anchored: dict[int, list[int]] = {}
        self.fail: str | None = None
        self.calls = 0
        self.changed = threading.Event()

    def anchor(self, log_id: int, size: int, root: bytes) -> None:
        self.calls += 1
        if self.fail:
            self.changed.set()
            raise RuntimeError(self.fail)
        assert root == size.to_bytes(32, "big")
        self.anchored.setdefault(log_id, []).append(size)
        self.changed.set()

    def size(self, log_id: int) -> int:
        return (self.anchored.get(log_id) or [0])[-1]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _append(a: Anchorer, tlog: ListLog, clock: Clock, log_id: int = 7) -> None:
    tlog.entries.append(json.dumps({"time": clock.now}).encode())
    a.appended(log_id, tlog.size - 1, clock.now)


def _until(cond: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_anchors_after_half_the_mmd_or_at_once_after_n_entries() -> None:
    chain, clock, tlog = Chain(), Clock(), ListLog()
    a = Anchorer(chain.anchor, chain.size, mmd=60, every=5, grace=30, clock=clock)
    a.track(7, tlog)
    try:
        _append(a, tlog, clock)
        clock.now += 29  # under MMD/2: nothing yet
        time.sleep(0.3)
        assert chain.anchored == {}
        clock.now += 2
        _until(lambda: chain.anchored.get(7) == [1])
        for _ in range(5):  # N entries: at once, whatever their age
            _append(a, tlog, clock)
        _until(lambda: chain.anchored.get(7) == [1, 6])
        assert a.status(7).anchored == 6 and a.status(7).oldest_pending_age is None  # type: ignore[union-attr]
    finally:
        a.close()


def test_what_a_crash_left_is_anchored_at_start() -> None:
    chain, clock, tlog = Chain(), Clock(), ListLog()
    chain.anchored[3] = [2]
    tlog.entries = [json.dumps({"time": clock.now - 5}).encode() for _ in range(4)]
    a = Anchorer(chain.anchor, chain.size, mmd=60, every=1000, clock=clock)
    a.track(3, tlog)
    try:
        _until(lambda: chain.anchored[3] == [2, 4])
    finally:
        a.close()


def test_failures_are_retried_with_backoff_and_overdue_fails_closed_until_anchored() -> None:
    chain, clock, tlog = Chain(), Clock(), ListLog()
    chain.fail = "node down"
    a = Anchorer(chain.anchor, chain.size, mmd=4, every=1000, grace=2, clock=clock)
    a.track(1, tlog)
    try:
        _append(a, tlog, clock, 1)
        clock.now += 2
        _until(lambda: chain.calls == 1)
        time.sleep(0.3)
        assert chain.calls == 1  # the next try waits for its backoff (1 s of the test's clock)
        clock.now += 1.5
        _until(lambda: chain.calls == 2)
        assert a.overdue(1) is None
        clock.now += 3  # 6.5 s after the entry: MMD 4 + grace 2 passed
        late = a.overdue(1)
        assert late is not None and late.overdue is not None and late.overdue > 0
        assert late.last_error == "node down" and late.failures >= 2 and late.anchored is None
        chain.fail = None
        clock.now += 2  # past the backoff
        _until(lambda: chain.anchored.get(1) == [1])
        assert a.overdue(1) is None and a.status(1).last_error is None  # type: ignore[union-attr]
    finally:
        a.close()


def test_close_anchors_what_is_pending() -> None:
    chain, clock, tlog = Chain(), Clock(), ListLog()
    a = Anchorer(chain.anchor, chain.size, mmd=60, every=1000, clock=clock)
    a.track(2, tlog)
    _append(a, tlog, clock, 2)
    _append(a, tlog, clock, 2)
    a.close()
    assert chain.anchored[2] == [2]


def test_the_last_access_of_a_grant_is_taken_once_under_the_logs_lock(tmp_path: object) -> None:
    """Twenty threads race for a grant's last 3 accesses: exactly 3 entries are appended, the others
    get UsedUp (the gateway answers them LimitReached), and the count survives a reopen."""
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from ledger.gateway.access_log import AccessLogs, UsedUp

    chain = Chain()
    directory = Path(str(tmp_path)) / "translog"
    logs = AccessLogs(directory, Anchorer(chain.anchor, chain.size, mmd=60, every=1000))

    def take(i: int) -> bool:
        try:
            logs.append(7, lambda t: json.dumps({"kind": "access", "grant": 5, "i": i, "time": t}).encode(),
                        access_grant=5, limit=3)
        except UsedUp:
            return False
        return True

    with ThreadPoolExecutor(20) as pool:
        won = list(pool.map(take, range(20)))
    assert sum(won) == 3 and logs.used(7, 5) == 3 and logs.log(7).tlog.size == 3
    logs.close()
    again = AccessLogs(directory, Anchorer(chain.anchor, chain.size, mmd=60, every=1000))
    assert again.used(7, 5) == 3  # counted again from the log on open
    again.close()
