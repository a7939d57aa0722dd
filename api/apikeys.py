"""Bearer API keys, stored only as hashes, each bound to a signing account and a role.

A key looks like ``cgv_<id>_<secret>``. Only ``id`` and SHA-256(secret) are
stored (the secret has 256 bits of entropy, so a plain hash suffices); the
full key is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

from ledger.errors import ConfigError, Unauthenticated
from ledger.membership import Role

metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("account", sa.String(42), nullable=False),
    sa.Column("key_label", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

ROLE_NAMES = {r.name.lower(): r for r in Role}


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    label: str
    role: Role
    account: str
    key_label: str
    created_at: float
    revoked_at: float | None = None


def engine_for(url: str, *, upgrade: bool = True) -> sa.Engine:
    """The service database at ``url``, migrated to head (``upgrade``) or refused when behind it
    (:class:`~ledger.errors.SchemaBehind`, naming ``cogov db upgrade``): api/migrations/."""
    from api.migrations import SERVICE

    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # SQLite: a connection kept per concurrent request (the thread pool's 40): every API request reads
    # its key here, and opening a connection (with its pragmas) per request cost more than the read
    sqlite = url.startswith("sqlite")
    eng = sa.create_engine(url, pool_size=40, max_overflow=40) if sqlite else sa.create_engine(url)
    try:
        SERVICE.prepare(eng, upgrade=upgrade)
    except BaseException:
        eng.dispose()
        raise
    return eng


class DataVersion:
    """The service database's change counter: SQLite's ``PRAGMA data_version``, asked on a
    connection of its own that never writes, changes whenever any other connection commits (of
    this process or of another: ``cogov apikeys revoke``, a report posted to another worker);
    asking it costs no read of a table. Over PostgreSQL (or an in-memory SQLite) there is none
    (None). The connection is opened on the first question."""

    def __init__(self, engine: sa.Engine) -> None:
        path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
        self._path = path if path and path != ":memory:" and not path.startswith("file:") else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def version(self) -> int | None:
        """The counter now; None when the database has none."""
        if self._path is None:
            return None
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._path = None  # no question opens it again
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class KeptVerdicts:
    """Keys this process verified, kept while the service database has not changed since
    (:class:`DataVersion`: a revocation anywhere ends every kept verdict at once). Over
    PostgreSQL (or an in-memory SQLite) nothing is kept: every request reads its key.
    """

    LIMIT = 10_000

    def __init__(self, engine: sa.Engine) -> None:
        self.changes = DataVersion(engine)
        self._lock = threading.Lock()
        self._kept: dict[bytes, tuple[int, ApiKey]] = {}

    def version(self) -> int | None:
        """The database's change counter now; None when verdicts cannot be kept."""
        return self.changes.version()

    def keep(self, token: str, since: int | None, key: ApiKey) -> None:
        """``token`` verified as ``key`` by a read made after the counter was ``since``."""
        if since is None:
            return
        with self._lock:
            if len(self._kept) >= self.LIMIT:
                self._kept.clear()
            self._kept[_digest(token)] = (since, key)

    def get(self, token: str) -> ApiKey | None:
        """The kept verdict on ``token`` while nothing was committed since its read; None otherwise."""
        if not self._kept:
            return None
        hit = self._kept.get(_digest(token))
        if hit is None or hit[0] != self.version():
            return None
        return hit[1]

    def close(self) -> None:
        self.changes.close()


class ApiKeyStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self.verdicts = KeptVerdicts(engine)

    def create(self, label: str, role: str, account: str, key_label: str) -> tuple[str, ApiKey]:
        """Create a key; returns (the full key, shown once; its record)."""
        if role not in ROLE_NAMES:
            raise ConfigError(f"unknown role {role!r}; one of {', '.join(ROLE_NAMES)}")
        # the columns' limits, checked here: PostgreSQL refuses longer values, SQLite would keep them
        for name, value in (("label", label), ("account", account), ("key_label", key_label)):
            column_type = api_keys.c[name].type
            limit = column_type.length if isinstance(column_type, sa.String) else None
            if not value or (limit is not None and len(value) > limit) or "\x00" in value:
                raise ConfigError(f"API key {name} must be 1 to {limit} characters without NUL, not {value!r:.80}")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    secret_hash=_hash(secret),
                    label=label,
                    role=role,
                    account=account,
                    key_label=key_label,
                    created_at=now,
                )
            )
        return f"cgv_{key_id}_{secret}", ApiKey(key_id, label, ROLE_NAMES[role], account, key_label, now)

    def verify(self, token: str) -> ApiKey:
        """The key record for a presented token, or :class:`Unauthenticated`."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "cgv":
            raise Unauthenticated("malformed API key")
        key_id, secret = parts[1], parts[2]
        since = self.verdicts.version()  # before the read: a commit after it ends the kept verdict
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        if row is None or not hmac.compare_digest(row["secret_hash"], _hash(secret)):
            raise Unauthenticated("unknown API key")
        key = _live(row)
        self.verdicts.keep(token, since, key)
        return key

    def verified(self, token: str) -> ApiKey | None:
        """``token``'s record without a query when this process verified it and the service
        database has not changed since (:class:`KeptVerdicts`); None: ask :meth:`verify`."""
        return self.verdicts.get(token)

    def by_id(self, key_id: str) -> ApiKey:
        """The record of a key verified earlier (a console session holds its id, never its secret):
        :class:`Unauthenticated` once it is revoked or gone, as :meth:`verify` answers."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        if row is None:
            raise Unauthenticated("unknown API key")
        return _live(row)

    def list(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at)).mappings().all()
        return [_record(r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(
                api_keys.update()
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
        return bool(res.rowcount)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _digest(token: str) -> bytes:
    """What a kept verdict is found by (not the token itself: no secret kept in memory)."""
    return hashlib.sha256(token.encode()).digest()


def _live(row: sa.RowMapping) -> ApiKey:
    if row["revoked_at"] is not None:
        raise Unauthenticated("API key revoked")
    return _record(row)


def _record(row: sa.RowMapping) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        label=row["label"],
        role=ROLE_NAMES[row["role"]],
        account=row["account"],
        key_label=row["key_label"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
