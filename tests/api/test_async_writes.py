"""Writes answered 202 with ``Prefer: respond-async``, GET /api/v1/tx/{hash}, and the same
problem+json for a revert with and without the pre-flight (``COGOV_PREFLIGHT``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ledger.events import Event
from tests.api.conftest import Api, make_settings
from tests.api.test_fund_support import contributions_with_memo, mint
from tests.conftest import Deployment, assert_on, index_url

pytestmark = pytest.mark.ganache

ASYNC = {"Prefer": "respond-async"}
PROBLEM = "application/problem+json"


def _contribute(c: TestClient | httpx.Client, api: Api, memo: str, **headers: str) -> httpx.Response:
    return c.post("/api/v1/fund/contributions", headers={**api.auth("resident"), **headers},
                  json={"amount": 3, "memo": memo})


def _receipts_with(deployment: Deployment, api: Api, memo: str) -> list[Event]:
    return contributions_with_memo(deployment, api.settings.service_db_url, memo)


@pytest.fixture(scope="module", autouse=True)
def _credits(deployment: Deployment) -> None:
    led = deployment.ledger()
    mint(led, deployment.signers["treasurer"], deployment.signers["resident"].address, 1_000)
    # A contribution approves the fund first when the allowance is short: a transaction of its
    # own, always waited for. With a standing allowance only the contribution is sent.
    led.transact(deployment.signers["resident"], "CommunityCredit", "approve", led.manifest.address("CoGovFund"), 10**9)


def _accepted(r: httpx.Response) -> str:
    assert r.status_code == 202, r.text
    body = r.json()
    tx_hash = body["tx_hash"]
    assert body == {"tx_hash": tx_hash, "status": "pending", "status_url": f"/api/v1/tx/{tx_hash}"}
    assert r.headers["Location"] == body["status_url"]
    assert r.headers["Preference-Applied"] == "respond-async"
    return str(tx_hash)


def test_async_write_answers_202_and_the_status_url_tells_the_outcome(
    client: TestClient, api: Api, deployment: Deployment
) -> None:
    led = deployment.ledger()
    memo = f"async {secrets.token_hex(4)}"
    led.rpc("miner_stop")  # hold the block: the answer must not wait for it
    try:
        tx_hash = _accepted(_contribute(client, api, memo, **ASYNC))
        st = client.get(f"/api/v1/tx/{tx_hash}", headers=api.auth("auditor"))  # any API key may read it
        assert st.status_code == 200 and st.json()["status"] == "pending" and st.json()["confirmed"] is False
        assert st.headers["Retry-After"] == "1"
    finally:
        led.rpc("miner_start")
    led.wait(tx_hash)
    st = client.get(f"/api/v1/tx/{tx_hash}", headers=api.auth("resident"))
    body = st.json()
    assert st.status_code == 200 and body["status"] == "confirmed" and body["confirmed"] is True
    assert body["confirmations"] >= 1 and body["required_confirmations"] == 1 and body["problem"] is None
    received = [e for e in body["events"] if e["name"] == "ContributionReceived"]
    assert len(received) == 1 and received[0]["contract"] == "CoGovFund" and received[0]["args"]["amount"] == 3
    rid = received[0]["args"]["receiptId"]
    # the write landed once, and a read after the confirmed status sees it
    assert len(_receipts_with(deployment, api, memo)) == 1
    got = client.get(f"/api/v1/fund/contributions/{rid}", headers=api.auth("resident"))
    assert got.status_code == 200 and got.json()["memo"] == memo


def test_without_the_preference_writes_wait_and_other_preferences_are_ignored(client: TestClient, api: Api) -> None:
    r = _contribute(client, api, f"sync {secrets.token_hex(4)}", Prefer="return=minimal")
    assert r.status_code == 201 and "Preference-Applied" not in r.headers and r.json()["tx"]["block_number"] > 0
    r = _contribute(client, api, f"async2 {secrets.token_hex(4)}", Prefer="handling=lenient, respond-async; wait=5")
    _accepted(r)


def test_async_retry_with_the_same_idempotency_key_returns_the_same_202_and_sends_once(
    client: TestClient, api: Api, deployment: Deployment
) -> None:
    memo = f"async idem {secrets.token_hex(4)}"
    key = {"Idempotency-Key": f"async-{secrets.token_hex(6)}"}
    first = _contribute(client, api, memo, **ASYNC, **key)
    tx_hash = _accepted(first)
    again = _contribute(client, api, memo, **ASYNC, **key)
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    deployment.ledger().wait(tx_hash)
    # after it was mined, and without the preference: still the first answer, never a second transaction
    third = _contribute(client, api, memo, **key)
    assert third.status_code == 202 and third.json() == first.json()
    assert [e.tx_hash for e in _receipts_with(deployment, api, memo)] == [tx_hash]


def test_tx_status_refusals(client: TestClient, api: Api) -> None:
    unknown = "0x" + secrets.token_hex(32)
    r = client.get(f"/api/v1/tx/{unknown}", headers=api.auth("resident"))
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM) and r.json()["code"] == "not-found"
    assert client.get(f"/api/v1/tx/{unknown}").status_code == 401
    assert client.get("/api/v1/tx/0x1234", headers=api.auth("resident")).status_code == 422


def test_openapi_documents_prefer_202_and_the_status_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/fund/contributions"]["post"]
    assert any(p["name"] == "Prefer" and p["in"] == "header" for p in op["parameters"])
    assert op["responses"]["202"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/TxAccepted"
    assert "Location" in op["responses"]["202"]["headers"]
    status = spec["paths"]["/api/v1/tx/{tx_hash}"]["get"]
    assert "200" in status["responses"] and "404" in status["responses"]
    assert "TxStatusPublic" in spec["components"]["schemas"]
    # reads take no Prefer
    listing = spec["paths"]["/api/v1/fund/contributions"]["get"]
    assert not any(p["name"] == "Prefer" for p in listing.get("parameters", []))


def test_async_over_real_http(http: httpx.Client, api: Api, deployment: Deployment) -> None:
    tx_hash = _accepted(_contribute(http, api, f"http async {secrets.token_hex(4)}", **ASYNC))
    deployment.ledger().wait(tx_hash)
    r = http.get(f"/api/v1/tx/{tx_hash}", headers=api.auth("resident"))
    assert r.status_code == 200 and r.json()["status"] == "confirmed"


# ------------------------------------------------------------------ reverts, with and without pre-flight


@pytest.fixture(scope="module")
def no_preflight(request: pytest.FixtureRequest, database: str, api: Api, deployment: Deployment,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    directory = tmp_path_factory.mktemp("api-no-preflight")
    settings = make_settings(deployment, directory, preflight=False,
                             service_db_url=api.settings.service_db_url,  # the same API keys
                             # the deployment's one secret, shared by its services: a bank reference
                             # commits alike in both, so the token refuses it twice
                             gateway_master_key_file=api.settings.gateway_master_key_file,
                             **index_url(request, database))
    assert_on(settings, database)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _mint(c: TestClient, api: Api, deployment: Deployment, ref: str, **headers: str) -> httpx.Response:
    return c.post("/api/v1/fund/credit/mint", headers={**api.auth("treasurer"), **headers},
                  json={"to": deployment.signers["resident"].address, "amount": 1, "deposit_ref": ref})


def test_a_revert_is_the_same_problem_with_and_without_preflight(
    client: TestClient, no_preflight: TestClient, api: Api, deployment: Deployment
) -> None:
    led = deployment.ledger()
    ref = f"BANK-{secrets.token_hex(4)}"
    assert _mint(client, api, deployment, ref).status_code == 201
    # (a first mint through the no-preflight service caches its gas: a cache miss estimates, and
    # an estimate of a reverting call would name the revert before sending, as the pre-flight does)
    assert _mint(no_preflight, api, deployment, f"BANK-{secrets.token_hex(4)}").status_code == 201
    height = led.block_number()
    refused = _mint(client, api, deployment, ref)  # the pre-flight names it; nothing is sent
    assert led.block_number() == height and "Cogov-Tx-Hash" not in refused.headers
    mined = _mint(no_preflight, api, deployment, ref)  # sent, mined, reverted, named afterwards
    assert led.block_number() == height + 1
    for r in (refused, mined):
        assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    assert mined.json() == refused.json()
    assert refused.json()["error"] == "CreditDepositAlreadyRecorded" and refused.json()["code"] == "contract-reverted"
    tx_hash = mined.headers["Cogov-Tx-Hash"]
    assert led.receipt(tx_hash) is not None and led.receipt(tx_hash).status == 0  # type: ignore[union-attr]

    # the same revert with an Idempotency-Key: nothing kept, a retry answers the same problem
    key = {"Idempotency-Key": f"revert-{secrets.token_hex(6)}"}
    for c in (no_preflight, no_preflight, client):
        r = _mint(c, api, deployment, ref, **key)
        assert r.status_code == 409 and r.json() == refused.json()

    # asynchronously: with the pre-flight the refusal is immediate; without, the 202's status names it
    r = _mint(client, api, deployment, ref, **ASYNC)
    assert r.status_code == 409 and r.json() == refused.json()
    tx = _accepted(_mint(no_preflight, api, deployment, ref, **ASYNC))
    _wait_mined(led, tx)
    st = no_preflight.get(f"/api/v1/tx/{tx}", headers=api.auth("auditor"))
    body = st.json()
    assert st.status_code == 200 and body["status"] == "failed" and body["confirmed"] is False
    expected = {k: v for k, v in refused.json().items() if k in body["problem"]}
    assert body["problem"] == expected and body["block_number"] > 0


def _wait_mined(led: Any, tx_hash: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while led.rpc("eth_getTransactionReceipt", [tx_hash]) is None:
        assert time.monotonic() < deadline, "not mined"
        time.sleep(0.05)


# ------------------------------------------------------------------ read your writes with the follower


def test_with_the_follower_a_read_after_a_write_sees_it(api: Api, deployment: Deployment, tmp_path: Path,
                                                         index_db: dict[str, str]) -> None:
    settings = make_settings(deployment, tmp_path, index_follow=True, index_poll_interval=30.0,
                             service_db_url=api.settings.service_db_url, **index_db)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for i in range(3):
            memo = f"ryw {i} {secrets.token_hex(4)}"
            r = _contribute(c, api, memo)
            assert r.status_code == 201, r.text
            rid = r.json()["contribution"]["receipt_id"]
            # the follower polls every 30 s here: only the write's wake-up can have indexed it
            listed = c.get("/api/v1/fund/contributions?limit=5", headers=api.auth("resident")).json()
            assert rid in [x["receipt_id"] for x in listed["data"]]
