"""The cases' rates (三率 and on time), by one published rule over the reducer's fold.

What is counted (a *fact*), and where each fact falls when grouped:

================  ==========================================================  ===========================
fact              what                                                        department / category / month
================  ==========================================================  ===========================
assignment        a department named in a dispatch (the lead and each          that department; the
                  assisting one, at raising and at every re-dispatch):         dispatch's category; the
                  *dispatched*. *Acknowledged on time*: it acknowledged        month of the dispatch
                  that dispatch at or before its acknowledge deadline
                  (``CaseAcknowledged.late`` false); *late*: after it.
closed case       a case whose state now is ClosedFixed or ClosedNotFixed      its lead; its category; the
                  (a case reopened since its closing is open again and         month of its closing
                  counts as open). *Fixed*: ClosedFixed. *On time*: the        (``closedAt``)
                  lead's answer that asked for that evaluation came at or
                  before the resolve deadline (``CaseAnswered.late`` false).
open overdue      a case not closed now and overdue now, by the contract's     its lead; its category; the
                  rule (Dispatched: past the acknowledge deadline;             month of the deadline it
                  Acknowledged, Reopened, SentBack: past the resolve           missed
                  deadline; never AwaitingEvaluation nor Escalated).
satisfaction      every ``SatisfactionRecorded``, kept when a 不满意 reopened  the lead and category when
                  the case (the view forgets it; the metric does not).         recorded; its month
================  ==========================================================  ===========================

The rates (:meth:`Tally.rates`, with their counts), each ``None`` when its denominator is 0 (no figure, not 0 %):

- **response rate** = acknowledged on time ÷ dispatched (assignments);
- **resolution rate** = closed fixed ÷ closed;
- **satisfaction rate** = (满意 satisfied + 基本满意 basically satisfied) ÷ satisfaction records
  (不满意 counts in the denominator only);
- **on-time rate** = closed on time ÷ (closed + open overdue): an overdue open case counts as late.

"The lead" is the lead department of the case's current dispatch (the district when it took
the case itself). A month is ``YYYY-MM`` of the fact's block time in China Standard Time
(UTC+08:00, :data:`CST`). Everything is a function of the events and the chain time ``now``
(the last block's): the auditor recomputes it from the chain and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal, TypeVar

from ledger.cases.model import CaseModel
from ledger.cases.types import CaseState, Satisfaction

#: China Standard Time, the months' time zone (seconds east of UTC).
CST = 8 * 3600

By = Literal["department", "category", "month"]
BY: tuple[By, ...] = ("department", "category", "month")


@dataclass(frozen=True)
class Responses:
    """Assignments (a department named in a dispatch): the response rate."""

    dispatched: int = 0
    on_time: int = 0  # acknowledged at or before the acknowledge deadline
    late: int = 0  # acknowledged after it

    @property
    def rate(self) -> float | None:
        """Acknowledged on time ÷ dispatched."""
        return _rate(self.on_time, self.dispatched)


@dataclass(frozen=True)
class Closings:
    """Cases closed now, and open cases overdue now: the resolution and on-time rates."""

    closed: int = 0
    fixed: int = 0
    on_time: int = 0  # closed, the lead's answer at or before the resolve deadline
    open_overdue: int = 0

    @property
    def resolution_rate(self) -> float | None:
        """Closed fixed ÷ closed."""
        return _rate(self.fixed, self.closed)

    @property
    def on_time_rate(self) -> float | None:
        """Closed on time ÷ (closed + open overdue)."""
        return _rate(self.on_time, self.closed + self.open_overdue)


@dataclass(frozen=True)
class Satisfactions:
    """The residents' satisfaction records: the satisfaction rate."""

    records: int = 0
    satisfied: int = 0  # 满意
    basically_satisfied: int = 0  # 基本满意
    dissatisfied: int = 0  # 不满意

    @property
    def rate(self) -> float | None:
        """(Satisfied + basically satisfied) ÷ records."""
        return _rate(self.satisfied + self.basically_satisfied, self.records)


Part = TypeVar("Part", Responses, Closings, Satisfactions)


def _plus(a: Part, b: Part) -> Part:
    return type(a)(*(getattr(a, f.name) + getattr(b, f.name) for f in fields(a)))


@dataclass(frozen=True)
class Tally:
    """The counts of one group, and its four rates."""

    responses: Responses = Responses()
    closings: Closings = Closings()
    satisfactions: Satisfactions = Satisfactions()

    def rates(self) -> dict[str, float | None]:
        """The four rates by name: ``response``, ``resolution``, ``satisfaction``, ``on_time``."""
        c = self.closings
        return {"response": self.responses.rate, "resolution": c.resolution_rate,
                "satisfaction": self.satisfactions.rate, "on_time": c.on_time_rate}

    def __add__(self, other: Tally) -> Tally:
        return Tally(_plus(self.responses, other.responses), _plus(self.closings, other.closings),
                     _plus(self.satisfactions, other.satisfactions))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def month_of(t: int, offset: int = CST) -> str:
    """``YYYY-MM`` of Unix time ``t`` in the time zone ``offset`` seconds east of UTC."""
    zone = UTC if offset == 0 else timezone(timedelta(seconds=offset))
    return datetime.fromtimestamp(t, zone).strftime("%Y-%m")


def _facts(model: CaseModel, now: int) -> list[tuple[int, int, int, Tally]]:
    """Every fact as (department, category, block time, its one-fact tally)."""
    out: list[tuple[int, int, int, Tally]] = []
    for d in model.dispatches:
        for member in d.team:
            late = d.acknowledged.get(member)
            out.append((member, d.category, d.at, Tally(responses=Responses(1, int(late is False), int(bool(late))))))
    for c in model.cases.values():
        if c.closed:
            fixed = int(c.state == CaseState.CLOSED_FIXED)
            closing = Closings(closed=1, fixed=fixed, on_time=int(not c.lead_answer_late))
            out.append((c.lead_id, c.category, c.closed_at, Tally(closings=closing)))
        elif c.overdue(now):
            out.append((c.lead_id, c.category, c.missed_deadline(), Tally(closings=Closings(open_overdue=1))))
    for s in model.satisfactions:
        levels = [int(s.level == level) for level in Satisfaction]
        out.append((s.lead_id, s.category, s.at, Tally(satisfactions=Satisfactions(1, *levels))))
    return out


def overall(model: CaseModel, now: int) -> Tally:
    """Every fact in one tally."""
    total = Tally()
    for *_, t in _facts(model, now):
        total += t
    return total


def tallies(model: CaseModel, now: int, by: By, offset: int = CST) -> dict[int | str, Tally]:
    """The tallies per department (member id), per category or per month (``YYYY-MM``), sorted by key."""
    key: Callable[[int, int, int], int | str] = {
        "department": lambda dept, cat, t: dept,
        "category": lambda dept, cat, t: cat,
        "month": lambda dept, cat, t: month_of(t, offset),
    }[by]
    groups: dict[int | str, Tally] = {}
    for dept, cat, t, tally in _facts(model, now):
        k = key(dept, cat, t)
        groups[k] = groups.get(k, Tally()) + tally
    return dict(sorted(groups.items(), key=lambda kv: str(kv[0]).zfill(20)))


__all__ = ["BY", "CST", "By", "Closings", "Responses", "Satisfactions", "Tally", "month_of", "overall", "tallies"]
