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
from typing import Generic, TypeVar, cast

from pydantic import BaseModel

from api.deps import Caller, OnePer
from api.schemas.data import (
    AccessLogEntry,
    AccessLogList,
    AccessRequestList,
    AccessRequestPublic,
    DatasetList,
    DatasetPublic,
    GrantList,
    GrantPublic,
)
from api.services.index import (
    Folded,
    TimeFilter,
    any_event_rows,
    arg_filters,
    cached,
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
    field_mask,
    mask_fields,
)
from ledger.data.scopes import is_subset
from ledger.data.table_schema import TableSchema
from ledger.errors import AccessDenied, LedgerError, NotFound, ValidationFailed
from ledger.events import Event
from ledger.gateway import Gateway, GatewayStore, load_master_key, owner_signer_from_keystore
from ledger.index import Indexer
from ledger.membership import Registry, Role

log = logging.getLogger("api.data")

T = TypeVar("T")
V = TypeVar("V", bound=BaseModel)
L = TypeVar("L", bound=BaseModel)

# ------------------------------------------------------------------ the gateway

_gw_lock = threading.Lock()


def built_gateway(state: ServiceState) -> Gateway | None:
    """The service state's gateway if it was built (no I/O: callable on the event loop)."""
    return cast("Gateway | None", getattr(state, "_data_gateway", None))


def gateway_for(state: ServiceState) -> Gateway:
    """One gateway per service state, built on first use (``api/state.py`` closes it)."""
    gw = built_gateway(state)
    if gw is not None:
        return gw
    with _gw_lock:
        gw = built_gateway(state)
        if gw is None:
            s = state.settings
            master = load_master_key(s.gateway_master_key_file, create=s.env in ("development", "test"))
            gw = Gateway(
                state.ledger,
                GatewayStore(s.gateway_store_dir, master),
                owner_signer_from_keystore(state.keystore, state.signer_for),
                documents=state.docs.text,
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


def gateway_or_none(state: ServiceState) -> Gateway | None:
    """This service's gateway, None where it cannot run (no master key): answers then show masks only."""
    try:
        return gateway_for(state)
    except (LedgerError, OSError):
        return None


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
            out.table_schema = m.table_schema
        except Exception:  # a damaged copy shows as "no copy"; fetch reports it loudly
            pass
    return out


def schema_names(gw: Gateway, ds: Dataset) -> tuple[str, ...] | None:
    """The dataset's field names from this gateway's authenticated copy (None: no usable copy here)."""
    try:
        return gw.schema_fields(ds)
    except LedgerError:
        return None


def table_schema(gw: Gateway, ds: Dataset) -> TableSchema:
    """The dataset's Frictionless Table Schema from this gateway's copy, checked against the chain
    (ValidationFailed if it holds none: the caller passes the schema; IntegrityError if the copy is
    not the registered one)."""
    try:
        gw.schema_fields(ds)
    except NotFound as exc:
        raise ValidationFailed(
            "table_schema",
            f"this service holds no copy of dataset {ds.id}: pass its table_schema (the owner's GET /datasets/{ds.id})",
        ) from exc
    return gw.store.meta(ds.owner_id, ds.content_hash).table_schema


class _Names:
    """Field names per dataset, read once per answer (the dataset record from ``dataset``, by default
    the chain's)."""

    def __init__(self, gw: Gateway | None, dataset: Callable[[int], Dataset] | None = None) -> None:
        self.gw = gw
        self.dataset = dataset or (gw.data.dataset if gw is not None else None)
        self.known: dict[int, tuple[str, ...] | None] = {}

    def of(self, dataset_id: int, mask: int) -> list[str] | None:
        if dataset_id not in self.known:
            gw, dataset = self.gw, self.dataset
            self.known[dataset_id] = None if gw is None or dataset is None else schema_names(gw, dataset(dataset_id))
        names = self.known[dataset_id]
        return None if names is None else list(mask_fields(names, mask))


def request_public(req: AccessRequest, gw: Gateway | None, names: _Names | None = None) -> AccessRequestPublic:
    """The request with its fields by name."""
    out = AccessRequestPublic.model_validate(req, from_attributes=True)
    out.fields = (names or _Names(gw)).of(req.dataset_id, req.field_mask)
    return out


def grant_public(
    g: Grant, purpose_code: int | None, gw: Gateway | None, names: _Names | None = None
) -> GrantPublic:
    """The grant with its terms as people read them: its request's purpose, its fields by name."""
    out = GrantPublic.model_validate(g, from_attributes=True)
    out.purpose_code = purpose_code
    out.fields = (names or _Names(gw)).of(g.dataset_id, g.field_mask)
    return out


def grant_public_from_chain(state: ServiceState, g: Grant, gw: Gateway | None) -> GrantPublic:
    return grant_public(g, DataSharing(state.ledger).request(g.request_id).purpose_code, gw)


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
    """The caller's best grant on the dataset: an active one whose fields hold the wanted ones (any
    active one when none are named: it serves its own fields), else the newest one."""
    m = Registry(state.ledger).member_of(caller.account)
    if m is None:
        return None
    rows = index_for(state).events(
        NAME, "GrantCreated", args={"datasetId": dataset_id, "granteeId": m.id}, limit=50, order="desc"
    )
    if not rows:
        return None
    try:
        names = gw.schema_fields(gw.data.dataset(dataset_id))
        mask = field_mask(names, wanted or names)
    except LedgerError:  # no usable stored copy or unknown fields: the gateway names it
        mask = 0
    for r in rows:
        g = gw.data.grant(int(r.args["grantId"]))
        if g.state == GrantState.ACTIVE and (not wanted or is_subset(mask, g.field_mask)):
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
    gw: Gateway | None,
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


def _grant_listed(s: DataState, i: int, now: int) -> GrantPublic:
    g = s.grants[i]
    r = s.requests.get(g.request_id)
    return grant_public(s.grant_view(g, now), None if r is None else r.purpose_code, None)


REQUESTS: Listing[AccessRequestPublic, AccessRequestList] = Listing(
    "AccessRequested",
    "requestId",
    lambda s, i, now: s.requests[i].state(now),
    lambda s, i, now: request_public(s.request_view(s.requests[i], now), None),
    AccessRequestList,
)
GRANTS: Listing[GrantPublic, GrantList] = Listing(
    "GrantCreated",
    "grantId",
    lambda s, i, now: s.grant_state(s.grants[i], now),
    _grant_listed,
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
    query = ("by_state", listing.event, tuple(sorted(filters.items())), want, since, until, offset, limit)
    views, count = cached(
        state, query, lambda: _by_state(state, listing, filters, want, time_filter(since, until), (offset, limit))
    )  # from the index alone (its state "now" is at the index's last block): once per index version
    views = [v.model_copy() for v in views]  # the kept answer is shared; the names are set below
    index = index_for(state)
    names = _Names(gateway_or_none(state), lambda i: data_state(index, lambda s, now: s.dataset_view(s.datasets[i])))
    for v in views:  # the fields by name, from this gateway's copies of the schemas
        if isinstance(v, AccessRequestPublic | GrantPublic):
            v.fields = names.of(v.dataset_id, int(v.field_mask, 16))
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
