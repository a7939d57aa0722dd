"""Who may read which off-chain text: one table, kind -> readers, and one check.

=============  ====================================================================
kind           readers
=============  ====================================================================
title          everyone (the portal shows it)
milestone      everyone
memo           the contributing member, the treasurer, auditors
invoice        the project's beneficiary member, the fund committee, the treasurer,
               auditors
deposit        the treasurer, auditors (bank receipt texts)
redemption     the treasurer, auditors
purpose        the requesting member, the dataset's owner, data governance, auditors
case_public    everyone (a case's description its raiser marked public)
case,          the case's raiser, the departments of its current dispatch, the
evidence       district, auditors (a description not marked public; an answer's
               evidence)
=============  ====================================================================

A reader is a *member* (the API key's account must be an active account of an active
member): roles are the member's roles on chain, an auditor is a member of kind auditor or
with the auditor role. Nobody else reads a purpose: not the council, not the treasurer.
A caller who may not read a text gets the same answer as for a text that does not exist
(the API's 404): whether the service holds a text is not told to those who may not read
it.

The parties of a record (its contributor, beneficiary, requester, owner) come from the
chain: from the record's own event (stored with the text when the write was accepted,
:data:`ledger.fund.docs.ON_CHAIN`) and, for what can only be read now (the member of the
beneficiary's account, the dataset's owner), from the contracts' views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ledger.membership import MemberKind, Role

if TYPE_CHECKING:
    from ledger.client import Ledger
    from ledger.membership import Member


class Party(StrEnum):
    EVERYONE = "everyone"
    CONTRIBUTOR = "contributor"  # the member that contributed (a memo's receipt)
    BENEFICIARY = "beneficiary"  # the member of the project's beneficiary account (an invoice's payout)
    REQUESTER = "requester"  # the member that asked for access (a purpose's request)
    OWNER = "owner"  # the member that owns the requested dataset
    RAISER = "raiser"  # the sub-district that raised a case
    NAMED = "named"  # the departments of a case's current dispatch
    TREASURER = "treasurer"
    COMMITTEE = "committee"
    DATA_GOVERNANCE = "data_governance"
    DISTRICT = "district"
    AUDITOR = "auditor"


P = Party
READERS: Mapping[str, frozenset[Party]] = MappingProxyType({
    "title": frozenset({P.EVERYONE}),
    "milestone": frozenset({P.EVERYONE}),
    "memo": frozenset({P.CONTRIBUTOR, P.TREASURER, P.AUDITOR}),
    "invoice": frozenset({P.BENEFICIARY, P.COMMITTEE, P.TREASURER, P.AUDITOR}),
    "deposit": frozenset({P.TREASURER, P.AUDITOR}),
    "redemption": frozenset({P.TREASURER, P.AUDITOR}),
    "purpose": frozenset({P.REQUESTER, P.OWNER, P.DATA_GOVERNANCE, P.AUDITOR}),
    "case_public": frozenset({P.EVERYONE}),
    "case": frozenset({P.RAISER, P.NAMED, P.DISTRICT, P.AUDITOR}),
    "evidence": frozenset({P.RAISER, P.NAMED, P.DISTRICT, P.AUDITOR}),
})

#: A record's party: a member id, several (a case's departments), or None (no member).
PartyIds = int | frozenset[int] | None

_BY_ROLE: Mapping[Party, Role] = MappingProxyType({
    P.TREASURER: Role.TREASURER,
    P.COMMITTEE: Role.FUND_COMMITTEE,
    P.DATA_GOVERNANCE: Role.DATA_GOVERNANCE,
    P.DISTRICT: Role.DISTRICT,
    P.AUDITOR: Role.AUDITOR,
})


@dataclass(frozen=True)
class Reader:
    """Who asks: a member (its id, its roles on chain, whether it is an auditor), or nobody."""

    member_id: int | None = None
    roles: frozenset[Role] = frozenset()
    auditor: bool = False

    @classmethod
    def of(cls, member: Member | None) -> Reader:
        """The reader a member is; an inactive member (or none) reads public texts only."""
        if member is None or not member.active:
            return cls()
        return cls(member.id, frozenset(member.roles), member.kind == MemberKind.AUDITOR)


def may_read(kind: str, reader: Reader, parties: Mapping[Party, PartyIds] | None = None) -> bool:
    """Whether ``reader`` may read a text of ``kind`` whose record has ``parties`` (member ids)."""
    allowed = READERS.get(kind, frozenset())
    if P.EVERYONE in allowed:
        return True
    if reader.member_id is None:
        return False
    if P.AUDITOR in allowed and reader.auditor:
        return True
    for party in allowed:
        role = _BY_ROLE.get(party)
        if role is not None:
            if role in reader.roles:
                return True
        elif parties is not None and _names(parties.get(party), reader.member_id):
            return True
    return False


def _names(ids: PartyIds, member_id: int) -> bool:
    return member_id in ids if isinstance(ids, frozenset) else ids == member_id


def needs_parties(kind: str) -> bool:
    """Whether the check for ``kind`` looks at the record's parties (else only at roles)."""
    return any(p not in _BY_ROLE and p != P.EVERYONE for p in READERS.get(kind, ()))


def record_parties(ledger: Ledger, kind: str, record: Mapping[str, Any]) -> dict[Party, PartyIds]:
    """The parties of an accepted text's record, read from the chain where the record's event
    does not name them (a beneficiary account's member, a dataset's owner)."""
    if kind == "memo":
        return {P.CONTRIBUTOR: int(record["memberId"])}
    if kind == "invoice":
        from ledger.membership import Registry

        member = Registry(ledger).member_of(str(record["beneficiary"]))
        return {P.BENEFICIARY: member.id if member else None}
    if kind == "purpose":
        from ledger.data import DataSharing

        owner = DataSharing(ledger).dataset(int(record["datasetId"])).owner_id
        return {P.REQUESTER: int(record["requesterId"]), P.OWNER: owner}
    if kind in ("case", "evidence"):
        from ledger.cases import CaseDesk

        desk = CaseDesk(ledger)
        case_id = int(record["caseId"])
        return {P.RAISER: desk.case(case_id).raiser_id, P.NAMED: frozenset(desk.team(case_id))}
    return {}


__all__ = ["READERS", "Party", "PartyIds", "Reader", "may_read", "needs_parties", "record_parties"]
