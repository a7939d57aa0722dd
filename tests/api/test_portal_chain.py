"""The portal over a real chain and index (issue 14, items 9 and 10): the fund's balance is its token
balance, money sent straight to the fund is its own line with its transaction, and pages are kept
until a new event is indexed.

A fund of its own (test_fund_support) on the session chain, so a direct transfer to it changes no
other test's fund.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.apikeys import ApiKeyStore, engine_for
from api.main import create_app
from ledger.client import Ledger
from ledger.fund import Credit, Fund
from tests.api.conftest import Api, make_settings
from tests.api.test_fund_support import ledger_for, mint, private_fund_manifest
from tests.conftest import Deployment, database_urls

pytestmark = pytest.mark.ganache


@dataclass
class Portal:
    deployment: Deployment
    api: Api
    client: TestClient
    led: Ledger

    def catch_up(self) -> None:
        """An API read: without a follower thread, the index is brought up to the chain's head."""
        r = self.client.get("/api/v1/fund/contributions", headers=self.api.auth("auditor"), params={"limit": 1})
        assert r.status_code == 200, r.text

    def overview(self) -> Any:
        return self.client.get("/api/v1/public/overview").json()


@pytest.fixture(scope="module")
def portal(request: pytest.FixtureRequest, database: str, deployment: Deployment,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """A fund of its own, and the portal over it, for each database."""
    directory = tmp_path_factory.mktemp("portal-chain")
    manifest = private_fund_manifest(deployment, directory)
    settings = make_settings(deployment, directory, manifest_path=manifest, **database_urls(request, database))
    store = ApiKeyStore(engine_for(settings.service_db_url))
    keys = {label: store.create(f"portal-{label}", role, deployment.signers[label].address, label)[0]
            for label, role in (("resident", "contributor"), ("auditor", "auditor"))}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Portal(deployment, Api(settings, keys), client, ledger_for(deployment, manifest))


def _figure(html: str, name: str) -> int:
    m = re.search(rf'data-figure="{re.escape(name)}" data-value="(\d+)"', html)
    assert m is not None, name
    return int(m.group(1))


def test_the_balance_is_the_token_balance_and_direct_transfers_are_their_own_line(portal: Portal) -> None:
    s = portal.deployment.signers
    fund, credit = Fund(portal.led), Credit(portal.led)
    mint(portal.led, s["treasurer"], s["resident"].address, 50_000)
    r = portal.client.post("/api/v1/fund/contributions", headers=portal.api.auth("resident"), json={"amount": 20_000})
    assert r.status_code == 201, r.text
    before = portal.overview()
    assert before["balance"] == before["accounted_balance"] == 20_000 and before["outside_contribute"] == 0
    assert before["balance_source"] == "token"

    sent = credit.transfer(s["resident"], fund.address, 1_234)  # straight to the fund: no contribute, no receipt
    portal.catch_up()
    o = portal.overview()
    assert o["balance"] == credit.balance_of(fund.address) == 21_234  # what the fund really holds
    assert o["accounted_balance"] == o["total_contributed"] - o["total_paid_out"] - o["total_refunded"] == 20_000
    assert o["outside_contribute"] == 1_234
    assert [(x["tx_hash"], x["amount"], x["who"], x["block"]) for x in o["outside_transfers"]] == [
        (sent.tx_hash, 1_234, "幸福里居民", sent.block_number)]
    html = portal.client.get("/").text
    assert _figure(html, "balance") == 21_234 and _figure(html, "accounted_balance") == 20_000
    assert _figure(html, "outside_contribute") == 1_234
    assert f'data-outside-tx="{sent.tx_hash}"' in html and f'href="/tx/{sent.tx_hash}"' in html


def test_pages_are_kept_until_a_new_event_is_indexed(portal: Portal) -> None:
    s = portal.deployment.signers
    mint(portal.led, s["treasurer"], s["resident"].address, 1_000)
    portal.catch_up()
    pages = ["/", "/projects", "/activity", "/data-sharing"]
    first = {p: portal.client.get(p) for p in pages}
    for p in pages:
        again = portal.client.get(p)
        assert again.status_code == 200 and again.headers["etag"] == first[p].headers["etag"], p
    r = portal.client.post("/api/v1/fund/contributions", headers=portal.api.auth("resident"), json={"amount": 500})
    assert r.status_code == 201, r.text  # a write: its block indexed before the answer (no follower here)
    for p in pages:  # the first visitor after the change gets the new page
        fresh = portal.client.get(p)
        assert fresh.headers["etag"] != first[p].headers["etag"], p
    assert _figure(portal.client.get("/").text, "total_contributed") == _figure(first["/"].text,
                                                                               "total_contributed") + 500
