"""Index reads and caller checks shared by the domain services.

Lists read the event index with every filter in SQL (event, arguments, block time)
and keyset-friendly ``ORDER BY block_number, log_index`` on indexed columns; only
filters on the chain's *current* state (a grant's state, say) run in Python.

A domain's reducer state (``ledger/<domain>/model.py``) is kept current with the index by a
:class:`Folded`: each read folds only the events indexed since the last one, so a list
filtered on a derived state (a grant's, a request's) is answered from the index alone.

Answers that depend on the index alone can be kept in an :class:`AnswerCache`,
keyed by the request and the index's version (last indexed block and its hash),
so a repeated read costs one small query until the index moves on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, cast

from api.deps import Caller, OnePer
from api.state import ServiceState
from ledger.errors import AccessDenied, IndexUnavailable
from ledger.events import Event
from ledger.index import Indexer
from ledger.membership import Member, Registry

log = logging.getLogger("api")

T = TypeVar("T")
S = TypeVar("S")

SCAN = 10_000  # most rows a filtered-in-Python list looks at


def index_for(state: ServiceState) -> Indexer:
    """The event index, caught up first when no follower thread keeps it current."""
    if not state.settings.index_follow:
        state.catch_up()
    index = state.index
    if index is None:
        raise IndexUnavailable("the event index is not running (no deployment?)")
    return index


def arg_filters(**args: int | None) -> dict[str, int]:
    """The index's argument filters that were given (``None``: not filtered on)."""
    return {k: v for k, v in args.items() if v is not None}


class TimeFilter:
    """A block-time bound: applied in SQL by :func:`event_rows`, callable on a row too."""

    __slots__ = ("since", "until")

    def __init__(self, since: int | None, until: int | None) -> None:
        self.since = since
        self.until = until

    def __call__(self, r: Event) -> bool:
        return (self.since is None or r.block_time >= self.since) and (self.until is None or r.block_time <= self.until)


def event_rows(
    state: ServiceState,
    contract: str,
    event: str,
    args: Mapping[str, Any],
    offset: int,
    limit: int,
    keep: Callable[[Event], bool] | None = None,
    index: Indexer | None = None,
) -> tuple[list[Event], int]:
    """Index rows of one event, newest first, and the total; ``keep`` filters in Python
    (a :class:`TimeFilter` goes to SQL instead). ``index``: the one already caught up."""
    idx = index or index_for(state)
    since = until = None
    if isinstance(keep, TimeFilter):
        since, until, keep = keep.since, keep.until, None
    query: dict[str, Any] = {"args": dict(args), "from_time": since, "to_time": until}
    if keep is None:
        rows = idx.events(contract, event, limit=limit, offset=offset, order="desc", **query)
        return rows, int(idx.count_events(contract, event, **query))
    rows = [r for r in idx.events(contract, event, limit=SCAN, order="desc", **query) if keep(r)]
    return rows[offset : offset + limit], len(rows)


def any_event_rows(
    state: ServiceState,
    contract: str,
    any_of: Sequence[tuple[str, Mapping[str, Any]]],
    offset: int,
    limit: int,
    time_ok: TimeFilter | None = None,
) -> tuple[list[Event], int]:
    """Rows of several events (each with its own argument filters), newest first, and the total."""
    idx = index_for(state)
    query: dict[str, Any] = {
        "any_of": [(e, dict(a)) for e, a in any_of],
        "from_time": time_ok.since if time_ok else None,
        "to_time": time_ok.until if time_ok else None,
    }
    rows = idx.events(contract, limit=limit, offset=offset, order="desc", **query)
    return rows, int(idx.count_events(contract, **query))


def time_filter(since: int | None, until: int | None) -> TimeFilter | None:
    """A row filter on block time, or None when no bound is given."""
    if since is None and until is None:
        return None
    return TimeFilter(since, until)


class SharedLock:
    """Many readers at once, or one writer alone; a waiting writer goes before new readers (so
    a steady stream of readers never starves it). Not reentrant."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Folded(Generic[S]):
    """One domain reducer's state, folded from one contract's indexed events and kept current:
    a read folds the events indexed since the previous read (all of them again after a reorg
    the index rolled back). Reads share the state (a :class:`SharedLock`: answering one
    request used to hold the others up); folding waits for them and holds them off, so the
    state is never seen half-folded."""

    def __init__(self, contract: str, make: Callable[[], S], apply: Callable[[S, Event], None]) -> None:
        self.contract = contract
        self._make = make
        self._apply = apply
        self._lock = SharedLock()
        self._state: S | None = None
        self._version: tuple[int, str] | None = None

    def read(self, index: Indexer, use: Callable[[S, int], T]) -> T:
        """``use(state, now)`` with the state as of the index's last block, ``now`` that block's
        time (the wall clock when nothing is indexed yet)."""
        return self.read_at(index, lambda state, now, _block: use(state, now))

    def read_at(self, index: Indexer, use: Callable[[S, int, int | None], T]) -> T:
        """Like :meth:`read`, also giving the indexed block the state is at (None: nothing indexed):
        the block and its time come from one reading of the index, under the lock."""
        while True:  # the index moving on between the two: read again
            with self._lock.reading():
                state, version = self._state, index.version()
                if state is not None and version == self._version:
                    now = index.block_time(version[0]) if version is not None else None
                    return use(state, now if now is not None else int(time.time()), version[0] if version else None)
            with self._lock.writing():
                version = index.version()
                if self._state is None or version != self._version:
                    self._catch_up(index, self._state, version)

    def _catch_up(self, index: Indexer, state: S | None, version: tuple[int, str] | None) -> S:
        last = self._version
        extend = (
            state is not None
            and last is not None
            and version is not None
            and version[0] > last[0]
            and index.kept_blocks().get(last[0]) == last[1]
        )
        if not extend or state is None or last is None:
            state, first = self._make(), 0
        else:
            first = last[0] + 1
        if version is not None:
            for e in index.iter_events(contract=self.contract, from_block=first, to_block=version[0]):
                self._apply(state, e)
        self._state, self._version = state, version
        return state


def caller_member(state: ServiceState, caller: Caller) -> Member:
    """The caller's member; 403 unless the API key's account is an active member account."""
    m = Registry(state.ledger).member_of(caller.account)
    if m is None or not m.active:
        raise AccessDenied(f"account {caller.account} is not an active account of any member")
    return m


class CallerScoped:
    """A service for one caller: the service's state, and who is calling."""

    def __init__(self, state: ServiceState, caller: Caller) -> None:
        self.state = state
        self.caller = caller


# ----------------------------------------------------------------------------- answer cache


class AnswerCache:
    """Answers computed from the event index alone, valid while the index's version holds.

    A version change (new blocks indexed, a reorg rolled back) makes every answer
    stale. Concurrent misses of one key compute it once; the others wait for that
    answer. With ``stale_ok`` (answers where one block behind is fine and says which
    block it shows) a stale answer is returned at once while one background thread
    computes the current one. The portal's pages do not use it: the first visitor after
    a change gets the new page. Only for answers
    that depend on nothing but the index and the request: not for the chain's current
    state, nor the wall clock.
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._version: Hashable = None
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._stale: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, threading.Lock] = {}

    def get(self, version: Hashable, key: Hashable, build: Callable[[], T], *, stale_ok: bool = False) -> T:
        while True:
            with self._lock:
                self._move_to(version)
                if key in self._items:
                    self._items.move_to_end(key)
                    return cast(T, self._items[key])
                pending = self._pending.get(key)
                if stale_ok and key in self._stale:
                    if pending is None:
                        pending = self._pending[key] = threading.Lock()
                        pending.acquire()
                        threading.Thread(
                            target=self._build,
                            args=(version, key, build, pending, True),
                            name="answer-cache",
                            daemon=True,
                        ).start()
                    return cast(T, self._stale[key])
                if pending is None:
                    pending = self._pending[key] = threading.Lock()
                    pending.acquire()
                    break
            with pending:  # someone else computes it: wait, then look again
                pass
        return self._build(version, key, build, pending)

    def _build(
        self,
        version: Hashable,
        key: Hashable,
        build: Callable[[], T],
        pending: threading.Lock,
        background: bool = False,
    ) -> T:
        try:
            value = build()
            with self._lock:
                if version == self._version:
                    self._items[key] = value
                    self._stale.pop(key, None)
                    self._trim(self._items)
            return value
        except Exception as exc:
            if not background:
                raise
            log.info("answer %r not refreshed (%s); the stale one stays", key, exc)
            return cast(T, None)  # nobody reads a background refresh's value; the next reader tries again
        finally:
            with self._lock:
                del self._pending[key]
            pending.release()

    def put(self, version: Hashable, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` at ``version`` (an answer made elsewhere)."""
        with self._lock:
            self._move_to(version)
            self._items[key] = value
            self._items.move_to_end(key)
            self._trim(self._items)

    def peek(self, version: Hashable, key: Hashable) -> Any:
        """The answer kept for ``key`` at ``version``; None when there is none (nothing is built)."""
        with self._lock:
            if version != self._version or key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def __len__(self) -> int:
        """How many answers of the current version are kept."""
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def settle(self) -> None:
        """Wait for the answers being computed (background refreshes included)."""
        with self._lock:
            pending = list(self._pending.values())
        for lock in pending:
            with lock:
                pass

    def _move_to(self, version: Hashable) -> None:
        """(Under the lock.) A new version: the kept answers become the stale ones."""
        if version != self._version:
            self._stale.update(self._items)
            self._trim(self._stale)
            self._items.clear()
            self._version = version

    def _trim(self, items: OrderedDict[Hashable, Any]) -> None:
        while len(items) > self._size:
            items.popitem(last=False)


#: The named answer caches of one index (one set per :class:`~ledger.index.Indexer` object).
_cache_sets: OnePer[dict[str, AnswerCache]] = OnePer(dict)
_cache_sets_lock = threading.Lock()


def cache_of(index: Indexer, name: str = "answers", size: int = 512) -> AnswerCache:
    """The answer cache ``name`` of one index: API answers, rendered portal pages (``"pages"``)
    … each bounded on its own (``size``, when made)."""
    caches = _cache_sets(index)
    with _cache_sets_lock:
        cache = caches.get(name)
        if cache is None:
            cache = caches[name] = AnswerCache(size)
        return cache


def cached(state: ServiceState, key: Hashable, build: Callable[[], T]) -> T:
    """``build()`` once per index version and ``key`` (after the usual catch-up)."""
    idx = index_for(state)
    return cache_of(idx).get(idx.version(), key, build)
