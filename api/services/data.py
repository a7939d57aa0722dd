"""Data sharing's caller-scoped operations: who the caller is (their member, from the API
key's account), what they may do with a dataset, a request or a grant, the gateway that
serves the data, and the domain's queries.

Lists are answered from the event index alone: the rows from SQL (every filter on an event
argument or a block time), the records from the data reducer (:class:`ledger.data.DataState`)
kept current with the index (:class:`~api.services.index.Folded`), at the time of the last
indexed block. Single records and the answers of writes are read from the chain.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Generic, TypeVar

from pydantic import BaseModel

from api.deps import Caller, OnePer
from api.schemas.data import (
    AccessLogEntry,
    AccessLogList,
    AccessRequestList,
    DatasetList,
    DatasetPublic,
    GrantList,
)
from api.services.index import (
    Folded,
    TimeFilter,
    any_event_rows,
    arg_filters,
    caller_member,
    event_rows,
    index_for,
    time_filter,
)
from api.state import ServiceState
from ledger.abi import hex_text
from ledger.client import ContractCall
from ledger.data import (
    NAME,
    AccessRequest,
    Classification,
    Dataset,
    DataSharing,
    DataState,
    Grant,
    GrantState,
    RefusalReason,
    scope_hash,
)
from ledger.errors import AccessDenied, LedgerError, NotFound
from ledger.events import Event
from ledger.gateway import Gateway, GatewayStore, load_master_key, owner_signer_from_keystore
from ledger.index import Indexer
from ledger.membership import Registry, Role

log = logging.getLogger("api.data")

T = TypeVar("T")
V = TypeVar("V")
L = TypeVar("L", bound=BaseModel)

# ------------------------------------------------------------------ the gateway

_gw_lock = threading.Lock()


def gateway_for(state: ServiceState) -> Gateway:
    """One gateway per service state, built on first use (``api/state.py`` closes it)."""
    gw: Gateway | None = getattr(state, "_data_gateway", None)
    if gw is not None:
        return gw
    with _gw_lock:
        gw = getattr(state, "_data_gateway", None)
        if gw is None:
            s = state.settings
            master = load_master_key(s.gateway_master_key_file, create=s.env in ("development", "test"))
            gw = Gateway(
                state.ledger,
                GatewayStore(s.gateway_store_dir, master),
                owner_signer_from_keystore(state.keystore, state.signer_for),
                refusal_window=s.gateway_refusal_window,
                refusal_queue=s.gateway_refusal_queue,
                sync_classifications=s.gateway_sync_classifications,
                mmd=s.gateway_mmd,
                anchor_every=s.gateway_anchor_every,
                fail_closed_grace=s.gateway_fail_closed_grace,
                pause_after_append=s.gateway_fault_pause_after_append,
            )
            state._data_gateway = gw  # type: ignore[attr-defined]
    return gw


def start_gateway(state: ServiceState) -> None:
    """At start-up: the gateway, when this store holds access logs (so that what a previous run left
    un-anchored is anchored now, not at the first fetch)."""
    if state.manifest is not None and (state.settings.gateway_store_dir / "translog").is_dir():
        try:
            gateway_for(state).log_mode.logs.open_existing()
        except LedgerError as exc:
            log.warning("the gateway did not start (its access logs wait for the first fetch): %s", exc)


# ------------------------------------------------------------------ presenters


def dataset_public(d: Dataset, gw: Gateway | None = None) -> DatasetPublic:
    """The dataset, with what this gateway's store knows of its current version."""
    out = DatasetPublic.model_validate(d, from_attributes=True)
    if gw is not None and gw.store.has(d.owner_id, d.content_hash):
        try:
            m = gw.store.meta(d.owner_id, d.content_hash)
            out.format, out.fields, out.rows, out.size = m.format, list(m.fields), m.rows, m.size
        except Exception:  # a damaged copy shows as "no copy"; fetch reports it loudly
            pass
    return out


# ------------------------------------------------------------------ records and who may act on them


def dataset_or_404(state: ServiceState, dataset_id: int) -> Dataset:
    data = DataSharing(state.ledger)
    if dataset_id > data.dataset_count():
        raise NotFound("dataset", dataset_id)
    return data.dataset(dataset_id)


def request_or_404(state: ServiceState, request_id: int) -> AccessRequest:
    data = DataSharing(state.ledger)
    if request_id > data.request_count():
        raise NotFound("access request", request_id)
    return data.request(request_id)


def grant_or_404(state: ServiceState, grant_id: int) -> Grant:
    data = DataSharing(state.ledger)
    if grant_id > data.grant_count():
        raise NotFound("grant", grant_id)
    return data.grant(grant_id)


def require_owner(state: ServiceState, caller: Caller, dataset_id: int, action: str) -> Dataset:
    """The dataset, when the caller's member owns it (403 naming both otherwise, nothing sent)."""
    ds = dataset_or_404(state, dataset_id)
    m = caller_member(state, caller)
    if m.id != ds.owner_id:
        raise AccessDenied(
            f"only the owner of dataset {dataset_id} (member {ds.owner_id}) may {action}; the caller is member {m.id}"
        )
    return ds


def require_department(state: ServiceState, caller: Caller) -> None:
    m = caller_member(state, caller)
    if Role.DEPARTMENT not in m.roles:
        raise AccessDenied(f"member {m.id} lacks the department role needed to register datasets")


def approve_call_for(state: ServiceState, caller: Caller, request_id: int) -> ContractCall:
    """The approval the caller gives: as the dataset's owner, else as data governance (whose
    pre-flight refuses a caller without that role)."""
    req = request_or_404(state, request_id)
    ds = dataset_or_404(state, req.dataset_id)
    data = DataSharing(state.ledger)
    if caller_member(state, caller).id == ds.owner_id:
        return data.approve_as_owner_call(request_id)
    return data.approve_as_governance_call(request_id)


def find_grant(
    state: ServiceState, gw: Gateway, caller: Caller, dataset_id: int, wanted: list[str] | None
) -> int | None:
    """The caller's best grant on the dataset: an active one in scope, else the newest one."""
    m = Registry(state.ledger).member_of(caller.account)
    if m is None:
        return None
    rows = index_for(state).events(
        NAME, "GrantCreated", args={"datasetId": dataset_id, "granteeId": m.id}, limit=50, order="desc"
    )
    if not rows:
        return None
    try:
        scope = scope_hash(wanted or list(gw.schema_fields(gw.data.dataset(dataset_id))))
    except LedgerError:  # no usable stored copy: the gateway names it (404, or its integrity alarm)
        scope = b""
    for r in rows:
        g = gw.data.grant(int(r.args["grantId"]))
        if g.state == GrantState.ACTIVE and g.scope_hash == scope:
            return g.id
    return int(rows[0].args["grantId"])


# ------------------------------------------------------------------ lists, from the index alone

_folded: OnePer[Folded[DataState]] = OnePer(lambda: Folded(NAME, DataState, DataState.apply))


def data_state(index: Indexer, use: Callable[[DataState, int], T]) -> T:
    """``use(state, now)`` over the data reducer as of the index's last block (``now``: its time)."""
    return _folded(index).read(index, use)


def _rows(
    state: ServiceState,
    index: Indexer,
    event: str,
    args: dict[str, int],
    offset: int,
    limit: int,
    keep: Callable[[Event], bool] | None,
) -> tuple[list[Event], int]:
    return event_rows(state, NAME, event, args, offset, limit, keep, index)


def list_datasets(
    state: ServiceState,
    gw: Gateway,
    owner_id: int | None,
    classification: Classification | None,
    since: int | None,
    until: int | None,
    offset: int,
    limit: int,
) -> DatasetList:
    args = arg_filters(ownerId=owner_id, classification=None if classification is None else int(classification))
    index = index_for(state)
    rows, count = _rows(state, index, "DatasetRegistered", args, offset, limit, time_filter(since, until))

    def present(s: DataState, now: int) -> list[Dataset]:
        return [s.dataset_view(s.datasets[int(r.args["datasetId"])]) for r in rows]

    return DatasetList(data=[dataset_public(d, gw) for d in data_state(index, present)], count=count)


@dataclass(frozen=True)
class Listing(Generic[V, L]):
    """A record listed by state: the event creating it, its id's argument, its state, its view,
    and the page it is answered in."""

    event: str
    id_arg: str
    state_of: Callable[[DataState, int, int], IntEnum]
    view_of: Callable[[DataState, int, int], V]
    page: type[L]


REQUESTS = Listing(
    "AccessRequested",
    "requestId",
    lambda s, i, now: s.requests[i].state(now),
    lambda s, i, now: s.request_view(s.requests[i], now),
    AccessRequestList,
)
GRANTS = Listing(
    "GrantCreated",
    "grantId",
    lambda s, i, now: s.grant_state(s.grants[i], now),
    lambda s, i, now: s.grant_view(s.grants[i], now),
    GrantList,
)


def _by_state(
    state: ServiceState,
    listed: Listing[V, L],
    args: dict[str, int],
    want: IntEnum | None,
    time_ok: TimeFilter | None,
    page: tuple[int, int],
) -> tuple[list[V], int]:
    """A page of ``listed`` records, newest first, and the total; only those whose derived state
    is ``want`` now, when given (read off the reducer)."""
    index = index_for(state)
    event, id_arg, state_of, view_of = listed.event, listed.id_arg, listed.state_of, listed.view_of

    def present(s: DataState, now: int) -> tuple[list[V], int]:
        keep: Callable[[Event], bool] | None = time_ok
        if want is not None:

            def by_state(e: Event) -> bool:
                return (time_ok is None or time_ok(e)) and state_of(s, int(e.args[id_arg]), now) == want

            keep = by_state
        rows, count = _rows(state, index, event, args, page[0], page[1], keep)
        return [view_of(s, int(r.args[id_arg]), now) for r in rows], count

    return data_state(index, present)


def list_by_state(
    state: ServiceState, listing: Listing[V, L], filters: dict[str, int], want: IntEnum | None,
    since: int | None, until: int | None, offset: int, limit: int,
) -> L:
    """A page of requests or grants (``listing``), newest first: those matching ``filters``, in
    state ``want`` now when given, made in ``[since, until]``."""
    views, count = _by_state(state, listing, filters, want, time_filter(since, until), (offset, limit))
    return listing.page.model_validate({"data": views, "count": count}, from_attributes=True)


# ------------------------------------------------------------------ the access log


_LOG_EVENTS = (("AccessRecorded", "granteeId", "access"), ("AccessRefused", "requesterId", "refusal"))


def _log_entry(r: Event) -> AccessLogEntry:
    a = r.args
    access = r.name == "AccessRecorded"
    return AccessLogEntry(
        kind="access" if access else "refusal",
        dataset_id=int(a["datasetId"]),
        grant_id=int(a["grantId"]),
        member_id=int(a["granteeId"] if access else a["requesterId"]),
        seq=int(a["seq"]),
        query_hash=hex_text(a["queryHash"]),
        rows=int(a["rowCount"]) if access else None,
        reason=None if access else RefusalReason(int(a["reason"])).name.lower(),  # type: ignore[arg-type]
        block_number=r.block_number,
        block_time=r.block_time,
        tx_hash=r.tx_hash,
    )


def access_log(
    state: ServiceState,
    kind: str,
    dataset_id: int | None,
    grant_id: int | None,
    member_id: int | None,
    since: int | None,
    until: int | None,
    offset: int,
    limit: int,
) -> bytes:
    """The access log's page as JSON, from the index alone (every filter in SQL)."""
    common = arg_filters(datasetId=dataset_id, grantId=grant_id)
    time_ok = time_filter(since, until)
    pairs = []
    for event, member_arg, name in (
        ("AccessRecorded", "granteeId", "access"),
        ("AccessRefused", "requesterId", "refusal"),
    ):
        if kind in (name, "all"):
            pairs.append((event, {**common, **arg_filters(**{member_arg: member_id})}))
    if len(pairs) == 1:
        rows, count = event_rows(state, NAME, pairs[0][0], pairs[0][1], offset, limit, time_ok)
    else:
        rows, count = any_event_rows(state, NAME, pairs, offset, limit, time_ok)
    return AccessLogList(data=[_log_entry(r) for r in rows], count=count).model_dump_json().encode()
