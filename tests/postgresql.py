"""A throw-away PostgreSQL server for the suite: a :class:`ledger.devdb.Cluster` (the one the demo
on PostgreSQL runs too) in a temporary folder on a free loopback port, without fsync, stopped and
removed at the end (the ``postgresql`` fixture of tests/conftest.py; every test that needs a
database creates its own in it with :meth:`PostgresServer.database`). Nothing is skipped: without
the server binaries the fixture fails, naming the package.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ledger.devdb import Cluster


class PostgresServer(Cluster):
    """One PostgreSQL cluster in a temporary folder, on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="cogov-pg-"))
        try:
            super().__init__(root, durable=False)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise

    def database(self, prefix: str = "t") -> str:
        """A new empty database; its SQLAlchemy URL."""
        return self.create_database(f"{prefix}_{uuid.uuid4().hex[:12]}")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            super().stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


#: How an index database is damaged under a running service (:func:`damage_index`).
DAMAGES = ("delete", "truncate", "garbage")


def damage_index(db: Path | str, how: str) -> None:
    """Damage the index database ``db`` (a SQLite path or ``sqlite:///`` URL, or a PostgreSQL URL)
    as an operator's slip would. SQLite: its file deleted, truncated to nothing or overwritten with
    garbage. PostgreSQL, the same in its own terms: every table dropped, every table emptied, the
    rows that say what the index is (``meta``: schema, chain, contracts, height) overwritten."""
    assert how in DAMAGES, how
    url = Db.url_of(db)
    if sa.engine.make_url(url).get_backend_name() == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        assert path.exists()
        if how == "delete":
            path.unlink()
        elif how == "truncate":
            with open(path, "r+b") as f:
                f.truncate(0)
        else:
            with open(path, "r+b") as f:
                f.write(b"this is not a database " * 200)
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            tables = sa.inspect(conn).get_table_names()
            assert {"events", "blocks", "meta"} <= set(tables), tables
            names = ", ".join(f'"{t}"' for t in tables)
            if how == "delete":
                conn.exec_driver_sql(f"DROP TABLE {names} CASCADE")
            elif how == "truncate":
                conn.exec_driver_sql(f"TRUNCATE {names}")
            else:
                assert conn.exec_driver_sql("UPDATE meta SET value = 'this is not an index'").rowcount > 0
    finally:
        engine.dispose()


class Db:
    """Databases of one kind for a test (the ``db`` fixture of tests/conftest.py: SQLite, then
    PostgreSQL): SQLite files in ``tmp_path``, or databases on the suite's PostgreSQL server;
    and plain SQL on them (what a tampering operator would run)."""

    def __init__(self, kind: str, tmp_path: Path, server: PostgresServer | None) -> None:
        self.kind, self._tmp, self._server = kind, tmp_path, server
        self._engines: list[sa.Engine] = []

    def new(self, name: str = "i") -> Path | str:
        """A new, empty database: a file path (SQLite; what the index takes) or a
        ``postgresql+psycopg://`` URL."""
        if self._server is None:
            return self._tmp / f"{name}.sqlite"
        return self._server.database("ix")

    def url(self, name: str = "i") -> str:
        """A new, empty database's SQLAlchemy URL."""
        return self.url_of(self.new(name))

    @staticmethod
    def url_of(db: Path | str) -> str:
        """The SQLAlchemy URL of ``db`` (a SQLite file or a URL)."""
        return f"sqlite:///{db}" if isinstance(db, Path) else db

    def engine(self, db: Path | str) -> sa.Engine:
        """An engine on ``db`` (disposed by :meth:`close`)."""
        engine = sa.create_engine(self.url_of(db), poolclass=sa.pool.NullPool)
        self._engines.append(engine)
        return engine

    def sql(self, db: Path | str, statement: str, **params: Any) -> list[Any]:
        """Run one statement in its own transaction; the rows it returns."""
        with self.engine(db).begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result.all()) if result.returns_rows else []

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
