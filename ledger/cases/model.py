"""The cases folded from ``CaseDesk``'s events: one pure reducer that every reader shares.

:class:`CaseModel` folds the contract's events (:class:`~ledger.events.Event`, in chain
order) with :meth:`CaseModel.apply`; :meth:`CaseModel.state` gives every case at a time
``now`` as the contract's ``getCase`` answers it then (``overdue`` derived from the deadlines
and the clock, as the contract derives it), and :meth:`CaseModel.assignment` a member's part
in a case as ``assignment`` answers it. The fold also keeps what the published metrics
(:mod:`ledger.cases.metrics`) count: every naming of a department in a dispatch, every
closing, every satisfaction record. The auditor compares the state with the views, so a
mistake here is caught against the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.abi import bytes_of
from ledger.cases.types import (
    CLOSED_STATES,
    Assignment,
    Case,
    CaseState,
    Evaluation,
    Satisfaction,
    ServiceLevel,
)
from ledger.events import Event, Reducer

#: The events :class:`CaseModel` folds (others are ignored).
MODEL_EVENTS = frozenset({
    "CaseDeskDeployed", "ServiceLevelSet", "CaseRaised", "CaseDispatched", "CaseAcknowledged", "CaseAnswered",
    "CaseSentBack", "CaseEscalated", "CaseEvaluated", "CaseReopened", "SatisfactionRecorded",
})


def _hash(value: object) -> bytes:
    return value if type(value) is bytes else bytes_of(value)


@dataclass(slots=True)
class Naming:
    """One department named in one dispatch of a case (what the response rate counts)."""

    case_id: int
    member_id: int
    round: int
    lead: bool
    category: int
    dispatched_at: int
    ack_deadline: int
    acknowledged_at: int = 0  # 0: not acknowledged
    late: bool = False
    ended_at: int = 0  # when a later dispatch replaced this one; 0: still current

    def due(self, now: int) -> bool:
        """Acknowledged, or its acknowledge deadline passed while it was the case's dispatch."""
        if self.acknowledged_at:
            return True
        return (self.ended_at or now) > self.ack_deadline

    @property
    def on_time(self) -> bool:
        return bool(self.acknowledged_at) and not self.late


@dataclass(frozen=True)
class Closing:
    """The raiser closed a case: fixed or not; ``on_time``: the lead's answer it accepted came by the
    resolve deadline."""

    case_id: int
    lead_id: int
    category: int
    closed_at: int
    fixed: bool
    on_time: bool


@dataclass(frozen=True)
class SatisfactionRecord:
    case_id: int
    lead_id: int
    category: int
    recorded_at: int
    level: Satisfaction


@dataclass(slots=True)
class CaseRecord:
    id: int
    raiser_id: int
    channel_id: int
    area_code: int
    description_hash: bytes
    report_hashes: tuple[bytes, ...]
    raised_at: int
    category: int = 0
    team: list[int] = field(default_factory=list)
    ack_deadline: int = 0
    resolve_deadline: int = 0
    resolve_seconds: int = 0
    closed_at: int = 0
    round: int = 0
    send_backs: int = 0
    satisfaction: int = 0
    dissatisfaction_reopened: bool = False
    state: CaseState = CaseState.DISPATCHED
    acknowledged: set[int] = field(default_factory=set)
    late: set[int] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    namings: dict[int, Naming] = field(default_factory=dict)  # the current dispatch's, by member
    lead_answer_late: bool = False  # the lead's last answer since the dispatch or the reopening
    closing: Closing | None = None  # the last closing, while closed

    @property
    def lead_id(self) -> int:
        return self.team[0] if self.team else 0

    def overdue(self, now: int) -> bool:
        """The contract's rule (``CaseDesk._overdue``)."""
        if self.state == CaseState.DISPATCHED:
            return now > self.ack_deadline
        if self.state in (CaseState.ACKNOWLEDGED, CaseState.REOPENED, CaseState.SENT_BACK):
            return now > self.resolve_deadline
        return False


class CaseModel(Reducer):
    """The fold of ``CaseDesk``'s events; queries at a time ``now`` derive what the clock decides."""

    def __init__(self) -> None:
        self.registry: str | None = None
        self.satisfaction_window = 0
        self.levels: dict[int, ServiceLevel] = {}
        self.cases: dict[int, CaseRecord] = {}
        #: every naming of every dispatch, in chain order
        self.namings: list[Naming] = []
        self.satisfactions: list[SatisfactionRecord] = []

    # ---------------------------------------------------------------- the fold

    def apply(self, e: Event) -> None:
        """Fold one event of the case desk (in chain order); others are ignored."""
        a, n = e.args, e.name
        if n == "CaseDeskDeployed":
            self.registry, self.satisfaction_window = str(a["registry"]), int(a["satisfactionWindow"])
        elif n == "ServiceLevelSet":
            cat = int(a["category"])
            self.levels[cat] = ServiceLevel(cat, int(a["ackSeconds"]), int(a["resolveSeconds"]))
        elif n == "CaseRaised":
            cid = int(a["caseId"])
            self.cases[cid] = CaseRecord(
                cid, int(a["raiserId"]), int(a["channelId"]), int(a["areaCode"]), _hash(a["descriptionHash"]),
                tuple(_hash(x) for x in a["reportHashes"]), e.block_time,
            )
        elif n == "CaseDispatched":
            self._dispatched(e)
        else:
            c = self.cases.get(int(a["caseId"])) if "caseId" in a else None
            if c is not None:
                self._transition(c, e)

    def _dispatched(self, e: Event) -> None:
        a, t = e.args, e.block_time
        c = self.cases.get(int(a["caseId"]))
        if c is None:
            return
        for old in c.namings.values():
            old.ended_at = t
        c.team = [int(a["leadId"]), *(int(x) for x in a["assistingIds"])]
        c.category, c.round = int(a["category"]), int(a["round"])
        c.ack_deadline, c.resolve_deadline = int(a["ackDeadline"]), int(a["resolveDeadline"])
        c.resolve_seconds = c.resolve_deadline - t
        c.state = CaseState.DISPATCHED
        c.acknowledged, c.late, c.answered = set(), set(), set()
        c.lead_answer_late = False
        c.namings = {
            m: Naming(c.id, m, c.round, i == 0, c.category, t, c.ack_deadline) for i, m in enumerate(c.team)
        }
        self.namings.extend(c.namings.values())

    def _transition(self, c: CaseRecord, e: Event) -> None:
        a, n, t = e.args, e.name, e.block_time
        if n == "CaseAcknowledged":
            m, late = int(a["memberId"]), bool(a["late"])
            c.acknowledged.add(m)
            if late:
                c.late.add(m)
            naming = c.namings.get(m)
            if naming is not None:
                naming.acknowledged_at, naming.late = t, late
            if a["lead"]:
                c.state = CaseState.ACKNOWLEDGED
        elif n == "CaseAnswered":
            c.answered.add(int(a["memberId"]))
            if a["lead"]:
                c.state, c.lead_answer_late = CaseState.AWAITING_EVALUATION, bool(a["late"])
        elif n == "CaseSentBack":
            c.send_backs, c.state = int(a["sendBacks"]), CaseState.SENT_BACK
        elif n == "CaseEscalated":
            c.state = CaseState.ESCALATED
        elif n == "CaseEvaluated":
            outcome = Evaluation(int(a["outcome"]))
            if outcome != Evaluation.REJECTED:  # a rejection: CaseReopened follows
                fixed = outcome == Evaluation.FIXED
                c.state = CaseState.CLOSED_FIXED if fixed else CaseState.CLOSED_NOT_FIXED
                c.closed_at = t
                c.closing = Closing(c.id, c.lead_id, c.category, t, fixed, not c.lead_answer_late)
        elif n == "CaseReopened":
            c.state, c.resolve_deadline = CaseState.REOPENED, int(a["resolveDeadline"])
            c.closed_at, c.satisfaction, c.closing = 0, 0, None
            c.answered = set()
            c.lead_answer_late = False
            if int(a["cause"]) == 1:  # ReopenCause.Dissatisfied
                c.dissatisfaction_reopened = True
        elif n == "SatisfactionRecorded":
            level = Satisfaction(int(a["level"]))
            c.satisfaction = 1 + int(level)
            self.satisfactions.append(SatisfactionRecord(c.id, c.lead_id, c.category, t, level))

    # ---------------------------------------------------------------- views

    def case(self, case_id: int, now: int) -> Case:
        """The case as ``getCase`` answers it at time ``now``."""
        c = self.cases[case_id]
        return Case(
            id=c.id, raiser_id=c.raiser_id, lead_id=c.lead_id, channel_id=c.channel_id, area_code=c.area_code,
            category=c.category, description_hash=c.description_hash, ack_deadline=c.ack_deadline,
            resolve_deadline=c.resolve_deadline, resolve_seconds=c.resolve_seconds, closed_at=c.closed_at,
            round=c.round, send_backs=c.send_backs, satisfaction=c.satisfaction,
            dissatisfaction_reopened=c.dissatisfaction_reopened, overdue=c.overdue(now), state=c.state,
        )

    def state(self, now: int) -> dict[int, Case]:
        """Every case at time ``now``, by id."""
        return {cid: self.case(cid, now) for cid in self.cases}

    def assignment(self, case_id: int, member_id: int) -> Assignment:
        """A member's part in the case's current dispatch, as ``assignment`` answers it."""
        c = self.cases[case_id]
        if member_id not in c.team:
            return Assignment(False, False, False, False, False)
        return Assignment(
            True, c.team[0] == member_id, member_id in c.acknowledged, member_id in c.late, member_id in c.answered
        )

    def closed(self) -> list[CaseRecord]:
        return [c for c in self.cases.values() if c.state in CLOSED_STATES]
