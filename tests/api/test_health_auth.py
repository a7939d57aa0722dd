"""Health against a running and a stopped chain; bearer-key authentication and roles."""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from contextlib import ExitStack

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from ledger.process import free_port
from tests.api.conftest import Api, LiveServer, make_settings
from tests.conftest import Deployment
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache


def test_health_ok_over_real_http(http: httpx.Client, deployment: Deployment) -> None:
    r = http.get("/api/v1/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok", body
    assert body["chain"]["reachable"] is True
    assert body["chain"]["chain_id"] == 1337
    assert body["chain"]["block"] >= 1
    assert body["deployment"] == {
        "manifest": True, "matches": True, "problem": None, "checked_at_block": body["chain"]["block"]
    }
    assert body["index"]["available"] is True
    assert body["index"]["lag"] is not None


def test_health_reports_a_stopped_chain(deployment: Deployment, ganache_factory, tmp_path,  # type: ignore[no-untyped-def]
                                        databases: dict[str, str]) -> None:
    g = ganache_factory("doomed")
    settings = make_settings(deployment, tmp_path, rpc_urls=[g.config.url], receipt_timeout=5, **databases)
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


def test_health_never_shows_a_node_url(
    deployment: Deployment, api: Api, tmp_path, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
    index_db: dict[str, str],
) -> None:
    """Issue 14, item 18: node URLs (which may carry credentials) appear in no answer, up or down,
    and in no log line; the health answer says how many nodes there are and which one is used."""
    caplog.set_level(logging.DEBUG)
    password = "s3cr3t-" + secrets.token_hex(6)
    dead = f"http://watcher:{password}@127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        proxy = stack.enter_context(RpcProxy(deployment.ganache.config.url))
        live = proxy.url.replace("http://", f"http://watcher:{password}@")
        settings = make_settings(
            deployment, tmp_path, rpc_urls=[dead, live], service_db_url=api.settings.service_db_url, **index_db
        )
        c = stack.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))
        r = c.get("/api/v1/health")
        assert r.status_code == 200, r.text
        assert password not in r.text and "http://" not in r.text, r.text
        body = r.json()
        assert body["status"] == "ok"
        assert (body["chain"]["nodes"], body["chain"]["current_node"]) == (2, 1)  # failed over past the dead one
        answers = [r]
        proxy.__exit__(None, None, None)  # the live node goes away too
        down = c.get("/api/v1/health")
        assert down.status_code == 503 and down.json()["status"] == "down"
        problem = c.get("/api/v1/fund/summary", headers=api.auth("auditor"))
        assert problem.status_code == 503, problem.text
        assert problem.json()["detail"].startswith("the chain does not answer")
        answers += [down, problem]
    for a in answers:
        for leak in (password, "watcher", "127.0.0.1", "http://"):
            assert leak not in a.text, (leak, a.text)
    assert password not in caplog.text  # web3's debug log of each request included


def test_health_checks_the_code_once_per_block(deployment: Deployment, tmp_path,  # type: ignore[no-untyped-def]
                                               databases: dict[str, str]) -> None:
    """Issue 14, item 18: many health calls in one block verify each contract's code once."""
    manifest = deployment.ledger().manifest
    assert manifest is not None
    contracts = {d.address.lower() for d in manifest.contracts.values()}
    with RpcProxy(deployment.ganache.config.url) as proxy:
        settings = make_settings(deployment, tmp_path, rpc_urls=[proxy.url], **databases)
        with TestClient(create_app(settings)) as c:

            def code_reads() -> Counter[str]:
                return Counter(str(p[0]).lower() for m, p in proxy.calls if m == "eth_getCode")

            bodies = [c.get("/api/v1/health").json() for _ in range(5)]
            assert {b["status"] for b in bodies} == {"ok"}
            assert code_reads() == {a: 1 for a in contracts}
            block = bodies[0]["chain"]["block"]
            assert {b["deployment"]["checked_at_block"] for b in bodies} == {block}
            deployment.ledger().rpc("evm_mine", [])  # a new block (straight to the node)
            bodies = [c.get("/api/v1/health").json() for _ in range(3)]
            assert {b["deployment"]["checked_at_block"] for b in bodies} == {block + 1}
            assert code_reads() == {a: 2 for a in contracts}


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
        for _ in range(2):  # the second answer is a kept one (api/answers.py): the key is still checked
            assert c.get("/api/v1/members", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        store.revoke(rec.key_id)  # as another process (`cogov apikeys revoke`) revokes it: in the database
        r = c.get("/api/v1/members", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_a_key_stops_working_when_the_council_removes_its_account(
    deployment: Deployment, api: Api, tmp_path, index_db: dict[str, str]  # type: ignore[no-untyped-def]
) -> None:
    """Issue 14, item 17: a key works only while its account is an active account of its member.
    The council removes one account of a member (its other account's key keeps working), then
    the member: each removal is a real proposal, approved and executed."""
    from api.apikeys import ApiKeyStore, engine_for
    from ledger.devchain import fund as fund_eth
    from ledger.membership import ChangeKind, MemberKind, Registry, Role
    from tests.conftest import TEST_PASSWORD

    led, ks = deployment.ledger(), deployment.keystore
    tag = secrets.token_hex(3)
    signers = []
    for n in ("a", "b"):
        ks.create(f"leaver-{n}-{tag}", TEST_PASSWORD)
        signers.append(ks.signer(f"leaver-{n}-{tag}", TEST_PASSWORD))
        fund_eth(led, signers[-1].address)
    reg = Registry(led)
    member = reg.admit(deployment.council, f"离任居民小组-{tag}", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR],
                       signers[0].address)
    reg.enact(deployment.council, ChangeKind.ADD_ACCOUNT, member, signers[1].address)
    store = ApiKeyStore(engine_for(api.settings.service_db_url))
    tokens = [store.create(f"leaver-{n}", "contributor", s.address, f"leaver-{n}-{tag}")[0]
              for n, s in zip("ab", signers, strict=True)]
    settings = make_settings(deployment, tmp_path, service_db_url=api.settings.service_db_url, account_check_seconds=0,
                             **index_db)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:

        def read(token: str) -> httpx.Response:
            return c.get("/api/v1/members", headers={"Authorization": f"Bearer {token}"})

        def write(token: str) -> httpx.Response:
            return c.post("/api/v1/fund/contributions", headers={"Authorization": f"Bearer {token}"},
                          json={"amount": 1, "memo": "after removal"})

        def refused(r: httpx.Response, account: str) -> None:
            assert r.status_code == 403, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert f"{account} is not an active account of any member" in r.json()["detail"]

        assert [read(t).status_code for t in tokens] == [200, 200]
        reg.enact(deployment.council, ChangeKind.REMOVE_ACCOUNT, member, signers[0].address)
        height = led.block_number()
        refused(read(tokens[0]), signers[0].address)
        refused(write(tokens[0]), signers[0].address)
        assert led.block_number() == height  # nothing reached the chain
        assert read(tokens[1]).status_code == 200  # the member's other account keeps its key
        reg.enact(deployment.council, ChangeKind.REMOVE_MEMBER, member)
        height = led.block_number()
        refused(read(tokens[1]), signers[1].address)
        refused(write(tokens[1]), signers[1].address)
        assert led.block_number() == height  # nothing reached the chain


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/health" in spec["paths"]


def test_keys_are_stored_only_as_hashes(api: Api) -> None:
    """Every value of every table of the service database (SQLite or PostgreSQL) holds no secret."""
    engine = sa.create_engine(api.settings.service_db_url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            dump = "\n".join(repr(tuple(row)) for t in tables for row in conn.execute(sa.text(f'SELECT * FROM "{t}"')))
    finally:
        engine.dispose()
    assert api.keys and dump
    for token in api.keys.values():
        secret = token.split("_", 2)[2]
        assert secret not in dump


def test_rate_limit_answers_429_with_retry_after(  # type: ignore[no-untyped-def]
    deployment: Deployment, tmp_path, api: Api, index_db: dict[str, str]
) -> None:
    settings = make_settings(deployment, tmp_path, rate_limit_per_minute=3, service_db_url=api.settings.service_db_url,
                             **index_db)
    with TestClient(create_app(settings)) as c:
        codes = [c.get("/api/v1/members", headers=api.auth("auditor")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200]
        r = c.get("/api/v1/members", headers=api.auth("auditor"))
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        # another key has its own bucket
        assert c.get("/api/v1/members", headers=api.auth("c1")).status_code == 200


def test_live_server_class_serves(deployment: Deployment, tmp_path, databases: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with LiveServer(make_settings(deployment, tmp_path, **databases)) as s:
        assert httpx.get(s.url + "/api/v1/health", timeout=30).status_code == 200
