"""What every portal view shares: the index reads, the clock, links, the contracts' enum names."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from ledger.cases import EscalationCause, Evaluation, ReopenCause, Satisfaction
from ledger.errors import LedgerError
from ledger.events import Event

if TYPE_CHECKING:
    from ledger.index import Indexer

#: Public texts by on-chain hash: ``texts(hashes)`` → {lowercase 0x hash: text}.
Texts = Callable[[Collection[str]], Mapping[str, str]]

FUND = "CoGovFund"
REGISTRY = "MembershipRegistry"
DATA = "DataSharing"
CREDIT = "CommunityCredit"
DECIMALS = 2  # CommunityCredit: 1 unit = 0.01 CNY (one 分)
_PAGE = 5000

CLASSIFICATIONS = ("public", "internal", "sensitive", "secret")  # IDataSharing.Classification
REFUSAL_REASONS = ("no_grant", "grant_expired", "grant_revoked", "grant_frozen", "not_grantee", "out_of_scope", "other")
MOTION_KINDS = ("approve_project", "allocate_from_pool", "cancel_project")  # ICoGovFund.MotionKind
# CaseDesk's enums by name (ICaseDesk.Evaluation, Satisfaction, EscalationCause, ReopenCause)
OUTCOMES = tuple(x.name.lower() for x in Evaluation)
SATISFACTION_LEVELS = tuple(x.name.lower() for x in Satisfaction)
ESCALATION_CAUSES = tuple(x.name.lower() for x in EscalationCause)
REOPEN_CAUSES = tuple(x.name.lower() for x in ReopenCause)
FUND_MONEY_EVENTS = ("ContributionReceived", "PayoutMade", "RefundClaimed")
TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
ACCOUNT = re.compile(r"^0x[0-9a-fA-F]{40}$")


# ----------------------------------------------------------------------------- reading


def events(index: Indexer, contract: str, event: str | None = None, **filters: Any) -> list[Event]:
    """Every matching indexed event, in chain order (paged by key, not by offset)."""
    return list(index.iter_events(_PAGE, contract, event, **filters))


def indexed(index: Indexer | None, contract: str) -> TypeGuard[Indexer]:
    return index is not None and contract in index.contracts


def now_of(index: Indexer | None) -> int:
    """The present for derived states: wall clock, or the latest indexed block if later (dev chains jump)."""
    latest = 0
    if index is not None:
        try:
            rows = index.events(limit=1, order="desc")
        except LedgerError:
            rows = []
        if rows:
            latest = rows[0].block_time
    return max(int(time.time()), latest)


def link(tx_hash: str) -> str:
    return f"/tx/{tx_hash}"


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat().replace("+00:00", "Z")



def plain_hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)
