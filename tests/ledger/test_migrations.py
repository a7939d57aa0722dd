"""The explicit migrations (ledger/migrations.py) of the event index (ledger/index/migrations/)
and the service database (api/migrations/), each on SQLite and on PostgreSQL (the ``db``
fixture): head equals the code's tables exactly (Alembic's ``compare_metadata`` finds nothing),
a database made by ``create_all`` before migrations is adopted with its rows, and a database
behind head is refused by the service and the indexer outside development, naming
``cogov db upgrade``."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.apikeys import engine_for
from api.migrations import SERVICE
from api.settings import Settings
from api.state import ServiceState
from ledger.errors import SchemaBehind
from ledger.index import Indexer
from ledger.index.schema import INDEX
from ledger.migrations import Schema, Status
from tests.postgresql import Db, PostgresServer

SCHEMAS = {"index": INDEX, "service": SERVICE}
#: one row of each database, as the code before migrations wrote it
ROWS = {
    "index": ("meta", {"key": "chain_id", "value": "1337"}),
    "service": (
        "api_keys",
        {"key_id": "k1", "secret_hash": "0" * 64, "label": "旧的", "role": "auditor", "account": "0x" + "1" * 40,
         "key_label": "auditor", "created_at": 1.0, "revoked_at": None},
    ),
}


@pytest.fixture(params=sorted(SCHEMAS))
def schema(request: pytest.FixtureRequest) -> Schema:
    return SCHEMAS[request.param]


def test_upgrading_an_empty_database_gives_exactly_the_code_s_tables(db: Db, schema: Schema) -> None:
    engine = db.engine(db.url())
    before = schema.status(engine)
    assert (before.current, before.legacy, before.at_head) == (None, False, False)

    after = schema.upgrade(engine)

    assert after.current == schema.head() and after.at_head and not after.legacy
    assert schema.differences(engine) == []
    assert schema.upgrade(engine) == after  # again: nothing to do


def test_a_difference_from_the_code_s_tables_is_found(db: Db) -> None:
    """compare_metadata is not blind: a dropped index and a dropped table are reported."""
    engine = db.engine(db.url())
    SERVICE.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_documents_scope"))
        conn.execute(sa.text("DROP TABLE open311_reports"))
    found = {(d[0], getattr(d[1], "name", None)) for d in SERVICE.differences(engine)}
    assert {("add_index", "ix_documents_scope"), ("add_table", "open311_reports")} <= found, found


def test_a_database_made_before_migrations_is_adopted_with_its_rows(db: Db, schema: Schema) -> None:
    table, row = ROWS[schema.what]
    engine = db.engine(db.url())
    with engine.begin() as conn:  # what the stores' and the index's create_all made
        schema.metadata.create_all(conn)
        conn.execute(schema.metadata.tables[table].insert().values(**row))
    assert schema.status(engine).legacy

    status = schema.upgrade(engine)

    assert status.at_head and not status.legacy
    with engine.connect() as conn:
        assert [r._asdict() for r in conn.execute(sa.select(schema.metadata.tables[table]))] == [row]
    assert schema.differences(engine) == []


def test_a_database_behind_head_is_refused_naming_the_command(db: Db, schema: Schema) -> None:
    engine = db.engine(db.url())
    with pytest.raises(SchemaBehind, match="run `cogov db upgrade`") as refused:
        schema.require(engine)
    assert refused.value.context == {"current": None, "head": schema.head()}
    schema.upgrade(engine)
    schema.require(engine)


def test_the_service_in_production_refuses_a_service_database_behind_head(db: Db, tmp_path: Path) -> None:
    url = db.url()
    settings = Settings(env="production", service_db_url=url, gateway_master_key_file=tmp_path / "master.key",
                        manifest_path=tmp_path / "none.json")
    assert settings.upgrade_at_start is False and Settings(env="test").upgrade_at_start is True
    with pytest.raises(SchemaBehind, match=r"the service database .* is not migrated .*cogov db upgrade"):
        ServiceState.build(settings)
    engine_for(url).dispose()  # development's path: migrated at start
    ServiceState.build(settings).close()


def test_the_indexer_refuses_an_index_behind_head_unless_told_to_upgrade(db: Db) -> None:
    target = db.new()
    engine = db.engine(target)
    if isinstance(target, Path):  # an existing SQLite file made before migrations
        with engine.begin() as conn:
            INDEX.metadata.create_all(conn)
    with pytest.raises(SchemaBehind, match=r"the index database .*cogov db upgrade"):
        Indexer(_NoNode(), {}, target, upgrade=False)
    Indexer(_NoNode(), {}, target).close()  # development: upgraded at start
    assert INDEX.status(engine).at_head
    Indexer(_NoNode(), {}, target, upgrade=False).close()


def test_an_upgrade_waits_for_another_process_s(postgresql: PostgresServer) -> None:
    """API workers starting at once migrate one at a time: while another process holds the
    advisory lock, an upgrade waits on it (seen in pg_locks), then finds the work left to do."""
    url = postgresql.database("race")
    holder, worker = sa.create_engine(url), sa.create_engine(url)
    upgraded: list[Status] = []
    thread = threading.Thread(target=lambda: upgraded.append(SERVICE.upgrade(worker)))
    try:
        with holder.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SERVICE.lock_key})
            thread.start()
            waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            deadline = time.monotonic() + 60
            while not conn.execute(sa.text(waiting)).scalar():
                assert time.monotonic() < deadline, "the upgrade never asked for the lock"
                time.sleep(0.05)
            assert not upgraded and SERVICE.status(holder).current is None
        thread.join(60)
        assert [s.at_head for s in upgraded] == [True]
    finally:
        thread.join(60)
        holder.dispose()
        worker.dispose()


class _NoNode:
    """An indexer opened here never asks the chain."""

    def rpc(self, method: str, params: object = None) -> object:
        raise AssertionError(f"unexpected {method}")
