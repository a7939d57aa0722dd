"""The member console's sessions: a table beside the API keys in the service database.

Signing in with an API key makes a session: a random 256-bit id (only its SHA-256 is stored, as for
API keys), the key's id (never its secret) and a CSRF token. The id travels in the cookie
``cogov_console`` (``HttpOnly; SameSite=Strict; Path=/console``; ``Secure`` over https). A session
ends when it is signed out, when it has been idle ``console_session_idle_seconds``, or
``console_session_max_seconds`` after sign-in; and at the next request once its API key is revoked
or its account is no longer an active member's (every request admits the key again:
:func:`api.deps.admit_key`). Several API processes share the table, so any of them serves a session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import weakref
from dataclasses import dataclass

import sqlalchemy as sa

metadata = sa.MetaData()

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
)

#: How often (seconds) a session's ``last_seen`` is written: not on every request.
TOUCH_EVERY = 60.0


@dataclass(frozen=True)
class Session:
    session_hash: str
    key_id: str
    csrf: str
    created_at: float
    last_seen: float

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf.encode(), token.encode())


class SessionStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def create(self, key_id: str) -> tuple[str, Session]:
        """A new session for ``key_id``: (the id for the cookie, shown once; its record)."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        s = Session(_hash(sid), key_id, secrets.token_urlsafe(32), now, now)
        with self.engine.begin() as conn:
            conn.execute(console_sessions.insert().values(**s.__dict__))
        return sid, s

    def get(self, sid: str, idle: float, most: float) -> Session | None:
        """The live session of cookie value ``sid``; None (and the row gone) when it expired."""
        h = _hash(sid)
        mine = console_sessions.c.session_hash == h
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(console_sessions).where(mine)).mappings().first()
        if row is None:
            return None
        s = Session(**dict(row))
        now = time.time()
        if now - s.last_seen > idle or now - s.created_at > most:
            self.end(sid)
            return None
        if now - s.last_seen > TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(console_sessions.update().where(mine).values(last_seen=now))
        return s

    def end(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(console_sessions.delete().where(console_sessions.c.session_hash == _hash(sid)))


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


_stores: weakref.WeakKeyDictionary[sa.Engine, SessionStore] = weakref.WeakKeyDictionary()


def sessions_for(engine: sa.Engine) -> SessionStore:
    """The session store of a service database (its table created on first use)."""
    store = _stores.get(engine)
    if store is None:
        store = _stores[engine] = SessionStore(engine)
    return store
