"""FastAPI dependencies as ``Annotated`` aliases: settings, state, the caller, the write's headers
(:class:`WriteRequest`: the write's session, :func:`json_answer`: its answer as JSON).

The path and query parameters the routers share live in :mod:`api.params`; they are
re-exported here for the routers that still import them from this module."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated, Generic, Protocol, TypeVar, cast

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.apikeys import ApiKey
from api.idempotency import Answer, WriteSession, fingerprint, unkept
from api.middleware import limit_anonymous
from api.params import Id as Id
from api.params import IdFilter as IdFilter
from api.params import Limit as Limit
from api.params import Offset as Offset
from api.params import Since as Since
from api.params import Until as Until
from api.params import id_query as id_query
from api.settings import Settings, get_settings
from api.state import ServiceState
from ledger.client import Ledger
from ledger.errors import AccessDenied, LedgerError, Unauthenticated
from ledger.fund.docs import TextJournal
from ledger.keys import Signer
from ledger.membership import AccountInfo, Registry, Role

log = logging.getLogger("api")

SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cgv_...`")


async def get_state(request: Request) -> ServiceState:  # no I/O: no thread-pool hop
    state: ServiceState = request.app.state.service
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_ledger(state: StateDep) -> Ledger:  # no I/O: no thread-pool hop
    return state.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


class AccountChecks:
    """Whether API keys' accounts are active accounts of a member, as the registry says
    (``accountInfo``: one call), each answer reused for ``ttl`` seconds per account.

    The front door (:mod:`api.answers`) takes an answer past half its ``ttl`` with :meth:`peek`,
    which asks again in the background (one thread per account at a time), so that a busy key's
    answer is renewed before it lapses: without that, every request of the key arriving in the
    moment it lapsed went to its route and asked the chain (a burst every ``ttl``, the longest
    waits of a steady load). An answer is never used past its ``ttl``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, AccountInfo]] = {}
        self._renewing: set[str] = set()

    def info(self, ledger: Ledger, account: str, ttl: float) -> AccountInfo:
        key = account.lower()
        with self._lock:
            hit = self._seen.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        return self._ask(ledger, key, account)

    def peek(self, ledger: Ledger, account: str, ttl: float) -> AccountInfo | None:
        """The answer :meth:`info` would reuse now (asked again in the background past half its
        ``ttl``); None when :meth:`info` would ask the chain."""
        key = account.lower()
        with self._lock:
            hit = self._seen.get(key)
            if hit is None:
                return None
            age = time.monotonic() - hit[0]
            if age >= ttl:
                return None
            if age >= ttl / 2 and key not in self._renewing:
                self._renewing.add(key)
                threading.Thread(target=self._renew, args=(ledger, key, account), daemon=True,
                                 name="account-check").start()
        return hit[1]

    def _ask(self, ledger: Ledger, key: str, account: str) -> AccountInfo:
        asked = time.monotonic()  # the answer is as old as the question
        info = Registry(ledger).account_info(account)
        with self._lock:
            self._seen[key] = (asked, info)
        return info

    def _renew(self, ledger: Ledger, key: str, account: str) -> None:
        try:
            self._ask(ledger, key, account)
        except LedgerError as exc:  # the next request past the ttl asks again, and answers the error
            log.info("account check of %s not renewed: %s", account, exc)
        finally:
            with self._lock:
                self._renewing.discard(key)


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
    return admit_key(request, state, state.apikeys.verify(creds.credentials))


def admit_key(request: Request, state: ServiceState, key: ApiKey) -> ApiKey:
    """``key`` (verified, not revoked) admitted for this request: within its rate limit, and its
    account an active account of an active member now. The API's bearer keys and the console's
    sessions (:mod:`api.console.auth`) both pass here."""
    request.state.api_key_id = key.key_id
    request.state.api_key = key  # whose visibility a kept answer is for (api/answers.py)
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


def optional_key(
    request: Request,
    state: StateDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey | None:
    """The caller's API key when the request sends one (checked as :func:`current_key` checks it:
    a bad key is a 401, not an anonymous caller); None for an anonymous caller, who is held to the
    anonymous rate limit per address."""
    if creds is None:
        limit_anonymous(request)
        return None
    return current_key(request, state, creds)


#: Routes that answer anonymous callers too (what they show may depend on the key).
OptionalKey = Annotated[ApiKey | None, Depends(optional_key)]


class Caller:
    """The authenticated caller: their key record and signing account."""

    def __init__(self, key: ApiKey, state: ServiceState) -> None:
        self.key = key
        self.role: Role = key.role
        self.account: str = key.account
        self._state = state

    def signer(self) -> Signer:
        return self._state.signer_for(self.key.key_label)


async def current_caller(key: CurrentKey, state: StateDep) -> Caller:  # no I/O: no thread-pool hop
    return Caller(key, state)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


class RoleCheck(Protocol):
    """What :func:`require_role` makes: the dependency, and the roles it admits (``roles``: who
    may call a route, read from the app itself, as bench/http_reads.py does)."""

    roles: tuple[Role, ...]

    def __call__(self, caller: Caller) -> Caller: ...


def require_role(*roles: Role) -> RoleCheck:
    """A dependency admitting only API keys of one of ``roles`` (403 otherwise)."""

    def _dep(caller: CurrentCaller) -> Caller:
        if caller.role not in roles:
            raise AccessDenied(
                f"this action needs the {' or '.join(r.name.lower() for r in roles)} role; "
                f"this API key has {caller.role.name.lower()}",
            )
        return caller

    check = cast(RoleCheck, _dep)
    check.roles = roles
    return check


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


def wants_async(request: Request) -> bool:
    """Whether the caller sent ``Prefer: respond-async`` (RFC 7240; other preferences ignored)."""
    for value in request.headers.getlist("prefer"):
        for pref in value.split(","):
            if pref.split(";", 1)[0].strip().lower() == "respond-async":
                return True
    return False


@dataclass(frozen=True)
class WriteRequest:
    """How the HTTP request asks its write to run: its ``Idempotency-Key``, whether it answers
    202 (``Prefer: respond-async``), and what it is (method and path, for the fingerprint)."""

    method: str
    path: str
    key: str | None
    detach: bool

    def session(
        self, state: ServiceState, caller: Caller, body: object, texts: TextJournal | None = None
    ) -> AbstractContextManager[WriteSession]:
        """The write's session (:mod:`api.idempotency`), kept in the store when a key was given;
        ``body`` is what the fingerprint covers, ``texts`` the write's off-chain texts."""
        state.check_chain()
        if self.key is None:
            return unkept(state, detach=self.detach, texts=texts)
        fp = fingerprint(self.method, self.path, body)
        return state.idempotency.session(caller.key.key_id, self.key, fp, state, detach=self.detach, texts=texts)


def write_request(request: Request, idempotency_key: IdempotencyKey = None) -> WriteRequest:
    return WriteRequest(request.method, request.url.path, idempotency_key, wants_async(request))


WriteDep = Annotated[WriteRequest, Depends(write_request)]


def json_answer(answer: Answer) -> JSONResponse:
    """A write's answer as JSON; a 202 carries ``Location`` and ``Preference-Applied``."""
    status_code, body = answer
    headers: dict[str, str] = {}
    if status_code == 202:
        headers = {"Location": str(body["status_url"]), "Preference-Applied": "respond-async"}
    return JSONResponse(body, status_code=status_code, headers=headers)
