"""A department's data-sharing pages (``/console/data``) and the data-sharing actions the
department and data governance take. Each action calls the API's own service write
(``api/services/data_writes.py``) through :func:`api.console.actions.act`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.console import data_views
from api.console.actions import BackField, IdemField, act, refusal_words, refused, tx_page
from api.console.auth import Acting, SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import Id, StateDep
from api.portal.pages import lang_of
from api.problems import problem, status_of
from api.schemas.data import AccessRequestCreate, ClassificationName, DenyBody, RenewBody
from api.services import data as svc
from api.services.data_writes import DataWrites, fetch, update, upload
from ledger.data import Classification
from ledger.errors import LedgerError
from ledger.membership import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

DATA = register(Section("data", "/data", "console.nav.data", frozenset({Role.DEPARTMENT}), order=10))
DAY = 24 * 3600


@router.get(DATA.path)
def data_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, DATA)
    return render(request, state, who, "console/data.html", back=DATA.href,
                  **data_views.department(state, who.caller, lang_of(request)))


@router.post(DATA.path + "/datasets")
def register_dataset(
    request: Request, state: StateDep, who: Acting,
    file: Annotated[UploadFile, File()],
    title: Annotated[str, Form(min_length=1, max_length=256)],
    classification: Annotated[ClassificationName, Form()],
    description: Annotated[str, Form(max_length=4000)] = "",
    table_schema: Annotated[UploadFile | None, File(alias="schema")] = None,
    back: BackField = None,
) -> Response:
    """Register a dataset: stored encrypted by the gateway, then registered on chain (as the API's upload)."""
    table = table_schema.file.read() or None if table_schema is not None else None
    try:
        done = upload(state, svc.gateway_for(state), who.caller, file.file.read(), file.filename, None, title,
                      Classification[classification.upper()], description, table)
    except LedgerError as exc:
        return refused(request, state, who, exc, back or DATA.href)
    return RedirectResponse(tx_page(done.tx.tx_hash, back or DATA.href), status_code=303)


@router.post(DATA.path + "/datasets/{dataset_id}/version")
def new_version(request: Request, state: StateDep, who: Acting, dataset_id: Id,
                file: Annotated[UploadFile, File()], back: BackField = None) -> Response:
    try:
        done = update(state, svc.gateway_for(state), who.caller, dataset_id, file.file.read(), file.filename,
                      None, None)
    except LedgerError as exc:
        return refused(request, state, who, exc, back or DATA.href)
    return RedirectResponse(tx_page(done.tx.tx_hash, back or DATA.href), status_code=303)


@router.post(DATA.path + "/datasets/{dataset_id}/fetch")
def fetch_data(request: Request, state: StateDep, who: Acting, dataset_id: Id) -> Response:
    """The sealed answer as the API's fetch gives it (JSON), for the browser to open with the
    member's private key, which never leaves the browser. A refusal: problem+json with ``words``."""
    try:
        served, answer = fetch(state, svc.gateway_for(state), who.caller, dataset_id, None, None)
    except LedgerError as exc:
        return problem(status_of(exc), "Refused", exc.message, f"urn:cogov:problem:{exc.code}",
                       words=refusal_words(exc, lang_of(request)))
    head = answer.model_dump_json(exclude={"envelope"})
    return Response(head[:-1].encode() + b',"envelope":' + served.sealed.json() + b"}", media_type="application/json",
                    headers={"Cache-Control": "no-store"})


@router.post("/requests")
def request_access(
    request: Request, state: StateDep, who: Acting,
    dataset_id: Annotated[int, Form(ge=1)],
    purpose_code: Annotated[int, Form(ge=1, le=65535)],
    purpose: Annotated[str, Form(min_length=1, max_length=2000)],
    days: Annotated[int, Form(ge=1, le=3650)],
    fields: Annotated[str, Form(max_length=4000)] = "",
    idem: IdemField = None, back: BackField = None,
) -> Response:
    wanted = [f.strip() for f in fields.split(",") if f.strip()] or None
    body = AccessRequestCreate.model_validate({"dataset_id": dataset_id, "purpose_code": purpose_code,
                                               "purpose": purpose, "fields": wanted, "duration": days * DAY})
    return act(request, state, who, lambda w: DataWrites(state, who.caller).create_request(
        w, body, svc.gateway_for(state)), idem, back)


@router.post("/requests/{request_id}/approve")
def approve(request: Request, state: StateDep, who: Acting, request_id: Id,
            idem: IdemField = None, back: BackField = None) -> Response:
    """The owner's approval, or data governance's second one (the same service write as the API's)."""
    return act(request, state, who, lambda w: DataWrites(state, who.caller).approve_request(w, request_id),
               idem, back)


@router.post("/requests/{request_id}/deny")
def deny(request: Request, state: StateDep, who: Acting, request_id: Id,
         reason_code: Annotated[int, Form(ge=0, le=65535)] = 0,
         idem: IdemField = None, back: BackField = None) -> Response:
    body = DenyBody(reason_code=reason_code)
    return act(request, state, who, lambda w: DataWrites(state, who.caller).deny_request(w, request_id, body),
               idem, back)


@router.post("/grants/{grant_id}/revoke")
def revoke(request: Request, state: StateDep, who: Acting, grant_id: Id,
           idem: IdemField = None, back: BackField = None) -> Response:
    return act(request, state, who, lambda w: DataWrites(state, who.caller).revoke_grant(w, grant_id), idem, back)


@router.post("/grants/{grant_id}/renew")
def renew(request: Request, state: StateDep, who: Acting, grant_id: Id,
          days: Annotated[int, Form(ge=1, le=3650)], idem: IdemField = None, back: BackField = None) -> Response:
    body = RenewBody(extension=days * DAY)
    return act(request, state, who, lambda w: DataWrites(state, who.caller).renew_grant(w, grant_id, body),
               idem, back)


@router.post("/grants/{grant_id}/{action}")
def freeze(request: Request, state: StateDep, who: Acting, grant_id: Id, action: str,
           idem: IdemField = None, back: BackField = None) -> Response:
    """Freeze or lift a freeze (data governance; the chain refuses anyone else)."""
    if action not in ("freeze", "unfreeze"):
        return JSONResponse({"detail": "not found"}, status_code=404)
    on = action == "freeze"
    return act(request, state, who, lambda w: DataWrites(state, who.caller).freeze(w, grant_id, on), idem, back)
