"""Residents' reports (Open311) for the sub-district that raises cases from them: the queue of
reports waiting for a case or grouped by one (``GET /api/v1/cases/reports``, the console's cases
page), and a raise naming reports by ``service_request_id`` (:mod:`api.services.case_writes`).

Who may read the queue: members with the SubDistrict role (they raise cases from it) and the
Channel role (the 12345 hotline that takes residents' reports and records their satisfaction); the
router admits only their keys. What they read is what Open311 already shows anyone (category,
description, where, when), plus each report's commitment and the case grouping it; never the
contact nor the client that sent it. The split into waiting and grouped is
:mod:`api.open311.queue`'s, over the cases reducer kept current with the event index.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import tzinfo
from zoneinfo import ZoneInfo

from api.open311.categories import name_of
from api.open311.formats import w3c
from api.open311.queue import Grouping, Queued, QueueStatus, queue, refuse_grouped
from api.open311.queue import reports_named as queue_named
from api.params import Paging
from api.schemas.cases import CaseCreate, CaseReportList, CaseReportPublic
from api.services.cases import cases_state
from api.services.index import index_for
from api.state import ServiceState
from ledger.cases import CaseModel


def report_queue(state: ServiceState, status: QueueStatus, page: Paging, lang: str) -> CaseReportList:
    """A page of the residents' reports with ``status`` (waiting, grouped or all), newest first."""
    index = index_for(state)

    def fold(use: Callable[[CaseModel], dict[str, Grouping]]) -> dict[str, Grouping]:
        return cases_state(index, lambda model, _now: use(model))

    rows, count = queue(state.reports, fold, status, page.offset, page.limit)
    tz = ZoneInfo(state.settings.open311_timezone)
    return CaseReportList(data=[report_public(q, tz, lang) for q in rows], count=count)


def queue_mark(state: ServiceState) -> Hashable:
    """What the queue depends on besides the event index: a mark of the reports now
    (:meth:`~api.open311.store.ReportStore.version`), read before the queue; ``@kept`` keeps the
    route's answers by it (api/answers.py)."""
    return state.reports.version()


def report_public(q: Queued, tz: tzinfo | None, lang: str) -> CaseReportPublic:
    """A report of the queue as the API shows it (times in ``tz``; None: the machine's zone)."""
    r, g = q.report, q.grouping
    return CaseReportPublic(
        service_request_id=str(r.id), status="waiting" if g is None else "grouped", category=r.service_code,
        category_name=name_of(r.service_code, lang), description=r.description, area=r.address, lat=r.lat,
        long=r.lon, media_url=r.media_url, requested_at=r.requested_at, requested_datetime=w3c(r.requested_at, tz),
        commitment=r.commitment, case_id=None if g is None else g.case_id, case_open=None if g is None else g.open,
    )


def reports_named(state: ServiceState, body: CaseCreate) -> dict[str, int | None]:
    """The reports a raise groups (``report_hashes``, and ``report_ids`` resolved: 422 for an unknown one)."""
    return queue_named(state.reports, body.report_hashes, body.report_ids)


def refuse_open(state: ServiceState, named: dict[str, int | None]) -> None:
    """409 when an open case already groups one of ``named`` (as the index shows the cases now)."""
    if named:
        cases_state(index_for(state), lambda model, _now: refuse_grouped(model, named))


__all__ = ["queue_mark", "refuse_open", "report_public", "report_queue", "reports_named"]
