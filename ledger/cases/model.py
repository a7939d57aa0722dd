"""The cases folded from ``CaseDesk``'s events: one pure reducer that every reader shares.

:class:`CaseModel` folds the events (:class:`~ledger.events.Event`, in block and log order,
with their block times) with :meth:`CaseModel.apply`. A case's record answers what the
contract's views answer at a time ``now``: :meth:`CaseModel.case` is ``getCase``,
:meth:`CaseModel.assignment` is ``assignment``, :meth:`CaseModel.team` is ``team``. Overdue is
derived exactly as the contract derives it, from the deadlines and ``now`` (the chain time:
the last block's), never stored: a Dispatched case is overdue once ``now`` is past its
acknowledge deadline; an Acknowledged, Reopened or SentBack case once ``now`` is past its
resolve deadline; no other state is ever overdue.

The fold also keeps what the metrics count (:mod:`ledger.cases.metrics`): every dispatch with
who acknowledged it and whether late, every satisfaction record, and whether the lead's
answer that asked for the last evaluation was late. The service levels (``ServiceLevelSet``)
and the satisfaction window (``CaseDeskDeployed``) are folded too, so nothing a list shows
needs a chain call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.abi import bytes_of
from ledger.abi.records import record_from
from ledger.cases.types import (
    Assignment,
    Case,
    CaseState,
    Evaluation,
    Satisfaction,
    ServiceLevel,
)
from ledger.events import Event, Reducer

#: The events that carry a ``caseId``: a case's timeline.
CASE_EVENTS = frozenset({
    "CaseRaised", "CaseDispatched", "CaseAcknowledged", "CaseAnswered", "CaseSentBack", "CaseEscalated",
    "CaseEvaluated", "CaseReopened", "SatisfactionRecorded",
})
#: The events :class:`CaseModel` folds (others are ignored).
MODEL_EVENTS = CASE_EVENTS | {"CaseDeskDeployed", "ServiceLevelSet"}

#: States overdue once past the resolve deadline (Dispatched: past the acknowledge deadline).
_OVERDUE_ON_RESOLVE = frozenset({CaseState.ACKNOWLEDGED, CaseState.REOPENED, CaseState.SENT_BACK})
_OUTCOMES = tuple(Evaluation)
_LEVELS = tuple(Satisfaction)


def _hash(value: object) -> bytes:
    return value if type(value) is bytes else bytes_of(value)


# ------------------------------------------------------------------ the fold's records (mutated only by apply)


@dataclass(slots=True)
class DispatchRecord:
    """One dispatch of a case: its team (the lead first), category, deadlines and acknowledgements."""

    case_id: int
    round: int
    team: tuple[int, ...]
    category: int
    at: int  # the dispatch's block time
    ack_deadline: int
    #: member id -> acknowledged late (after the acknowledge deadline)
    acknowledged: dict[int, bool] = field(default_factory=dict)


@dataclass(slots=True)
class SatisfactionRecord:
    """One residents' satisfaction record, with the case's lead and category when it was made."""

    case_id: int
    member_id: int  # the channel that recorded it
    level: Satisfaction
    at: int
    lead_id: int
    category: int
    reopened: bool


@dataclass(slots=True)
class CaseRecord:
    id: int
    raiser_id: int
    channel_id: int
    area_code: int
    description_hash: bytes
    report_hashes: tuple[bytes, ...]
    raised_at: int
    dispatch: DispatchRecord
    ack_deadline: int = 0
    resolve_deadline: int = 0
    resolve_seconds: int = 0
    closed_at: int = 0
    send_backs: int = 0
    satisfaction: int = 0  # 0: none since the last closing; else 1 + Satisfaction
    dissatisfaction_reopened: bool = False
    state: CaseState = CaseState.DISPATCHED
    answered: set[int] = field(default_factory=set)  # since the current dispatch or the last reopening
    lead_answer_late: bool = False  # the lead's last answer came after the resolve deadline
    events: list[Event] = field(default_factory=list)  # the timeline, in chain order

    @property
    def team(self) -> tuple[int, ...]:
        return self.dispatch.team

    @property
    def lead_id(self) -> int:
        return self.dispatch.team[0]

    @property
    def category(self) -> int:
        return self.dispatch.category

    @property
    def closed(self) -> bool:
        return self.state in (CaseState.CLOSED_FIXED, CaseState.CLOSED_NOT_FIXED)

    def overdue(self, now: int) -> bool:
        """The contract's ``isOverdue`` at ``now``."""
        if self.state == CaseState.DISPATCHED:
            return now > self.ack_deadline
        return self.state in _OVERDUE_ON_RESOLVE and now > self.resolve_deadline

    def missed_deadline(self) -> int:
        """The deadline an overdue case missed: to acknowledge (Dispatched), else to resolve."""
        return self.ack_deadline if self.state == CaseState.DISPATCHED else self.resolve_deadline


class CaseModel(Reducer):
    """The fold of ``CaseDesk``'s events; views at a time ``now`` derive overdue from the clock."""

    def __init__(self) -> None:
        self.registry: str | None = None
        self.satisfaction_window = 0
        self.levels: dict[int, ServiceLevel] = {}  # categories with a service level now
        self.cases: dict[int, CaseRecord] = {}
        self.dispatches: list[DispatchRecord] = []
        self.satisfactions: list[SatisfactionRecord] = []
        self.by_report: dict[bytes, int] = {}  # a resident's report (its hash) -> the latest case grouping it

    # ---------------------------------------------------------------- the fold

    def apply(self, e: Event) -> None:
        """Fold one event of ``CaseDesk`` (in chain order); others are ignored."""
        a, n = e.args, e.name
        if n == "CaseDeskDeployed":
            self.registry, self.satisfaction_window = str(a["registry"]), int(a["satisfactionWindow"])
        elif n == "ServiceLevelSet":
            cat, ack, resolve = int(a["category"]), int(a["ackSeconds"]), int(a["resolveSeconds"])
            if ack == 0:
                self.levels.pop(cat, None)  # retired
            else:
                self.levels[cat] = ServiceLevel(cat, ack, resolve)
        elif n == "CaseRaised":
            cid, t = int(a["caseId"]), e.block_time
            self.cases[cid] = CaseRecord(
                cid, int(a["raiserId"]), int(a["channelId"]), int(a["areaCode"]), _hash(a["descriptionHash"]),
                tuple(_hash(h) for h in a["reportHashes"]), t, DispatchRecord(cid, 0, (0,), 0, t, 0), events=[e],
            )
            self.by_report.update(dict.fromkeys(self.cases[cid].report_hashes, cid))
        elif n in CASE_EVENTS:
            c = self.cases.get(int(a["caseId"]))
            if c is not None:
                c.events.append(e)
                self._transition(c, e)

    def _transition(self, c: CaseRecord, e: Event) -> None:
        a, n = e.args, e.name
        if n == "CaseDispatched":
            t = e.block_time
            team = (int(a["leadId"]), *(int(m) for m in a["assistingIds"]))
            d = DispatchRecord(c.id, int(a["round"]), team, int(a["category"]), t, int(a["ackDeadline"]))
            self.dispatches.append(d)
            c.dispatch, c.state = d, CaseState.DISPATCHED
            c.ack_deadline, c.resolve_deadline = d.ack_deadline, int(a["resolveDeadline"])
            c.resolve_seconds = c.resolve_deadline - t
            c.answered = set()
        elif n == "CaseAcknowledged":
            c.dispatch.acknowledged[int(a["memberId"])] = bool(a["late"])
            if a["lead"]:
                c.state = CaseState.ACKNOWLEDGED
        elif n == "CaseAnswered":
            c.answered.add(int(a["memberId"]))
            if a["lead"]:
                c.state, c.lead_answer_late = CaseState.AWAITING_EVALUATION, bool(a["late"])
        elif n == "CaseSentBack":
            c.send_backs = int(a["sendBacks"])
            if int(a["responsibleId"]) != 0 and c.send_backs < 2:
                c.state = CaseState.SENT_BACK  # else CaseEscalated follows in the same transaction
        elif n == "CaseEscalated":
            c.state = CaseState.ESCALATED
        elif n == "CaseEvaluated":
            outcome = _OUTCOMES[int(a["outcome"])]
            if outcome != Evaluation.REJECTED:  # a rejection: CaseReopened follows
                c.state = CaseState.CLOSED_FIXED if outcome == Evaluation.FIXED else CaseState.CLOSED_NOT_FIXED
                c.closed_at = e.block_time
        elif n == "CaseReopened":
            c.state, c.resolve_deadline = CaseState.REOPENED, int(a["resolveDeadline"])
            c.closed_at, c.satisfaction, c.answered = 0, 0, set()
        elif n == "SatisfactionRecorded":
            level, reopened = _LEVELS[int(a["level"])], bool(a["reopened"])
            c.satisfaction = int(level) + 1
            c.dissatisfaction_reopened = c.dissatisfaction_reopened or reopened
            self.satisfactions.append(
                SatisfactionRecord(c.id, int(a["memberId"]), level, e.block_time, c.lead_id, c.category, reopened)
            )

    # ---------------------------------------------------------------- the contract's views at a time

    def case(self, c: CaseRecord, now: int) -> Case:
        """``getCase`` at ``now``."""
        return record_from(Case, c, lead_id=c.lead_id, category=c.category, round=c.dispatch.round,
                           overdue=c.overdue(now))

    @staticmethod
    def team(c: CaseRecord) -> tuple[int, ...]:
        """``team``: the current dispatch's departments, the lead first."""
        return c.team

    @staticmethod
    def assignment(c: CaseRecord, member_id: int) -> Assignment:
        """``assignment``: the member's part in the current dispatch."""
        if member_id == 0 or member_id not in c.team:
            return Assignment(False, False, False, False, False)
        acked = c.dispatch.acknowledged
        return Assignment(True, member_id == c.lead_id, member_id in acked, acked.get(member_id, False),
                          member_id in c.answered)

    def cases_at(self, now: int) -> dict[int, Case]:
        """Every case as ``getCase`` shows it at ``now``."""
        return {i: self.case(c, now) for i, c in self.cases.items()}


def cases_at(events: Iterable[Event], now: int) -> dict[int, Case]:
    """The cases of ``events`` (chain order) at time ``now``."""
    return CaseModel.of(events).cases_at(now)


__all__ = ["CASE_EVENTS", "MODEL_EVENTS", "CaseModel", "CaseRecord", "DispatchRecord", "SatisfactionRecord",
           "cases_at"]
