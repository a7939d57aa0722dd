"""The console's session store (api/console/sessions.py): only a hash of the session id is kept,
sessions expire idle or old and end on sign-out."""

from __future__ import annotations

import sqlalchemy as sa

from api.apikeys import engine_for
from api.console.sessions import SessionStore, console_sessions
from tests.postgresql import Db


def _store(db: Db) -> SessionStore:
    """A store on a new service database of ``db``'s kind (SQLite, then PostgreSQL)."""
    return SessionStore(engine_for(db.url("service")))


def test_a_session_lives_and_ends(db: Db) -> None:
    store = _store(db)
    sid, s = store.create("k1")
    with store.engine.connect() as conn:
        kept = conn.execute(sa.select(console_sessions.c.session_hash)).scalars().all()
    assert kept == [s.session_hash] and sid not in kept  # the id itself is never stored
    got = store.get(sid, 3600, 3600)
    assert got is not None and got.key_id == "k1" and got.csrf_ok(s.csrf)
    assert not got.csrf_ok(None) and not got.csrf_ok(s.csrf + "x") and not got.csrf_ok("")
    assert store.get("another", 3600, 3600) is None
    store.end(sid)
    assert store.get(sid, 3600, 3600) is None


def test_idle_and_old_sessions_expire(db: Db) -> None:
    store = _store(db)
    idle, _ = store.create("k1")
    old, _ = store.create("k1")
    assert store.get(idle, -1, 3600) is None  # idle longer than allowed: ended, the row gone
    assert store.get(idle, 3600, 3600) is None
    assert store.get(old, 3600, -1) is None  # older than the most a session lives
    assert store.get(old, 3600, 3600) is None
