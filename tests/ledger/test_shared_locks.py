"""What several API processes agree on through one PostgreSQL database (ledger/advisory.py): each
"process" here is an engine of its own, so its sessions, and the advisory locks they hold, are as
separate as two processes' (a process's death is its session's: ``pg_terminate_backend``).

* the index follower: one leads (syncs), the other reads how far the index is; when the leader's
  session dies the other takes the lead;
* nonces: two managers hand out one account's nonces without a collision or a gap, and a holder
  that died between sending and recording leaves the next one taking max(row, node);
* idempotency: a request under one key in one process makes a retry in another a 409, then the
  retry gets the first answer;
* ``cogov serve --workers N`` refuses SQLite, which one process only may use.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.idempotency import IdempotencyStore
from ledger.chain import Ganache
from ledger.client import Ledger as ChainLedger
from ledger.errors import Conflict
from ledger.index import Follower
from ledger.rpc import RpcClient
from ledger.tx.nonces import SharedNonceManager, nonce_rows
from tests.ledger.cogov_cli import COGOV
from tests.ledger.test_index import Ledger, ledger  # noqa: F401 - the fixture
from tests.postgresql import PostgresServer

pytestmark = pytest.mark.ganache


@pytest.fixture
def engines(postgresql: PostgresServer) -> Iterator[list[sa.Engine]]:
    """A new database, and the engines of two "processes" over it (disposed at the end)."""
    url = postgresql.database("shared")
    made = [sa.create_engine(url), sa.create_engine(url)]
    yield made
    for e in made:
        e.dispose()


def _terminate(engine: sa.Engine, pid: int) -> None:
    """The session ``pid`` dies as it would with its process."""
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()


def test_followers_share_one_index_with_one_leader(
    ledger: Ledger, postgresql: PostgresServer  # noqa: F811
) -> None:
    url = postgresql.database("ix")
    a, b = Follower(ledger.indexer(url), poll_interval=0.05), Follower(ledger.indexer(url), poll_interval=0.05)
    try:
        assert a.leading and not b.leading  # the first to ask leads
        ledger.activity(1)
        head = int(ledger.w3.eth.block_number)
        b.start()  # the other's thread only reads how far the index is
        time.sleep(0.3)
        assert b.indexed_block < head and (b.index.last_block() or -1) < head
        a.sync_once()
        assert b.wait_for(head, 10)  # a read on the other process sees what the leader indexed
        assert a.leadership is not None and b.leadership is not None
        held = a.leadership._conn
        assert held is not None
        pid = held.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert isinstance(pid, int)
        _terminate(b.index._store.engine, pid)  # the leader's process dies
        ledger.activity(1)
        head = int(ledger.w3.eth.block_number)
        assert b.wait_for(head, 20) and b.leadership.held  # the other took the lead, and synced
        assert not a.leading  # the old leader's next round finds the lead taken
    finally:
        a.stop()
        b.stop()


def test_two_nonce_managers_one_account_no_collision_no_gap(
    ganache: Ganache, engines: list[sa.Engine]
) -> None:
    made = engines
    rpc = RpcClient(ganache.config.url)
    managers = [SharedNonceManager(rpc, e) for e in made]
    address = "0x" + secrets.token_hex(20)  # no transaction yet: the node counts 0
    taken: list[int] = []
    lock = threading.Lock()

    def send(m: SharedNonceManager) -> None:
        for _ in range(10):
            with m.reserve(address) as slot:
                with lock:
                    taken.append(slot.value)
                time.sleep(0.002)  # "signing and sending": another holder must wait

    threads = [threading.Thread(target=send, args=(managers[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(taken) == list(range(60))

    # a failure resyncs from the node (which counts 0 here: nothing was sent)
    with pytest.raises(RuntimeError), managers[0].reserve(address):
        raise RuntimeError("refused")
    with managers[1].reserve(address) as slot:
        assert slot.value == 0
    # a holder killed between sending and recording leaves its row in flight: the next takes
    # max(row, the node's count); the row is never behind what the dead holder may have sent
    with made[0].begin() as conn:
        conn.execute(nonce_rows.update().where(nonce_rows.c.account == address.lower())
                     .values(next_nonce=7, in_flight=True))
    with managers[1].reserve(address) as slot:
        assert slot.value == 7
    with managers[0].reserve(address) as slot:
        assert slot.value == 8


def test_a_key_in_flight_in_one_process_is_a_409_in_another_then_its_answer(
    ganache: Ganache, engines: list[sa.Engine]
) -> None:
    made = engines
    chain = ChainLedger(ganache.config.url)
    first, second = IdempotencyStore(made[0], chain), IdempotencyStore(made[1], chain)
    key, fp = f"k-{secrets.token_hex(4)}", "f" * 64
    with first.session("scope", key, fp) as w:
        assert w.earlier is None
        with pytest.raises(Conflict, match="still in progress"), second.session("scope", key, fp):
            pass
        first._update("scope", key, state="done", status_code=201, response='{"n": 1}')
    with second.session("scope", key, fp) as again:
        assert again.earlier is not None and again.earlier.body == {"n": 1}


def test_serve_refuses_several_workers_over_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "COGOV_SERVICE_DB_URL": f"sqlite:///{tmp_path / 'service.db'}"}
    r = subprocess.run([*COGOV, "serve", "--port", "9", "--workers", "2"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode != 0 and "--workers 2 needs PostgreSQL: COGOV_SERVICE_DB_URL is sqlite" in r.stderr, r.stderr
    assert not (tmp_path / "service.db").exists()  # refused before anything was opened
