"""/api/v1/datasets, /api/v1/access-requests, /api/v1/grants and /api/v1/access-log.

The caller's identity is their API key's account, never the body. The chain
enforces who may approve, revoke or record; the router checks ownership first so
that acting for another department answers 403 with nothing sent. Lists read the
event index (paginated, filtered) and the current state from the chain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response

from api.deps import (
    Caller,
    CurrentCaller,
    CurrentKey,
    Id,
    IdempotencyKey,
    IdFilter,
    Limit,
    Offset,
    Since,
    StateDep,
    Until,
    id_query,
    write_json,
)
from api.documents import document_public, writer
from api.documents import read as read_document
from api.routers._index_reads import any_event_rows, cached, caller_member, event_rows, index_for, time_filter
from api.schemas.common import TxInfo
from api.schemas.data import (
    AccessLogEntry,
    AccessLogList,
    AccessRequestCreate,
    AccessRequestList,
    AccessRequestPublic,
    AccessRequestWrite,
    ClassificationName,
    DatasetList,
    DatasetPublic,
    DatasetWrite,
    DenyBody,
    GrantList,
    GrantPublic,
    GrantStateName,
    GrantWrite,
    RenewalPublic,
    RenewBody,
    RequestStateName,
    SealedData,
)
from api.schemas.fund import DocumentPublic
from api.state import ServiceState
from ledger.abi import hex_text
from ledger.client import ContractCall, TxReceipt
from ledger.data import (
    AccessRequest,
    Classification,
    Dataset,
    DataSharing,
    Grant,
    GrantState,
    RefusalReason,
    Renewal,
    RequestState,
    scope_hash,
)
from ledger.errors import AccessDenied, ContractReverted, LedgerError, NotFound
from ledger.events import Event
from ledger.gateway import Gateway, GatewayStore, detect_format, load_master_key, owner_signer_from_keystore
from ledger.membership import Registry, Role

datasets_router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
requests_router = APIRouter(prefix="/api/v1/access-requests", tags=["access requests"])
grants_router = APIRouter(prefix="/api/v1/grants", tags=["grants"])
access_log_router = APIRouter(prefix="/api/v1/access-log", tags=["access log"])


_gw_lock = threading.Lock()


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def tx_info(r: TxReceipt) -> TxInfo:
    return TxInfo(tx_hash=r.tx_hash, block_number=r.block_number, gas_used=r.gas_used)


def get_gateway(state: StateDep) -> Gateway:
    """One gateway per service state (built on first use)."""
    gw: Gateway | None = getattr(state, "_data_gateway", None)
    if gw is not None:
        return gw
    with _gw_lock:
        gw = getattr(state, "_data_gateway", None)
        if gw is None:
            s = state.settings
            master = load_master_key(s.gateway_master_key_file, create=s.env in ("development", "test"))
            store = GatewayStore(s.gateway_store_dir, master)
            gw = Gateway(
                state.ledger,
                store,
                owner_signer_from_keystore(state.keystore, state.signer_for),
                refusal_window=s.gateway_refusal_window,
                refusal_queue=s.gateway_refusal_queue,
            )
            state._data_gateway = gw  # type: ignore[attr-defined]
    return gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


# ------------------------------------------------------------------ views


def dataset_public(d: Dataset, gw: Gateway | None = None) -> DatasetPublic:
    out = DatasetPublic(
        id=d.id,
        owner_id=d.owner_id,
        title=d.title,
        classification=d.classification.name.lower(),  # type: ignore[arg-type]
        metadata_hash=_hex(d.metadata_hash),
        schema_hash=_hex(d.schema_hash),
        content_hash=_hex(d.content_hash),
        version=d.version,
        registered_at=d.registered_at,
        updated_at=d.updated_at,
        refusals=d.refusals,
        format=None,
    )
    if gw is not None and gw.store.has(d.owner_id, d.content_hash):
        try:
            m = gw.store.meta(d.owner_id, d.content_hash)
            out.format, out.fields, out.rows, out.size = m.format, list(m.fields), m.rows, m.size
        except Exception:  # a damaged copy shows as "no copy"; fetch reports it loudly
            pass
    return out


def request_public(r: AccessRequest) -> AccessRequestPublic:
    return AccessRequestPublic(
        id=r.id,
        dataset_id=r.dataset_id,
        requester_id=r.requester_id,
        purpose_code=r.purpose_code,
        purpose_hash=_hex(r.purpose_hash),
        scope_hash=_hex(r.scope_hash),
        duration=r.duration,
        created_at=r.created_at,
        expires_at=r.expires_at,
        needs_governance=r.needs_governance,
        owner_approver=r.owner_approver,
        owner_approved_at=r.owner_approved_at,
        governance_approver=r.governance_approver,
        governance_approver_id=r.governance_approver_id,
        governance_approved_at=r.governance_approved_at,
        closed_at=r.closed_at,
        deny_reason=r.deny_reason,
        grant_id=r.grant_id,
        state=r.state.name.lower(),  # type: ignore[arg-type]
    )


def renewal_public(r: Renewal | None) -> RenewalPublic | None:
    if r is None:
        return None
    return RenewalPublic(extension=r.extension, requested_by=r.requested_by, requested_at=r.requested_at)


def grant_public(g: Grant) -> GrantPublic:
    return GrantPublic(
        id=g.id,
        request_id=g.request_id,
        dataset_id=g.dataset_id,
        grantee_id=g.grantee_id,
        scope_hash=_hex(g.scope_hash),
        granted_at=g.granted_at,
        expires_at=g.expires_at,
        revoked_at=g.revoked_at,
        frozen=g.frozen,
        accesses=g.accesses,
        state=g.state.name.lower(),  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ helpers


_index = index_for


def _rows(
    state: ServiceState,
    event: str,
    args: Mapping[str, Any],
    offset: int,
    limit: int,
    keep: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], int]:
    return event_rows(state, "DataSharing", event, args, offset, limit, keep)


_time_ok = time_filter


_caller_member = caller_member


def _require_owner(state: ServiceState, caller: Caller, dataset_id: int, action: str) -> Dataset:
    ds = _dataset_or_404(state, dataset_id)
    m = _caller_member(state, caller)
    if m.id != ds.owner_id:
        raise AccessDenied(
            f"only the owner of dataset {dataset_id} (member {ds.owner_id}) may {action}; the caller is member {m.id}"
        )
    return ds


def _dataset_or_404(state: ServiceState, dataset_id: int) -> Dataset:
    data = DataSharing(state.ledger)
    if dataset_id > data.dataset_count():
        raise NotFound("dataset", dataset_id)
    return data.dataset(dataset_id)


def _request_or_404(state: ServiceState, request_id: int) -> AccessRequest:
    data = DataSharing(state.ledger)
    if request_id > data.request_count():
        raise NotFound("access request", request_id)
    return data.request(request_id)


def _grant_or_404(state: ServiceState, grant_id: int) -> Grant:
    data = DataSharing(state.ledger)
    if grant_id > data.grant_count():
        raise NotFound("grant", grant_id)
    return data.grant(grant_id)


_write = write_json  # one idempotent-write path for every router (api/deps.py)


# ------------------------------------------------------------------ datasets


@datasets_router.get("", response_model=DatasetList, summary="The dataset catalog")
def list_datasets(
    state: StateDep,
    gw: GatewayDep,
    _key: CurrentKey,
    owner_id: IdFilter = None,
    classification: Annotated[ClassificationName | None, Query()] = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> DatasetList:
    args: dict[str, Any] = {}
    if owner_id is not None:
        args["ownerId"] = owner_id
    if classification is not None:
        args["classification"] = int(Classification[classification.upper()])
    rows, count = _rows(state, "DatasetRegistered", args, offset, limit, _time_ok(since, until))
    data = DataSharing(state.ledger)
    return DatasetList(data=[dataset_public(data.dataset(int(r.args["datasetId"])), gw) for r in rows], count=count)


@datasets_router.post(
    "",
    response_model=DatasetWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a dataset file (CSV or JSON lines): stored encrypted, registered on chain",
)
def upload_dataset(
    state: StateDep,
    gw: GatewayDep,
    caller: CurrentCaller,
    file: Annotated[UploadFile, File(description="CSV with a header row, or JSON lines.")],
    title: Annotated[str, Form(min_length=1, max_length=256)],
    classification: Annotated[ClassificationName, Form()],
    description: Annotated[str, Form(max_length=4000)] = "",
    format: Annotated[str | None, Form(pattern="^(csv|jsonl)$")] = None,
) -> DatasetWrite:
    state.check_chain()
    content = file.file.read()
    fmt = format or detect_format(file.filename, content)
    m = _caller_member(state, caller)
    if Role.DEPARTMENT not in m.roles:
        raise AccessDenied(f"member {m.id} lacks the department role needed to register datasets")
    up = gw.upload(caller.signer(), title, Classification[classification.upper()], content, fmt, description)  # type: ignore[arg-type]
    state.catch_up(up.receipt.block_number)
    return DatasetWrite(tx=tx_info(up.receipt), dataset=dataset_public(gw.data.dataset(up.dataset_id), gw))


@datasets_router.get("/{dataset_id}", response_model=DatasetPublic, summary="One dataset")
def get_dataset(dataset_id: Id, state: StateDep, gw: GatewayDep, _key: CurrentKey) -> DatasetPublic:
    return dataset_public(_dataset_or_404(state, dataset_id), gw)


@datasets_router.put("/{dataset_id}/content", response_model=DatasetWrite, summary="Upload a new version (owner)")
def update_dataset(
    dataset_id: Id,
    state: StateDep,
    gw: GatewayDep,
    caller: CurrentCaller,
    file: Annotated[UploadFile, File()],
    format: Annotated[str | None, Form(pattern="^(csv|jsonl)$")] = None,
) -> DatasetWrite:
    state.check_chain()
    _require_owner(state, caller, dataset_id, "upload a new version")
    content = file.file.read()
    fmt = format or detect_format(file.filename, content)
    receipt, _ = gw.update(caller.signer(), dataset_id, content, fmt)  # type: ignore[arg-type]
    state.catch_up(receipt.block_number)
    return DatasetWrite(tx=tx_info(receipt), dataset=dataset_public(gw.data.dataset(dataset_id), gw))


@datasets_router.get(
    "/{dataset_id}/data",
    response_model=SealedData,
    summary="Fetch data under a grant, sealed to the grantee's X25519 key (the access is recorded on chain)",
    responses={
        403: {
            "description": "Refused, the reason named at once. A member's refusals are recorded on chain off the "
            "request path, at most once per member, dataset and window (the rest counted into that record); "
            "a caller that is no active account of a member is refused without any record on chain."
        },
        500: {
            "description": "gateway-integrity: the stored copy failed an integrity check (tampered, or not the "
            "owner's upload for this dataset); nothing served, the operator alerted."
        },
    },
)
def fetch_data(
    dataset_id: Id,
    state: StateDep,
    gw: GatewayDep,
    caller: CurrentCaller,
    fields: Annotated[
        str | None, Query(max_length=4000, description="Comma-separated field names; omitted: every field.")
    ] = None,
    grant_id: Annotated[
        int | None, id_query("The grant; omitted: found for the caller.")
    ] = None,
) -> SealedData:
    state.check_chain()
    wanted = [f for f in fields.split(",") if f.strip()] if fields else None
    if grant_id is None:
        _dataset_or_404(state, dataset_id)
        grant_id = _find_grant(state, gw, caller, dataset_id, wanted)
    try:
        served = gw.serve(dataset_id, caller.account, wanted, grant_id)
    except ContractReverted as exc:  # the gateway reads the dataset first: nothing was recorded
        if exc.error_name == "DataUnknownDataset" and exc.tx_hash is None:
            raise NotFound("dataset", dataset_id) from exc
        raise
    state.catch_up(served.receipt.block_number)
    return SealedData(
        dataset_id=served.dataset_id,
        grant_id=served.grant_id,
        grantee_id=served.grantee_id,
        seq=served.seq,
        rows=served.rows,
        fields=list(served.fields),
        content_hash=served.content_hash,
        payload_hash=served.payload_hash,
        envelope=served.envelope,  # type: ignore[arg-type]
        tx=tx_info(served.receipt),
    )


def _find_grant(
    state: ServiceState, gw: Gateway, caller: Caller, dataset_id: int, wanted: list[str] | None
) -> int | None:
    """The caller's best grant on the dataset: an active one in scope, else the newest one."""
    m = Registry(state.ledger).member_of(caller.account)
    if m is None:
        return None
    rows = _index(state).events(
        "DataSharing", "GrantCreated", args={"datasetId": dataset_id, "granteeId": m.id}, limit=50, order="desc"
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


# ------------------------------------------------------------------ access requests


@requests_router.get("", response_model=AccessRequestList, summary="Access requests")
def list_requests(
    state: StateDep,
    _key: CurrentKey,
    dataset_id: IdFilter = None,
    requester_id: IdFilter = None,
    state_filter: Annotated[RequestStateName | None, Query(alias="state")] = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> AccessRequestList:
    args: dict[str, Any] = {}
    if dataset_id is not None:
        args["datasetId"] = dataset_id
    if requester_id is not None:
        args["requesterId"] = requester_id
    data = DataSharing(state.ledger)
    time_ok = _time_ok(since, until)
    keep: Callable[[Any], bool] | None = time_ok
    if state_filter is not None:
        want = RequestState[state_filter.upper()]

        def by_state(r: Any) -> bool:
            return (time_ok is None or time_ok(r)) and data.request(int(r.args["requestId"])).state == want

        keep = by_state

    rows, count = _rows(state, "AccessRequested", args, offset, limit, keep)
    return AccessRequestList(data=[request_public(data.request(int(r.args["requestId"]))) for r in rows], count=count)


@requests_router.post(
    "", response_model=AccessRequestWrite, status_code=status.HTTP_201_CREATED, summary="Request access to a dataset"
)
def create_request(
    body: AccessRequestCreate,
    request: Request,
    state: StateDep,
    gw: GatewayDep,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    ds = _dataset_or_404(state, body.dataset_id)
    fields = body.fields or list(gw.schema_fields(ds))
    scope = scope_hash(fields)
    data, docs = DataSharing(state.ledger), writer(state, caller)
    purpose = docs.draft("purpose", body.purpose)  # a salted commitment: the hash alone confirms no guess

    call = data.request_access_call(body.dataset_id, body.purpose_code, purpose.hash, scope, body.duration)
    start = partial(state.ledger.send, caller.signer(), call)

    def respond(r: TxReceipt) -> AccessRequestWrite:
        docs.accept(r)  # the purpose is kept now that the chain took the request
        rid = int(r.event("AccessRequested").args["requestId"])
        return AccessRequestWrite(tx=tx_info(r), request=request_public(data.request(rid)))

    return _write(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                  docs.journal([purpose]))


@requests_router.get("/{request_id}", response_model=AccessRequestPublic, summary="One access request")
def get_request(request_id: Id, state: StateDep, _key: CurrentKey) -> AccessRequestPublic:
    return request_public(_request_or_404(state, request_id))


@requests_router.get(
    "/{request_id}/purpose", response_model=DocumentPublic, response_model_exclude_none=True,
    summary="The request's purpose statement and its salt (requester, dataset owner, data governance, auditors)",
    description="Anyone else gets 404, as for a purpose the service holds no text for. "
    "`keccak256(salt ‖ utf8(text))` is the request's `purpose_hash`.",
)
def get_purpose(request_id: Id, state: StateDep, caller: CurrentCaller) -> DocumentPublic:
    req = _request_or_404(state, request_id)
    return document_public(read_document(state, caller, _hex(req.purpose_hash)))


def _request_write(state: ServiceState, request_id: int) -> Callable[[TxReceipt], AccessRequestWrite]:
    data = DataSharing(state.ledger)

    def respond(r: TxReceipt) -> AccessRequestWrite:
        req = data.request(request_id)
        grant = grant_public(data.grant(req.grant_id)) if req.grant_id else None
        return AccessRequestWrite(tx=tx_info(r), request=request_public(req), grant=grant)

    return respond


@requests_router.post(
    "/{request_id}/approve",
    response_model=AccessRequestWrite,
    summary="Approve: as the dataset's owner, or (sensitive/secret datasets) as data governance",
)
def approve_request(
    request_id: Id, request: Request, state: StateDep, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    req = _request_or_404(state, request_id)
    ds = _dataset_or_404(state, req.dataset_id)
    m = _caller_member(state, caller)
    data = DataSharing(state.ledger)
    if m.id == ds.owner_id:
        call = data.approve_as_owner_call(request_id)
    elif Role.DATA_GOVERNANCE in m.roles:
        call = data.approve_as_governance_call(request_id)
    else:
        raise AccessDenied(
            f"only the owner of dataset {ds.id} (member {ds.owner_id}) or data governance may approve request "
            f"{request_id}; the caller is member {m.id}"
        )
    return _write(
        state,
        caller,
        request,
        idempotency_key,
        {"request": request_id},
        partial(state.ledger.send, caller.signer(), call),
        _request_write(state, request_id),
    )


@requests_router.post("/{request_id}/deny", response_model=AccessRequestWrite, summary="Deny with a reason (owner)")
def deny_request(
    request_id: Id,
    body: DenyBody,
    request: Request,
    state: StateDep,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    req = _request_or_404(state, request_id)
    _require_owner(state, caller, req.dataset_id, f"deny request {request_id}")
    data = DataSharing(state.ledger)
    return _write(
        state,
        caller,
        request,
        idempotency_key,
        body.model_dump(),
        partial(state.ledger.send, caller.signer(), data.deny_call(request_id, body.reason_code)),
        _request_write(state, request_id),
    )


@requests_router.post("/{request_id}/withdraw", response_model=AccessRequestWrite, summary="Withdraw (requester)")
def withdraw_request(
    request_id: Id, request: Request, state: StateDep, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    req = _request_or_404(state, request_id)
    m = _caller_member(state, caller)
    if m.id != req.requester_id:
        raise AccessDenied(f"only the requesting member {req.requester_id} may withdraw request {request_id}")
    data = DataSharing(state.ledger)
    return _write(
        state,
        caller,
        request,
        idempotency_key,
        {"request": request_id},
        partial(state.ledger.send, caller.signer(), data.withdraw_call(request_id)),
        _request_write(state, request_id),
    )


# ------------------------------------------------------------------ grants


@grants_router.get("", response_model=GrantList, summary="Grants")
def list_grants(
    state: StateDep,
    _key: CurrentKey,
    dataset_id: IdFilter = None,
    grantee_id: IdFilter = None,
    state_filter: Annotated[GrantStateName | None, Query(alias="state")] = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> GrantList:
    args: dict[str, Any] = {}
    if dataset_id is not None:
        args["datasetId"] = dataset_id
    if grantee_id is not None:
        args["granteeId"] = grantee_id
    data = DataSharing(state.ledger)
    time_ok = _time_ok(since, until)
    keep: Callable[[Any], bool] | None = time_ok
    if state_filter is not None:
        want = GrantState[state_filter.upper()]

        def by_state(r: Any) -> bool:
            return (time_ok is None or time_ok(r)) and data.grant(int(r.args["grantId"])).state == want

        keep = by_state

    rows, count = _rows(state, "GrantCreated", args, offset, limit, keep)
    return GrantList(data=[grant_public(data.grant(int(r.args["grantId"]))) for r in rows], count=count)


@grants_router.get("/{grant_id}", response_model=GrantPublic, summary="One grant")
def get_grant(grant_id: Id, state: StateDep, _key: CurrentKey) -> GrantPublic:
    return grant_public(_grant_or_404(state, grant_id))


def _grant_action(
    state: ServiceState,
    caller: Caller,
    request: Request,
    key: str | None,
    grant_id: int,
    body: object,
    call: ContractCall,
    *,
    renewal: bool = False,
) -> JSONResponse:
    data = DataSharing(state.ledger)
    start = partial(state.ledger.send, caller.signer(), call)

    def respond(r: TxReceipt) -> GrantWrite:
        pending = renewal_public(data.renewal(grant_id)) if renewal else None
        return GrantWrite(tx=tx_info(r), grant=grant_public(data.grant(grant_id)), renewal=pending)

    return _write(state, caller, request, key, body, start, respond)


@grants_router.post("/{grant_id}/revoke", response_model=GrantWrite, summary="Revoke at once (owner)")
def revoke_grant(
    grant_id: Id, request: Request, state: StateDep, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    g = _grant_or_404(state, grant_id)
    _require_owner(state, caller, g.dataset_id, f"revoke grant {grant_id}")
    data = DataSharing(state.ledger)
    return _grant_action(
        state,
        caller,
        request,
        idempotency_key,
        grant_id,
        {"grant": grant_id},
        data.revoke_call(grant_id),
    )


@grants_router.post(
    "/{grant_id}/renew",
    response_model=GrantWrite,
    summary="Extend the expiry (owner): at once for a public or internal grant; a sensitive or secret grant's "
    "renewal waits for data governance (`renewal` in the answer)",
)
def renew_grant(
    grant_id: Id,
    body: RenewBody,
    request: Request,
    state: StateDep,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    g = _grant_or_404(state, grant_id)
    _require_owner(state, caller, g.dataset_id, f"renew grant {grant_id}")
    data = DataSharing(state.ledger)
    return _grant_action(
        state,
        caller,
        request,
        idempotency_key,
        grant_id,
        body.model_dump(),
        data.renew_call(grant_id, body.extension),
        renewal=True,
    )


def _require_governance(state: ServiceState, caller: Caller, action: str) -> None:
    m = _caller_member(state, caller)
    if Role.DATA_GOVERNANCE not in m.roles:
        raise AccessDenied(f"only data governance may {action}; member {m.id} lacks that role")


@grants_router.post(
    "/{grant_id}/renew/approve",
    response_model=GrantWrite,
    summary="Approve a sensitive or secret grant's pending renewal of `extension` seconds (data governance, "
    "neither the owner nor the grantee)",
)
def approve_renewal(
    grant_id: Id,
    body: RenewBody,
    request: Request,
    state: StateDep,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _grant_or_404(state, grant_id)
    _require_governance(state, caller, f"approve the renewal of grant {grant_id}")
    data = DataSharing(state.ledger)
    return _grant_action(
        state,
        caller,
        request,
        idempotency_key,
        grant_id,
        body.model_dump(),
        data.approve_renewal_call(grant_id, body.extension),
        renewal=True,
    )


@grants_router.post("/{grant_id}/freeze", response_model=GrantWrite, summary="Emergency freeze (data governance)")
def freeze_grant(
    grant_id: Id, request: Request, state: StateDep, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    _grant_or_404(state, grant_id)
    _require_governance(state, caller, "freeze a grant")
    data = DataSharing(state.ledger)
    return _grant_action(
        state,
        caller,
        request,
        idempotency_key,
        grant_id,
        {"grant": grant_id, "freeze": True},
        data.freeze_grant_call(grant_id),
    )


@grants_router.post("/{grant_id}/unfreeze", response_model=GrantWrite, summary="Lift a freeze (data governance)")
def unfreeze_grant(
    grant_id: Id, request: Request, state: StateDep, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    _grant_or_404(state, grant_id)
    _require_governance(state, caller, "unfreeze a grant")
    data = DataSharing(state.ledger)
    return _grant_action(
        state,
        caller,
        request,
        idempotency_key,
        grant_id,
        {"grant": grant_id, "freeze": False},
        data.unfreeze_grant_call(grant_id),
    )


# ------------------------------------------------------------------ access log


def _log_entry(r: Event) -> AccessLogEntry:
    a = r.args
    if r.name == "AccessRecorded":
        return AccessLogEntry(
            kind="access",
            dataset_id=int(a["datasetId"]),
            grant_id=int(a["grantId"]),
            member_id=int(a["granteeId"]),
            seq=int(a["seq"]),
            query_hash=hex_text(a["queryHash"]),
            rows=int(a["rowCount"]),
            block_number=r.block_number,
            block_time=r.block_time,
            tx_hash=r.tx_hash,
        )
    return AccessLogEntry(
        kind="refusal",
        dataset_id=int(a["datasetId"]),
        grant_id=int(a["grantId"]),
        member_id=int(a["requesterId"]),
        seq=int(a["seq"]),
        query_hash=hex_text(a["queryHash"]),
        reason=RefusalReason(int(a["reason"])).name.lower(),  # type: ignore[arg-type]
        block_number=r.block_number,
        block_time=r.block_time,
        tx_hash=r.tx_hash,
    )


@access_log_router.get("", response_model=AccessLogList, summary="Served accesses and refused attempts, newest first")
def access_log(
    state: StateDep,
    _key: CurrentKey,
    kind: Annotated[str, Query(pattern="^(access|refusal|all)$")] = "all",
    dataset_id: IdFilter = None,
    grant_id: IdFilter = None,
    member_id: Annotated[int | None, id_query("Grantee or requester (0: refusals of non-members).", ge=0)] = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Response:
    """Read from the index alone, with every filter in SQL; the answer is kept until the
    index moves on (any valid API key sees the same log, so the key is not part of it)."""

    def build() -> bytes:
        common: dict[str, Any] = {}
        if dataset_id is not None:
            common["datasetId"] = dataset_id
        if grant_id is not None:
            common["grantId"] = grant_id
        time_ok = _time_ok(since, until)
        pairs = []
        for event, member_arg, name in (
            ("AccessRecorded", "granteeId", "access"),
            ("AccessRefused", "requesterId", "refusal"),
        ):
            if kind in (name, "all"):
                args = dict(common)
                if member_id is not None:
                    args[member_arg] = member_id
                pairs.append((event, args))
        if len(pairs) == 1:
            rows, count = _rows(state, pairs[0][0], pairs[0][1], offset, limit, time_ok)
        else:
            rows, count = any_event_rows(state, "DataSharing", pairs, offset, limit, time_ok)
        return AccessLogList(data=[_log_entry(r) for r in rows], count=count).model_dump_json().encode()

    key = ("access-log", kind, dataset_id, grant_id, member_id, since, until, offset, limit)
    return Response(cached(state, key, build), media_type="application/json")
