"""Request body limit (413), and rate limiting per API key and per anonymous client address (429 with Retry-After)."""

from __future__ import annotations

import ipaddress
import math
import threading
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import TooManyRequests


class RateLimiter:
    """A token bucket per key (an API key; an anonymous client's address): ``burst`` requests
    (``per_minute`` unless given), refilled continuously at ``per_minute``. Buckets that have
    filled up again are dropped once there are more than ``max_keys`` (a full bucket and no
    bucket are the same)."""

    def __init__(self, per_minute: float, max_keys: int = 100_000, burst: int | None = None) -> None:
        self.per_minute = per_minute
        self.capacity = float(burst if burst is not None else per_minute)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise TooManyRequests(max(1, math.ceil((1.0 - tokens) / rate)))
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_keys:
                self._prune(now, rate)

    def _prune(self, now: float, rate: float) -> None:
        full = self.capacity
        for k, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * rate >= full:
                del self._buckets[k]


def client_address(request: Request) -> str:
    """Who an anonymous request is, for its rate limit: the client's IP address (the proxy's
    forwarded address when uvicorn is told to trust it: ``--forwarded-allow-ips``); an IPv6
    client by its /64 network, the smallest block one subscriber is given."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def limit_anonymous(request: Request) -> None:
    """A dependency for the routes that take no API key (the portal, its public JSON): one token
    bucket per client address (``COGOV_ANONYMOUS_RATE_LIMIT_PER_MINUTE``), 429 with ``Retry-After``
    beyond it. It holds whatever the request carries: an ``Authorization`` header does not matter here."""
    limiter = getattr(request.app.state, "anonymous_limiter", None)
    if limiter is not None:
        limiter.check(client_address(request))


async def anonymous_limit(request: Request) -> None:
    """:func:`limit_anonymous` as a route dependency: no I/O, so on the event loop (a sync
    dependency costs every request a thread-pool hop)."""
    limit_anonymous(request)


class BodyLimitMiddleware:
    """Answer 413 to bodies over ``max_bytes``, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > self.max_bytes:
                        await self._reject(send)
                        return
                except ValueError:
                    pass
        received = 0
        too_big = False

        async def limited() -> Message:
            nonlocal received, too_big
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_big = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        import json

        body = json.dumps(
            {
                "type": "urn:cogov:problem:too-large",
                "title": "Content Too Large",
                "status": 413,
                "detail": f"request body exceeds {self.max_bytes} bytes",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(BaseException):
    """Not an ``Exception``: FastAPI turns any ``Exception`` raised while reading the body into a
    400 ("error parsing the body"); this must reach :class:`BodyLimitMiddleware` to become a 413."""
