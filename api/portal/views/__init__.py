"""View models of the transparency portal: plain data computed from the event index alone.

Each function here is what one page shows (and, for the overview, what
``GET /api/v1/public/overview`` answers): the page and the JSON come from the same
function, so they cannot disagree. Nothing here reads a purpose text, a dataset's
contents or an account of a resident: members appear by organisation name and kind,
contributions by contributor kind and member name. The only off-chain texts shown are the
public ones (project titles, milestone descriptions), looked up by the hashes the
events carry (``texts``: :meth:`ledger.fund.docs.DocStore.texts` over public kinds).
"""

from api.portal.views.common import (
    CLASSIFICATIONS,
    DECIMALS,
    FUND,
    FUND_MONEY_EVENTS,
    TX_HASH,
    Texts,
    now_of,
)
from api.portal.views.data import data_sharing
from api.portal.views.fund import activity, canonical_query, contributions, fund_trace, overview, project, projects
from api.portal.views.verify import public_args, transaction, verification
from api.services.names import Member, Members
from ledger.fund.trace import CONTRIBUTOR_KINDS
from ledger.fund.types import GENERAL_POOL

__all__ = [
    "CLASSIFICATIONS",
    "CONTRIBUTOR_KINDS",
    "DECIMALS",
    "FUND",
    "FUND_MONEY_EVENTS",
    "GENERAL_POOL",
    "TX_HASH",
    "Member",
    "Members",
    "Texts",
    "activity",
    "canonical_query",
    "contributions",
    "data_sharing",
    "fund_trace",
    "now_of",
    "overview",
    "project",
    "projects",
    "public_args",
    "transaction",
    "verification",
]
