"""Explicit schema migrations (Alembic) of the two databases: the event index and the service's.

Each database has an Alembic script folder (``ledger/index/migrations/``,
``api/migrations/``) and a version table of its own (``alembic_version_index``,
``alembic_version_service``), so both may live in one PostgreSQL database. There is no
``alembic.ini``: a :class:`Schema` builds Alembic's configuration, hands it the connection
and itself, and each folder's ``env.py`` calls :func:`run_env`. How to add a revision:
docs/migrations.md.

- :meth:`Schema.upgrade` runs the revisions up to head in one transaction, under a PostgreSQL
  advisory lock, so several API processes starting at once migrate once.
- A database made before migrations (by ``create_all``: tables, no version table) is adopted,
  never recreated: each baseline revision creates only the tables that are missing, so the
  rows stay, and the database is stamped at the baseline on the way to head.
- :meth:`Schema.require` refuses a database behind head (:class:`~ledger.errors.SchemaBehind`,
  naming ``cogov db upgrade``); :meth:`Schema.prepare` upgrades or requires, as told (the
  service and the indexer upgrade at start outside production only).
- :meth:`Schema.differences` is Alembic's ``compare_metadata`` between the database and the
  code's tables: the tests assert it finds nothing after an upgrade.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ledger.errors import SchemaBehind

log = logging.getLogger("ledger.migrations")

#: Alembic's ``context`` and ``op`` are module globals: one migration at a time in a process
#: (across processes, PostgreSQL's advisory lock; SQLite's writer lock).
_ALEMBIC = threading.Lock()


@dataclass(frozen=True)
class Status:
    """Where a database stands: its revision (None: never migrated), the code's head, and
    whether it holds tables made before migrations (adopted by the next upgrade)."""

    what: str
    db: str
    current: str | None
    head: str
    legacy: bool

    @property
    def at_head(self) -> bool:
        return self.current == self.head


@lru_cache(maxsize=8)
def _head(scripts: Path) -> str:
    config = Config()
    config.set_main_option("script_location", str(scripts))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revision in {scripts}")
    return head


def display(engine: sa.Engine) -> str:
    """The database's URL without its password (a SQLite file: its path)."""
    return engine.url.render_as_string(hide_password=True)


@dataclass(frozen=True)
class Schema:
    """One database's tables and the Alembic revisions that make them.

    Args:
        what: ``index`` or ``service`` (messages, the version table's name).
        scripts: the Alembic script folder (``env.py``, ``versions/``).
        metadata: the code's tables, which head must equal.
        ignore_indexes: name prefixes of indexes made by revisions but outside ``metadata``
            (SQLite's expression indexes of the event index), left out of :meth:`differences`.
    """

    what: str
    scripts: Path
    metadata: sa.MetaData
    ignore_indexes: tuple[str, ...] = ()

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.what}"

    def config(self, connection: sa.Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.scripts))
        config.attributes["schema"] = self
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def head(self) -> str:
        return _head(self.scripts)

    def include_name(self, name: str | None, type_: str, _parents: Any) -> bool:
        """Alembic's filter: our tables only, without the indexes outside the metadata."""
        if type_ == "table":
            return name in self.metadata.tables
        if type_ == "index" and name:
            return not name.startswith(self.ignore_indexes) if self.ignore_indexes else True
        return True

    def _context(self, conn: sa.Connection) -> MigrationContext:
        return MigrationContext.configure(
            conn, opts={"version_table": self.version_table, "include_name": self.include_name}
        )

    def status(self, engine: sa.Engine, db: str | None = None) -> Status:
        with engine.connect() as conn:
            current = self._context(conn).get_current_revision()
            known = set(sa.inspect(conn).get_table_names()) & set(self.metadata.tables)
        return Status(self.what, db or display(engine), current, self.head(), current is None and bool(known))

    def upgrade(self, engine: sa.Engine, revision: str = "head", db: str | None = None) -> Status:
        """Run the revisions up to ``revision`` (one transaction; one process at a time on PostgreSQL)."""
        with _ALEMBIC, engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # held until the transaction ends
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
            before = self._context(conn).get_current_revision()
            if revision == "head" and before == self.head():  # nothing to run: no script loading
                after: str | None = before
            else:
                command.upgrade(self.config(conn), revision)
                after = self._context(conn).get_current_revision()
        if before != after:
            log.info("%s database %s upgraded from %s to %s", self.what, db or display(engine), before, after)
        return self.status(engine, db)

    def require(self, engine: sa.Engine, db: str | None = None) -> None:
        """Raise :class:`SchemaBehind` unless the database is at head."""
        status = self.status(engine, db)
        if not status.at_head:
            raise SchemaBehind(self.what, status.db, status.current, status.head)

    def prepare(self, engine: sa.Engine, *, upgrade: bool, db: str | None = None) -> None:
        """At start: upgrade to head (``upgrade``), or refuse a database behind it."""
        if upgrade:
            self.upgrade(engine, db=db)
        else:
            self.require(engine, db)

    def drop(self, conn: sa.Connection) -> None:
        """Drop the tables and the version table (the index's rebuild; the next upgrade recreates them)."""
        self.metadata.drop_all(conn)
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {self.version_table}"))

    def differences(self, engine: sa.Engine) -> list[Any]:
        """What Alembic's autogenerate finds between the database and the code's tables."""
        with engine.connect() as conn, warnings.catch_warnings():
            # SQLite's expression indexes are not reflected (and are outside the metadata)
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression", sa.exc.SAWarning)
            return list(compare_metadata(self._context(conn), self.metadata))

    @property
    def lock_key(self) -> int:
        """The PostgreSQL advisory lock an upgrade holds (one process migrates at a time)."""
        return int.from_bytes(hashlib.sha256(self.version_table.encode()).digest()[:8], "big", signed=True)


def run_env() -> None:
    """The body of every ``env.py``: run the revisions on the connection :meth:`Schema.config` gave."""
    from alembic import context

    config = context.config
    schema: Schema = config.attributes["schema"]
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=schema.metadata,
        version_table=schema.version_table,
        include_name=schema.include_name,
        render_as_batch=True,  # SQLite alters a table by copying it
    )
    with context.begin_transaction():
        context.run_migrations()


def missing(names: tuple[str, ...]) -> set[str]:
    """Of the tables ``names``, those the database being migrated lacks (baseline revisions
    create only these: a database made by ``create_all`` before migrations is adopted)."""
    from alembic import op

    present = set(sa.inspect(op.get_bind()).get_table_names())
    return {name for name in names if name not in present}
