"""FastAPI dependencies as ``Annotated`` aliases: settings, state, the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.apikeys import ApiKey
from api.settings import Settings, get_settings
from api.state import ServiceState
from ledger.client import Ledger
from ledger.errors import AccessDenied, Unauthenticated
from ledger.keys import Signer
from ledger.roles import Role

SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cgv_...`")


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


def get_ledger(state: StateDep) -> Ledger:
    return state.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def current_key(
    request: Request,
    state: StateDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated("missing API key: send `Authorization: Bearer <key>`")
    key = state.apikeys.verify(creds.credentials)
    request.state.api_key_id = key.key_id
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        limiter.check(key.key_id)
    return key


CurrentKey = Annotated[ApiKey, Depends(current_key)]


class Caller:
    """The authenticated caller: their key record and signing account."""

    def __init__(self, key: ApiKey, state: ServiceState) -> None:
        self.key = key
        self._state = state

    @property
    def role(self) -> Role:
        return self.key.role

    @property
    def account(self) -> str:
        return self.key.account

    def signer(self) -> Signer:
        return self._state.signer_for(self.key.key_label)


def current_caller(key: CurrentKey, state: StateDep) -> Caller:
    return Caller(key, state)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require_role(*roles: Role) -> Callable[..., Caller]:
    """A dependency admitting only API keys of one of ``roles`` (403 otherwise)."""

    def _dep(caller: CurrentCaller) -> Caller:
        if caller.role not in roles:
            raise AccessDenied(
                f"this action needs the {' or '.join(r.name.lower() for r in roles)} role; "
                f"this API key has {caller.role.name.lower()}",
            )
        return caller

    return _dep


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Any unique string; a retry with the same key returns the first result and never writes twice.",
    ),
]


def run_write(
    state: ServiceState,
    caller: Caller,
    request: Request,
    idempotency_key: str | None,
    body: object,
    send: Callable[..., object],
    respond: Callable[..., tuple[int, dict[str, object]]],
) -> tuple[int, dict[str, object]]:
    """Run a write through the idempotency store (when a key is given); returns (status, body).

    ``send(before_send)`` signs and sends (passing ``before_send`` to the ledger),
    ``respond(receipt)`` builds the answer from the receipt.
    """
    from api.idempotency import fingerprint

    state.check_chain()
    if idempotency_key is None:
        receipt = send(None)
        state.catch_up()
        return respond(receipt)
    fp = fingerprint(request.method, request.url.path, body)

    def _respond(receipt: object) -> tuple[int, dict[str, object]]:
        state.catch_up()
        return respond(receipt)

    outcome = state.idempotency.execute(caller.key.key_id, idempotency_key, fp, send, _respond)
    return outcome.status_code, outcome.body


def write_json(
    state: ServiceState,
    caller: Caller,
    request: Request,
    key: str | None,
    body: object,
    send: Callable[..., Any],
    respond: Callable[[Any], Any],
    status_code: int = 200,
) -> JSONResponse:
    """Run a write (idempotently when ``key`` is given) and answer ``respond(receipt)`` as JSON."""

    def _respond(receipt: Any) -> tuple[int, dict[str, object]]:
        out: dict[str, object] = respond(receipt).model_dump(mode="json")
        return status_code, out

    code, out = run_write(state, caller, request, key, body, send, _respond)
    return JSONResponse(out, status_code=code)
