"""A local PostgreSQL cluster for development: the demo on PostgreSQL (``make demo-pg``: a
cluster kept under ``.cogov/postgresql``) and the suite's throw-away servers (tests/postgresql.py).

``initdb`` into a folder, ``pg_ctl start`` on a loopback port, trust authentication on 127.0.0.1
only (never a production setup: deploy/README.md). The server binaries come from
``pg_config --bindir`` (Debian's ``postgresql`` package; ``make postgresql`` installs it when
missing); without them a clear error names the package. PostgreSQL refuses to run as root, so
as root the cluster is created and run by the ``postgres`` system user (``runuser``), in a
folder it owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from ledger.errors import ConfigError
from ledger.process import free_port

#: the cluster's superuser (trust authentication on 127.0.0.1 only)
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
    raise ConfigError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` "
        "(`make postgresql` does: apt-get install -y postgresql)"
    )


class Cluster:
    """One PostgreSQL cluster in ``root`` (``data/``, ``server.log``, ``port``), on 127.0.0.1.

    Args:
        root: the cluster's folder (created; handed to the ``postgres`` user when run as root).
        port: the port; None: the one recorded in ``root/port``, else a free one (then recorded).
        durable: False for throw-away servers (``fsync=off`` and the like: fast, lost on a crash).
    """

    def __init__(self, root: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.bin = bindir()
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.durable = durable
        port_file = root / "port"
        if port is None and port_file.is_file():
            port = int(port_file.read_text().strip())
        self.port = port or free_port()
        self._as: list[str] = []
        root.mkdir(parents=True, exist_ok=True)
        port_file.write_text(f"{self.port}\n")
        if os.geteuid() == 0:  # PostgreSQL refuses root: the Debian `postgres` user runs it
            shutil.chown(root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
            if subprocess.run([*self._as, "test", "-w", str(root)], check=False).returncode != 0:
                raise ConfigError(f"the postgres user cannot write {root} (is every folder above it searchable?)")

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, check=False, cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise ConfigError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr or done.stdout}\n{log}")

    def running(self) -> bool:
        done = subprocess.run(
            [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True, check=False, cwd=self.root,
        )
        return done.returncode == 0

    def start(self) -> Cluster:
        """Create the cluster when its folder has none, start it unless running, wait until TCP answers."""
        if not (self.data / "PG_VERSION").is_file():
            self._run(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8", *([] if self.durable else ["--no-sync"]),
            )
        if not self.running():
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='{self.root}' "
                "-c max_connections=200"
            )
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                "start",
            )
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
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, *, exist_ok: bool = False) -> str:
        """Create ``name`` (kept when it exists and ``exist_ok``); its SQLAlchemy URL."""
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if found is None or not exist_ok:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are closed); its folder stays."""
        if not (self.data / "PG_VERSION").is_file() or not self.running():
            return
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        except ConfigError:
            with contextlib.suppress(ConfigError):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
