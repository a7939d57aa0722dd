"""``GET /api/v1/catalog``: the DCAT-AP 3 catalog of the datasets the caller may see
(``api/services/catalog.py``; ``docs/catalog.md``), as JSON-LD or Turtle by content negotiation.

Anonymous callers get the Public datasets; an API key what ``GET /api/v1/datasets`` shows it.
The answer is kept per index version and carries a strong ETag (``If-None-Match`` answers 304).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from api.deps import OptionalKey, StateDep
from api.schemas.common import Problem
from api.services.catalog import MEDIA_TYPES, catalog_answer

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

#: What the catalog is sent as, the default first, with the media ranges each answers from the most
#: specific on (JSON-LD is JSON: ``application/json`` asks for it too).
_OFFERS = (
    ("jsonld", ("application/ld+json", "application/json", "application/*", "*/*")),
    ("ttl", ("text/turtle", "text/*", "*/*")),
)


def _ranges(accept: str) -> dict[str, float]:
    """The media ranges of an ``Accept`` header with their weights (a malformed weight: 0)."""
    out: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        out[media.lower()] = max(q, out.get(media.lower(), 0.0))
    return out


def negotiate(accept: str | None) -> str | None:
    """``jsonld`` or ``ttl`` for an ``Accept`` header (none: ``jsonld``), None when neither is
    acceptable. Each takes the weight of the most specific range naming it; the heavier wins,
    a tie going to JSON-LD."""
    if not accept or not accept.strip():
        return _OFFERS[0][0]
    ranges = _ranges(accept)
    best: tuple[float, str] | None = None
    for fmt, answers in _OFFERS:
        q = next((ranges[r] for r in answers if r in ranges), 0.0)
        if q > 0 and (best is None or q > best[0]):
            best = (q, fmt)
    return None if best is None else best[1]


@router.get(
    "",
    summary="The DCAT-AP 3 catalog of the datasets the caller may see (JSON-LD or Turtle)",
    description="Content negotiation on `Accept`: `application/ld+json` (also for `application/json` and "
    "`*/*`) or `text/turtle`; `format=jsonld|ttl` overrides it. Without an API key: the Public datasets. "
    "Metadata only: never rows, purposes, grants or keys.",
    response_class=Response,
    responses={
        200: {"content": {"application/ld+json": {}, "text/turtle": {}}, "description": "The catalog"},
        304: {"description": "Not modified (`If-None-Match` names the current ETag)"},
        406: {"model": Problem, "description": "Neither JSON-LD nor Turtle is acceptable"},
    },
)
def get_catalog(
    request: Request,
    state: StateDep,
    key: OptionalKey,
    format: Annotated[str | None, Query(pattern="^(jsonld|ttl)$", description="Overrides `Accept`.")] = None,
) -> Response:
    fmt = format or negotiate(request.headers.get("accept"))
    if fmt is None:
        raise HTTPException(
            406, "the catalog is served as application/ld+json (or application/json) or text/turtle; "
            "send one of them in Accept, or ?format=jsonld|ttl",
        )
    base = state.settings.catalog_base_url or str(request.base_url).rstrip("/")
    body, etag = catalog_answer(state, key, base.rstrip("/"), fmt)
    cache = "private, no-cache" if key else "no-cache"
    headers = {"ETag": etag, "Vary": "Accept, Authorization", "Cache-Control": cache}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)
