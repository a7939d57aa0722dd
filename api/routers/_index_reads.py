"""Index reads and caller checks shared by the domain routers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from api.deps import Caller
from api.state import ServiceState
from ledger.errors import AccessDenied, IndexUnavailable
from ledger.membership import Member, Registry

SCAN = 10_000  # most rows a filtered-in-Python list looks at


def index_for(state: ServiceState) -> Any:
    """The event index, caught up first when no follower thread keeps it current."""
    if state.index is None:
        raise IndexUnavailable("the event index is not running (no deployment?)")
    if not state.settings.index_follow:
        state.catch_up()
    return state.index


def event_rows(
    state: ServiceState,
    contract: str,
    event: str,
    args: Mapping[str, Any],
    offset: int,
    limit: int,
    keep: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], int]:
    """Index rows of one event, newest first, and the total; ``keep`` filters in Python."""
    idx = index_for(state)
    if keep is None:
        rows = idx.events(contract, event, args=dict(args), limit=limit, offset=offset, order="desc")
        return rows, int(idx.count_events(contract, event, args=dict(args)))
    rows = [r for r in idx.events(contract, event, args=dict(args), limit=SCAN, order="desc") if keep(r)]
    return rows[offset : offset + limit], len(rows)


def time_filter(since: int | None, until: int | None) -> Callable[[Any], bool] | None:
    """A row filter on block time, or None when no bound is given."""
    if since is None and until is None:
        return None
    return lambda r: (since is None or r.block_time >= since) and (until is None or r.block_time <= until)


def caller_member(state: ServiceState, caller: Caller) -> Member:
    """The caller's member; 403 unless the API key's account is an active member account."""
    m = Registry(state.ledger).member_of(caller.account)
    if m is None or not m.active:
        raise AccessDenied(f"account {caller.account} is not an active account of any member")
    return m
