"""Revision files, one per schema change, read by Alembic by path."""
