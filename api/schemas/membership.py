"""Members and council proposals."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.schemas.common import Address, Bytes32, Page, PositiveUint64, TxInfo, name_of

RoleName = Literal[
    "council", "department", "data_governance", "fund_committee", "treasurer", "auditor", "contributor",
    "sub_district", "district", "channel",
]
KindName = Literal["department", "enterprise", "resident_group", "auditor"]
StateName = Literal["pending", "approved", "executed", "cancelled", "expired"]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class MemberPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: Annotated[KindName, BeforeValidator(name_of)]
    roles: Annotated[list[RoleName], BeforeValidator(name_of)]
    active: bool
    data_key: str | None
    admitted_at: int
    accounts: list[str]
    nodes: list[str]


class MemberList(Page[MemberPublic]):
    """A page of members."""


class AdmitMember(BaseModel):
    kind: Literal["admit_member"]
    name: Text
    member_kind: KindName
    roles: list[RoleName] = Field(default_factory=list, max_length=10)
    account: Address


class RemoveMember(BaseModel):
    kind: Literal["remove_member"]
    member_id: PositiveUint64


class RoleChange(BaseModel):
    kind: Literal["grant_role", "revoke_role"]
    member_id: PositiveUint64
    role: RoleName


class AccountChange(BaseModel):
    kind: Literal["add_account", "remove_account"]
    member_id: PositiveUint64
    account: Address


class SetDataKey(BaseModel):
    kind: Literal["set_data_key"]
    member_id: PositiveUint64
    data_key: Bytes32 = Field(description="The member's X25519 public key, 32 bytes hex.")


class NodeChange(BaseModel):
    kind: Literal["add_node", "remove_node"]
    member_id: PositiveUint64
    enode_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{128}$", description="128 hex digits, no 0x")]
    ip: Annotated[str, Field(min_length=2, max_length=64)]
    port: Annotated[int, Field(ge=1, le=65535)]


class SetThreshold(BaseModel):
    kind: Literal["set_threshold"]
    threshold: Annotated[int, Field(ge=1, le=1000)]


class SetProposalLifetime(BaseModel):
    kind: Literal["set_proposal_lifetime"]
    seconds: Annotated[int, Field(ge=3600, le=365 * 24 * 3600)]


ProposalCreate = Annotated[
    AdmitMember
    | RemoveMember
    | RoleChange
    | AccountChange
    | SetDataKey
    | NodeChange
    | SetThreshold
    | SetProposalLifetime,
    Field(discriminator="kind"),
]


class ProposalPublic(BaseModel):
    id: int
    kind: str
    args: dict[str, Any]
    proposer_id: int
    proposer: str
    created_at: int
    expires_at: int
    approvals: int
    approvers: list[int]
    state: Annotated[StateName, BeforeValidator(name_of)]


class ProposalList(Page[ProposalPublic]):
    """A page of proposals."""


class ProposalWrite(BaseModel):
    tx: TxInfo
    proposal: ProposalPublic
