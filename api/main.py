"""Build the FastAPI app: routers per domain, one problem handler, the service state."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from api import console, portal, problems
from api.answers import FrontDoor, FrontPaths
from api.middleware import BodyLimitMiddleware, RateLimiter
from api.problems import PROBLEM
from api.routers import access_log_proofs, health, membership, open311, tx
from api.routers import audit as audit_routers
from api.routers import cases as case_routers
from api.routers import catalog as catalog_router
from api.routers import data as data_routers
from api.routers import fund as fund_routers
from api.services.data import start_gateway
from api.settings import LedgerSettings, get_settings, service_settings
from api.state import ServiceState

log = logging.getLogger("api")


def create_app(settings: LedgerSettings | None = None, state: ServiceState | None = None) -> FastAPI:
    """The application. Tests pass their own settings (or a prepared state)."""
    settings = service_settings(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run on AnyIO's default limiter (one per event loop), 40 threads unless sized
        # here: each waiting write holds one until its receipt (COGOV_API_THREADS).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        svc = state or ServiceState.build(settings)
        app.state.service = svc
        svc.start_index()
        start_gateway(svc)  # anchors what a previous run's access logs left pending
        # What start-up built (routes, models, ABIs, the state) lives as long as the process: out of
        # the collector's full passes, which walked it with the GIL held (bench/NOTES.md).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            svc.close()
            gc.unfreeze()  # another app in this process (tests) is collected as usual

    app = FastAPI(
        title="CoGov Ledger API",
        version="0.1.0",
        description=(
            "Inter-department data sharing under on-chain grants, and the community "
            "co-governance fund (社区共治基金). Writes are signed with the caller's "
            "account; every answer that changed the chain carries the transaction hash.\n\n"
            "Writes that take an `Idempotency-Key` also honour `Prefer: respond-async` (RFC 7240): "
            "the answer is then 202 Accepted as soon as the transaction is signed and sent, with "
            "`Location: /api/v1/tx/{hash}`; `GET /api/v1/tx/{hash}` tells pending, mined, confirmed "
            "(at the configured depth) or failed (the problem the synchronous answer would have been). "
            "A revert is answered with the same problem+json whether it was refused before sending "
            "or mined (`COGOV_PREFLIGHT=false`; then its hash is in the `Cogov-Tx-Hash` header)."
        ),
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.anonymous_limiter = RateLimiter(settings.anonymous_rate_limit_per_minute)  # the portal, per address
    # residents' reports (Open311), per client: a small burst, refilled per hour
    app.state.report_limiter = RateLimiter(settings.open311_reports_per_hour / 60, burst=settings.open311_report_burst)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.front = FrontPaths()
    app.add_middleware(FrontDoor, front=app.state.front)  # the outermost: kept answers before routing
    problems.install(app)
    app.include_router(health.router)
    app.include_router(tx.router)
    app.include_router(membership.members_router)
    app.include_router(membership.council_router)
    for r in (
        data_routers.datasets_router,
        data_routers.requests_router,
        data_routers.grants_router,
        data_routers.access_log_router,
        access_log_proofs.router,
    ):
        app.include_router(r)
    app.include_router(catalog_router.router)
    app.include_router(fund_routers.router)
    app.include_router(case_routers.router)
    app.include_router(portal.public_api_router)
    app.include_router(portal.pages_router)
    console.install(app)
    app.mount("/static", portal.static_files(), name="static")
    app.include_router(audit_routers.router)
    app.include_router(open311.router)
    app.include_router(open311.discovery_router)
    _document_async_writes(app)
    return app


def _document_async_writes(app: FastAPI) -> None:
    """In the OpenAPI schema, every idempotent write (the routes taking ``api.deps.WriteDep``,
    recognised by their ``Idempotency-Key`` header) also takes ``Prefer`` and may answer 202."""
    from fastapi.openapi.utils import get_openapi

    from api.schemas.tx import TxAccepted

    def openapi() -> dict[str, object]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["TxAccepted"] = TxAccepted.model_json_schema(ref_template="#/components/schemas/{model}")
        _document_problems(schema)
        prefer = {
            "name": "Prefer",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 200, "examples": ["respond-async"]},
            "description": (
                "`respond-async` (RFC 7240): answer 202 as soon as the transaction is signed and sent, "
                "with `Location: /api/v1/tx/{hash}`, instead of waiting for the confirmations."
            ),
        }
        accepted = {
            "description": "Sent, not yet confirmed (`Prefer: respond-async`): follow `Location`",
            "headers": {
                "Location": {"schema": {"type": "string"}, "description": "/api/v1/tx/{hash}"},
                "Preference-Applied": {"schema": {"type": "string"}, "description": "respond-async"},
            },
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TxAccepted"}}},
        }
        for ops in schema.get("paths", {}).values():
            for method, op in ops.items():
                if method not in ("post", "put", "patch", "delete"):
                    continue
                params = op.get("parameters", [])
                if any(p.get("name") == "Idempotency-Key" and p.get("in") == "header" for p in params):
                    op["parameters"] = [*params, prefer]
                    op.setdefault("responses", {})["202"] = accepted
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


#: Why each error status is answered (the body is always a Problem, application/problem+json).
PROBLEM_STATUSES = {
    401: "No API key, or a key that matches nobody (revoked, unknown)",
    403: "The key's role or account may not do this (or the account is no longer an active member's)",
    404: "No such record",
    409: "The chain's rules refuse it (the contract's custom error is named)",
    413: "The request body is too large",
    422: "The request is invalid: `errors` says where (a value outside what the index and the chain hold, too)",
    429: "Too many requests: wait `Retry-After` seconds",
    500: "An unexpected error (logged; no internals in the answer)",
    503: "The chain does not answer, or is not the deployment's chain: retry after `Retry-After` seconds",
}


def _problem_statuses(path: str, method: str, op: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer, from what it takes."""
    codes = {429, 500, 503}
    if op.get("parameters") or op.get("requestBody"):
        codes.add(422)
    if op.get("security"):
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    if method in ("post", "put", "patch", "delete"):
        codes |= {403, 404, 409, 413}
    return sorted(codes)


def _document_problems(schema: dict[str, Any]) -> None:
    """Every operation declares each error status it can answer, with the Problem body
    (``application/problem+json``); FastAPI's own 422 (``HTTPValidationError``) is replaced. The
    Open311 routes declare their own errors (GeoReport v2's format: api/routers/open311.py)."""
    from api.schemas.common import Problem

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}).items():
        components[name] = sub
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["Problem"].pop("$defs", None)
    body = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, ops in schema.get("paths", {}).items():
        if path.startswith(open311.ROOT + "/"):  # never a 422: GeoReport's invalid request is a 400
            for op in ops.values():
                op.get("responses", {}).pop("422", None)
            continue
        for method, op in ops.items():
            responses = op.setdefault("responses", {})
            for status in _problem_statuses(path, method, op):
                if str(status) not in responses or status == 422:
                    responses[str(status)] = {"description": PROBLEM_STATUSES[status], "content": body}
            for status, declared in responses.items():
                problem_body = not declared.get("content") or "schemas/Problem" in str(declared["content"])
                if int(status) >= 400 and problem_body:
                    declared["content"] = body  # the route's own description; the body is a Problem
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory api.main:app_factory``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app()
