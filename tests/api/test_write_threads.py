"""Waiting writes are not bounded by AnyIO's default 40 threads (``COGOV_API_THREADS``).

A write holds a worker thread until its receipt; on a chain with real blocks that is a block or
two, so the size of the pool is how many writes one API process has in flight. Here the node holds
its block (Ganache's ``miner_stop``) while more than 40 gateway fetches of an on-chain-recorded
dataset arrive over real HTTP: every one of them must reach the node (its ``recordAccess`` in the
node's pool, all waiting at once), and all are answered once the block is mined. With the old bound
no more than 40 get that far, and the wait below runs out."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from api.testing import Api, LiveServer
from ledger.data import DataSharing
from ledger.testing import Deployment, register_data_key
from tests.api.test_data_support import synthetic_csv, unique, upload

pytestmark = pytest.mark.ganache

WAITING = 60  # > AnyIO's default 40


def _in_pool(deployment: Deployment, sender: str) -> int:
    pool = deployment.ledger().rpc("txpool_content")
    return sum(len(txs) for who, txs in pool["pending"].items() if who.lower() == sender.lower())


def test_more_than_forty_writes_wait_for_their_block_at_once(
    live_server: LiveServer, api: Api, deployment: Deployment
) -> None:
    assert api.settings.api_threads > WAITING  # the default
    register_data_key(deployment, "dept_a")
    with httpx.Client(base_url=live_server.url, timeout=120) as http:
        r = upload(http, api.auth("c2"), unique("threads"), "internal", synthetic_csv(3))
        assert r.status_code == 201, r.text
        did = r.json()["dataset"]["id"]
        r = http.post("/api/v1/access-requests", headers=api.auth("dept_a"),
                      json={"dataset_id": did, "purpose_code": 1, "purpose": "threads", "duration": 3600})
        assert r.status_code == 201, r.text
        r = http.post(f"/api/v1/access-requests/{r.json()['request']['id']}/approve", headers=api.auth("c2"))
        assert r.status_code == 200, r.text
        gid = r.json()["grant"]["id"]
        assert http.get(f"/api/v1/datasets/{did}/data", params={"grant_id": gid},
                        headers=api.auth("dept_a")).status_code == 200  # warm: caches, the gas limit

    led = deployment.ledger()
    owner = deployment.signers["c2"].address
    before = DataSharing(led).grant(gid).accesses
    answers: list[int] = []
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=WAITING, max_keepalive_connections=WAITING)

    def fetch(http: httpx.Client) -> None:
        r = http.get(f"/api/v1/datasets/{did}/data", params={"grant_id": gid}, headers=api.auth("dept_a"))
        with lock:
            answers.append(r.status_code)

    led.rpc("miner_stop")  # every write now waits for a block that comes only when we say
    try:
        with httpx.Client(base_url=live_server.url, timeout=120, limits=limits) as http:
            threads = [threading.Thread(target=fetch, args=(http,)) for _ in range(WAITING)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 90
            waiting = 0
            while time.monotonic() < deadline:
                waiting = _in_pool(deployment, owner)
                if waiting >= WAITING or answers:
                    break
                time.sleep(0.2)
            assert not answers, f"answered before any block: {answers}"
            assert waiting == WAITING, f"only {waiting} of {WAITING} writes reached the node at once"
            led.rpc("miner_start")
            for t in threads:
                t.join(timeout=120)
    finally:
        led.rpc("miner_start")
    assert answers == [200] * WAITING
    assert DataSharing(led).grant(gid).accesses == before + WAITING
