"""Membership's operations: members and council proposals, listed from the event index alone
(the membership reducer, :class:`ledger.membership.MembershipState`, kept current with the
index), single records and the answers of writes from the registry's views, and the council's
changes turned into the registry's calls."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from api.deps import Caller, OnePer
from api.schemas.common import TxInfo
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
)
from api.services.index import Folded, index_for
from api.state import ServiceState
from ledger.client import TxReceipt
from ledger.errors import NotFound, ValidationFailed
from ledger.membership import (
    CHANGE_ARGS,
    NAME,
    ChangeKind,
    Member,
    MemberKind,
    MembershipState,
    Proposal,
    Registry,
    Role,
    decode_change,
    roles_mask,
)

# ------------------------------------------------------------------ presenters


def member_public(m: Member) -> MemberPublic:
    return MemberPublic.model_validate(m, from_attributes=True)




def proposal_args(kind: ChangeKind, data: bytes) -> dict[str, Any]:
    """A proposal's change, its arguments named as the API takes them."""
    try:
        values = decode_change(kind, data)
    except Exception:
        return {"raw": "0x" + data.hex()}
    out: dict[str, Any] = {}
    for (name, _), v in zip(CHANGE_ARGS[kind], values, strict=True):
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
    return ProposalPublic.model_validate(
        {**vars(p), "kind": p.kind.name.lower(), "args": proposal_args(p.kind, p.data)}
    )


def proposal_write(reg: Registry, proposal_id: int, receipt: TxReceipt) -> ProposalWrite:
    return ProposalWrite(
        tx=TxInfo.model_validate(receipt, from_attributes=True), proposal=proposal_public(reg.proposal(proposal_id))
    )


# ------------------------------------------------------------------ records


def member_or_404(state: ServiceState, member_id: int) -> Member:
    if member_id > int(state.ledger.call(NAME, "memberCount")):
        raise NotFound("member", member_id)
    return Registry(state.ledger).member(member_id)


def member_by_account(state: ServiceState, address: str) -> Member:
    m = Registry(state.ledger).member_of(address)
    if m is None:
        raise NotFound("member with account", address)
    return m


def proposal_or_404(state: ServiceState, proposal_id: int) -> Proposal:
    if proposal_id > int(state.ledger.call(NAME, "proposalCount")):
        raise NotFound("proposal", proposal_id)
    return Registry(state.ledger).proposal(proposal_id)


# ------------------------------------------------------------------ lists, from the index alone

_folded: OnePer[Folded[MembershipState]] = OnePer(lambda: Folded(NAME, MembershipState, MembershipState.apply))


def list_members(state: ServiceState, role: str | None, active: bool | None, offset: int, limit: int) -> MemberList:
    want: Role | None = None
    if role is not None:
        try:
            want = Role[role.upper()]
        except KeyError as exc:
            raise ValidationFailed("role", f"unknown role {role}") from exc

    def present(s: MembershipState, now: int) -> MemberList:
        members = [
            m for m in s.members.values() if (want is None or m.has(want)) and (active is None or m.active == active)
        ]
        page = [member_public(s.member_view(m)) for m in members[offset : offset + limit]]
        return MemberList(data=page, count=len(members))

    index = index_for(state)
    return _folded(index).read(index, present)


def list_proposals(state: ServiceState, state_name: str | None, offset: int, limit: int) -> ProposalList:
    def present(s: MembershipState, now: int) -> ProposalList:
        views = [s.proposal_view(p, now) for p in reversed(s.proposals.values())]  # newest first
        if state_name is not None:
            views = [p for p in views if p.state.name.lower() == state_name]
        return ProposalList(data=[proposal_public(p) for p in views[offset : offset + limit]], count=len(views))

    index = index_for(state)
    return _folded(index).read(index, present)


# ------------------------------------------------------------------ council writes


def change_of(body: ProposalCreate) -> tuple[ChangeKind, list[Any]]:
    """The registry change (kind and arguments) a proposal's body asks for."""
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


def propose(state: ServiceState, caller: Caller, body: ProposalCreate) -> ProposalWrite:
    state.check_chain()
    kind, args = change_of(body)
    reg = Registry(state.ledger)
    pid, receipt = reg.propose(caller.signer(), kind, *args)
    state.catch_up(receipt.block_number)
    return proposal_write(reg, pid, receipt)


def act(state: ServiceState, caller: Caller, action: str, proposal_id: int) -> ProposalWrite:
    """``approve``, ``execute`` or ``cancel`` a proposal as the caller (an unknown proposal,
    a caller off the council, a proposal not open: the pre-flight refuses, nothing is sent)."""
    state.check_chain()
    reg = Registry(state.ledger)
    receipt: TxReceipt = getattr(reg, action)(caller.signer(), proposal_id)
    state.catch_up(receipt.block_number)
    return proposal_write(reg, proposal_id, receipt)
