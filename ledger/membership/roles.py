"""Role, member-kind and change-kind numbers, as in ``IMembershipRegistry.sol``."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class MemberKind(IntEnum):
    DEPARTMENT, ENTERPRISE, RESIDENT_GROUP, AUDITOR = range(4)


class Role(IntEnum):
    COUNCIL = 0
    DEPARTMENT = 1
    DATA_GOVERNANCE = 2
    FUND_COMMITTEE = 3
    TREASURER = 4
    AUDITOR = 5
    CONTRIBUTOR = 6
    #: Raises cases (吹哨) and evaluates their answers (``contracts/cases``).
    SUB_DISTRICT = 7
    #: Takes escalated cases (兜底).
    DISTRICT = 8
    #: The channel that took residents' reports (12345, Open311): records their satisfaction.
    CHANNEL = 9


class ChangeKind(IntEnum):
    ADMIT_MEMBER = 0
    REMOVE_MEMBER = 1
    GRANT_ROLE = 2
    REVOKE_ROLE = 3
    ADD_ACCOUNT = 4
    REMOVE_ACCOUNT = 5
    SET_DATA_KEY = 6
    ADD_NODE = 7
    REMOVE_NODE = 8
    SET_THRESHOLD = 9
    SET_PROPOSAL_LIFETIME = 10


class ProposalState(IntEnum):
    PENDING, APPROVED, EXECUTED, CANCELLED, EXPIRED = range(5)


def roles_mask(roles: Iterable[Role]) -> int:
    mask = 0
    for r in roles:
        mask |= 1 << int(r)
    return mask


def roles_from_mask(mask: int) -> list[Role]:
    return [r for r in Role if mask & (1 << int(r))]
