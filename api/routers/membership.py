"""/api/v1/members and /api/v1/council/proposals.

Lists come from the event index (the membership reducer), single records from the
registry's views. Writes are signed with the caller's own account, taken from the API key,
never from the request body. The operations are ``api/services/membership.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.answers import kept
from api.deps import Caller, CurrentKey, Id, Limit, Offset, StateDep, require_role
from api.schemas.common import Address
from api.schemas.membership import (
    MemberList,
    MemberPublic,
    ProposalCreate,
    ProposalList,
    ProposalPublic,
    ProposalWrite,
    StateName,
)
from api.services import membership as svc
from ledger.membership import Role

members_router = APIRouter(prefix="/api/v1/members", tags=["members"])
council_router = APIRouter(prefix="/api/v1/council/proposals", tags=["council"])

CouncilCaller = Annotated[Caller, Depends(require_role(Role.COUNCIL))]


# ------------------------------------------------------------------ members


@members_router.get("", response_model=MemberList, summary="List members")
@kept()
def list_members(
    state: StateDep,
    _key: CurrentKey,
    role: Annotated[str | None, Query(description="Only members holding this role.", pattern="^[a-z_]{4,20}$")] = None,
    active: Annotated[bool | None, Query(description="Only active (true) or removed (false) members.")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> MemberList:
    return svc.list_members(state, role, active, offset, limit)


@members_router.get("/by-account/{address}", response_model=MemberPublic, summary="The member owning an account")
def member_by_account(address: Address, state: StateDep, _key: CurrentKey) -> MemberPublic:
    return svc.member_public(svc.member_by_account(state, address))


@members_router.get("/{member_id}", response_model=MemberPublic, summary="One member")
def get_member(member_id: Id, state: StateDep, _key: CurrentKey) -> MemberPublic:
    return svc.member_public(svc.member_or_404(state, member_id))


# ------------------------------------------------------------------ council


@council_router.get("", response_model=ProposalList, summary="List council proposals")
@kept()
def list_proposals(
    state: StateDep,
    _key: CurrentKey,
    state_filter: Annotated[StateName | None, Query(alias="state")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ProposalList:
    return svc.list_proposals(state, state_filter, offset, limit)


@council_router.get("/{proposal_id}", response_model=ProposalPublic, summary="One proposal")
def get_proposal(proposal_id: Id, state: StateDep, _key: CurrentKey) -> ProposalPublic:
    return svc.proposal_public(svc.proposal_or_404(state, proposal_id))


@council_router.post(
    "", response_model=ProposalWrite, status_code=status.HTTP_201_CREATED, summary="Propose a change (council)"
)
def create_proposal(body: ProposalCreate, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    return svc.propose(state, caller, body)


@council_router.post("/{proposal_id}/approve", response_model=ProposalWrite, summary="Approve (council)")
def approve_proposal(proposal_id: Id, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    return svc.act(state, caller, "approve", proposal_id)


@council_router.post("/{proposal_id}/execute", response_model=ProposalWrite, summary="Execute once approved (council)")
def execute_proposal(proposal_id: Id, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    return svc.act(state, caller, "execute", proposal_id)


@council_router.post("/{proposal_id}/cancel", response_model=ProposalWrite, summary="Cancel (the proposer)")
def cancel_proposal(proposal_id: Id, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    return svc.act(state, caller, "cancel", proposal_id)
