"""The fund's state folded from its events: one pure reducer shared by every reader.

The enums carry the contract's values (``ICoGovFund``).
"""

from __future__ import annotations

from enum import IntEnum


class ProjectState(IntEnum):
    PROPOSED = 0
    TIME_LOCKED = 1
    ACTIVE = 2
    COMPLETED = 3
    REJECTED = 4
    CANCELLED = 5


class MotionKind(IntEnum):
    APPROVE_PROJECT = 0
    ALLOCATE_FROM_POOL = 1
    CANCEL_PROJECT = 2


class MotionState(IntEnum):
    OPEN = 0
    PASSED = 1
    FAILED = 2
    LAPSED = 3


class ContributorKind(IntEnum):
    GOVERNMENT = 0
    ENTERPRISE = 1
    RESIDENT = 2


CLOSED_STATES = (ProjectState.COMPLETED, ProjectState.REJECTED, ProjectState.CANCELLED)
