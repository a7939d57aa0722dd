"""The cases pages (街乡吹哨,部门报到): ``/cases`` (states, overdue cases, the 三率 with their
formulas and counts, the months' chart, a list) and ``/cases/{id}`` (one case's timeline).

Public like every portal page and kept the same way (:func:`api.portal.pages.cached`: per index
version, under validated parameters only: a state from its fixed list, a department named in a
case's current dispatch, a case the index holds). The figures are :mod:`api.portal.views.cases`'
over the cases reducer kept current with the index (the API's
:func:`api.services.cases.cases_state`), at the time of the last indexed block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import StateDep
from api.params import Id, id_query
from api.portal import charts, i18n
from api.portal.pages import Page, cached, lang_of, public_texts, templates
from api.portal.views.cases import CASES, NAMED_CATEGORIES, RATES, STATES, case_detail, cases_overview
from api.portal.views.common import indexed, now_of
from api.services.cases import cases_state as services_cases_state
from api.services.names import Members
from api.state import ServiceState
from ledger.cases import CaseModel
from ledger.errors import LedgerError

T = TypeVar("T")

router = APIRouter(include_in_schema=False)
templates.env.globals.update(named_categories=NAMED_CATEGORIES)

def cases_state(state: ServiceState, use: Callable[[CaseModel, int], T]) -> T:
    """``use(model, now)``: the reducer as of the index's last block, ``now`` that block's time
    (an empty model at the present when the index holds no CaseDesk)."""
    index = state.index
    if not indexed(index, CASES):
        return use(CaseModel(), now_of(index))
    return services_cases_state(index, use)


def _named(state: ServiceState, department: int) -> bool:
    """Whether a case names ``department`` in its current dispatch (False when the index is lost)."""
    try:
        return cases_state(state, lambda model, _: any(department in c.team for c in model.cases.values()))
    except LedgerError:
        return False


def _month_chart(months: list[dict[str, Any]], lang: str) -> Any:
    def t(key: str) -> str:
        return i18n.translate(lang, key)

    groups = [(str(m["key"]), [(cell["value"], f"/tx/{cell['tx_hash']}" if cell["tx_hash"] else None)
                               for cell in m["rates"]]) for m in months]
    series = [(t(f"cases.rate.{r}"), color) for r, color in zip(RATES, charts.RATE_COLORS, strict=True)]
    return charts.rate_columns(groups, series, t("cases.months"), t("none_yet"))


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    state: StateDep,
    case_state: Annotated[str | None, Query(alias="state", max_length=40)] = None,
    department: Annotated[int | None, id_query("Cases named in this department's current dispatch.")] = None,
) -> Response:
    # Only a state from its list and a department some case names make a page; anything else is no filter.
    wanted = case_state if case_state in STATES else None
    if department is not None and not _named(state, department):
        department = None
    params = {k: str(v) for k, v in (("state", wanted), ("department", department)) if v is not None}

    def build() -> dict[str, Any]:
        members = Members.load(state.index)
        o = cases_state(state, lambda model, now: cases_overview(model, now, members, wanted, department))
        return {"o": o, "chart": _month_chart(o["months"], lang_of(request))}

    return cached(request, state, Page("cases", "portal/cases.html", build, params, path="/cases"))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, state: StateDep, case_id: Id) -> Response:
    def build() -> dict[str, Any] | None:
        members, texts = Members.load(state.index), public_texts(state, {"case_public"})
        c = cases_state(state, lambda model, now: case_detail(model, now, members, case_id, texts))
        return None if c is None else {"c": c}

    return cached(request, state, Page("case", "portal/case.html", build, extra_key=case_id,
                                       path=f"/cases/{case_id}"))
