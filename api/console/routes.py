"""The console's own routes: sign-in and sign-out, the home redirect, a transaction's live page."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.console import auth
from api.console.actions import refusal_words, safe_back
from api.console.auth import Acting, SignedInDep, session_store
from api.console.pages import PREFIX, home_for, render
from api.deps import StateDep, admit_key
from api.params import TxHash
from api.portal.pages import lang_of
from api.services.tx import tx_status
from ledger.errors import AccessDenied, LedgerError, Unauthenticated
from ledger.refusals import in_words

router = APIRouter(prefix=PREFIX, include_in_schema=False)

SIGN_IN_REASONS = ("expired", "ended", "signed_out")


@router.get("/sign-in")
def sign_in_page(request: Request, state: StateDep,
                 reason: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    token = auth.pre_token(request)
    response = render(request, state, None, "console/sign_in.html", pre_csrf=token,
                      reason=reason if reason in SIGN_IN_REASONS else None, error=None)
    auth.set_pre_cookie(response, request, token)
    return response


@router.post("/sign-in")
def sign_in(request: Request, state: StateDep, api_key: Annotated[str, Form(min_length=1, max_length=200)],
            csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    expected = request.cookies.get(auth.PRE_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf.encode()):
        raise AccessDenied("the sign-in form's CSRF token is missing or wrong: reload the page and try again")
    try:
        key = admit_key(request, state, state.apikeys.verify(api_key.strip()))
    except (Unauthenticated, AccessDenied) as exc:
        response = render(request, state, None, "console/sign_in.html", status_code=401, pre_csrf=expected,
                          reason=None, error=refusal_words(exc, lang_of(request)))
        return response
    sid, _ = session_store(state).create(key.key_id)
    response = RedirectResponse(PREFIX + "/", status_code=303)
    auth.set_session_cookie(response, request, sid)
    return response


@router.post("/sign-out")
def sign_out(request: Request, state: StateDep, _who: Acting) -> Response:
    session_store(state).end(request.cookies.get(auth.COOKIE, ""))
    response = RedirectResponse(PREFIX + "/sign-in?reason=signed_out", status_code=303)
    response.delete_cookie(auth.COOKIE, path=auth.PATH)
    return response


@router.get("/")
def home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    section = home_for(who.role)
    if section is not None:
        return RedirectResponse(section.href, status_code=303)
    return render(request, state, who, "console/home.html")


@router.get("/tx/{tx_hash}")
def tx_page(request: Request, state: StateDep, who: SignedInDep, tx_hash: TxHash,
            back: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    """A transaction the member's action produced, followed live by ``console.js``."""
    try:
        st = tx_status(state, tx_hash)
    except LedgerError as exc:
        return render(request, state, who, "console/refused.html", status_code=404,
                      words=refusal_words(exc, lang_of(request)), error=exc.code, back=safe_back(back))
    words = None if st.problem is None or st.problem.error is None else in_words(
        st.problem.error, st.problem.args, lang_of(request))
    return render(request, state, who, "console/tx.html", tx=st, words=words, back=safe_back(back))


@router.get("/tx/{tx_hash}/status")
def tx_status_json(request: Request, state: StateDep, _who: SignedInDep, tx_hash: TxHash) -> JSONResponse:
    """The API's transaction status (``GET /api/v1/tx/{hash}``) for the signed-in member, with a
    failure's reason in words."""
    st = tx_status(state, tx_hash)
    body = st.model_dump(mode="json")
    if st.problem is not None and st.problem.error is not None:
        body["words"] = in_words(st.problem.error, st.problem.args, lang_of(request))
    headers = {"Retry-After": "1"} if st.status in ("pending", "mined") else {}
    return JSONResponse(body, headers=headers | {"Cache-Control": "no-store"})
