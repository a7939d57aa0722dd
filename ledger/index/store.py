"""Where the index lives: an SQLAlchemy engine for a SQLite file or a database URL.

A plain path (or a ``sqlite:///path`` URL) is a SQLite file in WAL mode. Every
operation opens a fresh connection (``NullPool``) in ``mode=rw``, so a file
that is deleted, truncated or replaced while an :class:`~ledger.index.Indexer`
exists is noticed at the next operation instead of being read through a stale
handle or silently recreated empty. Only :meth:`Store.create` may create it.
Any other URL (``postgresql+psycopg://...``) goes to SQLAlchemy unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

from ledger.errors import IndexUnavailable
from ledger.index import schema

log = logging.getLogger("ledger.index")


def _sqlite_path(db: str | os.PathLike[str]) -> Path | None:
    """The file of a SQLite index, or None for a server URL / in-memory database."""
    text = os.fspath(db)
    if "://" not in text:
        return Path(text).expanduser().resolve()
    url = sa.engine.make_url(text)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().resolve()


class Store:
    """The engine plus the knowledge of how to (re)create its storage."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self.path = _sqlite_path(db)
        if self.path is not None:
            self.engine = self._sqlite_engine(self.path)
            self.display = str(self.path)
        else:
            text = os.fspath(db)
            if text.startswith("sqlite"):  # in-memory: one shared connection
                self.engine = sa.create_engine(
                    text, poolclass=StaticPool, connect_args={"check_same_thread": False}
                )
            else:
                self.engine = sa.create_engine(text, pool_pre_ping=True)
            self.display = self.engine.url.render_as_string(hide_password=True)
        self.dialect = self.engine.dialect.name
        #: Transactions committed through this store's engine, counted once their connection is
        #: returned (so after the commit itself): a reader's cache of the index's version knows
        #: from it that this process wrote.
        self.commits = 0
        event.listen(self.engine, "commit", self._wrote)
        event.listen(self.engine, "checkin", self._returned)

    def _wrote(self, conn: Connection) -> None:
        conn.info["wrote"] = True

    def _returned(self, _dbapi_conn: Any, record: Any) -> None:
        if record is not None and record.info.pop("wrote", False):
            self.commits += 1

    # -- SQLite ---------------------------------------------------------------

    def _sqlite_engine(self, path: Path) -> Engine:
        uri = f"file:{quote(str(path))}?mode=rw"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=30.0, check_same_thread=False)

        engine = sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin
            # (the documented recipe), so a batch and its meta update are one transaction.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            try:
                cur.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
                cur.execute("PRAGMA cache_size=-65536")  # up to 64 MiB: bulk inserts into the indexes
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine

    def signature(self) -> tuple[int, int, int, int] | None:
        """What changes when the SQLite file is deleted, replaced, truncated or written in place
        (device, inode, size, modification time; all -1 when it is missing); None for a server
        database. One ``stat``: how an idle follower round notices a damaged file without opening it."""
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return (-1, -1, -1, -1)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def exists(self) -> bool:
        """False when the SQLite file is missing or empty (a server database: True)."""
        if self.path is None:
            return True
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def _remove_sqlite_files(self) -> None:
        assert self.path is not None
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(self.path) + suffix).unlink()

    def create(self, *, fresh: bool = False) -> None:
        """Create the storage and migrate it to head. ``fresh`` drops whatever was there first."""
        if self.path is not None:
            if fresh or not self.exists():
                self._remove_sqlite_files()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # mode=rwc once, to create the file; WAL is a property of the file.
            con = sqlite3.connect(f"file:{quote(str(self.path))}?mode=rwc", uri=True, timeout=30.0)
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()
        if fresh:
            with self.engine.begin() as conn:
                schema.INDEX.drop(conn)
        schema.INDEX.upgrade(self.engine, db=self.display)

    def reset(self) -> None:
        """Drop everything and create empty tables; a corrupt SQLite file is replaced."""
        try:
            self.create(fresh=True)
        except sa.exc.SQLAlchemyError:
            if self.path is None:
                raise
            log.warning("event index %s unreadable; replacing the file", self.display)
            self._remove_sqlite_files()
            self.create(fresh=True)

    @contextlib.contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Turn database failures into :class:`IndexUnavailable`."""
        try:
            yield
        except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
            orig = getattr(exc, "orig", None) or exc
            raise IndexUnavailable(
                f"event index {self.display} unavailable ({action}): {orig}",
                action=action,
            ) from exc

    def dispose(self) -> None:
        self.engine.dispose()


#: The columns of an events row, in the order :func:`insert_events` takes them.
EVENT_COLUMNS = (
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "tx_index",
    "log_index",
    "contract",
    "address",
    "event",
    "args",
)
#: One events row's values, in :data:`EVENT_COLUMNS` order: block number, block hash, block
#: time, tx hash, tx index, log index, contract, address, event, args (canonical JSON).
EventValues = tuple[int, str, int, str, int, int, str, str, str, str]
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_events(conn: sa.Connection, rows: list[EventValues]) -> None:
    """One executemany of plain tuples (the driver's own bulk path, no per-row SQLAlchemy
    parameter processing); SQLAlchemy's insert for drivers of another paramstyle."""
    mark = _PLACEHOLDERS.get(str(conn.dialect.paramstyle))
    if mark is None:
        conn.execute(sa.insert(schema.events), [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in rows])
        return
    conn.exec_driver_sql(
        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(EVENT_COLUMNS))})",
        rows,
    )
