"""The co-governance fund: contributions, projects, motions, votes, payouts, refunds, traces, export.

Amounts are integers in the token's smallest unit (CommunityCredit: 1 unit = 1 分); every
answer that lists money also says the ``currency`` and its ``decimals`` where it helps.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from api.schemas.common import Address, Bytes32, Hash, Page, TxInfo, exactly_one, hex_or_none, name_of


class Presented:
    """A record and the fields its presenter adds, read as one object by
    ``XPublic.model_validate(Presented(record, extra=...), from_attributes=True)``."""

    def __init__(self, record: object, **extra: object) -> None:
        self._record = record
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)

ProjectStateName = Literal["proposed", "time_locked", "active", "completed", "rejected", "cancelled"]
MotionKindName = Literal["approve_project", "allocate_from_pool", "cancel_project"]
MotionStateName = Literal["open", "passed", "failed", "lapsed"]
ContributorKindName = Literal["government", "enterprise", "resident"]
Amount = Annotated[int, Field(ge=1, le=10**30, description="Token units (CommunityCredit: 分, 0.01 CNY).")]
Memo = Annotated[str, Field(min_length=1, max_length=2000)]


# ------------------------------------------------------------------ contributions


class ContributionCreate(BaseModel):
    amount: Amount
    project_id: Annotated[
        int, Field(ge=0, le=2**64 - 1, description="A project open for funding; 0: the general pool.")
    ] = 0
    memo: Memo | None = Field(
        None, description="Free text; stored off chain once the contribution is mined, a salted commitment on chain."
    )


class ContributionPublic(BaseModel):
    receipt_id: int
    member_id: int
    member_name: str
    contributor: str
    kind: Annotated[ContributorKindName, BeforeValidator(name_of)]
    project_id: int = Field(description="0: the general pool.")
    project: str | None = Field(None, description="The project's title (None for the general pool).")
    amount: int
    memo_hash: Annotated[str | None, BeforeValidator(hex_or_none)]
    memo: str | None = Field(description="The memo, to the contributing member, the treasurer and auditors.")
    contributed_at: int
    spent: int
    refunded: bool
    refundable: int
    tx_hash: str | None = None
    block_number: int | None = None


class ContributionList(Page[ContributionPublic]):
    """A page of contributions."""


class ContributionWrite(BaseModel):
    tx: TxInfo
    contribution: ContributionPublic


class RefundWrite(BaseModel):
    tx: TxInfo
    amount: int
    contribution: ContributionPublic


# ------------------------------------------------------------------ projects


class MilestoneCreate(BaseModel):
    amount: Amount
    description: Memo


class ProjectCreate(BaseModel):
    title: Annotated[
        str, Field(min_length=1, max_length=500, description="Stored off chain; its keccak256 goes on chain.")
    ]
    beneficiary: Address
    milestones: list[MilestoneCreate] = Field(min_length=1, max_length=32)
    pool_allocation: Annotated[int, Field(
        ge=0, le=10**30,
        description="Token units asked of the general pool (0: none; at most the budget); the project's one "
                    "approval motion decides them with the project.",
    )] = 0


class MilestonePublic(BaseModel):
    index: int
    amount: int
    paid: int
    description_hash: Hash
    description: str | None


class ProjectPublic(BaseModel):
    id: int
    title: str | None = Field(description="From the document store (None if it does not hold the text).")
    title_hash: Hash
    proposer: str
    proposer_id: int
    proposer_name: str
    beneficiary: str
    beneficiary_member_id: int | None
    beneficiary_name: str | None
    budget: int
    approval_motion_id: int
    approved_at: int
    unlocks_at: int
    cancelled_at: int
    paid: int
    earmarked: int
    earmarked_spent: int
    allocated: int
    allocated_spent: int
    allocation_released: int
    refunded: int
    available: int
    state: Annotated[ProjectStateName, BeforeValidator(name_of)]
    milestones: list[MilestonePublic]


class ProjectList(Page[ProjectPublic]):
    """A page of projects."""


class ProjectWrite(BaseModel):
    tx: TxInfo
    project: ProjectPublic


# ------------------------------------------------------------------ motions and votes


class AllocationCreate(BaseModel):
    amount: Amount


class VoteCreate(BaseModel):
    support: bool


class MotionPublic(BaseModel):
    id: int
    kind: Annotated[MotionKindName, BeforeValidator(name_of)]
    project_id: int
    amount: int
    proposer_id: int
    created_at: int
    deadline: int = Field(description="Votes are taken until this Unix time; undecided by then, it is decided then.")
    decided_at: int = Field(description="When decided (by a vote, or at the deadline); 0 while open or lapsed.")
    approvals: int
    rejections: int
    state: Annotated[MotionStateName, BeforeValidator(name_of)]


class MotionList(Page[MotionPublic]):
    """A page of motions."""


class MotionWrite(BaseModel):
    tx: TxInfo
    motion: MotionPublic


class VotePublic(BaseModel):
    motion_id: int
    member_id: int
    member_name: str
    voter: str
    support: bool
    approvals: int
    rejections: int
    block_number: int
    block_time: int
    tx_hash: str


class VoteList(Page[VotePublic]):
    """A page of votes."""


# ------------------------------------------------------------------ payouts and refunds


class PayoutCreate(BaseModel):
    milestone_index: Annotated[int, Field(ge=0, le=31)]
    amount: Amount
    invoice: Memo | None = Field(
        None, description="Invoice or receipt text; stored off chain once paid, a salted commitment on chain."
    )
    invoice_hash: Bytes32 | None = Field(None, description="Or the hash of the invoice file (keccak256 of its bytes).")
    _one_invoice = exactly_one("invoice", "invoice_hash")


class PayoutPublic(BaseModel):
    payout_id: int
    project_id: int
    project: str | None
    milestone_index: int
    beneficiary: str
    beneficiary_name: str | None
    amount: int
    invoice_hash: Hash
    invoice: str | None = Field(
        description="The invoice text, to the beneficiary, the fund committee, the treasurer and auditors."
    )
    treasurer_id: int
    from_earmarked: int
    from_general: int
    block_number: int
    block_time: int
    tx_hash: str


class PayoutList(Page[PayoutPublic]):
    """A page of payouts."""


class PayoutWrite(BaseModel):
    tx: TxInfo
    payout: PayoutPublic
    project: ProjectPublic


class RefundPublic(BaseModel):
    receipt_id: int
    project_id: int
    member_id: int
    member_name: str
    to: str
    amount: int
    block_number: int
    block_time: int
    tx_hash: str


class RefundList(Page[RefundPublic]):
    """A page of refunds."""


# ------------------------------------------------------------------ summary, trace, export, credit


class PoolPublic(BaseModel):
    total: int
    spent: int
    committed: int
    free: int


class FundSummary(BaseModel):
    address: str
    token: str
    currency: str
    decimals: int
    quorum: int
    time_lock: int
    total_contributed: int
    total_paid_out: int
    total_refunded: int
    balance: int = Field(description="The fund's token balance, read from the token.")
    expected_balance: int = Field(description="Contributions - payouts - refunds.")
    invariant_holds: bool
    pool: PoolPublic
    contributions: int
    projects: int
    motions: int
    payouts: int
    projects_by_state: dict[str, int]


class FundingPublic(BaseModel):
    payout_id: int
    project_id: int
    project: str
    milestone_index: int
    amount: int
    source: Literal["earmarked", "general"]
    block_number: int
    tx_hash: str


class ContributionTracePublic(BaseModel):
    receipt_id: int
    earmark_project_id: int
    earmark: str
    amount: int
    block_number: int
    tx_hash: str
    fundings: list[FundingPublic]
    spent: int
    refunded: int
    unspent: int
    refundable: int


class ContributorTracePublic(BaseModel):
    """Exactly ``ledger.fund.report.ContributorTrace`` (and ``cogov fund trace --json``)."""

    member_id: int
    member_name: str
    currency: str
    decimals: int
    contributions: list[ContributionTracePublic]
    total_contributed: int
    total_spent: int
    total_refunded: int
    total_unspent: int
    total_refundable: int
    projects_funded: list[int]


class ExportRowPublic(BaseModel):
    date: str
    timestamp: int
    type: Literal["contribution", "payout", "refund"]
    direction: Literal["in", "out"]
    amount: str
    net_amount: str
    amount_units: int
    currency: str
    counterparty: str
    counterparty_member_id: int
    counterparty_account: str
    project_id: int
    project: str
    receipt_id: int | None
    payout_id: int | None
    milestone_index: int | None
    document_hash: str
    description: str
    tx_hash: str
    block_number: int
    log_index: int


class ExportList(Page[ExportRowPublic]):
    """A page of the export."""


class DocumentPublic(BaseModel):
    hash: str
    kind: str
    text: str
    salt: str | None = Field(
        None, description="A salted text's salt (0x + 64 hex): the hash is keccak256(salt ‖ utf8(text)).")


class MintCreate(BaseModel):
    to: Address
    amount: Amount
    deposit_ref: Annotated[
        str,
        Field(min_length=1, max_length=500,
              description="The fiat deposit's bank reference; a (keyed) salted commitment on chain, minted once."),
    ]


class CreditBalance(BaseModel):
    account: str
    balance: int
    allowance_to_fund: int
    currency: str
    decimals: int


class MintWrite(BaseModel):
    tx: TxInfo
    to: str
    amount: int
    deposit_ref_hash: str
    balance: int
