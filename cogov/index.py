"""``cogov index``: the event index (sync, rebuild, status)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import JsonOpt

if TYPE_CHECKING:
    from ledger.index import Indexer, SyncProgress, SyncResult

index_app = typer.Typer(
    help="The event index of our contracts (SQLite by default, PostgreSQL by URL).", no_args_is_help=True
)

DbOpt = Annotated[str | None, typer.Option("--db", help="Index database URL (default: $COGOV_INDEX_DB_URL).")]


def _indexer(db: str | None) -> Indexer:
    from ledger.index import Indexer

    e = env()
    led = e.ledger()
    return Indexer(
        led,
        {name: dep.address for name, dep in e.manifest.contracts.items()},
        db or e.settings.index_db_url,
        confirmations=e.settings.confirmations - 1,
        start_block=e.manifest.start_block,
        upgrade=e.settings.upgrade_at_start,
    )


def _run(label: str, fn: Callable[[Callable[[SyncProgress], None]], SyncResult]) -> SyncResult:
    with out.progress(label) as bar:

        def progress(p: SyncProgress) -> None:  # after each batch
            bar.update(total=p.target, completed=p.to_block)
            bar.message(f"{label}: {p.events} events")

        return fn(progress)


@index_app.command("sync")
def index_sync(db: DbOpt = None) -> None:
    """Index new confirmed blocks; resumes where it stopped."""
    idx = _indexer(db)
    result = _run("indexing", lambda p: idx.sync(p))
    out.ok(
        f"indexed {result.events} new events; up to block {result.last_block} "
        f"(head {result.head}) in {result.elapsed:.1f}s"
    )


@index_app.command("rebuild")
def index_rebuild(db: DbOpt = None) -> None:
    """Drop the index and rebuild it from the deployment block."""
    idx = _indexer(db)
    result = _run("rebuilding", lambda p: idx.rebuild(p))
    out.ok(f"rebuilt: {idx.count()} events up to block {result.last_block} in {result.elapsed:.1f}s")


@index_app.command("status")
def index_status(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Show the index: last block, lag behind the chain, events, health."""
    idx = _indexer(db)
    h = idx.health()
    data = {
        "ok": h.ok,
        "reason": h.reason,
        "last_block": h.last_block,
        "events": h.events,
        "lag": idx.lag() if h.ok else None,
    }
    if as_json:
        out.emit_json(data)
    else:
        out.say(", ".join(f"{k}: {v}" for k, v in data.items()))
    if not h.ok:
        raise typer.Exit(out.EXIT_OTHER)
