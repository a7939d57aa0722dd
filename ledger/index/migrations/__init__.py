"""The event index's Alembic revisions (ledger/migrations.py; docs/migrations.md)."""
