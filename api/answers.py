"""API list answers kept as their JSON bytes per index version, with a strong ETag.

``@kept()`` on a list route (under its ``@router.get``): the route's answer is computed once
per index version and per key (the route's path, its query string with the parameters sorted,
and the caller's visibility: the API key's role and account, or anonymous), serialised once
(later requests skip the response model's validation and serialisation), and answered from
those bytes; ``If-None-Match`` naming the current ETag answers 304. A new indexed block (or a
reorg) changes the index's version and so every kept answer.

The caller is still checked at every request: the route's dependencies (the API key: known,
not revoked, an active account) run before the kept answer is looked up; only the answer is
kept, never the verdict on the key.

A hit is answered on the event loop (no thread-pool hop); a miss, and a read that must first
wait for the index to reach a write this service answered, run in the thread pool.
``clock``: a further part of the key read for each request in the thread pool (the fund's
contributions, projects and motions: the head block's time, by which the contract decides
motions and refunds at deadlines). Texts the document store settles after their event (a
writer that stopped between sending and recording) show from the next index version, as on
the portal's pages.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, get_type_hints

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.services.index import cache_of, index_for
from api.state import ServiceState
from ledger.logs import head_time

F = TypeVar("F", bound=Callable[..., Any])

#: Kept answers per index (least recently used out).
KEPT_ANSWERS = 1024

_REQUEST = "kept_request__"


def answer_key(request: Request, extra: Hashable = None) -> Hashable:
    """What a kept answer depends on besides the index's version."""
    key = getattr(request.state, "api_key", None)
    who = None if key is None else (int(key.role), str(key.account).lower())
    query = tuple(sorted(request.query_params.multi_items()))
    return ("api", request.url.path, query, who, extra)


def head_clock(state: ServiceState) -> Hashable:
    """The head block's time: the fund's lists show motions and projects as the contract decides
    them at it (a chain call per request, as before)."""
    return head_time(state.ledger)


def etag_of(version: Hashable, key: Hashable, body: bytes) -> str:
    return '"' + hashlib.sha256(repr((version, key)).encode() + body).hexdigest()[:32] + '"'


def _answer(request: Request, body: bytes, etag: str) -> Response:
    if not etag:  # not kept (no index)
        return Response(body, media_type="application/json")
    headers = {"ETag": etag, "Vary": "Authorization", "Cache-Control": "private, no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def kept(clock: Callable[[ServiceState], Hashable] | None = None, exclude_unset: bool = False) -> Callable[[F], F]:
    """Keep the decorated list route's answers (see the module's text); ``exclude_unset`` as the
    route's ``response_model_exclude_unset``."""

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

        def build(kwargs: dict[str, Any], version: Hashable, key: Hashable) -> Callable[[], tuple[bytes, str]]:
            def run() -> tuple[bytes, str]:
                body = answer_of(kwargs)
                return body, etag_of(version, key, body)

            return run

        def slow(request: Request, kwargs: dict[str, Any]) -> tuple[bytes, str]:
            state: ServiceState = request.app.state.service
            if state.index is None:  # nothing to keep it by: the route answers as it can (a 503 for most)
                return answer_of(kwargs), ""
            index = index_for(state)  # waits for the index to hold this service's answered writes
            version = index.version()
            key = answer_key(request, None if clock is None else clock(state))
            kept_answers = cache_of(index, "kept", KEPT_ANSWERS)
            answer: tuple[bytes, str] = kept_answers.get(version, key, build(kwargs, version, key))
            return answer

        @functools.wraps(fn)
        async def endpoint(**kwargs: Any) -> Response:
            request: Request = kwargs.pop(_REQUEST)
            state: ServiceState = request.app.state.service
            index = state.index_if_current() if clock is None else None
            if index is not None:
                version = index.version()
                key = answer_key(request)
                hit: tuple[bytes, str] | None = cache_of(index, "kept", KEPT_ANSWERS).peek(version, key)
                if hit is not None:
                    return _answer(request, *hit)
            body, etag = await run_in_threadpool(slow, request, kwargs)
            return _answer(request, body, etag)

        del endpoint.__wrapped__  # FastAPI reads the signature below, not the wrapped function's
        endpoint.__signature__ = sig.replace(parameters=params, return_annotation=Response)  # type: ignore[attr-defined]
        endpoint.__annotations__ = {}
        return endpoint  # type: ignore[return-value]

    return wrap


