"""The cases pages (街乡吹哨,部门报到): states, overdue cases, the 三率 by the published rule, one
case's timeline.

Every figure is the cases reducer's (:class:`ledger.cases.CaseModel`, folded from the indexed
events) and the published metrics' (:func:`ledger.cases.tallies`, :func:`ledger.cases.overall`,
``docs/cases.md``) at ``now``: the time of the last indexed block, the chain time at which the
contract derives overdue, as the API's metrics do. Nothing here counts a fact itself; what is
found here are only the links: the transaction of the latest fact behind each figure
(:func:`_sources`), the transaction that set the deadline an overdue case missed.

No personal data: members appear by organisation name, an area by its coarse code, residents'
reports by their number; a description only when it is public (kind ``case_public``, its text
hashing to the chain's ``descriptionHash``), never an account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from api.portal.views.common import (
    ESCALATION_CAUSES,
    OUTCOMES,
    REOPEN_CAUSES,
    SATISFACTION_LEVELS,
    Texts,
    plain_hex,
)
from api.services.names import Members
from ledger.cases import (
    NAME,
    STANDARD_LEVELS,
    CaseModel,
    CaseRecord,
    CaseState,
    Tally,
    month_of,
    overall,
    tallies,
)
from ledger.events import Event

CASES = NAME
#: The case states by name, in the contract's order (``?state=`` takes one of them).
STATES: tuple[str, ...] = tuple(s.name.lower() for s in CaseState)
#: Categories with a name on the page (the standard service levels'); others show their number.
NAMED_CATEGORIES: frozenset[int] = frozenset(lv.category for lv in STANDARD_LEVELS)
#: The four rates of :meth:`ledger.cases.Tally.rates`, in the order of the page.
RATES: tuple[str, ...] = ("response", "resolution", "satisfaction", "on_time")
#: The part of a tally whose facts make each rate (for the link to the latest one).
_PART = {"response": "responses", "resolution": "closings", "satisfaction": "satisfactions", "on_time": "closings"}
_LIST_MAX = 200  # cases listed on the page, newest first
_CAUSES: Mapping[str, tuple[str, ...]] = {"CaseEscalated": ESCALATION_CAUSES, "CaseReopened": REOPEN_CAUSES}


def fraction(t: Tally, rate: str) -> tuple[int, int]:
    """The counts behind ``rate`` (part, whole): the published formula, in the tally's own counts."""
    r, c, s = t.responses, t.closings, t.satisfactions
    return {
        "response": (r.on_time, r.dispatched),
        "resolution": (c.fixed, c.closed),
        "satisfaction": (s.satisfied + s.basically_satisfied, s.records),
        "on_time": (c.on_time, c.closed + c.open_overdue),
    }[rate]


# ----------------------------------------------------------------------------- links behind the figures

Sources = dict[tuple[str, int | str, str], str]  # (by, key, part) -> the latest fact's transaction


def _sources(model: CaseModel, now: int) -> tuple[Sources, dict[int, Event]]:
    """The transaction of the latest fact behind each figure (by department, category and month,
    per part of a tally), and for each case the transaction that set its current deadlines (its
    last dispatch or reopening). Facts fall where ``docs/cases.md`` puts them; the counts
    themselves are :func:`ledger.cases.tallies`'."""
    best: dict[tuple[str, int | str, str], tuple[int, int, str]] = {}
    deadlines: dict[int, Event] = {}  # case -> its last CaseDispatched or CaseReopened

    def put(dept: int, cat: int, t: int, part: str, e: Event) -> None:
        mark = (e.block_number, e.log_index, e.tx_hash)
        for by, key in (("department", dept), ("category", cat), ("month", month_of(t))):
            if best.get((by, key, part), (-1, -1, "")) < mark:
                best[(by, key, part)] = mark

    for c in model.cases.values():
        team: tuple[int, ...] = (0,)
        cat = dispatched_at = 0
        closing: Event | None = None
        for e in c.events:
            a = e.args
            if e.name == "CaseDispatched":
                team, cat, dispatched_at = (int(a["leadId"]), *(int(m) for m in a["assistingIds"])), int(
                    a["category"]), e.block_time
                deadlines[c.id] = e
                for member in team:
                    put(member, cat, dispatched_at, "responses", e)
            elif e.name == "CaseAcknowledged":
                put(int(a["memberId"]), cat, dispatched_at, "responses", e)
            elif e.name == "CaseReopened":
                deadlines[c.id] = e
            elif e.name == "CaseEvaluated":
                closing = e
            elif e.name == "SatisfactionRecorded":
                put(team[0], cat, e.block_time, "satisfactions", e)
        if c.closed and closing is not None:
            put(c.lead_id, c.category, c.closed_at, "closings", closing)
        elif c.overdue(now) and c.id in deadlines:
            put(c.lead_id, c.category, c.missed_deadline(), "closings", deadlines[c.id])
    return {k: v[2] for k, v in best.items()}, deadlines


# ----------------------------------------------------------------------------- the cases page


def _row(by: str, key: int | str, t: Tally, sources: Sources, **extra: Any) -> dict[str, Any]:
    """One line of a rates table: the tally, and each rate with its counts and its latest fact."""
    rates = t.rates()
    cells = []
    for rate in RATES:
        part, whole = fraction(t, rate)
        cells.append({"rate": rate, "value": rates[rate], "part": part, "whole": whole,
                      "tx_hash": sources.get((by, key, _PART[rate])) if whole else None})
    return {"key": key, "tally": t, "rates": cells, **extra}


def _case_row(c: CaseRecord, now: int, members: Members) -> dict[str, Any]:
    last = c.events[-1]
    return {"id": c.id, "href": f"/cases/{c.id}", "state": c.state.name.lower(), "category": c.category,
            "lead": members.name(c.lead_id) or f"#{c.lead_id}", "raised_at": c.raised_at,
            "deadline": c.missed_deadline() if not c.closed else None, "overdue": c.overdue(now),
            "closed_at": c.closed_at or None, "tx_hash": last.tx_hash}


def cases_overview(model: CaseModel, now: int, members: Members, state: str | None = None,
                   department: int | None = None) -> dict[str, Any]:
    """What ``/cases`` shows at ``now``: cases by state, the open overdue ones (the deadline they
    missed, since when, the lead department), the rates per department, month and category with
    their counts, and the cases listed (of one state, or named in one department's current
    dispatch, when asked), newest first."""
    sources, deadlines = _sources(model, now)
    by_state = Counter(c.state.name.lower() for c in model.cases.values())
    overdue = sorted(
        ({**_case_row(c, now, members), "missed": "ack" if c.state == CaseState.DISPATCHED else "resolve",
          "late_by": now - c.missed_deadline(), "deadline_tx": deadlines[c.id].tx_hash if c.id in deadlines else None}
         for c in model.cases.values() if c.overdue(now)),
        key=lambda r: (r["deadline"], r["id"]))

    def named(mid: int) -> str:
        return members.name(mid) or f"#{mid}"

    departments = [_row("department", k, t, sources, name=named(int(k)), href=f"/cases?department={k}#list")
                   for k, t in tallies(model, now, "department").items()]
    months = [_row("month", k, t, sources) for k, t in tallies(model, now, "month").items()]
    categories = [_row("category", k, t, sources) for k, t in tallies(model, now, "category").items()]
    wanted = [c for c in reversed(model.cases.values())
              if (state is None or c.state.name.lower() == state) and (department is None or department in c.team)]
    return {
        "now": now, "count": len(model.cases), "by_state": {s: by_state.get(s, 0) for s in STATES},
        "overdue": overdue, "departments": departments, "months": months, "categories": categories,
        "total": _row("total", "all", overall(model, now), {}),
        "cases": [_case_row(c, now, members) for c in wanted[:_LIST_MAX]], "listed": len(wanted),
        "state": state, "department": department, "department_name": named(department) if department else None,
    }


# ----------------------------------------------------------------------------- one case


def _timeline_entry(e: Event, name: Callable[[int], str]) -> dict[str, Any]:
    """One event of a case as the page shows it: who (an organisation), on time or late, and the
    public details (deadlines, the outcome, a cause, the member named responsible)."""
    a = e.args
    member = int(a.get("memberId", a.get("raiserId", 0)))
    detail: dict[str, Any] = {}
    if e.name == "CaseRaised":
        detail = {"area": int(a["areaCode"]), "reports": len(a["reportHashes"])}
    elif e.name == "CaseDispatched":
        detail = {"round": int(a["round"]), "category": int(a["category"]), "lead": name(int(a["leadId"])),
                  "assisting": [name(int(m)) for m in a["assistingIds"]], "ack_deadline": int(a["ackDeadline"]),
                  "resolve_deadline": int(a["resolveDeadline"])}
    elif e.name == "CaseAnswered":
        detail = {"evidence": plain_hex(a["evidenceHash"])}
    elif e.name == "CaseSentBack":
        responsible = int(a["responsibleId"])
        detail = {"responsible": name(responsible) if responsible else None, "send_backs": int(a["sendBacks"])}
    elif e.name in _CAUSES:
        detail = {"cause": _CAUSES[e.name][int(a["cause"])]}
        if e.name == "CaseReopened":
            detail["resolve_deadline"] = int(a["resolveDeadline"])
    elif e.name == "CaseEvaluated":
        detail = {"outcome": OUTCOMES[int(a["outcome"])]}
    elif e.name == "SatisfactionRecorded":
        detail = {"level": SATISFACTION_LEVELS[int(a["level"])], "reopened": bool(a["reopened"])}
    return {"event": e.name, "time": e.block_time, "block": e.block_number, "tx_hash": e.tx_hash,
            "who": name(member) if member else None, "lead": a.get("lead"),
            "late": bool(a["late"]) if "late" in a else None, "detail": detail}


def case_detail(model: CaseModel, now: int, members: Members, case_id: int,
                texts: Texts | None = None) -> dict[str, Any] | None:
    """One case at ``now`` (``getCase``'s view), its team's parts, and its timeline: every event,
    who acted, when, late or on time, with its transaction. None when there is no such case."""
    c = model.cases.get(case_id)
    if c is None:
        return None

    def name(mid: int) -> str:
        return members.name(mid) or f"#{mid}"

    view = model.case(c, now)
    description_hash = plain_hex(c.description_hash).lower()
    known = texts([description_hash]) if texts is not None else {}
    team = [{"name": name(m), **asdict(model.assignment(c, m))} for m in c.team]
    return {
        "id": c.id, "state": c.state.name.lower(), "overdue": view.overdue, "category": view.category,
        "area": view.area_code, "raiser": name(view.raiser_id), "lead": name(view.lead_id),
        "ack_deadline": view.ack_deadline, "resolve_deadline": view.resolve_deadline,
        "closed_at": view.closed_at or None, "round": view.round, "send_backs": view.send_backs,
        "satisfaction": SATISFACTION_LEVELS[view.satisfaction - 1] if view.satisfaction else None,
        "reports": len(c.report_hashes), "description_hash": description_hash,
        "description": known.get(description_hash), "team": team, "now": now,
        "timeline": [_timeline_entry(e, name) for e in c.events],
    }
