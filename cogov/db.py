"""``cogov db``: the schema migrations of the event index and the service database (Alembic;
ledger/migrations.py, docs/migrations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import JsonOpt

if TYPE_CHECKING:
    from ledger.migrations import Status

db_app = typer.Typer(
    help="Schema migrations of the event index and the service database (upgrade before a new version serves).",
    no_args_is_help=True,
)

IndexDbOpt = Annotated[
    str | None, typer.Option("--index-db", help="Index database URL (default: $COGOV_INDEX_DB_URL).")
]
ServiceDbOpt = Annotated[
    str | None, typer.Option("--service-db", help="Service database URL (default: $COGOV_SERVICE_DB_URL).")
]


def _statuses(index_db: str | None, service_db: str | None, *, upgrade: bool) -> list[Status]:
    """Each database's status, after migrating it to head when ``upgrade``."""
    import sqlalchemy as sa

    from api.migrations import SERVICE
    from ledger.index.schema import INDEX
    from ledger.index.store import Store

    settings = env().settings
    index = Store(index_db or settings.index_db_url)
    statuses: list[Status] = []
    if upgrade and not index.exists():
        index.create()  # a missing SQLite file: made at head
    if index.exists():
        migrate = INDEX.upgrade if upgrade else INDEX.status
        statuses.append(migrate(index.engine, db=index.display))
    else:
        statuses.append(_absent("index", index.display, INDEX.head()))
    service = sa.create_engine(service_db or settings.service_db_url)
    try:
        statuses.append(SERVICE.upgrade(service) if upgrade else SERVICE.status(service))
    finally:
        service.dispose()
    index.engine.dispose()
    return statuses


def _absent(what: str, db: str, head: str) -> Status:
    from ledger.migrations import Status

    return Status(what, db, None, head, False)


def _show(statuses: list[Status], as_json: bool) -> None:
    if as_json:
        out.emit_json([{**s.__dict__, "at_head": s.at_head} for s in statuses])
        return
    rows = [
        [s.what, s.current or "—", s.head, "yes" if s.at_head else ("no: made before migrations" if s.legacy else "no"),
         s.db]
        for s in statuses
    ]
    out.table(["database", "revision", "head", "at head", "url"], rows)


@db_app.command("upgrade")
def db_upgrade(index_db: IndexDbOpt = None, service_db: ServiceDbOpt = None, as_json: JsonOpt = False) -> None:
    """Migrate both databases to this version's head (a database made before migrations is
    adopted and stamped, its rows kept). Safe to run again; one process at a time on PostgreSQL."""
    statuses = _statuses(index_db, service_db, upgrade=True)
    _show(statuses, as_json)
    if not as_json:
        out.ok("both databases at head")


@db_app.command("current")
def db_current(index_db: IndexDbOpt = None, service_db: ServiceDbOpt = None) -> None:
    """Print each database's revision (``none``: never migrated), one per line."""
    for s in _statuses(index_db, service_db, upgrade=False):
        out.say(f"{s.what}: {s.current or 'none'}")


@db_app.command("status")
def db_status(index_db: IndexDbOpt = None, service_db: ServiceDbOpt = None, as_json: JsonOpt = False) -> None:
    """Each database's revision beside the head; exits non-zero when one is behind
    (the service in production refuses to start then: run `cogov db upgrade`)."""
    statuses = _statuses(index_db, service_db, upgrade=False)
    _show(statuses, as_json)
    if not all(s.at_head for s in statuses):
        raise typer.Exit(out.EXIT_OTHER)


# ------------------------------------------------- the local cluster (`make demo-pg`)

local_app = typer.Typer(
    help="A local PostgreSQL cluster under .cogov/postgresql for the demo (development only).", no_args_is_help=True
)
db_app.add_typer(local_app, name="local")

#: the demo's databases on the local cluster
LOCAL_DATABASES = {"COGOV_INDEX_DB_URL": "cogov_index", "COGOV_SERVICE_DB_URL": "cogov_service"}


RootOpt = Annotated[
    Path | None, typer.Option("--root", help="The cluster's folder (default: .cogov/postgresql).")
]


def _local_root(root: Path | None) -> Path:
    from ledger.config import STATE_DIR

    return (root or STATE_DIR / "postgresql").resolve()


@local_app.command("up")
def local_up(root: RootOpt = None) -> None:
    """Start the cluster (created on first use), create the demo's two databases, write their
    URLs to <root>/env (``set -a; . .cogov/postgresql/env``) and print them."""
    from ledger.devdb import Cluster

    root = _local_root(root)
    cluster = Cluster(root).start()
    lines = [f"{var}={cluster.create_database(name, exist_ok=True)}" for var, name in LOCAL_DATABASES.items()]
    (root / "env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines:
        out.say(line)


@local_app.command("down")
def local_down(root: RootOpt = None) -> None:
    """Stop the cluster (its data kept; `make clean-chain` removes .cogov/)."""
    from ledger.devdb import Cluster

    root = _local_root(root)
    if not (root / "data" / "PG_VERSION").is_file():
        out.say("no local PostgreSQL cluster")
        return
    Cluster(root).stop()
    out.ok(f"PostgreSQL at {root} stopped")
