"""Over real HTTP, with the service's first RPC node losing the answer to the transaction it took.

The service runs with two RPC URLs: a real proxy in front of Ganache that forwards
``eth_sendRawTransaction`` and loses the answer (``tests/rpc_proxy.py``), then a
way to the same node. One request must still be one transaction: one
``ContributionReceived`` for an ``Idempotency-Key``d contribution (answered 201 or
202), one ``AccessRecorded`` for a gateway fetch, and the answer carries the hash
of the transaction that was mined.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from api.idempotency import Answer, IdempotencyStore, fingerprint
from ledger.client import ContractCall, Ledger
from ledger.errors import ChainUnavailable
from ledger.events import Event
from ledger.fund import Fund
from tests.api.conftest import Api, LiveServer
from tests.api.test_fund_support import mint
from tests.conftest import Deployment
from tests.ledger.write_kinds import ledger_over
from tests.postgresql import Db
from tests.reliability.env import chain_events, shared_dataset
from tests.rpc_proxy import RpcProxy, answer_lost

pytestmark = pytest.mark.ganache


@contextmanager
def _service_losing_an_answer(
    api: Api, deployment: Deployment, mode: str, contract: str
) -> Iterator[tuple[httpx.Client, RpcProxy]]:
    """The API over a node that loses the answer to its next transaction to ``contract`` (the
    service may anchor its access logs at start: that transaction is not the one under test)."""
    node = deployment.ganache.config.url
    to = deployment.ledger().contract(contract).address
    with answer_lost(node, node, mode, to=to) as (urls, lossy), \
            LiveServer(api.settings.model_copy(update={"rpc_urls": urls})) as server, \
            httpx.Client(base_url=server.url, timeout=60) as http:
        yield http, lossy


def _since(led: Ledger, contract: str, name: str, block: int) -> list[Event]:
    return [e for e in chain_events(led, contract, name) if e.block_number >= block]


def _nonce(led: Ledger, address: str) -> int:
    return int(led.rpc("eth_getTransactionCount", [address, "latest"]), 16)


def _ready_to_contribute(deployment: Deployment, amount: int) -> Ledger:
    """The resident holds twice ``amount`` and has approved the fund for it: the request's one
    transaction is the contribution, and a second one would go through too (as in the report)."""
    led = deployment.ledger()
    resident = deployment.signers["resident"]
    mint(led, deployment.signers["treasurer"], resident.address, 2 * amount)
    fund = Fund(led)
    fund.token.approve(resident, fund.address, 2 * amount)
    return led


@pytest.mark.parametrize("mode", ["drop", "late"])
def test_a_contribution_whose_answer_is_lost_is_made_once(api: Api, deployment: Deployment, mode: str) -> None:
    led = _ready_to_contribute(deployment, 777)
    resident = deployment.signers["resident"].address
    start, nonce = led.block_number() + 1, _nonce(led, resident)
    headers = {**api.auth("resident"), "Idempotency-Key": f"lost-{mode}-{secrets.token_hex(6)}"}
    with _service_losing_an_answer(api, deployment, mode, "CoGovFund") as (http, lossy):
        r = http.post("/api/v1/fund/contributions", headers=headers, json={"amount": 777})
        assert r.status_code == 201, r.text
        again = http.post("/api/v1/fund/contributions", headers=headers, json={"amount": 777})
        assert again.status_code == 201 and again.json() == r.json()
    events = _since(led, "CoGovFund", "ContributionReceived", start)
    assert [e.tx_hash for e in events] == lossy.hashes  # one contribution, from the transaction the node took
    assert r.json()["tx"]["tx_hash"] == lossy.hashes[0]  # and the answer is that transaction
    assert int(events[0].args["receiptId"]) == r.json()["contribution"]["receipt_id"]
    assert _nonce(led, resident) == nonce + 1


def test_an_async_contribution_whose_answer_is_lost_is_answered_202_once(api: Api, deployment: Deployment) -> None:
    led = _ready_to_contribute(deployment, 555)
    resident = deployment.signers["resident"].address
    start, nonce = led.block_number() + 1, _nonce(led, resident)
    headers = {**api.auth("resident"), "Idempotency-Key": f"lost-async-{secrets.token_hex(6)}",
               "Prefer": "respond-async"}
    with _service_losing_an_answer(api, deployment, "late", "CoGovFund") as (http, lossy):
        r = http.post("/api/v1/fund/contributions", headers=headers, json={"amount": 555})
        assert r.status_code == 202, r.text
        assert r.json()["tx_hash"] == lossy.hashes[0]
        deadline = time.monotonic() + 30
        while http.get(r.headers["Location"], headers=api.auth("resident")).json()["status"] != "confirmed":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        again = http.post("/api/v1/fund/contributions", headers=headers, json={"amount": 555})
        assert again.status_code == 202 and again.json() == r.json()
    assert [e.tx_hash for e in _since(led, "CoGovFund", "ContributionReceived", start)] == lossy.hashes
    assert _nonce(led, resident) == nonce + 1


@pytest.mark.parametrize("mode", ["drop", "late"])
def test_a_gateway_fetch_whose_access_record_answer_is_lost_records_once(
    api: Api, client: TestClient, deployment: Deployment, mode: str
) -> None:
    shared = shared_dataset(deployment, client, api)
    ds, grant = shared["dataset"]["id"], shared["grant"]["id"]
    led = deployment.ledger()
    owner = deployment.signers["dept_a"].address
    start, nonce = led.block_number() + 1, _nonce(led, owner)
    with _service_losing_an_answer(api, deployment, mode, "DataSharing") as (http, lossy):
        r = http.get(f"/api/v1/datasets/{ds}/data", headers=api.auth("dept_b"),
                     params={"grant_id": grant, "fields": "district,age"})
        assert r.status_code == 200, r.text
    assert r.json()["tx"]["tx_hash"] == lossy.hashes[0]
    recorded = _since(led, "DataSharing", "AccessRecorded", start)
    assert [e.tx_hash for e in recorded] == lossy.hashes and int(recorded[0].args["grantId"]) == grant
    assert _nonce(led, owner) == nonce + 1


def test_a_signed_request_is_signed_again_only_once_another_transaction_took_its_nonce(
    deployment: Deployment, db: Db
) -> None:
    """The idempotency store's retry signs anew only when the chain shows the first can never be
    mined: here it was persisted, never reached a node, and another process used its nonce."""
    _ready_to_contribute(deployment, 321)
    resident = deployment.signers["resident"]
    engine = db.engine(db.new("service"))  # SQLite, then PostgreSQL
    key, fp = f"superseded-{secrets.token_hex(6)}", fingerprint("POST", "/api/v1/fund/contributions", {"a": 321})
    m = deployment.ledger().manifest
    assert m is not None

    def contribute(led: Ledger) -> Answer:
        with IdempotencyStore(engine, led).session("k", key, fp) as w:
            if w.earlier is not None:
                return w.earlier
            receipt = w.resumed
            if receipt is None:
                fund = Fund(led)
                receipt = fund.send_contribution(resident, fund.contribute_call(321), w.journal, approve=False).wait()
            return w.done(receipt, 201, {"tx_hash": receipt.tx_hash})

    led = deployment.ledger()
    nonce = _nonce(led, resident.address)
    with RpcProxy(deployment.ganache.config.url, mode="swallow", times=1) as lost:  # never reaches the node
        lossy = ledger_over(m, [lost.url], request_timeout=1.0)
        with pytest.raises(ChainUnavailable):
            contribute(lossy)
    start = led.block_number() + 1
    theirs = led.transact(resident, ContractCall(resident.address, "0x"))  # another process takes that nonce
    assert int(led.rpc("eth_getTransactionByHash", [theirs.tx_hash])["nonce"], 16) == nonce
    out = contribute(led)
    assert out.status_code == 201 and out.body["tx_hash"] != lost.hashes[0]
    assert [e.tx_hash for e in _since(led, "CoGovFund", "ContributionReceived", start)] == [out.body["tx_hash"]]
