"""The service database's revisions (``versions/``): API keys, idempotency records, documents,
Open311 reports, the console's sessions, and what several API processes share (the next nonce per
account, the highest acknowledged block). Head equals :data:`SERVICE`'s metadata, the union of the
stores' tables; how to add a revision: docs/migrations.md."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from api import apikeys, idempotency, marks
from api.console import sessions
from api.open311 import store as open311
from ledger.fund import docs
from ledger.migrations import Schema
from ledger.tx import nonces

metadata = sa.MetaData()
for _table in (
    apikeys.api_keys,
    idempotency.records,
    docs.documents,
    open311.reports,
    sessions.console_sessions,
    nonces.nonce_rows,
    marks.marks,
):
    _table.to_metadata(metadata)

#: The service database: what `cogov db upgrade` migrates beside the index.
SERVICE = Schema("service", Path(__file__).parent, metadata)

__all__ = ["SERVICE", "metadata"]
