"""FastAPI dependencies as ``Annotated`` aliases: settings, state, the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
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
