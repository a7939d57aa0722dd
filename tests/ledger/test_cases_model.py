"""The cases' reducer (ledger.cases.model) against CaseDesk's own views on a real chain, across a
scripted history with chain time moved past deadlines; the metrics (ledger.cases.metrics) on
hand-made events, each rule of their published formulas."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from ledger.cases import (
    NAME,
    CaseDesk,
    CaseModel,
    CaseState,
    Closings,
    Evaluation,
    Responses,
    Satisfaction,
    Satisfactions,
    ServiceLevel,
    Tally,
    month_of,
    overall,
    tallies,
)
from ledger.cases.model import MODEL_EVENTS
from ledger.client import Ledger
from ledger.events import Event, deployment_events
from ledger.logs import header
from tests.api.test_fund_support import ledger_for, move_time, private_manifest
from tests.conftest import MEMBER_IDS, Deployment

#: Short service levels, so that the session chain's clock moves by seconds only.
LEVELS = (ServiceLevel(1, 30, 90), ServiceLevel(2, 60, 300))
WINDOW = 3600
AREA = 110105001001


def h(text: str) -> bytes:
    return keccak(text=text)


def private_desk(deployment: Deployment, directory: Path) -> Ledger:
    """A ledger whose CaseDesk is a fresh one with :data:`LEVELS`, on the session chain."""
    led = deployment.ledger()
    assert led.manifest is not None
    args = [led.manifest.address("MembershipRegistry"), WINDOW, [list(lv.spec()) for lv in LEVELS]]
    return ledger_for(deployment, private_manifest(deployment, directory, NAME, args))


def folded(led: Ledger) -> tuple[CaseModel, int]:
    """The reducer over CaseDesk's events from the chain, and the latest block's time."""
    head = header(led)
    assert head is not None
    return CaseModel.of(deployment_events(led, NAME, MODEL_EVENTS)), head.time


def assert_equals_contract(desk: CaseDesk, members: list[int]) -> CaseModel:
    """Every case as getCase, caseState, isOverdue, team and assignment (of ``members``) say."""
    model, now = folded(desk.ledger)
    assert len(model.cases) == desk.case_count()
    for cid, c in model.cases.items():
        assert model.case(c, now) == desk.case(cid), f"case {cid}"
        assert c.state == desk.case_state(cid) and c.overdue(now) == desk.is_overdue(cid), f"case {cid}"
        assert model.team(c) == desk.team(cid), f"team of {cid}"
        for m in members:
            assert model.assignment(c, m) == desk.assignment(cid, m), f"assignment of {m} in {cid}"
    assert model.satisfaction_window == WINDOW and set(model.levels.values()) == set(LEVELS)
    return model


@pytest.mark.ganache
def test_model_equals_the_contract(deployment: Deployment, tmp_path: Path) -> None:
    led = private_desk(deployment, tmp_path)
    desk, s, ids = CaseDesk(led), deployment.signers, MEMBER_IDS
    a, b, prop = ids["dept_a"], ids["dept_b"], ids["enterprise"]
    members = [a, b, ids["c1"], ids["district"], ids["subdistrict"], 0]

    def check() -> CaseModel:
        return assert_equals_contract(desk, members)

    def raised(category: int, lead: int, *assisting: int) -> int:
        cid, _ = desk.raise_case(s["subdistrict"], category, AREA, h(f"case {desk.case_count()}"), lead, assisting,
                                 report_hashes=[h("report")], channel_id=ids["channel"])
        return cid

    # A: acknowledged, answered, rejected (reopened), fixed, dissatisfied (reopened once), fixed, satisfied.
    fixed = raised(2, b, a)
    check()
    desk.acknowledge(s["dept_a"], fixed)
    desk.acknowledge(s["dept_b"], fixed)
    desk.answer(s["dept_a"], fixed, h("a's part"))
    check()
    desk.answer(s["dept_b"], fixed, h("cleared"))
    desk.evaluate(s["subdistrict"], fixed, Evaluation.REJECTED, 7)
    check()
    desk.answer(s["dept_b"], fixed, h("cleared again"))
    desk.evaluate(s["subdistrict"], fixed, Evaluation.FIXED)
    desk.record_satisfaction(s["channel"], fixed, Satisfaction.DISSATISFIED)
    check()
    desk.answer(s["dept_b"], fixed, h("cleared a third time"))
    desk.evaluate(s["subdistrict"], fixed, Evaluation.FIXED)
    desk.record_satisfaction(s["channel"], fixed, Satisfaction.SATISFIED)

    # B: acknowledged late, overdue, escalated by anyone, taken by the district itself, closed not fixed.
    late = raised(1, a)
    move_time(led, 31)
    assert desk.is_overdue(late)
    check()
    desk.acknowledge(s["dept_a"], late)
    assert not desk.is_overdue(late) and desk.assignment(late, a).late
    move_time(led, 60)
    assert desk.is_overdue(late)
    check()
    desk.escalate(s["outsider"], late)
    desk.redispatch(s["district"], late, 2, ids["district"])
    desk.acknowledge(s["district"], late)
    desk.answer(s["district"], late, h("done by the district"))
    desk.evaluate(s["subdistrict"], late, Evaluation.NOT_FIXED)
    check()

    # C: sent back naming 物业 (SentBack), re-dispatched, sent back naming nobody (escalated at once).
    back = raised(2, a)
    desk.send_back(s["dept_a"], back, 3, prop)
    check()
    desk.redispatch(s["subdistrict"], back, 2, b, [a])
    desk.send_back(s["dept_b"], back, 4, 0)
    # D: the second send-back escalates; E: the raiser escalates; F: left overdue.
    twice = raised(2, a)
    desk.send_back(s["dept_a"], twice, 3, prop)
    desk.redispatch(s["subdistrict"], twice, 1, b)
    desk.send_back(s["dept_b"], twice, 3, prop)
    desk.escalate(s["subdistrict"], raised(2, b))
    left = raised(1, b, a)
    desk.acknowledge(s["dept_a"], left)
    move_time(led, 31)
    model = check()
    assert [model.cases[i].state for i in (fixed, late, back, twice, left)] == [
        CaseState.CLOSED_FIXED, CaseState.CLOSED_NOT_FIXED, CaseState.ESCALATED, CaseState.ESCALATED,
        CaseState.DISPATCHED,
    ]
    # The figures over this history, by the published rule.
    now = folded(led)[1]
    t = overall(model, now)
    assert t.responses == Responses(dispatched=12, on_time=4, late=1)
    assert t.closings == Closings(closed=2, fixed=1, on_time=2, open_overdue=1)
    assert t.satisfactions == Satisfactions(records=2, satisfied=1, dissatisfied=1)
    by_department = tallies(model, now, "department")
    assert by_department[b].closings.fixed == 1 and by_department[b].closings.open_overdue == 1
    assert by_department[ids["district"]].closings == Closings(closed=1, on_time=1)
    assert by_department[ids["district"]].rates()["resolution"] == 0


# ------------------------------------------------------------------ the metrics on hand-made events

DAY = 24 * 3600
T0 = int(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8))).timestamp())  # 00:00 CST = 2025-12-31 16:00 UTC
_log = itertools.count()


def ev(name: str, t: int, **args: Any) -> Event:
    n = next(_log)
    return Event(NAME, name, args, n, f"0x{n:064x}", f"0x{n:064x}", 0, t, "0x" + "00" * 20, 0)


def dispatched(cid: int, t: int, lead: int, *assisting: int, category: int = 2, ack: int = 3600,
               resolve: int = DAY, round_: int = 1) -> Event:
    return ev("CaseDispatched", t, caseId=cid, round=round_, category=category, leadId=lead,
              assistingIds=list(assisting), ackDeadline=t + ack, resolveDeadline=t + resolve, memberId=9, account="")


def raised(cid: int, t: int, lead: int, *assisting: int, category: int = 2) -> Iterator[Event]:
    yield ev("CaseRaised", t, caseId=cid, raiserId=9, account="", areaCode=AREA, descriptionHash=h(str(cid)),
             reportHashes=[], channelId=0)
    yield dispatched(cid, t, lead, *assisting, category=category)


def acked(cid: int, t: int, member: int, *, lead: bool = True, late: bool = False) -> Event:
    return ev("CaseAcknowledged", t, caseId=cid, memberId=member, account="", lead=lead, late=late)


def answered(cid: int, t: int, member: int, *, late: bool = False) -> Event:
    return ev("CaseAnswered", t, caseId=cid, memberId=member, account="", evidenceHash=h("e"), lead=True, late=late)


def evaluated(cid: int, t: int, outcome: Evaluation) -> list[Event]:
    out = [ev("CaseEvaluated", t, caseId=cid, memberId=9, account="", outcome=int(outcome), reasonCode=0)]
    if outcome == Evaluation.REJECTED:
        out.append(ev("CaseReopened", t, caseId=cid, cause=0, resolveDeadline=t + DAY, memberId=9))
    return out


def satisfaction(cid: int, t: int, level: Satisfaction, *, reopened: bool = False) -> list[Event]:
    out = [ev("SatisfactionRecorded", t, caseId=cid, memberId=8, account="", level=int(level), reopened=reopened)]
    if reopened:
        out.append(ev("CaseReopened", t, caseId=cid, cause=1, resolveDeadline=t + DAY, memberId=8))
    return out


def closed(cid: int, t: int, lead: int, outcome: Evaluation, *, late_answer: bool = False,
           category: int = 2) -> list[Event]:
    return [*raised(cid, t, lead, category=category), acked(cid, t + 60, lead),
            answered(cid, t + 120, lead, late=late_answer), *evaluated(cid, t + 180, outcome)]


def test_response_rate_counts_every_named_department_of_every_dispatch() -> None:
    events = [
        *raised(1, T0, 4, 5, 6),
        acked(1, T0 + 10, 4), acked(1, T0 + 4000, 5, lead=False, late=True),  # 6 never acknowledges
        ev("CaseSentBack", T0 + 5000, caseId=1, memberId=4, account="", reasonCode=1, responsibleId=7, sendBacks=1),
        dispatched(1, T0 + 6000, 7, round_=2),  # re-dispatched: a new assignment for 7
        acked(1, T0 + 6001, 7),
    ]
    model = CaseModel.of(events)
    t = overall(model, T0 + 7000)
    assert t.responses == Responses(dispatched=4, on_time=2, late=1) and t.responses.rate == 2 / 4
    by = tallies(model, T0 + 7000, "department")
    assert [(k, v.responses.dispatched, v.responses.on_time) for k, v in by.items()] == [
        (4, 1, 1), (5, 1, 0), (6, 1, 0), (7, 1, 1)
    ]
    assert by[5].responses.rate == 0 and by[5].responses.late == 1


def test_resolution_rate_counts_cases_closed_now_by_their_lead() -> None:
    events = [
        *closed(1, T0, 4, Evaluation.FIXED),
        *closed(2, T0, 4, Evaluation.NOT_FIXED),
        *closed(3, T0, 5, Evaluation.FIXED),
        *closed(4, T0, 5, Evaluation.FIXED), *satisfaction(4, T0 + 300, Satisfaction.DISSATISFIED, reopened=True),
        *closed(5, T0, 5, Evaluation.REJECTED),  # rejected: reopened, not closed
    ]
    model = CaseModel.of(events)
    by = tallies(model, T0 + 400, "department")
    assert (by[4].closings.closed, by[4].closings.fixed, by[4].closings.resolution_rate) == (2, 1, 0.5)
    assert (by[5].closings.closed, by[5].closings.resolution_rate) == (1, 1.0)  # case 4 is open again
    assert overall(model, T0 + 400).closings.resolution_rate == 2 / 3


def test_satisfaction_rate_counts_satisfied_and_basically_satisfied_of_every_record() -> None:
    events = [
        *closed(1, T0, 4, Evaluation.FIXED), *satisfaction(1, T0 + 300, Satisfaction.SATISFIED),
        *closed(2, T0, 4, Evaluation.FIXED), *satisfaction(2, T0 + 300, Satisfaction.BASICALLY_SATISFIED),
        *closed(3, T0, 4, Evaluation.FIXED), *satisfaction(3, T0 + 300, Satisfaction.DISSATISFIED, reopened=True),
        # reopened by the dissatisfaction, fixed again, and satisfied: both records count
        answered(3, T0 + 400, 4), *evaluated(3, T0 + 500, Evaluation.FIXED),
        *satisfaction(3, T0 + 600, Satisfaction.SATISFIED),
    ]
    model = CaseModel.of(events)
    assert model.cases[3].satisfaction == 1 + Satisfaction.SATISFIED  # the view keeps the last one only
    t = overall(model, T0 + 700)
    assert t.satisfactions == Satisfactions(records=4, satisfied=2, basically_satisfied=1, dissatisfied=1)
    assert t.rates()["satisfaction"] == 3 / 4
    assert set(Tally().rates().values()) == {None}  # no record, no figure


def test_on_time_rate_counts_open_overdue_cases_as_late() -> None:
    events = [
        *closed(1, T0, 4, Evaluation.FIXED),  # answered on time
        *closed(2, T0, 4, Evaluation.NOT_FIXED, late_answer=True),  # answered late
        *raised(3, T0, 4), acked(3, T0 + 60, 4),  # acknowledged; overdue once past the resolve deadline
        *raised(4, T0, 4),  # never acknowledged: overdue once past the acknowledge deadline
        *raised(5, T0, 4), acked(5, T0 + 60, 4), answered(5, T0 + 90, 4),  # awaiting evaluation: never overdue
        *raised(6, T0, 4), ev("CaseEscalated", T0 + 10, caseId=6, cause=0, memberId=9, account=""),  # never overdue
    ]
    model = CaseModel.of(events)
    before = overall(model, T0 + 3600)  # at the acknowledge deadline: nothing overdue yet
    assert before.closings == Closings(closed=2, fixed=1, on_time=1) and before.rates()["on_time"] == 0.5
    ack_passed = overall(model, T0 + 3601).closings
    assert ack_passed.open_overdue == 1 and ack_passed.on_time_rate == 1 / 3
    resolve_passed = overall(model, T0 + DAY + 1).closings
    assert resolve_passed.open_overdue == 2 and resolve_passed.on_time_rate == 1 / 4
    assert [c.overdue(T0 + DAY + 1) for c in model.cases.values()] == [False, False, True, True, False, False]


def test_months_are_china_standard_time_of_the_dispatch_the_closing_and_the_missed_deadline() -> None:
    jan31_late = T0 + 31 * DAY - 600  # 2026-01-31 23:50 CST (15:50 UTC)
    assert month_of(jan31_late) == "2026-01" and month_of(jan31_late + 1200) == "2026-02"
    assert month_of(T0, offset=0) == "2025-12"
    events = [
        *raised(1, jan31_late, 4), acked(1, jan31_late + 60, 4),  # dispatched in January
        answered(1, jan31_late + 900, 4), *evaluated(1, jan31_late + 1200, Evaluation.FIXED),  # closed in February
        *raised(2, jan31_late, 5),  # never acknowledged: misses its deadline in February
    ]
    by = tallies(CaseModel.of(events), jan31_late + 2 * 3600, "month")
    assert list(by) == ["2026-01", "2026-02"]
    assert by["2026-01"] == Tally(responses=Responses(dispatched=2, on_time=1))
    assert by["2026-02"] == Tally(closings=Closings(closed=1, fixed=1, on_time=1, open_overdue=1))


def test_categories_are_the_dispatch_s_and_the_case_s_current_one() -> None:
    events = [*raised(1, T0, 4, category=1), acked(1, T0 + 1, 4),
              ev("CaseSentBack", T0 + 2, caseId=1, memberId=4, account="", reasonCode=1, responsibleId=5, sendBacks=1),
              dispatched(1, T0 + 3, 5, category=3, round_=2), acked(1, T0 + 4, 5), answered(1, T0 + 5, 5),
              *evaluated(1, T0 + 6, Evaluation.FIXED)]
    by = tallies(CaseModel.of(events), T0 + 10, "category")
    assert list(by) == [1, 3]
    assert by[1] == Tally(responses=Responses(dispatched=1, on_time=1))
    assert by[3] == Tally(responses=Responses(dispatched=1, on_time=1), closings=Closings(closed=1, fixed=1, on_time=1))
