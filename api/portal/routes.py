"""The transparency portal's routes: server-rendered pages and the public overview JSON.

No authentication: everything here is public by construction (see ``views.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from api.deps import Id, StateDep, id_query
from api.portal import charts, i18n, views
from api.routers._index_reads import cache_of
from ledger.errors import LedgerError

_API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = _API_DIR / "templates"
STATIC_DIR = _API_DIR / "static"
_CST = dt.timezone(dt.timedelta(hours=8))

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

pages_router = APIRouter(tags=["portal"], include_in_schema=False)
public_api_router = APIRouter(prefix="/api/v1/public", tags=["public"])


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(STATIC_DIR))


# ----------------------------------------------------------------------------- formatting


def money(units: int, decimals: int = views.DECIMALS) -> str:
    """Token units (分) as ``¥1,234.56``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(int(units)), 10**decimals)
    return f"{sign}¥{whole:,}.{frac:0{decimals}d}" if decimals else f"{sign}¥{whole:,}"


def when(ts: int | None) -> str:
    if not ts:
        return "—"
    return dt.datetime.fromtimestamp(ts, tz=_CST).strftime("%Y-%m-%d %H:%M:%S")


def iso(ts: int | None) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, tz=_CST).isoformat()


def short(value: str | None, n: int = 10) -> str:
    if not value:
        return "—"
    return value if len(value) <= n + 6 else f"{value[:n]}…{value[-4:]}"


templates.env.globals.update(money=money, when=when, iso=iso, short=short)

# ----------------------------------------------------------------------------- rendering


def _lang(request: Request) -> str:
    return i18n.pick(request.query_params.get("lang"), request.cookies.get("lang"))


def _render(request: Request, state: Any, template: str, status_code: int = 200, **context: Any) -> Response:
    lang = _lang(request)

    def t(key: str, **values: object) -> str:
        return i18n.translate(lang, key, **values)

    other = "en" if lang == "zh-CN" else "zh-CN"
    params = dict(request.query_params)
    params["lang"] = other
    switch_url = request.url.path + "?" + urlencode(params)
    last_block: int | None = None
    index = getattr(state, "index", None)
    if index is not None:
        try:
            last_block = index.last_block()
        except LedgerError:
            last_block = None
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": t, "lang": lang,
            "switch_url": switch_url, "switch_lang": other, "path": request.url.path,
            "indexed_block": last_block, **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    response.headers["Content-Language"] = lang
    return response


def _guard(request: Request, state: Any, build: Callable[[], dict[str, Any]], template: str) -> Response:
    """Render ``template`` with ``build()``; a lost index or chain is a 503 page, not a stack trace."""
    try:
        context = build()
    except LedgerError:
        return _render(request, state, "portal/error.html", status_code=503, message_key="index_unavailable")
    return _render(request, state, template, **context)


class _Uncacheable(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _cached(request: Request, state: Any, build: Callable[[], dict[str, Any]], template: str) -> Response:
    """:func:`_guard` for pages made from the index alone: the rendered page is kept until
    the index moves on (its version: last indexed block and hash), per path, query and
    language, with an ETag (``If-None-Match`` answers 304). When the index has moved on,
    the previous page (which names its block) is served while one thread renders the
    new one. Error pages are never kept."""
    index = getattr(state, "index", None)
    try:
        version = index.version() if index is not None else None
    except LedgerError:
        version = None
    if version is None:
        return _guard(request, state, build, template)
    lang = _lang(request)

    key = ("page", request.url.path, request.url.query, lang)

    def render() -> tuple[bytes, str]:
        response = _guard(request, state, build, template)
        if response.status_code != 200:
            raise _Uncacheable(response)
        etag = 'W/"' + hashlib.sha256(repr((version, key)).encode()).hexdigest()[:32] + '"'
        return bytes(response.body), etag

    try:  # stale_ok: one block behind rather than every reader waiting for a slow page
        body, etag = cache_of(index).get(version, key, render, stale_ok=True)
    except _Uncacheable as exc:
        return exc.response
    if etag in request.headers.get("if-none-match", ""):
        response: Response = Response(status_code=304)
    else:
        response = HTMLResponse(body)
    response.headers["ETag"] = etag
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    response.headers["Content-Language"] = lang
    return response


def _not_found(request: Request, state: Any) -> Response:
    return _render(request, state, "portal/error.html", status_code=404, message_key="not_found.lead")


def _chart_labels(lang: str) -> dict[str, str]:
    return {k: i18n.translate(lang, f"chart.{k}") for k in ("in", "out", "balance", "empty")} | {
        "title": i18n.translate(lang, "chart.money"), "block": i18n.translate(lang, "block")}


# ----------------------------------------------------------------------------- pages


@pages_router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, state: StateDep) -> Response:
    def build() -> dict[str, Any]:
        data = views.overview(state.index)
        chart = charts.money_line(data["series"], money, _chart_labels(_lang(request)))
        return {"o": data, "chart": chart}

    return _cached(request, state, build, "portal/overview.html")


@pages_router.get("/activity", response_class=HTMLResponse)
def activity_page(
    request: Request,
    state: StateDep,
    event: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    project: Annotated[int | None, id_query("A project id; 0: the general pool.", ge=0)] = None,
) -> Response:
    def build() -> dict[str, Any]:
        rows = views.activity(state.index, event, kind, project)
        return {"rows": rows, "event": event, "kind": kind, "project": project,
                "total": sum(r["amount"] for r in rows)}

    return _cached(request, state, build, "portal/activity.html")


def _texts(state: Any) -> dict[str, str]:
    """Public fund texts from the document store next to the deployment manifest."""
    return views.public_texts(Path(state.settings.manifest_path).parent / "fund-docs.json")


@pages_router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, state: StateDep) -> Response:
    return _guard(request, state, lambda: {"projects": views.projects(state.index, texts=_texts(state))},
                  "portal/projects.html")


@pages_router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, state: StateDep, project_id: Id) -> Response:
    try:
        p = views.project(state.index, project_id, texts=_texts(state))
    except LedgerError:
        return _render(request, state, "portal/error.html", status_code=503, message_key="index_unavailable")
    if p is None:
        return _not_found(request, state)
    return _render(request, state, "portal/project.html", p=p)


@pages_router.get("/contributions", response_class=HTMLResponse)
def contributions_page(
    request: Request, state: StateDep, q: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    def build() -> dict[str, Any]:
        if not q or not q.strip():
            return {"result": None, "chart": None, "q": ""}
        lang = _lang(request)
        result = views.contributions(state.index, q)
        chart = None
        if result["flows"]:

            def right(target: str) -> str:
                if target.startswith("p"):
                    return i18n.translate(lang, "project_n", n=target[1:])
                return i18n.translate(lang, f"trace.{target}")

            chart = charts.flow(
                result["flows"],
                lambda rid: i18n.translate(lang, "receipt_n", n=rid),
                right,
                lambda target: f"/projects/{target[1:]}" if target.startswith("p") else None,
                money,
                i18n.translate(lang, "trace.flow"),
            )
        return {"result": result, "chart": chart, "q": q.strip()}

    return _cached(request, state, build, "portal/contributions.html")


@pages_router.get("/data-sharing", response_class=HTMLResponse)
def data_page(request: Request, state: StateDep) -> Response:
    def build() -> dict[str, Any]:
        lang = _lang(request)
        d = views.data_sharing(state.index)
        weeks = charts.bars(
            [(w["week"], w["accesses"], f"/tx/{w['tx_hash']}" if w["tx_hash"] else None) for w in d["weeks"]],
            i18n.translate(lang, "data.weeks"), i18n.translate(lang, "none_yet"))
        refusals = charts.bars(
            [(i18n.translate(lang, f"reason.{r['reason']}"), r["count"],
              f"/tx/{r['tx_hash']}" if r["tx_hash"] else None) for r in d["refusals"]],
            i18n.translate(lang, "data.refusals"), i18n.translate(lang, "none_yet"), color=charts.OUT_COLOR)
        return {"d": d, "weeks_chart": weeks, "refusals_chart": refusals, "classes": views.CLASSIFICATIONS}

    return _cached(request, state, build, "portal/data.html")


@pages_router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, state: StateDep) -> Response:
    def build() -> dict[str, Any]:
        # `cogov audit verify` writes it; next to the deployment manifest unless configured
        report = getattr(state.settings, "audit_report_path", None) or (
            Path(state.settings.manifest_path).parent / "audit-report.json")
        v = views.verification(state.manifest, Path(report), state.index)
        return {"v": v, "manifest_path": str(state.settings.manifest_path)}

    return _guard(request, state, build, "portal/verify.html")


@pages_router.get("/tx/{tx_hash}", response_class=HTMLResponse)
def tx_page(request: Request, state: StateDep, tx_hash: str) -> Response:
    if not views.TX_HASH.match(tx_hash):
        return _not_found(request, state)
    try:
        tx = views.transaction(state.index, state.ledger, tx_hash.lower())
    except LedgerError:
        return _render(request, state, "portal/error.html", status_code=503, message_key="index_unavailable")
    if tx is None:
        return _not_found(request, state)
    return _render(request, state, "portal/tx.html", tx=tx)


# ----------------------------------------------------------------------------- JSON


class KindTotals(BaseModel):
    government: int
    enterprise: int
    resident: int


class ActivityItem(BaseModel):
    event: str
    block: int
    time: int
    tx_hash: str
    href: str
    amount: int | None = None
    direction: str
    project_id: int | None = None
    kind: str | None = None
    who: str | None = None
    receipt_id: int | None = None
    payout_id: int | None = None
    milestone_index: int | None = None


class PublicOverview(BaseModel):
    """The fund at a glance: amounts in the token's smallest unit (分 for CommunityCredit)."""

    currency: str
    decimals: int
    balance: int
    total_contributed: int
    total_paid_out: int
    total_refunded: int
    contributed_by_kind: KindTotals
    contribution_count: int
    payout_count: int
    refund_count: int
    project_count: int
    last_block: int | None
    latest: list[ActivityItem]


@public_api_router.get("/overview", response_model=PublicOverview, response_model_exclude_unset=True)
def public_overview(state: StateDep) -> dict[str, Any]:
    """The same figures the portal's overview page shows (computed by the same function). No API key."""
    index = state.index
    if index is None:
        data = views.overview(index)
        data.pop("series")
        return data

    def build() -> dict[str, Any]:
        data = views.overview(index)
        data.pop("series")
        return data

    # computed once per index version; copied, as FastAPI may read it while others do
    return dict(cache_of(index).get(index.version(), ("public-overview",), build))
