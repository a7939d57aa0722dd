"""Build the FastAPI app: routers per domain, one problem handler, the service state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import portal, problems
from api.middleware import BodyLimitMiddleware, RateLimiter
from api.routers import audit as audit_routers
from api.routers import data as data_routers
from api.routers import fund as fund_routers
from api.routers import health, membership
from api.settings import Settings, get_settings
from api.state import ServiceState

log = logging.getLogger("api")


def create_app(settings: Settings | None = None, state: ServiceState | None = None) -> FastAPI:
    """The application. Tests pass their own settings (or a prepared state)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = state or ServiceState.build(settings)
        app.state.service = svc
        svc.start_index()
        try:
            yield
        finally:
            svc.close()

    app = FastAPI(
        title="CoGov Ledger API",
        version="0.1.0",
        description=(
            "Inter-department data sharing under on-chain grants, and the community "
            "co-governance fund (社区共治基金). Writes are signed with the caller's "
            "account; every answer that changed the chain carries the transaction hash."
        ),
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    problems.install(app)
    app.include_router(health.router)
    app.include_router(membership.members_router)
    app.include_router(membership.council_router)
    for r in (data_routers.datasets_router, data_routers.requests_router, data_routers.grants_router, data_routers.access_log_router):
        app.include_router(r)
    app.include_router(fund_routers.router)
    app.include_router(portal.public_api_router)
    app.include_router(portal.pages_router)
    app.mount("/static", portal.static_files(), name="static")
    app.include_router(audit_routers.router)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory api.main:app_factory``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app()
