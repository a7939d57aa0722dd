"""Residents' reports as a sub-district's queue: *waiting* for a case, or *grouped* by one.

A report is grouped once a case's ``CaseRaised`` lists its commitment (``reportHashes``): the
chain's rule, read through the cases reducer (:class:`ledger.cases.CaseModel`'s ``by_report``,
the latest case grouping each report). The API's ``GET /api/v1/cases/reports`` folds it from the
event index, ``cogov cases reports`` from the chain; both call these functions, so the split is
written once. Nothing here reads or returns a report's contact.

Raising a case from reports (:func:`reports_named`) names them by ``service_request_id``; each is
resolved to its commitment. An unknown id is refused (:class:`ValidationFailed`, naming it); a
report an *open* case already groups is refused (:class:`Conflict`, naming the case): a second
open case about the same report would split its status between two departments. A report whose
case closed may be grouped again (a new case about a problem that came back); Open311 then shows
the newest case. Hashes given as such (``report_hashes``, ``--report-hash``) pass as given: the
chain's rule allows any hash in any case, and the service does not add one for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from api.open311.store import Report, ReportQuery, ReportStore
from ledger.abi import hex_of
from ledger.cases import CaseModel
from ledger.errors import Conflict, ValidationFailed
from ledger.fund.docs import parse_hash

T = TypeVar("T")

QueueStatus = Literal["waiting", "grouped", "all"]
#: ``fold(use)``: ``use(model)`` over the cases reducer, as the caller keeps it (index or chain).
Fold = Callable[[Callable[[CaseModel], T]], T]


@dataclass(frozen=True)
class Grouping:
    """The latest case grouping a report, and whether it is open (not closed fixed or not fixed)."""

    case_id: int
    open: bool


@dataclass(frozen=True)
class Queued:
    """A report of the queue and the case grouping it (None: waiting)."""

    report: Report
    grouping: Grouping | None


def groupings(model: CaseModel, commitments: Iterable[str]) -> dict[str, Grouping]:
    """The case grouping each of ``commitments`` (0x-hex) that a case groups."""
    out: dict[str, Grouping] = {}
    for h in commitments:
        case_id = model.by_report.get(bytes.fromhex(h[2:]))
        if case_id is not None:
            out[h] = Grouping(case_id, not model.cases[case_id].closed)
    return out


def queue(store: ReportStore, fold: Fold[dict[str, Grouping]], status: QueueStatus, offset: int,
          limit: int) -> tuple[list[Queued], int]:
    """One page of the reports with ``status``, newest first, and how many there are."""
    keys = store.keys()
    grouped = fold(lambda model: groupings(model, [h for _, h in keys]))
    chosen = [i for i, h in keys if status == "all" or (h in grouped) == (status == "grouped")]
    page = chosen[offset : offset + limit]
    rows = store.find(ReportQuery(ids=page), limit=len(page)) if page else []
    return [Queued(r, grouped.get(r.commitment)) for r in rows], len(chosen)


def reports_named(store: ReportStore, report_hashes: Iterable[str], report_ids: Sequence[int]) -> dict[str, int | None]:
    """The reports a raise groups, commitment (0x-hex) → report id (None: named by its hash): the
    hashes as given, then each id resolved to its commitment (an unknown id is refused, named)."""
    named: dict[str, int | None] = {hex_of(parse_hash(h)): None for h in report_hashes}
    if not report_ids:
        return named
    found = {r.id: r.commitment for r in store.find(ReportQuery(ids=list(report_ids)), limit=len(report_ids))}
    missing = [str(i) for i in report_ids if i not in found]
    if missing:
        raise ValidationFailed("report_ids", f"no resident's report {', '.join(missing)} (GET /api/v1/cases/reports)")
    return named | {found[i]: i for i in report_ids}


def refuse_grouped(model: CaseModel, reports: dict[str, int | None]) -> None:
    """Refuse (:class:`Conflict`) when an open case already groups a report named by its id
    (``reports``: commitment → its id, None when only its hash was given: a hash is the caller's,
    and grouping it again is the chain's rule, which allows it)."""
    by_id = {h: i for h, i in reports.items() if i is not None}
    busy = [(by_id[h], g) for h, g in groupings(model, by_id).items() if g.open]
    if busy:
        named = "; ".join(f"report {i} by case {g.case_id}" for i, g in busy)
        raise Conflict(f"already grouped by an open case: {named}", reports=[i for i, _ in busy])


__all__ = ["Fold", "Grouping", "QueueStatus", "Queued", "groupings", "queue", "refuse_grouped", "reports_named"]
