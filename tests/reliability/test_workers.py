"""Several API processes over one PostgreSQL: ``cogov serve --workers 4`` (real uvicorn workers, a real
Ganache, the suite's throw-away PostgreSQL) under 16 client threads writing contributions (each with an
Idempotency-Key, retried with the same key on a connection error or a 409) and fetching data through the
gateway, while one worker is killed with ``kill -9`` midway. Then every acknowledged write is on chain
exactly once (and no unacknowledged one twice), no account is left with a nonce gap, every acknowledged
fetch has its own entry in the owner's transparency log, which verifies against its anchored checkpoint,
and the grant's maxAccesses held across the processes.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ledger.abi import hex_text
from ledger.data.checkpoints import AccessCheckpoints
from ledger.fund.docs import DocStore
from ledger.fund.report import events_from_chain
from ledger.translog import LogReader, merkle
from tests.postgresql import PostgresServer
from tests.reliability.env import ApiProcess, Env, fund_contributors, make_api, shared_dataset

pytestmark = [pytest.mark.ganache, pytest.mark.slow]

WORKERS = 4
CLIENTS = 16
ROUNDS = 3  # each client: a contribution and a fetch per round
MAX_ACCESSES = 20  # fewer than the fetches: the last ones are refused, in whichever process they land
CONTRIBUTORS = ["resident", "enterprise"]  # two accounts for 16 clients: every worker sends from both
RETRY_FOR = 90.0


@dataclass
class Tally:
    writes: dict[str, int] = field(default_factory=dict)  # idempotency key -> status of its last answer
    memos: dict[str, str] = field(default_factory=dict)  # idempotency key -> memo
    receipts: dict[str, int] = field(default_factory=dict)  # idempotency key -> receipt id answered
    fetched: list[int] = field(default_factory=list)  # log indexes of acknowledged fetches
    used_up: int = 0
    lost: int = 0  # requests whose connection broke (the kill): writes retried, fetches not
    fetches_lost: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acknowledged(self) -> list[str]:
        return [k for k, status in self.writes.items() if status in (201, 202)]


def _contribute(http: httpx.Client, auth: dict[str, str], key: str, memo: str, tally: Tally) -> None:
    deadline = time.monotonic() + RETRY_FOR
    status = 0
    while time.monotonic() < deadline:
        try:
            r = http.post("/api/v1/fund/contributions", headers={**auth, "Idempotency-Key": key},
                          json={"amount": 7, "memo": memo})
        except httpx.TransportError:
            with tally.lock:
                tally.lost += 1
            continue  # the same key again: a worker died, or the connection did
        status = r.status_code
        if status in (201, 202):
            with tally.lock:
                tally.receipts[key] = int(r.json()["contribution"]["receipt_id"]) if status == 201 else -1
            break
        assert status in (409, 503), r.text  # 409: the first attempt still runs (in another worker, perhaps)
        time.sleep(0.05)
    with tally.lock:
        tally.writes[key], tally.memos[key] = status, memo


def _fetch(http: httpx.Client, auth: dict[str, str], shared: dict[str, object], tally: Tally) -> None:
    ds, grant = shared["dataset"], shared["grant"]
    assert isinstance(ds, dict) and isinstance(grant, dict)
    try:
        r = http.get(f"/api/v1/datasets/{ds['id']}/data", headers=auth,
                     params={"fields": "district,age", "grant_id": grant["id"]})
    except httpx.TransportError:
        with tally.lock:
            tally.lost += 1
            tally.fetches_lost += 1
        return
    with tally.lock:
        if r.status_code == 200:
            tally.fetched.append(int(r.json()["receipt"]["index"]))
        else:
            assert r.status_code == 403, r.text
            tally.used_up += 1


def _race_one_key(url: str, auth: dict[str, str], key: str) -> tuple[set[int], str]:
    """The same new request sent at once over 2 x WORKERS connections (the workers take them as they
    come): retried until answered; the receipt ids answered, and the memo."""
    memo = f"多进程 {key}"
    tally = Tally()
    go = threading.Barrier(2 * WORKERS)

    def send() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            go.wait()
            _contribute(http, auth, key, memo, tally)

    threads = [threading.Thread(target=send) for _ in range(2 * WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RETRY_FOR + 30)
    return set(tally.receipts.values()), memo


def _reads_after_a_write(url: str, auth: dict[str, str], key: str) -> list[bool]:
    """A contribution answered by one worker, then 2 x WORKERS reads at once on new connections (so on
    other workers too): whether each list shows it (read-your-writes across the processes)."""
    tally = Tally()
    with httpx.Client(base_url=url, timeout=60) as http:
        _contribute(http, auth, key, f"多进程 {key}", tally)
    receipt = tally.receipts[key]
    seen: list[bool] = []
    go = threading.Barrier(2 * WORKERS)

    def read() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            go.wait()
            r = http.get("/api/v1/fund/contributions", headers=auth, params={"limit": 20})
        assert r.status_code == 200, r.text
        seen.append(receipt in [c["receipt_id"] for c in r.json()["data"]])

    threads = [threading.Thread(target=read) for _ in range(2 * WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RETRY_FOR)
    return seen


@pytest.mark.timeout(600)  # ~90 s on a quiet 2-core machine; four app start-ups at once are slow under load
def test_four_workers_with_one_killed_write_once_and_log_every_fetch(
    rel: Env, postgresql: PostgresServer, tmp_path: Path
) -> None:
    d = rel.deployment
    fund_contributors(d, CONTRIBUTORS)
    api = make_api(
        d, tmp_path / "api",
        service_db_url=postgresql.database("workers_service"), index_db_url=postgresql.database("workers_index"),
        gateway_sync_classifications=frozenset({"secret"}), gateway_mmd=10.0,
        index_follow=True, index_poll_interval=0.2,  # as served: a follower per worker, one of them leading
    )
    began = time.monotonic()
    run = secrets.token_hex(4)
    tally = Tally()
    server = ApiProcess(api.settings, "workers", workers=WORKERS).start(timeout=300)  # 4 app imports at once
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            shared = shared_dataset(d, http, api, owner="dept_a", grantee="dept_b", max_accesses=MAX_ACCESSES)
        owner = int(shared["dataset"]["owner_id"])
        started = time.monotonic() - began
        pids = server.worker_pids()
        assert len(pids) == WORKERS, pids
        go = threading.Barrier(CLIENTS + 1)

        def client(n: int) -> None:
            auth = api.auth(CONTRIBUTORS[n % len(CONTRIBUTORS)])
            with httpx.Client(base_url=server.url, timeout=60) as http:
                go.wait()
                for i in range(ROUNDS):
                    key = f"workers-{run}-{n}-{i}"
                    _contribute(http, auth, key, f"多进程 {key}", tally)
                    _fetch(http, api.auth("dept_b"), shared, tally)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        go.wait()
        while len(tally.writes) < CLIENTS * ROUNDS // 3:  # midway: a worker dies under load
            time.sleep(0.02)
        killed = server.busiest_worker()
        os.kill(killed, signal.SIGKILL)
        for t in threads:
            t.join(timeout=RETRY_FOR + 60)
        loaded = time.monotonic() - began - started
        assert not any(t.is_alive() for t in threads)
        deadline = time.monotonic() + 60  # the master reaps the killed worker and starts another
        while killed in server.worker_pids() or len(server.worker_pids()) != WORKERS:
            assert time.monotonic() < deadline, (killed, server.worker_pids())
            time.sleep(0.2)
        race = _race_one_key(server.url, api.auth(CONTRIBUTORS[0]), f"workers-{run}-race")
        seen = _reads_after_a_write(server.url, api.auth(CONTRIBUTORS[1]), f"workers-{run}-read")
        assert seen == [True] * 2 * WORKERS, seen  # each worker's reads show a write another one answered
        # the anchorer of some worker anchors what the log holds (MMD 10 s: within 5 s of the last entry)
        log_dir = Path(api.settings.gateway_store_dir) / "translog" / str(owner)
        checkpoints = AccessCheckpoints(d.ledger())
        deadline = time.monotonic() + 30
        while checkpoints.latest(owner).tree_size < LogReader(log_dir).size:
            assert time.monotonic() < deadline, "the log was not anchored"
            time.sleep(0.2)
    finally:
        server.stop()

    # every acknowledged write on chain exactly once; none twice
    attempted, acked = CLIENTS * ROUNDS, tally.acknowledged
    assert len(tally.writes) == attempted and len(acked) == attempted, Counter(tally.writes.values())
    docs = DocStore.open(api.settings.service_db_url)
    on_chain = {hex_text(e.args["memoHash"]): e for e in events_from_chain(d.ledger(), ["ContributionReceived"])}
    for key in acked:
        mine = [on_chain[h] for h in docs.hashes_of("memo", tally.memos[key]) if h in on_chain]
        assert len(mine) == 1, (key, mine)
        assert tally.receipts[key] in (-1, int(mine[0].args["receiptId"])), key
    # one key sent at once to every worker: one contribution, every success the same receipt
    answers, memo = race
    raced = [on_chain[h] for h in docs.hashes_of("memo", memo) if h in on_chain]
    assert len(raced) == 1 and answers == {int(raced[0].args["receiptId"])}, (raced, answers)
    # no nonce collided or left a gap: nothing of the contributors waits in the pool
    led = d.ledger()
    for label in CONTRIBUTORS:
        address = d.signers[label].address
        assert led.rpc("eth_getTransactionCount", [address, "latest"]) == led.rpc(
            "eth_getTransactionCount", [address, "pending"]
        ), label

    # every acknowledged fetch has its own log entry; maxAccesses held across the workers
    with LogReader(log_dir) as log:
        size = log.size
        entries = [(i, log.entry(i)) for i in range(size)]
        grant = f'"grant":{shared["grant"]["id"]},'.encode()
        accesses = [i for i, raw in entries if b'"kind":"access"' in raw and grant in raw]
        assert len(set(tally.fetched)) == len(tally.fetched) and set(tally.fetched) <= set(accesses)
        assert len(accesses) <= MAX_ACCESSES and len(tally.fetched) + tally.used_up + tally.fetches_lost == attempted
        assert len(accesses) == MAX_ACCESSES and len(tally.fetched) >= MAX_ACCESSES - tally.fetches_lost  # used up
        cp = checkpoints.latest(owner)
        assert cp.tree_size == size and cp.root_hash == log.root(size)
        for i in tally.fetched:
            proof = log.inclusion_proof(i, size)
            assert merkle.verify_inclusion(log.leaf_hash(i), i, size, proof, cp.root_hash), i
    print(f"\nworkers: {WORKERS}, killed {killed}; writes attempted {attempted}, acknowledged {len(acked)}, "
          f"on chain {len(acked)}; fetches {attempted}: served {len(tally.fetched)}, used up {tally.used_up}; "
          f"access entries {len(accesses)} of {MAX_ACCESSES}; broken connections retried {tally.lost}; "
          f"start-up and sharing {started:.0f} s, load {loaded:.0f} s, total {time.monotonic() - began:.0f} s")
