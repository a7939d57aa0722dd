"""The index's tables, in SQLAlchemy Core, portable between SQLite and PostgreSQL.

``events``
    One row per log of our contracts. ``id`` is a surrogate key in insertion order
    (never reused); the natural key is ``(tx_hash, log_index)``. Hashes and the
    ``address`` are ``0x`` + lowercase hex, and CHECK constraints refuse any other
    spelling: one transaction has one spelling, so the unique key cannot be passed
    by the same hash in upper case. ``args`` is canonical JSON text (see
    :mod:`ledger.abi.event_codec`), ``block_time`` is the block's Unix timestamp.
``blocks``
    Hashes of indexed blocks kept for reorg detection: every block that holds one
    of our events and the last block of every batch, pruned to the last
    ``keep_blocks`` block numbers. A stored hash commits to all its ancestors, so
    the highest stored block whose hash the chain still has is a common ancestor.
``meta``
    ``schema_version``, ``chain_id``, ``genesis_hash``, ``contracts`` (canonical JSON
    of name → address and event signatures), ``contracts_hash``, ``start_block``,
    ``last_block`` (absent until a first batch is written).

On SQLite, the identifiers the API filters on (:data:`ARG_INDEXES`) have expression
indexes ``(contract, event, json_extract(args, '$."name"'), block_number, log_index)``,
partial (only rows that have the argument), so "the newest 50 accesses of grant 7"
and its count read an index range instead of every row of the event. They hold
nothing that is not in ``args``.

The tables are made and changed by Alembic revisions only (:data:`INDEX`,
``ledger/index/migrations/versions/``; docs/migrations.md): a change here needs a revision,
and tests/ledger/test_migrations.py fails until head equals these tables again.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ledger.migrations import Schema

SCHEMA_VERSION = "2"  # 2: hashes and addresses lower-case, enforced by CHECK constraints

metadata = sa.MetaData()

# SQLite only gives an auto-incremented rowid to a column declared exactly INTEGER.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def lower_hex(column: str, length: int) -> sa.CheckConstraint:
    """``column`` is ``0x`` + ``length - 2`` lowercase characters (SQLite and PostgreSQL alike)."""
    return sa.CheckConstraint(
        f"{column} = lower({column}) AND length({column}) = {length} AND substr({column}, 1, 2) = '0x'",
        name=f"ck_events_{column}_lower_hex",
    )


events = sa.Table(
    "events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("block_number", sa.BigInteger, nullable=False),
    sa.Column("block_hash", sa.String(66), nullable=False),
    sa.Column("block_time", sa.BigInteger, nullable=False),
    sa.Column("tx_hash", sa.String(66), nullable=False),
    sa.Column("tx_index", sa.Integer, nullable=False),
    sa.Column("log_index", sa.Integer, nullable=False),
    sa.Column("contract", sa.String(64), nullable=False),
    sa.Column("address", sa.String(42), nullable=False),
    sa.Column("event", sa.String(128), nullable=False),
    sa.Column("args", sa.Text, nullable=False),
    sa.UniqueConstraint("tx_hash", "log_index", name="uq_events_tx_log"),
    lower_hex("tx_hash", 66),
    lower_hex("block_hash", 66),
    lower_hex("address", 42),
    sa.Index("ix_events_block", "block_number", "log_index"),
    sa.Index("ix_events_contract_event", "contract", "event", "block_number", "log_index"),
    sqlite_autoincrement=True,  # ids never reused after a reorg rollback, as with sequences
)

blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(66), nullable=False),
    sa.Column("parent_hash", sa.String(66), nullable=True),
    sa.Column("time", sa.BigInteger, nullable=True),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

TABLES = ("events", "blocks", "meta")

#: Argument names with an expression index (SQLite; made by the baseline revision): what the API's lists filter on.
ARG_INDEXES = (
    "datasetId",
    "grantId",
    "granteeId",
    "requesterId",
    "ownerId",
    "memberId",
    "projectId",
    "motionId",
)


def json_path_sql(name: str) -> str:
    """The SQL literal of the JSON path of a top-level argument (``name`` must be an
    identifier: callers check it), exactly as the expression indexes spell it."""
    return "'$.\"" + name + "\"'"


#: The index's revisions (ledger/index/migrations/); head equals :data:`metadata`.
INDEX = Schema("index", Path(__file__).with_name("migrations"), metadata, ignore_indexes=("ix_events_arg_",))
