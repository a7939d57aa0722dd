"""The member console's sessions, and what several API processes share over PostgreSQL: the next
nonce per account and the highest acknowledged block.

Revision ID: service_0002
Revises: service_0001
Create Date: 2026-12-06

Creates only the tables a database lacks: the stores made them with ``create_all`` before this
revision existed (``console_sessions`` on any database; ``tx_nonces`` and ``service_marks`` on
PostgreSQL by ``cogov serve --workers``), and such a database is adopted with its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import missing

revision = "service_0002"
down_revision: str | None = "service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    todo = missing(("console_sessions", "tx_nonces", "service_marks"))
    if "console_sessions" in todo:
        op.create_table(
            "console_sessions",
            sa.Column("session_hash", sa.String(64), primary_key=True),
            sa.Column("key_id", sa.String(32), nullable=False),
            sa.Column("csrf", sa.String(64), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("last_seen", sa.Float, nullable=False),
        )
        op.create_index("ix_console_sessions_key_id", "console_sessions", ["key_id"])
    if "tx_nonces" in todo:
        op.create_table(
            "tx_nonces",
            sa.Column("account", sa.String(42), primary_key=True),
            sa.Column("next_nonce", sa.BigInteger, nullable=True),
            sa.Column("in_flight", sa.Boolean, nullable=False),
        )
    if "service_marks" in todo:
        op.create_table(
            "service_marks",
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("value", sa.BigInteger, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("service_marks")
    op.drop_table("tx_nonces")
    op.drop_index("ix_console_sessions_key_id", table_name="console_sessions")
    op.drop_table("console_sessions")
