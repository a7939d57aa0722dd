"""Index reads and caller checks shared by the domain routers.

Lists read the event index with every filter in SQL (event, arguments, block time)
and keyset-friendly ``ORDER BY block_number, log_index`` on indexed columns; only
filters on the chain's *current* state (a grant's state, say) run in Python.

Answers that depend on the index alone can be kept in an :class:`AnswerCache`,
keyed by the request and the index's version (last indexed block and its hash),
so a repeated read costs one small query until the index moves on.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from api.deps import Caller, OnePer
from api.state import ServiceState
from ledger.errors import AccessDenied, IndexUnavailable
from ledger.index import Indexer
from ledger.membership import Member, Registry

log = logging.getLogger("api")

SCAN = 10_000  # most rows a filtered-in-Python list looks at


def index_for(state: ServiceState) -> Indexer:
    """The event index, caught up first when no follower thread keeps it current."""
    if state.index is None:
        raise IndexUnavailable("the event index is not running (no deployment?)")
    if not state.settings.index_follow:
        state.catch_up()
    index = state.index
    assert index is not None
    return index


class TimeFilter:
    """A block-time bound: applied in SQL by :func:`event_rows`, callable on a row too."""

    __slots__ = ("since", "until")

    def __init__(self, since: int | None, until: int | None) -> None:
        self.since = since
        self.until = until

    def __call__(self, r: Any) -> bool:
        return (self.since is None or r.block_time >= self.since) and (
            self.until is None or r.block_time <= self.until
        )


def event_rows(
    state: ServiceState,
    contract: str,
    event: str,
    args: Mapping[str, Any],
    offset: int,
    limit: int,
    keep: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], int]:
    """Index rows of one event, newest first, and the total; ``keep`` filters in Python
    (a :class:`TimeFilter` goes to SQL instead)."""
    idx = index_for(state)
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
) -> tuple[list[Any], int]:
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


def caller_member(state: ServiceState, caller: Caller) -> Member:
    """The caller's member; 403 unless the API key's account is an active member account."""
    m = Registry(state.ledger).member_of(caller.account)
    if m is None or not m.active:
        raise AccessDenied(f"account {caller.account} is not an active account of any member")
    return m


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

    def get(
        self, version: Hashable, key: Hashable, build: Callable[[], Any], *, stale_ok: bool = False
    ) -> Any:
        while True:
            with self._lock:
                if version != self._version:
                    self._stale.update(self._items)
                    self._trim(self._stale)
                    self._items.clear()
                    self._version = version
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                pending = self._pending.get(key)
                if stale_ok and key in self._stale:
                    if pending is None:
                        pending = self._pending[key] = threading.Lock()
                        pending.acquire()
                        threading.Thread(
                            target=self._build, args=(version, key, build, pending, True),
                            name="answer-cache", daemon=True,
                        ).start()
                    return self._stale[key]
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
        build: Callable[[], Any],
        pending: threading.Lock,
        background: bool = False,
    ) -> Any:
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
            return None  # the next reader tries again
        finally:
            with self._lock:
                del self._pending[key]
            pending.release()

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


def cached(state: ServiceState, key: Hashable, build: Callable[[], Any]) -> Any:
    """``build()`` once per index version and ``key`` (after the usual catch-up)."""
    idx = index_for(state)
    return cache_of(idx).get(idx.version(), key, build)
