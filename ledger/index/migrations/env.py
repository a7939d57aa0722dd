"""Alembic's entry point for this folder's revisions (see ledger/migrations.py)."""

from ledger.migrations import run_env

run_env()
