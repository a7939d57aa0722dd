"""/open311/v2: Open311 GeoReport v2, the standard interface for residents' reports, so existing
clients work (docs/open311.md says what is implemented and what is left out).

Thin: each route parses, calls :mod:`api.services.reports` and renders JSON or XML by the
resource's suffix (:mod:`api.open311.formats`). No API key is needed to read; a report may carry
one (``api_key``). Every error of these routes is in the specification's format, not
problem+json (:class:`~api.open311.formats.Open311Route`). Reads are limited per address
(``COGOV_ANONYMOUS_RATE_LIMIT_PER_MINUTE``), reports per client (``COGOV_OPEN311_REPORTS_PER_HOUR``
and ``COGOV_OPEN311_REPORT_BURST``).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response

from api.deps import StateDep
from api.middleware import anonymous_limit, client_address
from api.open311.formats import Format, Open311Route, render, render_one
from api.portal.i18n import pick
from api.schemas.open311 import (
    Discovery,
    Open311Error,
    ReportCreate,
    RequestCreated,
    RequestPublic,
    ServiceDefinition,
    ServicePublic,
)
from api.services import reports

ROOT = "/open311"  # the discovery file
PREFIX = ROOT + "/v2"  # GeoReport v2

_XML = {"text/xml": {"schema": {"type": "string", "description": "The same, as GeoReport v2's XML."}}}
_ERROR = {"model": list[Open311Error], "content": _XML}
#: Every route's error answers, in GeoReport v2's format (JSON, or XML for a .xml resource).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The request is invalid (each error says which argument)", **_ERROR},
    403: {"description": "The api_key is unknown or revoked (or one is required)", **_ERROR},
    404: {"description": "No such service, service request or jurisdiction", **_ERROR},
    429: {"description": "Too many requests from this client: wait Retry-After seconds", **_ERROR},
    500: {"description": "An unexpected error (logged)", **_ERROR},
    503: {"description": "The chain or the event index does not answer: retry after Retry-After seconds",
          **_ERROR},
}
_OK: dict[int | str, dict[str, Any]] = {200: {"content": _XML}}

router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route, responses={**ERRORS, **_OK})
discovery_router = APIRouter(prefix=ROOT, tags=["open311"], route_class=Open311Route, responses={**ERRORS, **_OK})

Fmt = Annotated[Format, Path(description="`json` or `xml`: the answer's format.")]
Lang = Annotated[str | None, Query(max_length=16, description="`zh-CN` (the default) or `en`: names and notes.")]
Jurisdiction = Annotated[
    str | None, Query(max_length=200, description="Only checked when the service names its jurisdiction.")
]
Listed = [Depends(anonymous_limit)]


def _lang(lang: str | None) -> str:
    return pick(lang, None)


@discovery_router.get("/discovery.{fmt}", response_model=Discovery, dependencies=Listed,
                      summary="Open311 service discovery: where GeoReport v2 is served, in which formats")
def discovery(fmt: Fmt, request: Request, state: StateDep) -> Response:
    endpoint = str(request.url_for("list_services", fmt="json")).removesuffix("/services.json")
    return render_one(fmt, "discovery", reports.discovery(state, endpoint))


@router.get("/services.{fmt}", response_model=list[ServicePublic], dependencies=Listed,
            summary="The services: case categories with a service level on chain")
def list_services(fmt: Fmt, state: StateDep, lang: Lang = None, jurisdiction_id: Jurisdiction = None) -> Response:
    reports.check_jurisdiction(state, jurisdiction_id)
    return render(fmt, "services", "service", reports.services(state, _lang(lang)))


@router.get("/services/{service_code}.{fmt}", response_model=ServiceDefinition, dependencies=Listed,
            summary="A service's definition (no service here has attributes)")
def service_definition(
    service_code: Annotated[str, Path(max_length=10)], fmt: Fmt, state: StateDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    reports.check_jurisdiction(state, jurisdiction_id)
    return render_one(fmt, "service_definition", reports.definition(state, service_code))


async def _form_api_key(request: Request) -> str | None:
    key = (await request.form()).get("api_key")  # the form FastAPI parsed already (Starlette keeps it)
    return key if isinstance(key, str) else None


def reporter(request: Request, state: StateDep, api_key: Annotated[str | None, Depends(_form_api_key)]) -> str:
    """Who sends this report (its ``api_key``, else its address), within its rate limit: counted
    before the form is validated, so invalid reports use the budget too."""
    client = reports.client_of(state, api_key, client_address(request))
    limiter = getattr(request.app.state, "report_limiter", None)
    if limiter is not None:
        limiter.check(client)
    return client


@router.post("/requests.{fmt}", response_model=list[RequestCreated],
             summary="Report a problem (form-encoded): stored off chain, answered with its id")
def create_request(
    fmt: Fmt,
    state: StateDep,
    form: Annotated[ReportCreate, Form()],
    client: Annotated[str, Depends(reporter)],
    lang: Lang = None,
) -> Response:
    return render(fmt, "service_requests", "request", [reports.create(state, form, client, _lang(lang))])


@router.get("/requests.{fmt}", response_model=list[RequestPublic], dependencies=Listed,
            summary="Service requests, newest first, with their status on chain")
def list_requests(
    fmt: Fmt,
    state: StateDep,
    service_request_id: Annotated[str | None, Query(max_length=4000, description="Ids, comma-separated: "
                                                    "overrides every other argument.")] = None,
    service_code: Annotated[str | None, Query(max_length=400, description="Codes, comma-separated.")] = None,
    start_date: Annotated[str | None, Query(max_length=40, description="W3C datetime (requested at or after).")
                          ] = None,
    end_date: Annotated[str | None, Query(max_length=40, description="W3C datetime; at most 90 days after "
                                          "start_date.")] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed, or both comma-separated.")
                      ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Extension: the page (from 1).")] = 1,
    page_size: Annotated[int, Query(ge=1, le=reports.MAX_REQUESTS, description="Extension: requests per page.")
                         ] = reports.MAX_REQUESTS,
    lang: Lang = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    reports.check_jurisdiction(state, jurisdiction_id)
    f = reports.RequestFilter(service_request_id, service_code, start_date, end_date, status, page, page_size)
    return render(fmt, "service_requests", "request", reports.list_requests(state, f, _lang(lang), int(time.time())))


@router.get("/requests/{service_request_id}.{fmt}", response_model=list[RequestPublic], dependencies=Listed,
            summary="One service request, with its status on chain")
def get_request(
    service_request_id: Annotated[str, Path(max_length=20)],
    fmt: Fmt,
    state: StateDep,
    lang: Lang = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    reports.check_jurisdiction(state, jurisdiction_id)
    return render(fmt, "service_requests", "request", [reports.one_request(state, service_request_id, _lang(lang))])


__all__ = ["ERRORS", "PREFIX", "ROOT", "discovery_router", "router"]
