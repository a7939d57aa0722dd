"""Over real HTTP: a retried contribution with the same Idempotency-Key contributes exactly once."""

from __future__ import annotations

import secrets
import threading

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.test_fund_support import contributions_with_memo, credit_resident
from tests.conftest import Deployment

pytestmark = pytest.mark.ganache




def test_retry_and_concurrent_retries_contribute_once(http: httpx.Client, api: Api, deployment: Deployment) -> None:
    fund, before = credit_resident(deployment, 10_000)

    memo = f"idempotent contribution {secrets.token_hex(4)}"
    body = {"amount": 1_234, "memo": memo}
    headers = {**api.auth("resident"), "Idempotency-Key": f"contrib-{secrets.token_hex(6)}"}
    first = http.post("/api/v1/fund/contributions", headers=headers, json=body)
    assert first.status_code == 201, first.text
    again = http.post("/api/v1/fund/contributions", headers=headers, json=body)
    assert again.status_code == 201 and again.json() == first.json()
    assert len(contributions_with_memo(deployment, api.settings.service_db_url, memo)) == 1

    # the same key with a different body is a conflict, and writes nothing
    other = http.post("/api/v1/fund/contributions", headers=headers, json={**body, "amount": 1_235})
    assert other.status_code == 409 and other.headers["content-type"].startswith("application/problem+json")

    # concurrent retries of one new request: one contribution, every success answers the same receipt
    memo2 = f"concurrent contribution {secrets.token_hex(4)}"
    headers2 = {**api.auth("resident"), "Idempotency-Key": f"contrib-{secrets.token_hex(6)}"}
    results: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def send() -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=60) as c:
            start.wait()
            r = c.post("/api/v1/fund/contributions", headers=headers2, json={"amount": 777, "memo": memo2})
        with lock:
            results.append(r)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 6
    assert {r.status_code for r in results} <= {201, 409}, [r.text for r in results]
    ok = [r.json()["contribution"]["receipt_id"] for r in results if r.status_code == 201]
    assert ok and len(set(ok)) == 1
    final = http.post("/api/v1/fund/contributions", headers=headers2, json={"amount": 777, "memo": memo2})
    assert final.status_code == 201 and final.json()["contribution"]["receipt_id"] == ok[0]
    assert len(contributions_with_memo(deployment, api.settings.service_db_url, memo2)) == 1
    assert fund.contribution_count() == before + 2
