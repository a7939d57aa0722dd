"""/api/v1/datasets, /api/v1/access-requests, /api/v1/grants and /api/v1/access-log.

The caller's identity is their API key's account, never the body. The chain
enforces who may approve, deny, renew, freeze or record: the pre-flight refuses before
anything is signed and ``api/problems.py`` answers (403 for a caller without the right,
404 for an unknown record). The service checks ownership itself only where something
happens before the chain is asked (a file stored by the gateway) or where the answer
names the owner (revoking). Lists are read from the event index alone
(``api/services/data.py``); the writes on requests and grants are ``api/services/data_writes.py``'s.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response

from api.answers import kept
from api.deps import (
    CurrentCaller,
    CurrentKey,
    Id,
    IdFilter,
    Limit,
    Offset,
    Since,
    StateDep,
    Until,
    WriteDep,
    id_query,
    json_answer,
)
from api.documents import document_public
from api.documents import read as read_document
from api.schemas.data import (
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
    NarrowBody,
    PurposePublic,
    RenewBody,
    RequestStateName,
    SealedData,
)
from api.schemas.fund import DocumentPublic
from api.services import data as svc
from api.services.data_writes import DataWrites, fetch, update, upload
from api.services.index import arg_filters
from ledger.data import Classification, GrantState, RequestState
from ledger.data.purposes import PURPOSES
from ledger.gateway import Gateway
from ledger.gateway.metadata import catalog_fields

#: The header of the binary fetch answer carrying the answer's JSON but the ciphertext (base64url).
ANSWER_HEADER = "X-Cogov-Answer"


def binary_answer(accept: str) -> bool:
    """Whether a fetch asks for the binary answer: ``application/octet-stream`` accepted, JSON not
    preferred to it (``Accept: application/octet-stream``; JSON stays the default)."""
    kinds = {p.split(";")[0].strip().lower(): p for p in accept.split(",")}
    return "application/octet-stream" in kinds and "application/json" not in kinds


datasets_router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
requests_router = APIRouter(prefix="/api/v1/access-requests", tags=["access requests"])
grants_router = APIRouter(prefix="/api/v1/grants", tags=["grants"])
access_log_router = APIRouter(prefix="/api/v1/access-log", tags=["access log"])


async def get_gateway(state: StateDep) -> Gateway:
    """The service's gateway: no thread-pool hop once it is built (the first request builds it on one)."""
    built = svc.built_gateway(state)
    return built if built is not None else await anyio.to_thread.run_sync(svc.gateway_for, state)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


# ------------------------------------------------------------------ datasets


@datasets_router.get("", response_model=DatasetList, summary="The dataset catalog")
@kept()
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
    wanted = None if classification is None else Classification[classification.upper()]
    return svc.list_datasets(state, gw, owner_id, wanted, since, until, offset, limit)


#: An upload's table schema: a Frictionless Table Schema (JSON) the file is validated against.
SchemaPart = Annotated[
    UploadFile | None,
    File(alias="schema", description="The file's Frictionless Table Schema (JSON); default: inferred from the file."),
]


@datasets_router.post(
    "",
    response_model=DatasetWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a dataset file (CSV or JSON lines): stored encrypted, registered on chain; its catalog "
    "fields (keywords, themes, contact point, licence, language) go into its metadata document",
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
    keywords: Annotated[str | None, Form(max_length=2000, description="Comma-separated keywords.")] = None,
    themes: Annotated[
        str | None, Form(max_length=200, description="Comma-separated EU data-theme codes (SOCI, HEAL, GOVE …).")
    ] = None,
    contact_name: Annotated[str | None, Form(max_length=200, description="The contact point's name.")] = None,
    contact_email: Annotated[str | None, Form(max_length=254)] = None,
    contact_phone: Annotated[str | None, Form(max_length=40)] = None,
    license: Annotated[
        str | None,
        Form(max_length=500, description="An http(s) URI, or cc-by-4.0, cc0-1.0 or restricted; "
             "default: cc-by-4.0 for public datasets, restricted for the others."),
    ] = None,
    language: Annotated[str, Form(pattern="^(zh|en)$")] = "zh",
    table_schema: SchemaPart = None,
) -> DatasetWrite:
    cls = Classification[classification.upper()]
    catalog = catalog_fields(
        cls, keywords=keywords, themes=themes, contact_name=contact_name, contact_email=contact_email,
        contact_phone=contact_phone, license=license, language=language,
    )
    table = table_schema.file.read() if table_schema is not None else None
    return upload(state, gw, caller, file.file.read(), file.filename, format, title, cls, description, table, catalog)


@datasets_router.get("/{dataset_id}", response_model=DatasetPublic, summary="One dataset")
def get_dataset(dataset_id: Id, state: StateDep, gw: GatewayDep, _key: CurrentKey) -> DatasetPublic:
    return svc.dataset_public(svc.dataset_or_404(state, dataset_id), gw)


@datasets_router.put("/{dataset_id}/content", response_model=DatasetWrite, summary="Upload a new version (owner)")
def update_dataset(
    dataset_id: Id,
    state: StateDep,
    gw: GatewayDep,
    caller: CurrentCaller,
    file: Annotated[UploadFile, File()],
    format: Annotated[str | None, Form(pattern="^(csv|jsonl)$")] = None,
    table_schema: SchemaPart = None,
) -> DatasetWrite:
    table = table_schema.file.read() if table_schema is not None else None
    return update(state, gw, caller, dataset_id, file.file.read(), file.filename, format, table)


@datasets_router.get(
    "/{dataset_id}/data",
    response_model=SealedData,
    summary="Fetch data under a grant, sealed to the grantee's X25519 key; the access is recorded on chain (Secret "
    "datasets by default: `tx`) or in the owner's transparency log (the rest: a signed `receipt`)",
    responses={
        200: {
            "description": "The answer as JSON (the default), or with `Accept: application/octet-stream` the "
            "ciphertext as the body and the rest of the answer (the envelope without its ciphertext) as the "
            "base64url JSON of the X-Cogov-Answer header.",
            "content": {"application/octet-stream": {}},
        },
        403: {
            "description": "Refused, the reason named at once. Log-mode datasets: every refusal is an entry of the "
            "owner's access log (`log_entry` names it). On-chain datasets: a member's refusals are recorded on chain "
            "off the request path, at most once per member, dataset and window (the rest counted into that record); "
            "a caller that is no active account of a member is refused without any record on chain."
        },
        503: {
            "description": "anchoring-overdue: the owner's access log has entries older than the maximum merge delay "
            "plus grace that are not anchored on chain; none of its log-mode datasets is served until they are "
            "(fail closed). Also: the chain does not answer."
        },
        500: {
            "description": "gateway-integrity: the stored copy failed an integrity check (tampered, or not the "
            "owner's upload for this dataset); nothing served, the operator alerted."
        },
    },
)
def fetch_data(
    dataset_id: Id,
    request: Request,
    state: StateDep,
    gw: GatewayDep,
    caller: CurrentCaller,
    fields: Annotated[
        str | None, Query(max_length=4000, description="Comma-separated field names; omitted: every field.")
    ] = None,
    grant_id: Annotated[int | None, id_query("The grant; omitted: found for the caller.")] = None,
) -> Response:
    wanted = [f for f in fields.split(",") if f.strip()] if fields else None
    served, answer = fetch(state, gw, caller, dataset_id, wanted, grant_id)
    if binary_answer(request.headers.get("accept", "")):
        # The ciphertext as the body, byte for byte; the answer with the envelope but its ciphertext
        # in one header (base64url of its JSON): see docs/transparency-log.md, "The binary answer".
        meta = answer.model_dump_json(exclude={"envelope"})[:-1] + ',"envelope":' + json.dumps(served.sealed.envelope)
        return Response(
            served.sealed.ciphertext,
            media_type="application/octet-stream",
            headers={ANSWER_HEADER: base64.urlsafe_b64encode((meta + "}").encode()).decode("ascii")},
        )
    # The envelope is a megabyte of base64 for a 1 MB dataset, made once per sealed answer (sealed once
    # per grantee key and answer in log mode): spliced into the answer's JSON, never parsed or encoded again.
    head = answer.model_dump_json(exclude={"envelope"})
    return Response(head[:-1].encode() + b',"envelope":' + served.sealed.json() + b"}", media_type="application/json")


# ------------------------------------------------------------------ access requests


@requests_router.get("", response_model=AccessRequestList, summary="Access requests")
@kept()
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
    want = None if state_filter is None else RequestState[state_filter.upper()]
    filters = arg_filters(datasetId=dataset_id, requesterId=requester_id)
    return svc.list_by_state(state, svc.REQUESTS, filters, want, since, until, offset, limit)


@requests_router.post(
    "", response_model=AccessRequestWrite, status_code=status.HTTP_201_CREATED, summary="Request access to a dataset"
)
def create_request(
    body: AccessRequestCreate, state: StateDep, gw: GatewayDep, caller: CurrentCaller, write: WriteDep
) -> JSONResponse:
    return json_answer(DataWrites(state, caller).create_request(write, body, gw))


@requests_router.get(
    "/purposes",
    response_model=list[PurposePublic],
    summary="The published purpose vocabulary: the codes a request may name, with their names (docs/data-sharing.md)",
)
def list_purposes(_key: CurrentKey) -> list[PurposePublic]:
    return [PurposePublic(code=p.code, zh=p.zh, en=p.en) for p in PURPOSES.values()]


@requests_router.get("/{request_id}", response_model=AccessRequestPublic, summary="One access request")
def get_request(request_id: Id, state: StateDep, _key: CurrentKey) -> AccessRequestPublic:
    return svc.request_public(svc.request_or_404(state, request_id), svc.gateway_or_none(state))


@requests_router.get(
    "/{request_id}/purpose",
    response_model=DocumentPublic,
    response_model_exclude_none=True,
    summary="The request's purpose statement and its salt (requester, dataset owner, data governance, auditors)",
    description="Anyone else gets 404, as for a purpose the service holds no text for. "
    "`keccak256(salt ‖ utf8(text))` is the request's `purpose_hash`.",
)
def get_purpose(request_id: Id, state: StateDep, caller: CurrentCaller) -> DocumentPublic:
    req = svc.request_or_404(state, request_id)
    return document_public(read_document(state, caller, "0x" + req.purpose_hash.hex()))


@requests_router.post(
    "/{request_id}/approve",
    response_model=AccessRequestWrite,
    summary="Approve: as the dataset's owner, or (sensitive/secret datasets) as data governance",
)
def approve_request(request_id: Id, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(DataWrites(state, caller).approve_request(write, request_id))


@requests_router.post("/{request_id}/deny", response_model=AccessRequestWrite, summary="Deny with a reason (owner)")
def deny_request(
    request_id: Id, body: DenyBody, state: StateDep, caller: CurrentCaller, write: WriteDep
) -> JSONResponse:
    return json_answer(DataWrites(state, caller).deny_request(write, request_id, body))


@requests_router.post("/{request_id}/withdraw", response_model=AccessRequestWrite, summary="Withdraw (requester)")
def withdraw_request(request_id: Id, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(DataWrites(state, caller).withdraw_request(write, request_id))


# ------------------------------------------------------------------ grants


@grants_router.get("", response_model=GrantList, summary="Grants")
@kept()
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
    want = None if state_filter is None else GrantState[state_filter.upper()]
    filters = arg_filters(datasetId=dataset_id, granteeId=grantee_id)
    return svc.list_by_state(state, svc.GRANTS, filters, want, since, until, offset, limit)


@grants_router.get("/{grant_id}", response_model=GrantPublic, summary="One grant")
def get_grant(grant_id: Id, state: StateDep, _key: CurrentKey) -> GrantPublic:
    return svc.grant_public_from_chain(state, svc.grant_or_404(state, grant_id), svc.gateway_or_none(state))


@grants_router.post(
    "/{grant_id}/narrow",
    response_model=GrantWrite,
    summary="Narrow the terms without a new approval (owner or grantee): fewer fields, a lower limit, an earlier "
    "end; widening takes a new request",
)
def narrow_grant(
    grant_id: Id, body: NarrowBody, state: StateDep, gw: GatewayDep, caller: CurrentCaller, write: WriteDep
) -> JSONResponse:
    return json_answer(DataWrites(state, caller).narrow_grant(write, grant_id, body, gw))


@grants_router.post("/{grant_id}/revoke", response_model=GrantWrite, summary="Revoke at once (owner)")
def revoke_grant(grant_id: Id, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(DataWrites(state, caller).revoke_grant(write, grant_id))


@grants_router.post(
    "/{grant_id}/renew",
    response_model=GrantWrite,
    summary="Extend the expiry (owner): at once for a public or internal grant; a sensitive or secret grant's "
    "renewal waits for data governance (`renewal` in the answer)",
)
def renew_grant(grant_id: Id, body: RenewBody, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(DataWrites(state, caller).renew_grant(write, grant_id, body))


@grants_router.post(
    "/{grant_id}/renew/approve",
    response_model=GrantWrite,
    summary="Approve a sensitive or secret grant's pending renewal of `extension` seconds (data governance, "
    "neither the owner nor the grantee)",
)
def approve_renewal(
    grant_id: Id, body: RenewBody, state: StateDep, caller: CurrentCaller, write: WriteDep
) -> JSONResponse:
    return json_answer(DataWrites(state, caller).approve_renewal(write, grant_id, body))


@grants_router.post("/{grant_id}/freeze", response_model=GrantWrite, summary="Emergency freeze (data governance)")
def freeze_grant(grant_id: Id, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(DataWrites(state, caller).freeze(write, grant_id, True))


@grants_router.post("/{grant_id}/unfreeze", response_model=GrantWrite, summary="Lift a freeze (data governance)")
def unfreeze_grant(grant_id: Id, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(DataWrites(state, caller).freeze(write, grant_id, False))


# ------------------------------------------------------------------ access log


@access_log_router.get("", response_model=AccessLogList, summary="Served accesses and refused attempts, newest first")
@kept()
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
) -> bytes:
    """Read from the index alone, with every filter in SQL (its JSON bytes; kept until the index moves on)."""
    return svc.access_log(state, kind, dataset_id, grant_id, member_id, since, until, offset, limit)
