"""The event index: decoded contract events in a SQL database (SQLite or PostgreSQL).

The API reads it; the auditor rebuilds it and compares it with the chain.

    indexer = Indexer(ledger, {"MembershipRegistry": address}, "var/index.sqlite")
    indexer.sync()                      # or Follower(indexer).start(): sync in a thread, round after round
    events = indexer.events("MembershipRegistry", "MemberAdmitted", args={"memberId": 4})
"""

from ledger.abi import UNKNOWN_EVENT, canonical_json
from ledger.errors import IndexChainMismatch
from ledger.index.follower import Follower
from ledger.index.indexer import Indexer
from ledger.index.rows import EventRow, IndexHealth, SyncProgress, SyncResult
from ledger.index.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "UNKNOWN_EVENT",
    "EventRow",
    "Follower",
    "IndexChainMismatch",
    "IndexHealth",
    "Indexer",
    "SyncProgress",
    "SyncResult",
    "canonical_json",
]
