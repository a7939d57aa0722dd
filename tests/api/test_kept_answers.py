"""API list answers kept as bytes per index version (api/answers.py): an ETag and 304, a new
event changes the answer at once, and the caller's visibility is part of what is kept."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from api.apikeys import ApiKeyStore, engine_for
from api.testing import Api
from ledger.testing import Deployment

pytestmark = pytest.mark.ganache

PROPOSALS = "/api/v1/council/proposals"


def test_a_kept_list_has_an_etag_answers_304_and_changes_with_a_new_event(client: TestClient, api: Api) -> None:
    h = api.auth("c1")
    first = client.get(PROPOSALS, params={"limit": 50}, headers=h)
    again = client.get(PROPOSALS, params={"limit": 50}, headers=h)
    assert first.status_code == again.status_code == 200, first.text
    assert first.headers["etag"] and again.headers["etag"] == first.headers["etag"]
    assert again.content == first.content and first.headers["content-type"] == "application/json"
    same = client.get(PROPOSALS, params={"limit": 50}, headers={**h, "If-None-Match": first.headers["etag"]})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == first.headers["etag"]

    made = client.post(PROPOSALS, json={"kind": "set_threshold", "threshold": 1}, headers=h)
    assert made.status_code == 201, made.text
    fresh = client.get(PROPOSALS, params={"limit": 50}, headers={**h, "If-None-Match": first.headers["etag"]})
    assert fresh.status_code == 200 and fresh.headers["etag"] != first.headers["etag"]
    assert fresh.json()["count"] == first.json()["count"] + 1
    assert fresh.json()["data"][0]["id"] == made.json()["proposal"]["id"]


def test_a_kept_answer_is_kept_per_caller_and_query(client: TestClient, api: Api) -> None:
    council, dept = api.auth("c1"), api.auth("dept_a")
    a = client.get("/api/v1/members", params={"limit": 5, "offset": 0}, headers=council)
    b = client.get("/api/v1/members", params={"offset": 0, "limit": 5}, headers=council)  # the same query
    c = client.get("/api/v1/members", params={"limit": 5, "offset": 0}, headers=dept)
    assert a.status_code == b.status_code == c.status_code == 200
    assert b.headers["etag"] == a.headers["etag"]
    assert c.json() == a.json() and c.headers["etag"] != a.headers["etag"]  # another caller's entry
    other = client.get("/api/v1/members", params={"limit": 4}, headers=council)
    assert other.headers["etag"] != a.headers["etag"] and len(other.json()["data"]) <= 4


def test_a_key_revoked_by_another_process_is_refused_where_its_answer_is_kept(
    client: TestClient, api: Api, deployment: Deployment
) -> None:
    """The verdict on a key is never kept: another process (as `cogov apikeys revoke` does) revokes
    it in the database, and the next request is a 401 though its list answer is kept."""
    store = ApiKeyStore(engine_for(api.settings.service_db_url))
    token, rec = store.create("kept-then-revoked", "auditor", deployment.signers["auditor"].address, "auditor")
    h = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        assert client.get("/api/v1/members", params={"limit": 3}, headers=h).status_code == 200
    code = "import sys; from api.apikeys import ApiKeyStore, engine_for; " \
        "assert ApiKeyStore(engine_for(sys.argv[1])).revoke(sys.argv[2])"
    subprocess.run([sys.executable, "-c", code, api.settings.service_db_url, rec.key_id], check=True, timeout=120)
    r = client.get("/api/v1/members", params={"limit": 3}, headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


KEPT = ["/api/v1/members", PROPOSALS, "/api/v1/datasets", "/api/v1/access-requests", "/api/v1/grants",
        "/api/v1/access-log", "/api/v1/cases", "/api/v1/public/overview", *(f"/api/v1/fund/{x}" for x in
        ("contributions", "refunds", "projects", "payouts", "motions", "votes"))]


def test_every_list_route_is_kept(client: TestClient, api: Api) -> None:
    h = api.auth("c1")
    for path in KEPT:
        first = client.get(path, params={"limit": 7}, headers=h)
        again = client.get(path, params={"limit": 7}, headers={**h, "If-None-Match": first.headers.get("etag", "-")})
        assert first.status_code == 200 and again.status_code == 304, (path, first.text)
