"""The transparency portal's routes: server-rendered pages and the public overview JSON.

No authentication: everything here is public by construction (see ``views``). So that
anyone cannot make it work hard, every route is rate-limited per client address (a token
bucket, ``COGOV_ANONYMOUS_RATE_LIMIT_PER_MINUTE``; beyond it 429 with ``Retry-After``), and
every page is kept per index version under its validated parameters only
(:func:`api.portal.pages.cached`). The cases pages are :mod:`api.portal.case_pages`.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from api.answers import kept
from api.deps import Id, StateDep, id_query
from api.middleware import anonymous_limit
from api.portal import case_pages, charts, i18n, views
from api.portal.pages import STATIC_DIR, Page, Pager, cached, lang_of, money, not_found, public_texts
from api.portal.views.common import ACCOUNT, DATA, indexed
from api.schemas.common import Problem
from api.services import catalog
from api.services.index import cache_of
from api.state import ServiceState
from ledger.errors import LedgerError
from ledger.fund.trace import FundTrace

_LIMITED = {429: {"model": Problem, "description": "Too many requests from this address: retry after `Retry-After`"}}
pages_router = APIRouter(tags=["portal"], include_in_schema=False, dependencies=[Depends(anonymous_limit)])
public_api_router = APIRouter(prefix="/api/v1/public", tags=["public"], dependencies=[Depends(anonymous_limit)],
                              responses=_LIMITED)  # type: ignore[arg-type]
pages_router.include_router(case_pages.router)


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(STATIC_DIR))


def _chart_labels(lang: str) -> dict[str, str]:
    return {k: i18n.translate(lang, f"chart.{k}") for k in ("in", "out", "balance", "empty")} | {
        "title": i18n.translate(lang, "chart.money"), "block": i18n.translate(lang, "block")}


# ----------------------------------------------------------------------------- pages


@pages_router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, state: StateDep) -> Response:
    def build() -> dict[str, Any]:
        data = views.overview(state.index)
        chart = charts.money_line(data["series"], money, _chart_labels(lang_of(request)))
        return {"o": data, "chart": chart}

    return cached(request, state, Page("overview", "portal/overview.html", build))


def _project_count(state: ServiceState) -> int:
    index = state.index
    if index is None or views.FUND not in index.contracts:
        return 0
    return int(index.count_events(views.FUND, "ProjectProposed"))


#: Projects on one page of ``/projects``, money movements on one of ``/activity``, newest first:
#: a city's decade is many pages, never one page that grows with it.
PROJECTS_PER_PAGE = 20
ACTIVITY_PER_PAGE = 100
CONTRIBUTIONS_PER_PAGE = 20  # an account's contributions found by the trace search
_PAGE = Query(ge=1, le=10**9, description="The page, 1 (the newest) first; past the last: the last")


@pages_router.get("/activity", response_class=HTMLResponse)
def activity_page(
    request: Request,
    state: StateDep,
    event: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    project: Annotated[int | None, id_query("A project id; 0: the general pool.", ge=0)] = None,
    page: Annotated[int | None, _PAGE] = None,
) -> Response:
    # Only filters from their fixed lists, and projects that exist, name a page: any other
    # value is no filter at all (the same page, the same cache entry).
    event = event if event in views.FUND_MONEY_EVENTS else None
    kind = kind if kind in views.CONTRIBUTOR_KINDS else None
    try:
        project = project if project is not None and project <= _project_count(state) else None
    except LedgerError:
        project = None
    params = {k: str(v) for k, v in (("event", event), ("kind", kind), ("project", project)) if v is not None}

    def rows() -> list[dict[str, Any]]:  # once per index version and filter, for all its pages
        index = state.index
        version = index.version() if index is not None else None
        if index is None or version is None:
            return views.activity(index, event, kind, project)
        return cache_of(index).get(version, ("portal-activity", event, kind, project),
                                   lambda: views.activity(index, event, kind, project))

    try:
        count = len(rows())
    except LedgerError:
        count = 0
    pager = Pager("/activity", params, count, ACTIVITY_PER_PAGE, page)

    def build() -> dict[str, Any]:
        every = rows()
        shown = Pager("/activity", params, len(every), ACTIVITY_PER_PAGE, pager.page)
        return {"rows": shown.of(every), "event": event, "kind": kind, "project": project, "pager": shown,
                "total": sum(r["amount"] for r in every)}

    return cached(request, state, Page("activity", "portal/activity.html", build, pager.params))


@pages_router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, state: StateDep, page: Annotated[int | None, _PAGE] = None) -> Response:
    try:
        count = _project_count(state)
    except LedgerError:
        count = 0
    pager = Pager("/projects", {}, count, PROJECTS_PER_PAGE, page)

    def build() -> dict[str, Any]:
        every = views.projects(state.index, texts=public_texts(state))
        shown = Pager("/projects", {}, len(every), PROJECTS_PER_PAGE, pager.page)  # the index may have moved
        return {"projects": shown.of(every[::-1]), "pager": shown}

    return cached(request, state, Page("projects", "portal/projects.html", build, pager.params))


@pages_router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, state: StateDep, project_id: Id) -> Response:
    def build() -> dict[str, Any] | None:
        p = views.project(state.index, project_id, texts=public_texts(state))
        return None if p is None else {"p": p}

    return cached(request, state, Page("project", "portal/project.html", build, extra_key=project_id,
                                        path=f"/projects/{project_id}"))


def _fund_trace(state: ServiceState) -> FundTrace | None:
    """The fund's trace, computed once per index version for every trace search."""
    index = state.index
    if index is None:
        return None
    trace: FundTrace | None = cache_of(index).get(index.version(), ("fund-trace",), lambda: views.fund_trace(index))
    return trace


@pages_router.get("/contributions", response_class=HTMLResponse)
def contributions_page(
    request: Request, state: StateDep, q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int | None, _PAGE] = None,
) -> Response:
    query = views.canonical_query(q) or (q or "").strip()  # "#12", " 12 ": one page, "12"
    wanted = page if query and page is not None and page > 1 else 1
    at = {"page": str(wanted)} if wanted > 1 else {}
    params = {"q": query, **at} if query else {}

    def build() -> dict[str, Any]:
        if not query:
            return {"result": None, "chart": None, "q": "", "pager": None}
        lang = lang_of(request)
        result = views.contributions(state.index, query, lambda: _fund_trace(state))
        # an account's contributions, newest first, a page at a time: the page and its chart
        # show this page's receipts (a department's decade of contributions is many pages)
        pager = Pager("/contributions", {"q": query}, len(result["contributions"]), CONTRIBUTIONS_PER_PAGE, wanted)
        shown = pager.of(result["contributions"][::-1])
        ids = {c["receipt_id"] for c in shown}
        result = {**result, "contributions": shown, "flows": [f for f in result["flows"] if f["receipt_id"] in ids]}
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
        return {"result": result, "chart": chart, "q": query, "pager": pager}

    def keep(context: dict[str, Any]) -> bool:  # a search that finds nothing, or a page past the last, is not kept
        return context["result"] is None or (bool(context["result"]["contributions"])
                                             and context["pager"].page == wanted)

    # an account as a wallet shows it (EIP-55) is answered at the front door like its canonical lowercase
    spellings = [{"q": to_checksum_address(query), **at}] if ACCOUNT.match(query) else []
    return cached(request, state, Page("contributions", "portal/contributions.html", build, params, keep,
                                       spellings=spellings))


@pages_router.get("/data-sharing", response_class=HTMLResponse)
def data_page(request: Request, state: StateDep) -> Response:
    def build() -> dict[str, Any]:
        lang = lang_of(request)
        # first: the catalog's read brings the index up to the chain (when no follower does), so
        # that the figures below count what the list shows
        public = catalog.entries(state, None) if indexed(state.index, DATA) else []
        d = views.data_sharing(state.index)
        weeks = charts.bars(
            [(w["week"], w["accesses"], f"/tx/{w['tx_hash']}" if w["tx_hash"] else None) for w in d["weeks"]],
            i18n.translate(lang, "data.weeks"), i18n.translate(lang, "none_yet"))
        refusals = charts.bars(
            [(i18n.translate(lang, f"reason.{r['reason']}"), r["count"],
              f"/tx/{r['tx_hash']}" if r["tx_hash"] else None) for r in d["refusals"]],
            i18n.translate(lang, "data.refusals"), i18n.translate(lang, "none_yet"), color=charts.OUT_COLOR)
        return {"d": d, "weeks_chart": weeks, "refusals_chart": refusals, "classes": views.CLASSIFICATIONS,
                "public": public}

    return cached(request, state, Page("data-sharing", "portal/data.html", build))


@pages_router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, state: StateDep) -> Response:
    # `cogov audit verify` writes it; next to the deployment manifest unless configured
    report = Path(getattr(state.settings, "audit_report_path", None) or (
        Path(state.settings.manifest_path).parent / "audit-report.json"))
    try:
        st = report.stat()
        written: Hashable = (st.st_mtime_ns, st.st_size)  # a new report is a new page
    except OSError:
        written = None

    def build() -> dict[str, Any]:
        v = views.verification(state.manifest, report, state.index)
        return {"v": v, "manifest_path": str(state.settings.manifest_path)}

    return cached(request, state, Page("verify", "portal/verify.html", build, extra_key=written))


@pages_router.get("/tx/{tx_hash}", response_class=HTMLResponse)
def tx_page(request: Request, state: StateDep, tx_hash: str) -> Response:
    if not views.TX_HASH.match(tx_hash):
        return not_found(request, state)
    tx_hash = tx_hash.lower()

    def build() -> dict[str, Any] | None:
        tx = views.transaction(state.index, state.ledger, tx_hash)
        return None if tx is None else {"tx": tx}

    return cached(request, state, Page("tx", "portal/tx.html", build, extra_key=tx_hash, path=f"/tx/{tx_hash}"))


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


class OutsideTransfer(BaseModel):
    """Money that reached the fund's address without ``contribute`` (a direct token transfer)."""

    tx_hash: str
    href: str
    block: int
    time: int
    amount: int
    who: str | None = None


class PublicOverview(BaseModel):
    """The fund at a glance: amounts in the token's smallest unit (分 for CommunityCredit)."""

    currency: str
    decimals: int
    balance: int = Field(description="What the fund holds: its token balance from the token's Transfer events "
                                     "(balance_source 'token'), or contributed - paid out - refunded when the "
                                     "token is not indexed ('fund events').")
    balance_source: str
    accounted_balance: int = Field(description="Contributed - paid out - refunded.")
    outside_contribute: int = Field(description="Money that reached the fund without contribute (direct transfers).")
    outside_transfers: list[OutsideTransfer]
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
@kept(exclude_unset=True)
def public_overview(state: StateDep) -> PublicOverview:
    """The same figures the portal's overview page shows (computed by the same function). No API key.
    Kept per index version as its JSON (api/answers.py)."""
    data = views.overview(state.index)
    data.pop("series")
    return PublicOverview.model_validate(data)
