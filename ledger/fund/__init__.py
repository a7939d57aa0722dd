"""The co-governance fund (社区共治基金): re-exports only.

- :mod:`ledger.fund.contract`: the typed wrapper of ``CoGovFund`` (reads as frozen
  dataclasses, writes as prepared ``x_call``\\s plus convenience methods), amounts.
- :mod:`ledger.fund.token`: the settlement token (``CommunityCredit`` or any ERC-20).
- :mod:`ledger.fund.model`: the pure reducer folding the fund's events into its state.
- :mod:`ledger.fund.trace`: the tracing rule (which contributions paid for which payouts).
- :mod:`ledger.fund.report`: a contributor's trace and the export, over the events.
- :mod:`ledger.fund.docs`: the off-chain texts behind on-chain hashes.
"""

from ledger.fund.contract import (
    GENERAL_POOL,
    NAME,
    UINT256_MAX,
    ZERO32,
    Contribution,
    Fund,
    Milestone,
    Motion,
    Pool,
    Project,
    Totals,
    contribution_from_view,
    format_amount,
    motion_from_view,
    parse_amount,
    project_from_view,
)
from ledger.fund.model import CLOSED_STATES, ContributorKind, MotionKind, MotionState, ProjectState
from ledger.fund.token import CREDIT, Credit, Token

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
    "Milestone",
    "Motion",
    "MotionKind",
    "MotionState",
    "Pool",
    "Project",
    "ProjectState",
    "Token",
    "Totals",
    "contribution_from_view",
    "format_amount",
    "motion_from_view",
    "parse_amount",
    "project_from_view",
]
