"""The published rule of the case figures (三率 and the on-time rate), over :class:`CaseModel`.

Each rate is a numerator over a denominator, counted from the chain's events alone, at a time
``now``; a rate with nothing to count has no value (``None``), never 0 % or 100 %.

- **Response rate** = acknowledged on time ÷ dispatched. Each naming of a department in a
  dispatch (lead or assisting) counts once, when it is *due*: acknowledged, or its acknowledge
  deadline passed while that dispatch was current. On time: acknowledged by the deadline.
  Counted for the named department, the dispatch's category and the dispatch's month.
- **Resolution rate** = closed fixed ÷ closed, over the cases closed now (a reopened case counts
  again only once closed again). Counted for the lead of the closing dispatch, its category and
  the month of the closing.
- **Satisfaction rate** = (满意 + 基本满意) ÷ satisfaction records. Counted for the case's lead
  when recorded, its category and the month of the record.
- **On-time rate** = closed on time ÷ (closed + open overdue). A closed case is on time when
  the lead's answer the raiser accepted came by the resolve deadline; an open case overdue now
  (the contract's rule) counts as late. Counted for the lead, the category, and the month of the
  closing (closed) or of the deadline that passed (open overdue).

Months are calendar months in China Standard Time (UTC+8) unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ledger.cases.model import CaseModel
from ledger.cases.types import CaseState, Satisfaction

#: China Standard Time, the months' zone.
CST = timedelta(hours=8)
_SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)


@dataclass
class Rate:
    numerator: int = 0
    denominator: int = 0

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def count(self, hit: bool) -> None:
        self.denominator += 1
        self.numerator += int(hit)


@dataclass
class Rates:
    response: Rate = field(default_factory=Rate)
    resolution: Rate = field(default_factory=Rate)
    satisfaction: Rate = field(default_factory=Rate)
    on_time: Rate = field(default_factory=Rate)


@dataclass
class CaseMetrics:
    overall: Rates = field(default_factory=Rates)
    by_department: dict[int, Rates] = field(default_factory=dict)
    by_category: dict[int, Rates] = field(default_factory=dict)
    by_month: dict[str, Rates] = field(default_factory=dict)

    def _each(self, department: int, category: int, month: str) -> list[Rates]:
        return [
            self.overall,
            self.by_department.setdefault(department, Rates()),
            self.by_category.setdefault(category, Rates()),
            self.by_month.setdefault(month, Rates()),
        ]

    def count(self, which: Callable[[Rates], Rate], hit: bool, department: int, category: int, month: str) -> None:
        for rates in self._each(department, category, month):
            which(rates).count(hit)


def month_of(t: int, zone: timedelta = CST) -> str:
    """``YYYY-MM`` of the Unix time ``t`` in ``zone``."""
    return (datetime.fromtimestamp(t, UTC) + zone).strftime("%Y-%m")


def case_metrics(model: CaseModel, now: int, zone: timedelta = CST) -> CaseMetrics:
    """The four rates at time ``now``: overall, per department, per category, per month."""
    m = CaseMetrics()
    for naming in model.namings:
        if naming.due(now):
            m.count(lambda r: r.response, naming.on_time, naming.member_id, naming.category,
                    month_of(naming.dispatched_at, zone))
    for c in model.cases.values():
        if c.closing is not None:
            k = c.closing
            month = month_of(k.closed_at, zone)
            m.count(lambda r: r.resolution, k.fixed, k.lead_id, k.category, month)
            m.count(lambda r: r.on_time, k.on_time, k.lead_id, k.category, month)
        elif c.overdue(now):
            passed = c.ack_deadline if c.state == CaseState.DISPATCHED else c.resolve_deadline
            m.count(lambda r: r.on_time, False, c.lead_id, c.category, month_of(passed, zone))
    for s in model.satisfactions:
        m.count(lambda r: r.satisfaction, s.level in _SATISFIED, s.lead_id, s.category, month_of(s.recorded_at, zone))
    return m

