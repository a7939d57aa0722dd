"""The service database's marks: small named numbers every process of the service shares.

``written_block``: the highest block of a write any worker acknowledged (a read on one worker
sees a write answered by another: :attr:`api.state.ServiceState.written_block`);
``open311_reports``: how many residents' reports were stored, counted in each report's own
transaction (the reports queue's mark over PostgreSQL: :meth:`api.open311.store.ReportStore.version`).
Made by the service database's migrations (``service_0002``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

marks = sa.Table(
    "service_marks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


def read(conn: sa.Connection, name: str) -> int | None:
    """The mark ``name``, or None when it was never set."""
    value = conn.execute(sa.select(marks.c.value).where(marks.c.name == name)).scalar()
    return None if value is None else int(value)


def raise_to(conn: sa.Connection, name: str, value: int) -> None:
    """Set ``name`` to ``value`` unless it is higher already (PostgreSQL)."""
    upsert = postgresql.insert(marks).values(name=name, value=value)
    conn.execute(upsert.on_conflict_do_update(index_elements=[marks.c.name],
                                              set_={"value": sa.func.greatest(marks.c.value, upsert.excluded.value)}))


def add_one(conn: sa.Connection, name: str) -> None:
    """Count one more of ``name`` in ``conn``'s transaction (PostgreSQL): concurrent transactions
    each add theirs, whatever order they commit in."""
    upsert = postgresql.insert(marks).values(name=name, value=1)
    conn.execute(upsert.on_conflict_do_update(index_elements=[marks.c.name], set_={"value": marks.c.value + 1}))
