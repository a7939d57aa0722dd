"""/api/v1/members and /api/v1/council/proposals.

Reads come from the registry's views (the chain is the source of truth and the
registry is small). Writes are signed with the caller's own account, taken from
the API key, never from the request body.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Query, status

from api.deps import Caller, CurrentKey, Id, Limit, Offset, StateDep, require_role
from api.schemas.common import Address, TxInfo
from api.schemas.membership import (
    AccountChange,
    AdmitMember,
    MemberList,
    MemberPublic,
    NodeChange,
    ProposalCreate,
    ProposalList,
    ProposalPublic,
    ProposalWrite,
    RemoveMember,
    RoleChange,
    SetDataKey,
    SetProposalLifetime,
    SetThreshold,
    StateName,
)
from ledger.client import TxReceipt
from ledger.errors import NotFound
from ledger.membership import ChangeKind, Member, MemberKind, Proposal, Registry, Role, decode_change

members_router = APIRouter(prefix="/api/v1/members", tags=["members"])
council_router = APIRouter(prefix="/api/v1/council/proposals", tags=["council"])

CouncilCaller = Annotated[Caller, Depends(require_role(Role.COUNCIL))]


def member_public(m: Member) -> MemberPublic:
    return MemberPublic(
        id=m.id,
        name=m.name,
        kind=m.kind.name.lower(),  # type: ignore[arg-type]
        roles=[r.name.lower() for r in m.roles],  # type: ignore[misc]
        active=m.active,
        data_key=m.data_key,
        admitted_at=m.admitted_at,
        accounts=list(m.accounts),
        nodes=list(m.nodes),
    )


_ARG_NAMES: dict[ChangeKind, list[str]] = {
    ChangeKind.ADMIT_MEMBER: ["name", "member_kind", "roles", "account"],
    ChangeKind.REMOVE_MEMBER: ["member_id"],
    ChangeKind.GRANT_ROLE: ["member_id", "role"],
    ChangeKind.REVOKE_ROLE: ["member_id", "role"],
    ChangeKind.ADD_ACCOUNT: ["member_id", "account"],
    ChangeKind.REMOVE_ACCOUNT: ["member_id", "account"],
    ChangeKind.SET_DATA_KEY: ["member_id", "data_key"],
    ChangeKind.ADD_NODE: ["member_id", "enode_id", "ip", "port"],
    ChangeKind.REMOVE_NODE: ["member_id", "enode_id", "ip", "port"],
    ChangeKind.SET_THRESHOLD: ["threshold"],
    ChangeKind.SET_PROPOSAL_LIFETIME: ["seconds"],
}


def proposal_args(kind: ChangeKind, data: bytes) -> dict[str, Any]:
    try:
        values = decode_change(kind, data)
    except Exception:
        return {"raw": "0x" + data.hex()}
    out: dict[str, Any] = {}
    for name, v in zip(_ARG_NAMES[kind], values, strict=True):
        if isinstance(v, bytes):
            v = "0x" + v.hex()
        elif name == "member_kind":
            v = MemberKind(v).name.lower()
        elif name == "role":
            v = Role(v).name.lower()
        elif name == "roles":
            v = [r.name.lower() for r in Role if v & (1 << int(r))]
        elif name == "account":
            v = to_checksum_address(v)
        out[name] = v
    return out


def proposal_public(p: Proposal) -> ProposalPublic:
    return ProposalPublic(
        id=p.id,
        kind=p.kind.name.lower(),
        args=proposal_args(p.kind, p.data),
        proposer_id=p.proposer_id,
        proposer=p.proposer,
        created_at=p.created_at,
        expires_at=p.expires_at,
        approvals=p.approvals,
        approvers=list(p.approvers),
        state=p.state.name.lower(),  # type: ignore[arg-type]
    )


def tx_info(r: TxReceipt) -> TxInfo:
    return TxInfo(tx_hash=r.tx_hash, block_number=r.block_number, gas_used=r.gas_used)


# ------------------------------------------------------------------ members


@members_router.get("", response_model=MemberList, summary="List members")
def list_members(
    state: StateDep,
    _key: CurrentKey,
    role: Annotated[str | None, Query(description="Only members holding this role.", pattern="^[a-z_]{4,20}$")] = None,
    active: Annotated[bool | None, Query(description="Only active (true) or removed (false) members.")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> MemberList:
    members = Registry(state.ledger).members()
    if role is not None:
        try:
            want = Role[role.upper()]
        except KeyError as exc:
            from ledger.errors import ValidationFailed

            raise ValidationFailed("role", f"unknown role {role}") from exc
        members = [m for m in members if want in m.roles and m.active]
    if active is not None:
        members = [m for m in members if m.active == active]
    return MemberList(data=[member_public(m) for m in members[offset : offset + limit]], count=len(members))


@members_router.get("/by-account/{address}", response_model=MemberPublic, summary="The member owning an account")
def member_by_account(address: Address, state: StateDep, _key: CurrentKey) -> MemberPublic:
    m = Registry(state.ledger).member_of(address)
    if m is None:
        raise NotFound("member with account", address)
    return member_public(m)


@members_router.get("/{member_id}", response_model=MemberPublic, summary="One member")
def get_member(member_id: Id, state: StateDep, _key: CurrentKey) -> MemberPublic:
    reg = Registry(state.ledger)
    if member_id > int(state.ledger.call("MembershipRegistry", "memberCount")):
        raise NotFound("member", member_id)
    return member_public(reg.member(member_id))


# ------------------------------------------------------------------ council


def _change_args(body: Any) -> tuple[ChangeKind, list[Any]]:
    from ledger.membership import roles_mask

    if isinstance(body, AdmitMember):
        return ChangeKind.ADMIT_MEMBER, [
            body.name,
            int(MemberKind[body.member_kind.upper()]),
            roles_mask(Role[r.upper()] for r in body.roles),
            body.account,
        ]
    if isinstance(body, RemoveMember):
        return ChangeKind.REMOVE_MEMBER, [body.member_id]
    if isinstance(body, RoleChange):
        kind = ChangeKind.GRANT_ROLE if body.kind == "grant_role" else ChangeKind.REVOKE_ROLE
        return kind, [body.member_id, int(Role[body.role.upper()])]
    if isinstance(body, AccountChange):
        kind = ChangeKind.ADD_ACCOUNT if body.kind == "add_account" else ChangeKind.REMOVE_ACCOUNT
        return kind, [body.member_id, body.account]
    if isinstance(body, SetDataKey):
        return ChangeKind.SET_DATA_KEY, [body.member_id, bytes.fromhex(body.data_key[2:])]
    if isinstance(body, NodeChange):
        kind = ChangeKind.ADD_NODE if body.kind == "add_node" else ChangeKind.REMOVE_NODE
        return kind, [body.member_id, body.enode_id.lower(), body.ip, body.port]
    if isinstance(body, SetThreshold):
        return ChangeKind.SET_THRESHOLD, [body.threshold]
    assert isinstance(body, SetProposalLifetime)
    return ChangeKind.SET_PROPOSAL_LIFETIME, [body.seconds]


@council_router.get("", response_model=ProposalList, summary="List council proposals")
def list_proposals(
    state: StateDep,
    _key: CurrentKey,
    state_filter: Annotated[StateName | None, Query(alias="state")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ProposalList:
    props = Registry(state.ledger).proposals()
    if state_filter is not None:
        props = [p for p in props if p.state.name.lower() == state_filter]
    props.reverse()  # newest first
    return ProposalList(data=[proposal_public(p) for p in props[offset : offset + limit]], count=len(props))


@council_router.get("/{proposal_id}", response_model=ProposalPublic, summary="One proposal")
def get_proposal(proposal_id: Id, state: StateDep, _key: CurrentKey) -> ProposalPublic:
    if proposal_id > int(state.ledger.call("MembershipRegistry", "proposalCount")):
        raise NotFound("proposal", proposal_id)
    return proposal_public(Registry(state.ledger).proposal(proposal_id))


@council_router.post(
    "", response_model=ProposalWrite, status_code=status.HTTP_201_CREATED, summary="Propose a change (council)"
)
def create_proposal(body: ProposalCreate, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    state.check_chain()
    kind, args = _change_args(body)
    reg = Registry(state.ledger)
    pid, receipt = reg.propose(caller.signer(), kind, *args)
    state.catch_up(receipt.block_number)
    return ProposalWrite(tx=tx_info(receipt), proposal=proposal_public(reg.proposal(pid)))


def _act(action: str, proposal_id: int, state: StateDep, caller: Caller) -> ProposalWrite:
    state.check_chain()
    if proposal_id > int(state.ledger.call("MembershipRegistry", "proposalCount")):
        raise NotFound("proposal", proposal_id)
    reg = Registry(state.ledger)
    receipt: TxReceipt = getattr(reg, action)(caller.signer(), proposal_id)
    state.catch_up(receipt.block_number)
    return ProposalWrite(tx=tx_info(receipt), proposal=proposal_public(reg.proposal(proposal_id)))


@council_router.post("/{proposal_id}/approve", response_model=ProposalWrite, summary="Approve (council)")
def approve_proposal(proposal_id: Id, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    return _act("approve", proposal_id, state, caller)


@council_router.post("/{proposal_id}/execute", response_model=ProposalWrite, summary="Execute once approved (council)")
def execute_proposal(proposal_id: Id, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    return _act("execute", proposal_id, state, caller)


@council_router.post("/{proposal_id}/cancel", response_model=ProposalWrite, summary="Cancel (the proposer)")
def cancel_proposal(proposal_id: Id, state: StateDep, caller: CouncilCaller) -> ProposalWrite:
    return _act("cancel", proposal_id, state, caller)
