"""Numbers of ``ICaseDesk.sol``'s enums, and the categories' service levels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

#: The name of the contract in the artifacts and the manifest.
NAME = "CaseDesk"


class CaseState(IntEnum):
    DISPATCHED = 0
    ACKNOWLEDGED = 1
    AWAITING_EVALUATION = 2
    SENT_BACK = 3
    ESCALATED = 4
    REOPENED = 5
    CLOSED_FIXED = 6
    CLOSED_NOT_FIXED = 7


CLOSED_STATES = frozenset({CaseState.CLOSED_FIXED, CaseState.CLOSED_NOT_FIXED})


class Evaluation(IntEnum):
    FIXED, REJECTED, NOT_FIXED = range(3)


class Satisfaction(IntEnum):
    SATISFIED = 0  # 满意
    BASICALLY_SATISFIED = 1  # 基本满意
    DISSATISFIED = 2  # 不满意


class EscalationCause(IntEnum):
    BY_RAISER, OVERDUE, SENT_BACK_TWICE, NO_OWNER = range(4)


class ReopenCause(IntEnum):
    REJECTED, DISSATISFIED = range(2)


@dataclass(frozen=True)
class ServiceLevel:
    """A category's deadlines, in seconds after a dispatch: to acknowledge (报到) and to resolve."""

    category: int
    ack_seconds: int
    resolve_seconds: int

    def spec(self) -> tuple[int, int, int]:
        """The contract's ``CategorySpec`` tuple."""
        return (self.category, self.ack_seconds, self.resolve_seconds)


_MINUTE, _HOUR, _DAY = 60, 3600, 24 * 3600

#: The service levels a deployment starts with (Beijing's 12345 norms and Pinggu's rule of
#: 报到 within 30 minutes); the council changes them afterwards.
STANDARD_LEVELS: tuple[ServiceLevel, ...] = (
    ServiceLevel(1, 30 * _MINUTE, 2 * _HOUR),  # emergency
    ServiceLevel(2, 2 * _HOUR, 24 * _HOUR),  # utilities
    ServiceLevel(3, 24 * _HOUR, 7 * _DAY),  # general
    ServiceLevel(4, 24 * _HOUR, 15 * _DAY),  # complex
)

#: Seconds after a closing during which the channel may record the residents' satisfaction.
SATISFACTION_WINDOW = 7 * _DAY


# ------------------------------------------------------------------ the contract's views, frozen


@dataclass(frozen=True)
class Case:
    """A case as ``getCase`` shows it (``overdue`` derived from its deadlines and the chain time)."""

    id: int
    raiser_id: int
    lead_id: int
    channel_id: int  # 0: any Channel member may record satisfaction
    area_code: int
    category: int
    description_hash: bytes
    ack_deadline: int
    resolve_deadline: int
    resolve_seconds: int  # fixed at dispatch; a reopening restarts the resolve deadline with it
    closed_at: int  # 0 unless closed
    round: int  # dispatches so far (1 after raising)
    send_backs: int
    satisfaction: int  # 0: none recorded since the last closing; else 1 + Satisfaction
    dissatisfaction_reopened: bool
    overdue: bool
    state: CaseState


@dataclass(frozen=True)
class Assignment:
    """A member's part in a case's current dispatch, as ``assignment`` shows it."""

    named: bool
    lead: bool
    acknowledged: bool
    late: bool  # acknowledged after the acknowledge deadline
    answered: bool  # since the current dispatch or the last reopening
