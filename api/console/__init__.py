"""The member console (``/console``): where members act, signed in with their API key.

Built on the same services as the API (``api/services``) and the portal's templates and
languages; see docs/console.md for how a page is added.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.console import (
    audit_pages,
    case_pages,
    committee_pages,
    council_pages,
    data_pages,
    fund_pages,
    governance_pages,
    routes,
    treasurer_pages,
)
from api.console.auth import SignInNeeded, sign_in_answer


def install(app: FastAPI) -> None:
    """Mount the console's routes (its static files are the app's ``/static/console``)."""
    app.include_router(routes.router)
    app.include_router(data_pages.router)
    app.include_router(governance_pages.router)
    app.include_router(council_pages.router)
    app.include_router(fund_pages.router)
    app.include_router(committee_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(treasurer_pages.router)
    app.include_router(case_pages.router)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return sign_in_answer(request, exc)
