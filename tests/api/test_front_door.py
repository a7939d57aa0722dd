"""The front door (api/answers.py): a kept answer is served before routing, after the checks the
route would make — a key revoked by another process, a rate limit, a new index version all
reach the route — and one caller's answer never reaches another.

The service here runs as it is served: the index follower on (it polls once an hour, so only
the writes' wake-ups move the index while a test runs), its node behind a proxy that counts
every JSON-RPC request. Whether the route ran is told by overriding its dependency with one
that refuses: the front door never runs it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.apikeys import ApiKeyStore, engine_for
from api.deps import AccountChecks, current_key
from api.main import create_app
from api.middleware import RateLimiter, anonymous_limit
from api.settings import Settings
from api.testing import Api, make_settings
from ledger.errors import Unauthenticated
from ledger.testing import Deployment
from tests.api.test_fund_support import credit_resident
from tests.api.test_kept_answers import KEPT, PROPOSALS
from tests.conftest import assert_on, index_url
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache

ROUTE_RAN = "the route ran"


def route_ran() -> None:
    raise Unauthenticated(ROUTE_RAN)


def served_settings(api: Api, deployment: Deployment, directory: Path, **overrides: object) -> Settings:
    """The service as it is served: its follower on (polling once an hour: only writes wake it), account
    checks kept 60 s, over the session's service database (its keys); an index of its own in ``directory``."""
    return make_settings(deployment, directory, index_follow=True, index_poll_interval=3600.0,
                         account_check_seconds=60.0, service_db_url=api.settings.service_db_url, **overrides)


def caught_up(client: TestClient | httpx.Client) -> None:
    """Wait for the follower's first round (it indexes the session's records)."""
    deadline = time.monotonic() + 120
    while client.get("/api/v1/health").json()["index"]["lag"] != 0:
        assert time.monotonic() < deadline, "the follower did not catch up"
        time.sleep(0.1)


@dataclass
class Door:
    client: TestClient
    api: Api
    proxy: RpcProxy

    def route_off(self) -> None:
        """From now on, a request that reaches a kept route's key check (or a page's rate limit) is
        refused with ``ROUTE_RAN``."""
        self.client.app.dependency_overrides.update({current_key: route_ran, anonymous_limit: route_ran})  # type: ignore[attr-defined]

    def route_on(self) -> None:
        self.client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def door(request: pytest.FixtureRequest, database: str, api: Api, deployment: Deployment,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    """The service with its follower, over the session service database (its keys), on SQLite and on
    PostgreSQL; an index of its own."""
    with RpcProxy(deployment.ganache.config.url) as proxy:
        settings = served_settings(api, deployment, tmp_path_factory.mktemp("front-door"), rpc_urls=[proxy.url],
                                   **index_url(request, database))
        assert_on(settings, database)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            caught_up(client)
            d = Door(client, api, proxy)
            try:
                yield d
            finally:
                d.route_on()


def test_a_kept_answer_is_served_before_the_route_with_no_chain_call(door: Door) -> None:
    h = door.api.auth("c1")

    def auth(path: str) -> dict[str, str]:  # the public routes take no key (one sent: the route's to answer)
        return {} if path.startswith("/api/v1/public/") else h

    first = {path: door.client.get(path, params={"limit": 9}, headers=auth(path)) for path in KEPT}
    assert all(r.status_code == 200 for r in first.values()), {p: r.text for p, r in first.items()}
    assert first["/api/v1/members"].json()["count"] > 0  # the index holds the session's records
    door.route_off()
    try:
        calls = len(door.proxy.calls)
        for path, r in first.items():
            etag = r.headers["etag"]
            again = door.client.get(path, params={"limit": 9}, headers=auth(path))
            assert (again.status_code, again.content, again.headers["etag"]) == (200, r.content, etag), path
            same = door.client.get(path, params={"limit": 9}, headers={**auth(path), "If-None-Match": etag})
            assert same.status_code == 304 and same.headers["etag"] == etag, path
        # the fund's lists decide deadlines at the indexed block's time: not a chain call per request
        assert door.proxy.calls[calls:] == []
        # another caller, and another spelling of the query, are the route's to answer
        other = door.client.get("/api/v1/members", params={"limit": 9}, headers=door.api.auth("dept_a"))
        assert other.status_code == 401 and other.json()["detail"] == ROUTE_RAN
        reordered = door.client.get("/api/v1/members?offset=0&limit=9", headers=h)
        assert reordered.status_code == 401 and reordered.json()["detail"] == ROUTE_RAN
        anonymous = door.client.get("/api/v1/members", params={"limit": 9})
        assert anonymous.status_code == 401 and anonymous.json()["detail"] == ROUTE_RAN
    finally:
        door.route_on()


def test_a_key_revoked_by_another_process_is_refused_at_the_front_door(door: Door, deployment: Deployment) -> None:
    store = ApiKeyStore(engine_for(door.api.settings.service_db_url))
    token, rec = store.create("front-then-revoked", "auditor", deployment.signers["auditor"].address, "auditor")
    store.engine.dispose()
    h = {"Authorization": f"Bearer {token}"}
    assert door.client.get("/api/v1/members", params={"limit": 4}, headers=h).status_code == 200
    door.route_off()
    try:
        assert door.client.get("/api/v1/members", params={"limit": 4}, headers=h).status_code == 200  # the door's
    finally:
        door.route_on()
    code = "import sys; from api.apikeys import ApiKeyStore, engine_for; " \
        "assert ApiKeyStore(engine_for(sys.argv[1])).revoke(sys.argv[2])"
    subprocess.run([sys.executable, "-c", code, door.api.settings.service_db_url, rec.key_id], check=True, timeout=120)
    r = door.client.get("/api/v1/members", params={"limit": 4}, headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_after_a_write_the_front_door_answers_the_new_version(door: Door) -> None:
    h = door.api.auth("c1")
    before = door.client.get(PROPOSALS, params={"limit": 5}, headers=h)
    assert door.client.get(PROPOSALS, params={"limit": 5}, headers=h).content == before.content
    made = door.client.post(PROPOSALS, json={"kind": "set_threshold", "threshold": 1}, headers=h)
    assert made.status_code == 201, made.text
    after = door.client.get(PROPOSALS, params={"limit": 5}, headers={**h, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["count"] == before.json()["count"] + 1
    assert after.json()["data"][0]["id"] == made.json()["proposal"]["id"]


def test_rate_limits_hold_at_the_front_door(door: Door) -> None:
    h = door.api.auth("auditor")
    for path, headers in (("/api/v1/fund/votes?limit=3", h), ("/", {})):
        assert door.client.get(path, headers=headers).status_code == 200  # kept and filed, no limit yet
        app = door.client.app
        limiters = app.state.limiter, app.state.anonymous_limiter  # type: ignore[attr-defined]
        app.state.limiter = app.state.anonymous_limiter = RateLimiter(2)  # type: ignore[attr-defined]
        try:
            codes = [door.client.get(path, headers=headers).status_code for _ in range(3)]
        finally:
            app.state.limiter, app.state.anonymous_limiter = limiters  # type: ignore[attr-defined]
        assert codes == [200, 200, 429], path


def test_a_page_is_filed_under_its_canonical_query_only(door: Door) -> None:
    def get(path: str) -> httpx.Response:
        door.client.cookies.clear()  # the language cookie a ?lang= sets is part of what names a page
        r: httpx.Response = door.client.get(path)
        return r

    for path in ("/", "/?lang=en", "/?junk=1", "/?lang=en&lang=en"):
        assert get(path).status_code == 200, path
    door.route_off()
    try:
        assert get("/").status_code == 200
        english = get("/?lang=en")
        assert english.status_code == 200 and english.headers["content-language"] == "en"
        assert "lang=en" in english.headers["set-cookie"]
        for made_up in ("/?junk=1", "/?lang=en&lang=en"):  # neither makes an entry nor evicts one
            assert get(made_up).json()["detail"] == ROUTE_RAN, made_up
    finally:
        door.route_on()


def test_an_account_search_is_filed_under_its_checksummed_spelling_too(door: Door, deployment: Deployment) -> None:
    """A wallet shows an account in its EIP-55 spelling: the contribution search spelled so is answered
    at the front door like the page's own lowercase spelling; any other mix of cases is the route's."""
    fund, _ = credit_resident(deployment, 5)
    resident = deployment.signers["resident"]
    _, receipt = fund.contribute(resident, 5)
    door.client.app.state.service.note_written(receipt.block_number)  # type: ignore[attr-defined]
    account = resident.address
    other_case = account[:2] + account[2:].swapcase()  # neither lowercase nor EIP-55
    for q in (account, account.lower(), other_case):
        first = door.client.get("/contributions", params={"q": q})
        assert first.status_code == 200 and "data-receipt=" in first.text, q
    door.route_off()
    try:
        for q in (account, account.lower()):
            again = door.client.get("/contributions", params={"q": q})
            assert again.status_code == 200 and "data-receipt=" in again.text, q
        assert door.client.get("/contributions", params={"q": other_case}).json()["detail"] == ROUTE_RAN
    finally:
        door.route_on()


def test_an_account_check_is_renewed_before_it_lapses_with_one_call(door: Door, deployment: Deployment) -> None:
    """Past half its ttl, a key's account check is asked again in the background, once however many
    requests see it meanwhile (they were a burst of chain calls at every lapse); past its ttl it is
    never used."""
    led = door.client.app.state.service.ledger  # type: ignore[attr-defined]
    checks, account = AccountChecks(), deployment.signers["auditor"].address
    first = checks.info(led, account, 60.0)
    assert first.active
    checks._seen[account.lower()] = (time.monotonic() - 40.0, first)  # as if asked 40 s ago
    calls = len(door.proxy.calls)
    assert all(checks.peek(led, account, 60.0) == first for _ in range(20))  # the answer in hand meanwhile
    deadline = time.monotonic() + 60
    while checks._renewing:
        assert time.monotonic() < deadline, "the renewal did not end"
        time.sleep(0.01)
    assert len(door.proxy.calls[calls:]) == 1, door.proxy.calls[calls:]
    assert time.monotonic() - checks._seen[account.lower()][0] < 40.0  # renewed
    checks._seen[account.lower()] = (time.monotonic() - 61.0, first)  # lapsed
    assert checks.peek(led, account, 60.0) is None
