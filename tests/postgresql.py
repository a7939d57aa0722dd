"""A throw-away PostgreSQL server for the suite: ``initdb`` into a temporary folder, ``pg_ctl start``
on a free loopback port, stopped and removed at the end (the ``postgresql`` fixture of
tests/conftest.py; every test that needs a database creates its own in it with :meth:`database`).

The server binaries come from ``pg_config --bindir`` (Debian's ``postgresql`` package; ``make
test`` installs it when missing). Nothing is skipped: without them the fixture fails, naming
the package. PostgreSQL refuses to run as root, so as root the cluster is created and run by the
``postgres`` system user (``runuser``), in a folder it owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from ledger.process import free_port

#: the cluster's superuser (trust authentication on 127.0.0.1 only: a throw-away server)
USER = "cogov"


def bindir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are; a clear failure (never a skip) when they are not."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out:
            candidates.append(Path(out))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` "
        "(`make test` does: apt-get install -y postgresql)"
    )


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cogov-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as: list[str] = []
        self.started = False
        if os.geteuid() == 0:  # PostgreSQL refuses root: the Debian `postgres` user runs it
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
            if subprocess.run([*self._as, "test", "-w", str(self.root)], check=False).returncode != 0:
                shutil.rmtree(self.root, ignore_errors=True)
                raise RuntimeError(f"the postgres user cannot write {self.root} (TMPDIR={tempfile.gettempdir()})")

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, check=False, cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr or done.stdout}\n{log}")

    def start(self) -> PostgresServer:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='{self.root}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                  "start")
        self.started = True
        deadline = time.monotonic() + 30
        while True:  # pg_ctl -w waited for the socket; be sure TCP answers too
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=2):
                    return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname={database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def database(self, prefix: str = "t") -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown: connections left open are closed) and remove its folder."""
        try:
            if self.started:
                try:
                    self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
                except RuntimeError:
                    with contextlib.suppress(RuntimeError):
                        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


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
        db = self.new(name)
        return f"sqlite:///{db}" if isinstance(db, Path) else db

    def engine(self, db: Path | str) -> sa.Engine:
        """An engine on ``db`` (disposed by :meth:`close`)."""
        url = f"sqlite:///{db}" if isinstance(db, Path) else db
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
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
