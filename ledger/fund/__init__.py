"""The co-governance fund (社区共治基金): re-exports only.

- :mod:`ledger.fund.contract`: the typed wrapper of ``CoGovFund`` (reads as frozen
  dataclasses, writes as prepared ``x_call``\\s plus convenience methods), amounts.
- :mod:`ledger.fund.token`: the settlement token (``CommunityCredit`` or any ERC-20).
- :mod:`ledger.fund.types`: the enums and frozen state types (what the contract's views return).
- :mod:`ledger.fund.model`: the pure reducer folding the fund's events into that state.
- :mod:`ledger.fund.trace`: the tracing rule (which contributions paid for which payouts), a view over the reducer.
- :mod:`ledger.fund.report`: a contributor's trace and the export, views over the reducer.
- :mod:`ledger.fund.docs`: the off-chain texts behind on-chain hashes.
"""

from ledger.fund.contract import (
    NAME,
    UINT256_MAX,
    ZERO32,
    Fund,
    contribution_from_view,
    format_amount,
    motion_from_view,
    parse_amount,
    project_from_view,
)
from ledger.fund.model import FundModel, fund_state
from ledger.fund.token import CREDIT, Credit, Token
from ledger.fund.types import (
    CLOSED_STATES,
    GENERAL_POOL,
    Contribution,
    ContributorKind,
    FundState,
    Milestone,
    Motion,
    MotionKind,
    MotionState,
    Payout,
    Pool,
    Project,
    ProjectState,
    Refund,
    Totals,
    Vote,
)

__all__ = [
    "CLOSED_STATES",
    "CREDIT",
    "GENERAL_POOL",
    "NAME",
    "UINT256_MAX",
    "ZERO32",
    "Contribution",
    "ContributorKind",
    "Credit",
    "Fund",
    "FundModel",
    "FundState",
    "Milestone",
    "Motion",
    "MotionKind",
    "MotionState",
    "Payout",
    "Pool",
    "Project",
    "ProjectState",
    "Refund",
    "Token",
    "Totals",
    "Vote",
    "contribution_from_view",
    "format_amount",
    "fund_state",
    "motion_from_view",
    "parse_amount",
    "project_from_view",
]
