"""Who is signed in to the console, and the CSRF check of every state-changing request.

The session (:mod:`api.console.sessions`) names an API key; every request admits that key again
exactly as the API admits a bearer key (:func:`api.deps.admit_key`: not revoked, within its rate
limit, its account an active member's), so a revoked key or a removed account ends the session at
the next request. A state-changing request carries the session's CSRF token, in the form's hidden
``csrf`` field or (JavaScript) the ``X-CSRF-Token`` header; without it: 403, nothing done.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.console.sessions import Session, SessionStore, sessions_for
from api.deps import Caller, StateDep, admit_key
from api.problems import problem
from api.state import ServiceState
from ledger.errors import AccessDenied, Unauthenticated
from ledger.membership import Role

COOKIE = "cogov_console"
#: Before signing in: the sign-in form's own CSRF token (double submit: this cookie and the field).
PRE_COOKIE = "cogov_console_pre"
PATH = "/console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class SignInNeeded(Exception):
    """No live session: the console answers with its sign-in page (JavaScript: a 401)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "no session")
        self.reason = reason


@dataclass(frozen=True)
class SignedIn:
    """The member signed in for this request: their caller (as the API's) and their session."""

    caller: Caller
    session: Session

    @property
    def role(self) -> Role:
        return self.caller.role


def session_store(state: ServiceState) -> SessionStore:
    return sessions_for(state.apikeys.engine)


def signed_in(request: Request, state: StateDep) -> SignedIn:
    sid = request.cookies.get(COOKIE)
    if not sid:
        raise SignInNeeded(None)
    store = session_store(state)
    s = store.get(sid, state.settings.console_session_idle_seconds, state.settings.console_session_max_seconds)
    if s is None:
        raise SignInNeeded("expired")
    try:
        key = admit_key(request, state, state.apikeys.by_id(s.key_id))
    except (Unauthenticated, AccessDenied) as exc:
        store.end(sid)
        raise SignInNeeded("ended") from exc
    return SignedIn(Caller(key, state), s)


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


async def form_token(request: Request) -> str | None:
    """The CSRF token a request carries: the header, else the form's hidden field."""
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        token = None if value is None or isinstance(value, UploadFile) else str(value)
    return token


async def csrf_checked(request: Request, who: SignedInDep) -> SignedIn:
    """The signed-in member, for a state-changing request that carries the session's CSRF token."""
    if not who.session.csrf_ok(await form_token(request)):
        raise AccessDenied("the console's CSRF token is missing or wrong: reload the page and try again")
    return who


#: A state-changing console request: signed in, and its CSRF token checked (403 otherwise).
Acting = Annotated[SignedIn, Depends(csrf_checked)]


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, sid: str) -> None:
    response.set_cookie(COOKIE, sid, path=PATH, httponly=True, samesite="strict", secure=secure(request))
    response.delete_cookie(PRE_COOKIE, path=PATH)


def pre_token(request: Request) -> str:
    """The sign-in form's CSRF token: the pre-session cookie's, or a new one."""
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)


def set_pre_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(PRE_COOKIE, token, path=PATH, httponly=True, samesite="strict", secure=secure(request))


def sign_in_answer(request: Request, exc: SignInNeeded) -> Response:
    """No live session: JavaScript gets a 401 problem, a page the sign-in form (then back here)."""
    if request.headers.get(CSRF_HEADER) is not None or "application/json" in request.headers.get("accept", ""):
        response: Response = problem(
            401, "Unauthorized", "sign in to the console again", "urn:cogov:problem:unauthenticated"
        )
    else:
        target = f"{PATH}/sign-in" + (f"?reason={exc.reason}" if exc.reason else "")
        response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response
