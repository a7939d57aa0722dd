"""API list answers kept as their JSON bytes per index version, with a strong ETag; the front door
that serves kept answers (these, and the portal's pages) before routing.

``@kept()`` on a list route (under its ``@router.get``): the route's answer is computed once
per index version and per key (the route's path, its query string with the parameters sorted,
and the caller's visibility: the API key's role and account, or anonymous), serialised once
(later requests skip the response model's validation and serialisation), and answered from
those bytes; ``If-None-Match`` naming the current ETag answers 304. A new indexed block (or a
reorg) changes the index's version and so every kept answer. Deadlines in a list are decided
at the indexed block's time (api/services/fund.py), so an answer depends on the version alone.
A route whose answer also depends on the service database says how to read a mark of what it
reads there (``@kept(also=...)``: the residents' reports queue, by
:meth:`~api.open311.store.ReportStore.version`); the mark is read before the answer is made and
is part of its key, here and at the front door, so a change there (a new report, by any process)
is never answered from before it.

**The front door** (:class:`FrontDoor`, the outermost middleware). Every answer kept this way
is also filed under what the request itself says: its path, its raw query string, the caller
(the role and account of its API key; anonymous without an ``Authorization`` header) and its
``lang`` cookie. A later ``GET`` saying the same is answered from that file before routing,
dependency resolution, query validation and the thread pool — but only after the checks the
route would make, every time:

* the API key: known and not revoked, read from the service database unless this process read
  it and nothing was committed there since (:class:`~api.apikeys.KeptVerdicts`: a revocation
  by another process ends it at once); its rate limit; its account an active member's, by the
  answer the route itself would reuse (:class:`~api.deps.AccountChecks`; stale: the route asks);
* anonymous callers: the per-address rate limit;
* the index: current for every write this service answered (else the route waits for it),
  at the same version as the filed answer;
* the route's other mark (``also``), when it has one: the same as the filed answer's.

Whatever the front door cannot decide (a 429, a key it does not know, a stale account check,
another version) goes to the route, which answers as before. An answer is only ever filed by
the route that computed it for that caller, so one caller's view never reaches another.

A miss, and a read that must first wait for the index to reach a write this service answered,
run in the thread pool. Texts the document store settles after their event (a writer that
stopped between sending and recording) show from the next index version, as on the portal's pages.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import account_checks
from api.middleware import client_address
from api.problems import TooManyRequests
from api.services.index import cache_of, index_for
from api.state import ServiceState
from ledger.errors import LedgerError
from ledger.index import Indexer

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("api")

#: Kept answers per index (least recently used out).
KEPT_ANSWERS = 1024
#: Answers filed for the front door per index (least recently used out).
FRONT_ANSWERS = 2048

_REQUEST = "kept_request__"
_API_HEADERS = ((b"vary", b"Authorization"), (b"cache-control", b"private, no-cache"))


@dataclass(frozen=True)
class Kept:
    """A kept answer as the front door sends it: the body, its ETag, its media type and its
    other headers (``Content-Language``, ``Set-Cookie`` …)."""

    body: bytes
    etag: str
    media_type: str
    headers: tuple[tuple[bytes, bytes], ...] = ()

    def start(self, if_none_match: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body: 304 when ``If-None-Match`` names the ETag."""
        headers = [(b"etag", self.etag.encode()), *self.headers]
        if self.etag in if_none_match:
            return 304, headers, b""
        headers += [(b"content-type", self.media_type.encode()), (b"content-length", str(len(self.body)).encode())]
        return 200, headers, self.body

    def response(self, request: Request) -> Response:
        status, headers, body = self.start(request.headers.get("if-none-match", ""))
        response = Response(body, status_code=status)
        response.raw_headers = headers
        return response


#: What a kept answer depends on besides the index (see ``kept``'s ``also``): a mark of it now.
Also = Callable[[ServiceState], Hashable]


class FrontPaths:
    """The paths the front door looks at (those with an answer filed), each with its route's
    ``also`` (None: the index alone): every other request passes it with one dict look-up."""

    def __init__(self) -> None:
        self.paths: dict[str, Also | None] = {}


def _cookie_lang(headers: list[tuple[bytes, bytes]] | Any) -> str | None:
    for name, value in headers:
        if name == b"cookie":
            from starlette.requests import cookie_parser

            lang: str | None = cookie_parser(value.decode("latin-1")).get("lang")
            return lang
    return None


def file_answer(request: Request, index: Indexer, version: Hashable, kept: Kept, also: Also | None = None,
                mark: Hashable = None) -> None:
    """File ``kept``, the answer the route just made for ``request`` from ``index`` at ``version``
    (and ``also``'s ``mark``, read before it), for the front door. The caller is the route's
    verified API key, or anonymous when the request sent no ``Authorization`` at all (a route
    that ignored one files nothing)."""
    front: FrontPaths | None = getattr(request.app.state, "front", None)
    if front is None:
        return
    key = getattr(request.state, "api_key", None)
    if key is not None:
        who: Hashable = (int(key.role), str(key.account).lower())
    elif "authorization" in request.headers:
        return
    else:
        who = None
    scope = request.scope
    filed = (scope["path"], scope.get("query_string", b""), who, _cookie_lang(scope["headers"]), mark)
    cache_of(index, "front", FRONT_ANSWERS).put(version, filed, kept)
    front.paths[scope["path"]] = also


class FrontDoor:
    """Kept answers served before routing (see the module's text); everything else passes."""

    def __init__(self, app: ASGIApp, front: FrontPaths) -> None:
        self.app = app
        self.front = front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in self.front.paths:
            try:
                found = await self._kept(scope)
            except Exception as exc:  # never worse than the route: it answers (an unavailable index, a lost file)
                log.debug("front door: %s", exc)
                found = None
            if found is not None:
                status, headers, body = found
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _kept(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        app = scope["app"]
        state: ServiceState | None = getattr(app.state, "service", None)
        if state is None:
            return None
        authorization = if_none_match = None  # the first of each, as the route reads them
        for name, value in scope["headers"]:
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"if-none-match" and if_none_match is None:
                if_none_match = value
        key = None
        if authorization is not None:
            scheme, _, token = authorization.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            key = state.apikeys.verified(token)
            if key is None:  # not known here, or the database changed since: read it (a revoked key: the route's 401)
                try:
                    key = await run_in_threadpool(state.apikeys.verify, token)
                except LedgerError:
                    return None
        index = state.index_if_current()
        if index is None:
            return None
        who = None if key is None else (int(key.role), key.account.lower())
        also = self.front.paths.get(scope["path"])
        mark = None if also is None else also(state)
        filed = (scope["path"], scope.get("query_string", b""), who, _cookie_lang(scope["headers"]), mark)
        kept: Kept | None = cache_of(index, "front", FRONT_ANSWERS).peek(index.version(), filed)
        if kept is None:
            return None
        try:
            if key is None:
                limiter = getattr(app.state, "anonymous_limiter", None)
                if limiter is not None:
                    limiter.check(client_address(Request(scope)))
            else:
                limiter = getattr(app.state, "limiter", None)
                if limiter is not None:
                    limiter.check(key.key_id)
                ttl = state.settings.account_check_seconds
                info = account_checks(state.ledger).peek(state.ledger, key.account, ttl)
                if info is None or not info.active:
                    return None
        except TooManyRequests:
            return None  # the route answers the 429 (and counts nothing twice: a refused request takes no token)
        return kept.start((if_none_match or b"").decode("latin-1"))


def answer_key(request: Request) -> Hashable:
    """What a kept answer depends on besides the index's version."""
    key = getattr(request.state, "api_key", None)
    who = None if key is None else (int(key.role), str(key.account).lower())
    query = tuple(sorted(request.query_params.multi_items()))
    return ("api", request.url.path, query, who)


def etag_of(version: Hashable, key: Hashable, body: bytes) -> str:
    return '"' + hashlib.sha256(repr((version, key)).encode() + body).hexdigest()[:32] + '"'


def kept(exclude_unset: bool = False, also: Also | None = None) -> Callable[[F], F]:
    """Keep the decorated list route's answers (see the module's text); ``exclude_unset`` as the
    route's ``response_model_exclude_unset``; ``also``: what the answer depends on besides the
    index, as a mark read before the answer is made (None: the index alone)."""

    def wrap(fn: F) -> F:
        hints = get_type_hints(fn, include_extras=True)
        sig = inspect.signature(fn)
        params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]
        params.append(inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request))

        def answer_of(kwargs: dict[str, Any]) -> bytes:
            result = fn(**kwargs)
            if isinstance(result, BaseModel):
                body: bytes = result.__pydantic_serializer__.to_json(result, by_alias=True, exclude_unset=exclude_unset)
                return body
            if isinstance(result, bytes):
                return result  # already its JSON
            raise TypeError(f"{fn.__name__}: a kept route returns its response model or its JSON bytes")

        def build(kwargs: dict[str, Any], version: Hashable, key: Hashable) -> Callable[[], Kept]:
            def run() -> Kept:
                body = answer_of(kwargs)
                return Kept(body, etag_of(version, key, body), "application/json", _API_HEADERS)

            return run

        def key_of(request: Request, mark: Hashable) -> Hashable:
            return answer_key(request) if also is None else (answer_key(request), mark)

        def slow(request: Request, kwargs: dict[str, Any]) -> Response:
            state: ServiceState = request.app.state.service
            if state.index is None:  # nothing to keep it by: the route answers as it can (a 503 for most)
                return Response(answer_of(kwargs), media_type="application/json")
            index = index_for(state)  # waits for the index to hold this service's answered writes
            version = index.version()
            mark = None if also is None else also(state)  # before the answer: a later change gives another
            key = key_of(request, mark)
            answer: Kept = cache_of(index, "kept", KEPT_ANSWERS).get(version, key, build(kwargs, version, key))
            file_answer(request, index, version, answer, also, mark)
            return answer.response(request)

        @functools.wraps(fn)
        async def endpoint(**kwargs: Any) -> Response:
            request: Request = kwargs.pop(_REQUEST)
            state: ServiceState = request.app.state.service
            index = state.index_if_current()
            if index is not None:
                version = index.version()
                mark = None if also is None else also(state)
                hit: Kept | None = cache_of(index, "kept", KEPT_ANSWERS).peek(version, key_of(request, mark))
                if hit is not None:
                    file_answer(request, index, version, hit, also, mark)
                    return hit.response(request)
            return await run_in_threadpool(slow, request, kwargs)

        del endpoint.__wrapped__  # FastAPI reads the signature below, not the wrapped function's
        endpoint.__signature__ = sig.replace(parameters=params, return_annotation=Response)  # type: ignore[attr-defined]
        endpoint.__annotations__ = {}
        return endpoint  # type: ignore[return-value]

    return wrap
