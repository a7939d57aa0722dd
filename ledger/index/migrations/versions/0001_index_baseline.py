"""The event index as it was made by ``create_all`` before migrations (schema_version 2).

Revision ID: index_0001
Revises:
Create Date: 2026-12-06

Creates only the tables a database lacks: an index made before migrations is adopted as it is.
On SQLite, the expression indexes of the arguments the API filters on (partial: rows that have
the argument), so "the newest 50 accesses of grant 7" reads an index range.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import missing

revision = "index_0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ARGS = ("datasetId", "grantId", "granteeId", "requesterId", "ownerId", "memberId", "projectId", "motionId")


def _lower_hex(column: str, length: int) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"{column} = lower({column}) AND length({column}) = {length} AND substr({column}, 1, 2) = '0x'",
        name=f"ck_events_{column}_lower_hex",
    )


def upgrade() -> None:
    todo = missing(("events", "blocks", "meta"))
    if "events" in todo:
        op.create_table(
            "events",
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
            _lower_hex("tx_hash", 66),
            _lower_hex("block_hash", 66),
            _lower_hex("address", 42),
            sqlite_autoincrement=True,
        )
        op.create_index("ix_events_block", "events", ["block_number", "log_index"])
        op.create_index("ix_events_contract_event", "events", ["contract", "event", "block_number", "log_index"])
    if "blocks" in todo:
        op.create_table(
            "blocks",
            sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("hash", sa.String(66), nullable=False),
            sa.Column("parent_hash", sa.String(66), nullable=True),
            sa.Column("time", sa.BigInteger, nullable=True),
        )
    if "meta" in todo:
        op.create_table(
            "meta",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    if op.get_bind().dialect.name == "sqlite":
        for name in _ARGS:
            value = f"json_extract(args, '$.\"{name}\"')"
            op.execute(
                f"CREATE INDEX IF NOT EXISTS ix_events_arg_{name} ON events "
                f"(contract, event, {value}, block_number, log_index) WHERE {value} IS NOT NULL"
            )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_table("blocks")
    op.drop_table("events")
