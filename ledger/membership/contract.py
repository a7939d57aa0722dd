"""Typed wrapper of the membership registry: reads return frozen dataclasses, writes receipts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import to_checksum_address

from ledger.abi.records import record_from_view
from ledger.client import TxReceipt
from ledger.errors import ValidationFailed
from ledger.keys import Signer
from ledger.membership.roles import ChangeKind, MemberKind, ProposalState, Role, roles_from_mask, roles_mask
from ledger.wrapper import ContractWrapper, int_view

NAME = "MembershipRegistry"

#: Each change's arguments, (name, ABI type), as ``IMembershipRegistry.ChangeKind`` encodes them.
CHANGE_ARGS: dict[ChangeKind, list[tuple[str, str]]] = {
    ChangeKind.ADMIT_MEMBER: [
        ("name", "string"), ("member_kind", "uint8"), ("roles", "uint16"), ("account", "address")
    ],
    ChangeKind.REMOVE_MEMBER: [("member_id", "uint64")],
    ChangeKind.GRANT_ROLE: [("member_id", "uint64"), ("role", "uint8")],
    ChangeKind.REVOKE_ROLE: [("member_id", "uint64"), ("role", "uint8")],
    ChangeKind.ADD_ACCOUNT: [("member_id", "uint64"), ("account", "address")],
    ChangeKind.REMOVE_ACCOUNT: [("member_id", "uint64"), ("account", "address")],
    ChangeKind.SET_DATA_KEY: [("member_id", "uint64"), ("data_key", "bytes32")],
    ChangeKind.ADD_NODE: [("member_id", "uint64"), ("enode_id", "string"), ("ip", "string"), ("port", "uint16")],
    ChangeKind.REMOVE_NODE: [("member_id", "uint64"), ("enode_id", "string"), ("ip", "string"), ("port", "uint16")],
    ChangeKind.SET_THRESHOLD: [("threshold", "uint256")],
    ChangeKind.SET_PROPOSAL_LIFETIME: [("seconds", "uint48")],
}
PAYLOAD_TYPES: dict[ChangeKind, list[str]] = {k: [t for _, t in args] for k, args in CHANGE_ARGS.items()}


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    kind: MemberKind
    roles: tuple[Role, ...]
    active: bool
    data_key: str | None
    admitted_at: int
    accounts: tuple[str, ...]
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class AccountInfo:
    """What the registry says of one account (``accountInfo``: one call, no member record)."""

    member_id: int
    kind: MemberKind | None
    roles: tuple[Role, ...]
    active: bool


@dataclass(frozen=True)
class Proposal:
    id: int
    kind: ChangeKind
    data: bytes
    proposer_id: int
    proposer: str
    created_at: int
    expires_at: int
    executed: bool
    cancelled: bool
    approvals: int
    approvers: tuple[int, ...]
    state: ProposalState


def encode_change(kind: ChangeKind, *args: Any) -> bytes:
    """ABI-encode a change's arguments (see ``IMembershipRegistry.ChangeKind``)."""
    types = PAYLOAD_TYPES[kind]
    if len(args) != len(types):
        raise ValidationFailed("change", f"{kind.name} takes {len(types)} arguments, got {len(args)}")
    values = [int(a) if t.startswith("uint") else a for a, t in zip(args, types, strict=True)]
    values = [to_checksum_address(v) if t == "address" else v for v, t in zip(values, types, strict=True)]
    return encode(types, values)


def decode_change(kind: ChangeKind, data: bytes) -> list[Any]:
    from eth_abi import decode

    return list(decode(PAYLOAD_TYPES[kind], data))


class Registry(ContractWrapper):
    """The membership registry of one deployment."""

    contract = NAME

    # ---------------------------------------------------------------- reads

    def member(self, member_id: int) -> Member:
        return member_from_view(self._call("getMember", member_id))

    def member_of(self, account: str) -> Member | None:
        mid = int(self._call("memberIdOf", to_checksum_address(account)))
        return self.member(mid) if mid else None

    def account_info(self, account: str) -> AccountInfo:
        """The account's member id, kind, roles and whether it is an active account (one call)."""
        return account_info_from_view(self._call("accountInfo", to_checksum_address(account)))

    def members(self) -> list[Member]:
        return [self.member(i) for i in range(1, int(self._call("memberCount")) + 1)]

    def members_with_role(self, role: Role) -> list[int]:
        return [int(i) for i in self._call("membersWithRole", int(role))]

    def has_role(self, account: str, role: Role) -> bool:
        return bool(self._call("hasRole", to_checksum_address(account), int(role)))

    threshold = int_view("threshold")
    council_size = int_view("councilSize")

    def proposal(self, proposal_id: int) -> Proposal:
        return proposal_from_view(self._call("getProposal", proposal_id))

    def proposals(self) -> list[Proposal]:
        return [self.proposal(i) for i in range(1, int(self._call("proposalCount")) + 1)]

    # ---------------------------------------------------------------- writes

    def propose(self, signer: Signer, kind: ChangeKind, *args: Any) -> tuple[int, TxReceipt]:
        receipt = self.ledger.transact(signer, NAME, "propose", int(kind), encode_change(kind, *args))
        return int(receipt.event("ProposalCreated").args["proposalId"]), receipt

    def approve(self, signer: Signer, proposal_id: int) -> TxReceipt:
        return self.ledger.transact(signer, NAME, "approve", proposal_id)

    def execute(self, signer: Signer, proposal_id: int) -> TxReceipt:
        return self.ledger.transact(signer, NAME, "execute", proposal_id)

    def cancel(self, signer: Signer, proposal_id: int) -> TxReceipt:
        return self.ledger.transact(signer, NAME, "cancel", proposal_id)

    def enact(self, council: list[Signer], kind: ChangeKind, *args: Any) -> TxReceipt:
        """Propose with the first signer, approve with the next ones up to the threshold, execute."""
        pid, _ = self.propose(council[0], kind, *args)
        needed = self.threshold()
        for s in council[1:needed]:
            self.approve(s, pid)
        return self.execute(council[0], pid)

    def admit(self, council: list[Signer], name: str, kind: MemberKind, roles: list[Role], account: str) -> int:
        receipt = self.enact(council, ChangeKind.ADMIT_MEMBER, name, int(kind), roles_mask(roles), account)
        return int(receipt.event("MemberAdmitted").args["memberId"])


def member_from_view(raw: dict[str, Any]) -> Member:
    """A :class:`Member` from ``getMember``'s decoded answer."""
    key = raw["dataKey"]
    return Member(
        id=int(raw["id"]),
        name=str(raw["name"]),
        kind=MemberKind(int(raw["kind"])),
        roles=tuple(roles_from_mask(int(raw["roles"]))),
        active=bool(raw["active"]),
        data_key=None if key == b"\x00" * 32 else "0x" + bytes(key).hex(),
        admitted_at=int(raw["admittedAt"]),
        accounts=tuple(raw["accounts"]),
        nodes=tuple("0x" + bytes(n).hex() for n in raw["nodes"]),
    )


def account_info_from_view(raw: Any) -> AccountInfo:
    """An :class:`AccountInfo` from ``accountInfo``'s decoded answer."""
    member_id, kind, roles, active = raw
    return AccountInfo(
        member_id=int(member_id),
        kind=MemberKind(int(kind)) if int(member_id) else None,
        roles=tuple(roles_from_mask(int(roles))),
        active=bool(active) and int(member_id) != 0,
    )


def proposal_from_view(raw: dict[str, Any]) -> Proposal:
    return record_from_view(Proposal, raw, approvers=tuple(int(a) for a in raw["approvers"]))
