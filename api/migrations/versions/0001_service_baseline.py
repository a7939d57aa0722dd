"""The service database as it was made by the stores' ``create_all`` before migrations: API keys,
idempotency records, documents (the texts behind on-chain hashes), Open311 reports.

Revision ID: service_0001
Revises:
Create Date: 2026-12-06

Creates only the tables a database lacks: one made before migrations is adopted as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import missing

revision = "service_0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    todo = missing(("api_keys", "idempotency", "documents", "open311_reports"))
    if "api_keys" in todo:
        op.create_table(
            "api_keys",
            sa.Column("key_id", sa.String(32), primary_key=True),
            sa.Column("secret_hash", sa.String(64), nullable=False),
            sa.Column("label", sa.String(200), nullable=False),
            sa.Column("role", sa.String(32), nullable=False),
            sa.Column("account", sa.String(42), nullable=False),
            sa.Column("key_label", sa.String(64), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("revoked_at", sa.Float, nullable=True),
        )
    if "idempotency" in todo:
        op.create_table(
            "idempotency",
            sa.Column("scope", sa.String(64), primary_key=True),
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("fingerprint", sa.String(64), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("tx_hash", sa.String(66), nullable=True),
            sa.Column("raw_tx", sa.Text, nullable=True),
            sa.Column("status_code", sa.Integer, nullable=True),
            sa.Column("response", sa.Text, nullable=True),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        )
    if "documents" in todo:
        op.create_table(
            "documents",
            sa.Column("hash", sa.String(66), primary_key=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("salt", sa.String(66), nullable=True),
            sa.Column("state", sa.String(8), nullable=False),
            sa.Column("tx_hash", sa.String(66), nullable=True),
            sa.Column("record", sa.Text, nullable=True),
            sa.Column("scope", sa.String(64), nullable=False),
            sa.Column("size", sa.Integer, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        )
        op.create_index("ix_documents_scope", "documents", ["scope"])
        op.create_index("ix_documents_state_tx", "documents", ["state", "tx_hash"])
    if "open311_reports" in todo:
        op.create_table(
            "open311_reports",
            sa.Column("id", _BigId, primary_key=True, autoincrement=True),
            sa.Column("service_code", sa.Integer, nullable=False),
            sa.Column("description", sa.Text, nullable=True),
            sa.Column("lat", sa.Float, nullable=True),
            sa.Column("lon", sa.Float, nullable=True),
            sa.Column("address", sa.String(500), nullable=True),
            sa.Column("media_url", sa.String(2000), nullable=True),
            sa.Column("email", sa.String(254), nullable=True),
            sa.Column("first_name", sa.String(100), nullable=True),
            sa.Column("last_name", sa.String(100), nullable=True),
            sa.Column("phone", sa.String(40), nullable=True),
            sa.Column("device_id", sa.String(100), nullable=True),
            sa.Column("account_id", sa.String(100), nullable=True),
            sa.Column("client", sa.String(80), nullable=False),
            sa.Column("requested_at", sa.BigInteger, nullable=False),
            sa.Column("salt", sa.String(66), nullable=True),
            sa.Column("commitment", sa.String(66), nullable=True, unique=True),
        )
        op.create_index("ix_open311_reports_requested", "open311_reports", ["requested_at"])
        op.create_index("ix_open311_reports_code", "open311_reports", ["service_code", "requested_at"])


def downgrade() -> None:
    for name in ("open311_reports", "documents", "idempotency", "api_keys"):
        op.drop_table(name)
