"""Health against a running and a stopped chain; bearer-key authentication and roles."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import Api, LiveServer, make_settings
from tests.conftest import Deployment

pytestmark = pytest.mark.ganache


def test_health_ok_over_real_http(http: httpx.Client, deployment: Deployment) -> None:
    r = http.get("/api/v1/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok", body
    assert body["chain"]["reachable"] is True
    assert body["chain"]["chain_id"] == 1337
    assert body["chain"]["block"] >= 1
    assert body["deployment"] == {"manifest": True, "matches": True, "problem": None}
    assert body["index"]["available"] is True
    assert body["index"]["lag"] is not None


def test_health_reports_a_stopped_chain(deployment: Deployment, ganache_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = ganache_factory("doomed")
    settings = make_settings(deployment, tmp_path, rpc_urls=[g.config.url], receipt_timeout=5)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        up = c.get("/api/v1/health").json()
        assert up["chain"]["reachable"] is True
        # another chain than the manifest's: reachable but not our deployment
        assert up["status"] == "degraded"
        assert "genesis hash" in up["deployment"]["problem"]
        g.stop()
        r = c.get("/api/v1/health")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "down"
        assert body["chain"]["reachable"] is False


def test_missing_key_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/members")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "missing API key" in r.json()["detail"]


@pytest.mark.parametrize("token", ["cgv_deadbeef_wrong", "not-a-key", "cgv_0011223344556677_" + "x" * 43])
def test_wrong_key_is_401(client: TestClient, token: str) -> None:
    r = client.get("/api/v1/members", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_valid_key_with_wrong_role_is_403(client: TestClient, api: Api, deployment: Deployment) -> None:
    height = deployment.ledger().block_number()
    r = client.post(
        "/api/v1/council/proposals",
        json={"kind": "set_threshold", "threshold": 1},
        headers=api.auth("dept_a"),
    )
    assert r.status_code == 403, r.text
    assert "council" in r.json()["detail"]
    assert deployment.ledger().block_number() == height  # nothing reached the chain


def test_revoked_key_is_401(api: Api, deployment: Deployment) -> None:
    from api.apikeys import ApiKeyStore, engine_for

    store = ApiKeyStore(engine_for(api.settings.service_db_url))
    token, rec = store.create("short-lived", "auditor", deployment.signers["auditor"].address, "auditor")
    with TestClient(create_app(api.settings)) as c:
        assert c.get("/api/v1/members", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        store.revoke(rec.key_id)
        r = c.get("/api/v1/members", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/health" in spec["paths"]


def test_keys_are_stored_only_as_hashes(api: Api) -> None:
    import sqlite3

    db = api.settings.service_db_url.removeprefix("sqlite:///")
    dump = "\n".join(sqlite3.connect(db).iterdump())
    for token in api.keys.values():
        secret = token.split("_", 2)[2]
        assert secret not in dump


def test_rate_limit_answers_429_with_retry_after(deployment: Deployment, tmp_path, api: Api) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(deployment, tmp_path, rate_limit_per_minute=3, service_db_url=api.settings.service_db_url)
    with TestClient(create_app(settings)) as c:
        codes = [c.get("/api/v1/members", headers=api.auth("auditor")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200]
        r = c.get("/api/v1/members", headers=api.auth("auditor"))
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        # another key has its own bucket
        assert c.get("/api/v1/members", headers=api.auth("c1")).status_code == 200


def test_live_server_class_serves(deployment: Deployment, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with LiveServer(make_settings(deployment, tmp_path)) as s:
        assert httpx.get(s.url + "/api/v1/health", timeout=30).status_code == 200
