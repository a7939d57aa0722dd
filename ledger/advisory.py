"""PostgreSQL advisory locks: what several processes over one database agree on.

Every lock is a session lock on a connection of its own, so PostgreSQL releases it when the
process holding it dies (``kill -9`` included): the next process takes it over. Those
connections come from a pool apart from the database's own (:func:`lock_engine`, no upper
bound): a request holding a lock while it queries the database never waits for a connection
that another lock holder keeps. Used by the
nonces (one sender per account: :class:`~ledger.tx.nonces.SharedNonceManager`), the
idempotency store (one request per key) and the index follower (one leader:
:class:`Leadership`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

log = logging.getLogger("ledger.advisory")


def shared(engine: sa.Engine) -> bool:
    """Whether ``engine``'s database can be shared by several processes (PostgreSQL)."""
    return engine.dialect.name == "postgresql"


_lock_engines: dict[str, sa.Engine] = {}
_lock_engines_guard = threading.Lock()


def lock_engine(engine: sa.Engine) -> sa.Engine:
    """The engine whose connections hold ``engine``'s database's advisory locks (one per database)."""
    key = engine.url.render_as_string(hide_password=False)
    with _lock_engines_guard:
        got = _lock_engines.get(key)
        if got is None:
            got = sa.create_engine(engine.url, pool_size=2, max_overflow=-1, pool_pre_ping=True)
            _lock_engines[key] = got
        return got


def dispose(engine: sa.Engine) -> None:
    """Close the idle lock connections of ``engine``'s database (the service's close)."""
    with _lock_engines_guard:
        got = _lock_engines.pop(engine.url.render_as_string(hide_password=False), None)
    if got is not None:
        got.dispose()


def advisory_key(name: str) -> int:
    """The advisory lock key (signed 64 bits) of ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(
    engine: sa.Engine, name: str, *, wait: bool = True, timeout: float | None = None
) -> Iterator[sa.Connection | None]:
    """Hold the lock ``name`` on a connection of its own; yields it, or None when another session
    holds the lock and ``wait`` is False (or it still holds it after ``timeout`` seconds).
    Released on exit (or by PostgreSQL if the process dies)."""
    key = advisory_key(name)
    with lock_engine(engine).connect() as conn:
        if not wait:
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        else:
            got = True
            try:
                if timeout is not None:
                    conn.execute(sa.text(f"SET lock_timeout = {int(timeout * 1000)}"))
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except sa.exc.OperationalError:  # lock_timeout: another session kept it
                got = False
                conn.rollback()
            if timeout is not None:
                conn.execute(sa.text("RESET lock_timeout"))
        conn.commit()
        if not got:
            yield None
            return
        try:
            yield conn
        finally:
            try:
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except sa.exc.DBAPIError:  # the connection broke: the server dropped its locks with it
                conn.invalidate()


class Leadership:
    """One leader among the processes over one database: the holder of the advisory lock ``name``.

    :meth:`hold` takes the lock if it is free (a leader that died released it with its
    connection) and keeps it on a connection of its own until :meth:`release`.
    """

    def __init__(self, engine: sa.Engine, name: str) -> None:
        self.engine = engine
        self.key = advisory_key(name)
        self._conn: sa.Connection | None = None
        self._lock = threading.Lock()

    def hold(self) -> bool:
        """Whether this process leads (taking the lead if no one holds it)."""
        with self._lock:
            if self._conn is not None:
                try:  # still ours while our session lives
                    self._conn.execute(sa.text("SELECT 1")).scalar()
                    self._conn.commit()
                    return True
                except sa.exc.DBAPIError:
                    log.warning("lost the connection holding the lead; taking it again if free")
                    self._drop()
            conn = lock_engine(self.engine).connect()
            try:
                got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
                conn.commit()
            except sa.exc.DBAPIError:
                conn.invalidate()
                conn.close()
                return False
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True

    @property
    def held(self) -> bool:
        return self._conn is not None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # closing the session releases its locks
            finally:
                conn.close()

    def release(self) -> None:
        with self._lock:
            self._drop()
