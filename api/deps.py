"""FastAPI dependencies as ``Annotated`` aliases: settings, state, the caller, the write's headers.

The path and query parameters the routers share live in :mod:`api.params`; they are
re-exported here for the routers that still import them from this module."""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.apikeys import ApiKey
from api.idempotency import Respond, Start
from api.params import Id as Id
from api.params import IdFilter as IdFilter
from api.params import Limit as Limit
from api.params import Offset as Offset
from api.params import Since as Since
from api.params import Until as Until
from api.params import id_query as id_query
from api.settings import Settings, get_settings
from api.state import ServiceState
from ledger.client import Ledger, Pending, TxReceipt
from ledger.errors import AccessDenied, ContractReverted, Unauthenticated
from ledger.fund.docs import TextJournal
from ledger.keys import Signer
from ledger.membership import AccountInfo, Registry, Role

SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cgv_...`")


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


def get_ledger(state: StateDep) -> Ledger:
    return state.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


class AccountChecks:
    """Whether API keys' accounts are active accounts of a member, as the registry says
    (``accountInfo``: one call), each answer reused for ``ttl`` seconds per account."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, AccountInfo]] = {}

    def info(self, ledger: Ledger, account: str, ttl: float) -> AccountInfo:
        now = time.monotonic()
        key = account.lower()
        with self._lock:
            hit = self._seen.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        info = Registry(ledger).account_info(account)
        with self._lock:
            self._seen[key] = (now, info)
        return info


T = TypeVar("T")


class OnePer(Generic[T]):
    """One ``T`` per object (a ledger connection, an index: one per running service), made on
    first use and dropped with the object."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._items: weakref.WeakKeyDictionary[Hashable, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, owner: Hashable) -> T:
        with self._lock:
            item = self._items.get(owner)
            if item is None:
                item = self._items[owner] = self._make()
            return item


#: The account checks of one service (one per ledger connection).
account_checks: OnePer[AccountChecks] = OnePer(AccountChecks)


def current_key(
    request: Request,
    state: StateDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The caller's API key: known, not revoked, within its rate limit, and bound to an account
    that is an active account of an active member now (403 once the council removed the account
    or its member; the registry's answer is reused for ``account_check_seconds``)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated("missing API key: send `Authorization: Bearer <key>`")
    key = state.apikeys.verify(creds.credentials)
    request.state.api_key_id = key.key_id
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        limiter.check(key.key_id)
    ttl = state.settings.account_check_seconds
    if not account_checks(state.ledger).info(state.ledger, key.account, ttl).active:
        raise AccessDenied(
            f"this API key's account {key.account} is not an active account of any member "
            "(the council removed it or its member, or never admitted it)",
            account=key.account,
        )
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


PreferHeader = Annotated[
    str | None,
    Header(
        alias="Prefer",
        max_length=200,
        description=(
            "`respond-async` (RFC 7240): answer 202 Accepted as soon as the transaction is signed and "
            "sent, with `Location: /api/v1/tx/{hash}`, instead of waiting for the confirmations."
        ),
    ),
]

#: The status resource of a transaction answered 202.
TX_STATUS_PATH = "/api/v1/tx/{tx_hash}"


def wants_async(request: Request) -> bool:
    """Whether the caller sent ``Prefer: respond-async`` (RFC 7240; other preferences ignored)."""
    for value in request.headers.getlist("prefer"):
        for pref in value.split(","):
            if pref.split(";", 1)[0].strip().lower() == "respond-async":
                return True
    return False


def accepted_body(tx_hash: str) -> tuple[int, dict[str, object]]:
    """The 202 answer for a transaction sent without waiting."""
    from api.schemas.tx import TxAccepted

    url = TX_STATUS_PATH.format(tx_hash=tx_hash)
    return 202, TxAccepted(tx_hash=tx_hash, status_url=url).model_dump(mode="json")


def accepted(state: ServiceState, pending: Pending) -> tuple[int, dict[str, object]]:
    """The 202 answer for ``pending``; its signed bytes are kept to send again if a node loses them."""
    state.remember_sent(pending.tx_hash, pending.raw)
    return accepted_body(pending.tx_hash)


def _caught_up(state: ServiceState, respond: Respond, receipt: TxReceipt) -> tuple[int, dict[str, object]]:
    state.catch_up(receipt.block_number)
    return respond(receipt)


def run_write(
    state: ServiceState,
    caller: Caller,
    request: Request,
    idempotency_key: str | None,
    body: object,
    start: Start,
    respond: Respond,
    texts: TextJournal | None = None,
) -> tuple[int, dict[str, object]]:
    """Run a write through the idempotency store (when a key is given); returns (status, body).

    ``start(journal)`` signs and sends the request's one write with ``journal``
    (``ledger.send(signer, call, journal)``) and returns the :class:`~ledger.tx.Pending`;
    ``respond(receipt)`` builds the answer from the receipt. ``texts``: the journal of the
    write's off-chain texts (kept pending from the moment it is signed). With
    ``Prefer: respond-async`` the answer is 202 and :func:`accepted_body` as soon as the
    transaction is sent, and nothing waits for it. The index is not caught up here: the
    follower does it, and reads wait for the block of every write already answered
    (:attr:`ServiceState.index`).
    """
    from api.idempotency import fingerprint

    state.check_chain()
    detach = wants_async(request)
    answer = functools.partial(_caught_up, state, respond)
    try:
        if idempotency_key is None:
            pending = start(texts)
            return accepted(state, pending) if detach else answer(pending.wait())
        fp = fingerprint(request.method, request.url.path, body)
        outcome = state.idempotency.execute(
            caller.key.key_id, idempotency_key, fp, start, answer,
            functools.partial(accepted, state) if detach else None, texts,
        )
    except ContractReverted as exc:
        if texts is not None:
            texts.reverted(exc)  # mined and reverted: its pending texts go
        raise
    return outcome.status_code, outcome.body


def _dumped(
    respond: Callable[[TxReceipt], BaseModel], status_code: int, receipt: TxReceipt
) -> tuple[int, dict[str, object]]:
    out: dict[str, object] = respond(receipt).model_dump(mode="json")
    return status_code, out


def write_json(
    state: ServiceState,
    caller: Caller,
    request: Request,
    key: str | None,
    body: object,
    start: Start,
    respond: Callable[[TxReceipt], BaseModel],
    status_code: int = 200,
    texts: TextJournal | None = None,
) -> JSONResponse:
    """Run a write (idempotently when ``key`` is given) and answer ``respond(receipt)`` as JSON.

    A 202 (``Prefer: respond-async``) carries ``Location`` and ``Preference-Applied``.
    """
    answer = functools.partial(_dumped, respond, status_code)
    code, out = run_write(state, caller, request, key, body, start, answer, texts)
    headers: dict[str, str] = {}
    if code == 202:
        headers = {"Location": str(out["status_url"]), "Preference-Applied": "respond-async"}
    return JSONResponse(out, status_code=code, headers=headers)
