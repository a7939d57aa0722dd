"""End to end over real HTTP against Ganache: upload → request → approve → fetch → decrypt == original bytes."""

from __future__ import annotations

import httpx
import pytest
from eth_utils import keccak

from ledger.data_sharing import DataSharing
from tests.api.conftest import api, http, live  # noqa: F401  (fixtures for this folder)
from tests.api.test_data_support import decrypt, register_data_key, synthetic_csv, unique
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache


def test_share_over_http(http: httpx.Client, api, deployment: Deployment) -> None:  # noqa: F811
    grantee_key = register_data_key(deployment, "dept_a")
    original = synthetic_csv(40)
    r = http.post(
        "/api/v1/datasets",
        headers=api.auth("c2"),
        data={"title": unique("e2e elderly registry"), "classification": "sensitive"},
        files={"file": ("elderly.csv", original, "text/csv")},
    )
    assert r.status_code == 201, r.text
    did = r.json()["dataset"]["id"]
    r = http.post("/api/v1/access-requests", headers={**api.auth("dept_a"), "Idempotency-Key": f"e2e-req-{did}"},
                  json={"dataset_id": did, "purpose_code": 5, "purpose": "clinic outreach", "duration": 600})
    assert r.status_code == 201, r.text
    rid = r.json()["request"]["id"]
    again = http.post("/api/v1/access-requests", headers={**api.auth("dept_a"), "Idempotency-Key": f"e2e-req-{did}"},
                      json={"dataset_id": did, "purpose_code": 5, "purpose": "clinic outreach", "duration": 600})
    assert again.json()["request"]["id"] == rid  # a retry never writes twice
    assert http.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c2")).status_code == 200
    r = http.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c3"))
    assert r.status_code == 200, r.text
    gid = r.json()["grant"]["id"]

    r = http.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grant_id"] == gid and body["rows"] == 40 and body["grantee_id"] == MEMBER_IDS["dept_a"]
    assert original not in r.content and "合成居民".encode() not in r.content
    assert decrypt(grantee_key, body) == original
    assert body["content_hash"] == "0x" + keccak(original).hex() == body["payload_hash"]
    grant = DataSharing(deployment.ledger()).grant(gid)
    assert grant.accesses == 1
    log = http.get("/api/v1/access-log", params={"grant_id": gid}, headers=api.auth("c2")).json()
    assert log["count"] == 1 and log["data"][0]["kind"] == "access" and log["data"][0]["tx_hash"] == body["tx"]["tx_hash"]
