"""The service on PostgreSQL: the app with ``service_db_url`` (API keys, idempotency sessions,
documents) and ``index_db_url`` (the event index) both on the suite's throw-away PostgreSQL
server (tests/postgresql.py), through the real API on the session chain.

What differs from SQLite is exercised here: a key's replay, its 409 and its forgetting after a
revert across database transactions; the texts' pending → stored step; the JSON argument filters
and the ordering of the index's lists.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.apikeys import ApiKeyStore, engine_for
from api.idempotency import records
from api.main import create_app
from ledger.errors import ConfigError
from ledger.fund import Fund
from ledger.fund.docs import documents
from tests.api.conftest import Api, api_for
from tests.api.test_fund_support import credit_resident, mint
from tests.api.test_open311 import PREFIX, act, commitment_of, errors_of, post, posted_id, raise_case
from tests.conftest import MEMBER_IDS, Deployment
from tests.postgresql import PostgresServer

pytestmark = pytest.mark.ganache

CONTRIBUTIONS = "/api/v1/fund/contributions"


@dataclass
class PgApi:
    api: Api
    client: TestClient
    engine: sa.Engine  # the service database, read directly by the tests

    def post(self, label: str, body: object, key: str | None = None) -> httpx.Response:
        headers = self.api.auth(label) | ({"Idempotency-Key": key} if key else {})
        return self.client.post(CONTRIBUTIONS, headers=headers, json=body)


@pytest.fixture(scope="module")
def pg(deployment: Deployment, postgresql: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgApi]:
    service, index = postgresql.database("service"), postgresql.database("index")
    api = api_for(deployment, tmp_path_factory.mktemp("api-pg"), "pg", service_db_url=service, index_db_url=index)
    assert api.settings.service_db_url.startswith("postgresql+psycopg://")
    engine = engine_for(service)
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
        yield PgApi(api, client, engine)
    engine.dispose()


def _idempotency_rows(pg: PgApi, key: str) -> list[sa.RowMapping]:
    with pg.engine.connect() as conn:
        return list(conn.execute(sa.select(records).where(records.c.key == key)).mappings())


def test_the_databases_are_postgresql(pg: PgApi) -> None:
    assert pg.engine.dialect.name == "postgresql"
    with pg.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"api_keys", "idempotency", "documents", "open311_reports"} <= tables
    health = pg.client.get("/api/v1/health").json()
    assert health["index"]["available"] is True and health["status"] == "ok", health


def test_a_contribution_its_replay_its_text_and_the_lists(pg: PgApi, deployment: Deployment) -> None:
    fund, before = credit_resident(deployment, 10_000)

    memo = f"PostgreSQL 捐款 {secrets.token_hex(4)}"
    body = {"amount": 321, "memo": memo}
    key = f"pg-{secrets.token_hex(6)}"
    first = pg.post("resident", body, key)
    assert first.status_code == 201, first.text
    contribution = first.json()["contribution"]
    rows = _idempotency_rows(pg, key)
    assert [r["state"] for r in rows] == ["done"] and rows[0]["tx_hash"] == first.json()["tx"]["tx_hash"]

    again = pg.post("resident", body, key)  # a replay: the stored answer, nothing sent
    assert again.status_code == 201 and again.json() == first.json()
    other = pg.post("resident", {**body, "amount": 322}, key)  # the same key, another body
    assert other.status_code == 409, other.text
    assert fund.contribution_count() == before + 1

    # the memo: pending when signed, stored once mined, served to its contributor from PostgreSQL
    with pg.engine.connect() as conn:
        state = conn.execute(sa.select(documents.c.state).where(documents.c.hash == contribution["memo_hash"]))
        assert [r[0] for r in state] == ["stored"]
    doc = pg.client.get(f"/api/v1/fund/documents/{contribution['memo_hash']}", headers=pg.api.auth("resident"))
    assert doc.status_code == 200 and doc.json()["text"] == memo, doc.text
    assert pg.client.get(f"/api/v1/fund/documents/{contribution['memo_hash']}",
                         headers=pg.api.auth("enterprise")).status_code == 404  # not its reader

    # lists from the index on PostgreSQL: newest first, filtered on a JSON argument
    resident = MEMBER_IDS["resident"]
    listed = pg.client.get(CONTRIBUTIONS, headers=pg.api.auth("resident"),
                           params={"contributor_id": resident, "limit": 5})
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["data"][0]["receipt_id"] == contribution["receipt_id"] and page["data"][0]["memo"] == memo
    assert {c["member_id"] for c in page["data"]} == {resident}
    ids = [c["receipt_id"] for c in page["data"]]
    assert ids == sorted(ids, reverse=True)
    one = pg.client.get(f"{CONTRIBUTIONS}/{contribution['receipt_id']}", headers=pg.api.auth("resident"))
    assert one.status_code == 200 and one.json()["amount"] == 321


def test_a_reverted_write_forgets_its_key(pg: PgApi, deployment: Deployment) -> None:
    """Refused (more than the balance): the key is forgotten, so the corrected request runs under it."""
    fund = Fund(deployment.ledger())
    before = fund.contribution_count()
    key = f"pg-{secrets.token_hex(6)}"
    refused = pg.post("enterprise", {"amount": 10**15, "memo": "too much"}, key)
    assert refused.status_code == 409, refused.text
    assert _idempotency_rows(pg, key) == []
    with pg.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(documents)
                            .where(documents.c.text == "too much")).scalar_one() == 0
    mint(deployment.ledger(), deployment.signers["treasurer"], deployment.signers["enterprise"].address, 50)
    corrected = pg.post("enterprise", {"amount": 50, "memo": "just right"}, key)
    assert corrected.status_code == 201, corrected.text
    assert [r["state"] for r in _idempotency_rows(pg, key)] == ["done"]
    assert fund.contribution_count() == before + 1


def test_api_keys_on_postgresql(pg: PgApi, deployment: Deployment) -> None:
    store = ApiKeyStore(pg.engine)
    token, record = store.create("pg-temporary", "contributor", deployment.signers["resident"].address, "resident")
    assert store.verify(token) == record
    assert record.key_id in {k.key_id for k in store.list()}
    ok = pg.client.get("/api/v1/fund/summary", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200, ok.text
    assert store.revoke(record.key_id) and not store.revoke(record.key_id)
    denied = pg.client.get("/api/v1/fund/summary", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 401
    # what PostgreSQL would refuse (longer than the column, a NUL) is refused first, on any database
    for label in ("x" * 201, "nul\x00label", ""):
        with pytest.raises(ConfigError, match="label"):
            store.create(label, "contributor", deployment.signers["resident"].address, "resident")


def test_a_text_with_a_nul_is_refused_before_anything_is_signed(pg: PgApi, deployment: Deployment) -> None:
    """PostgreSQL's text cannot hold NUL: such a memo is a 422, with no row and no transaction."""
    fund = Fund(deployment.ledger())
    before = fund.contribution_count()
    key = f"pg-{secrets.token_hex(6)}"
    r = pg.post("resident", {"amount": 1, "memo": "nul\u0000memo"}, key)
    assert r.status_code == 422 and "NUL" in r.text, r.text
    assert _idempotency_rows(pg, key) == []
    assert fund.contribution_count() == before


READS = [
    "/api/v1/members", "/api/v1/council/proposals", "/api/v1/datasets", "/api/v1/access-requests",
    "/api/v1/grants", "/api/v1/access-log", "/api/v1/fund/summary", "/api/v1/fund/projects", "/api/v1/fund/motions",
    "/api/v1/fund/votes", "/api/v1/fund/payouts", "/api/v1/fund/refunds", "/api/v1/fund/export",
    "/api/v1/public/overview", "/", "/activity", "/projects", "/contributions", "/data-sharing", "/verify",
    f"{PREFIX}/services.json", f"{PREFIX}/requests.json", f"{PREFIX}/requests.xml",
]


@pytest.mark.parametrize("path", READS)
def test_every_list_and_page_reads_from_postgresql(pg: PgApi, path: str) -> None:
    r = pg.client.get(path, headers=pg.api.auth("auditor"))
    assert r.status_code == 200, r.text[:2000]
    if path == "/api/v1/members":  # read from the index on PostgreSQL, not an empty one
        assert r.json()["count"] >= len(MEMBER_IDS)


def test_an_async_write_and_its_replay(pg: PgApi, deployment: Deployment) -> None:
    """Prefer: respond-async: a 202 kept as ``accepted``, replayed as the same 202, ``done`` once mined."""
    led = deployment.ledger()
    mint(led, deployment.signers["treasurer"], deployment.signers["resident"].address, 100)
    key = f"pg-{secrets.token_hex(6)}"
    headers = pg.api.auth("resident") | {"Idempotency-Key": key, "Prefer": "respond-async"}
    body = {"amount": 7, "memo": f"async {secrets.token_hex(3)}"}
    first = pg.client.post(CONTRIBUTIONS, headers=headers, json=body)
    assert first.status_code == 202, first.text
    assert [r["state"] for r in _idempotency_rows(pg, key)] == ["accepted"]
    receipt = led.wait(first.json()["tx_hash"])
    again = pg.client.post(CONTRIBUTIONS, headers=headers, json=body)
    assert again.status_code == 202 and again.json() == first.json()
    assert [r["state"] for r in _idempotency_rows(pg, key)] == ["done"]  # its receipt seen on the replay
    status = pg.client.get(first.json()["status_url"], headers=pg.api.auth("resident"))
    assert status.status_code == 200 and status.json()["block_number"] == receipt.block_number, status.text


def test_an_open311_report_on_postgresql_and_its_status_from_the_index_there(pg: PgApi, deployment: Deployment) -> None:
    """The report's row (contact and commitment) in PostgreSQL; its status from CaseDesk's events in
    the PostgreSQL index: a case grouping it, evaluated fixed, closes it."""
    from api.open311.store import reports

    rid = posted_id(pg.client, description="PostgreSQL 上的居民反馈：路灯不亮", service_code="2")
    with pg.engine.connect() as conn:
        row = conn.execute(sa.select(reports).where(reports.c.id == int(rid))).mappings().one()
    assert row["email"] and row["commitment"] == "0x" + commitment_of(pg.client, rid).hex()
    case = raise_case(deployment, [commitment_of(pg.client, rid)], category=2)
    act(deployment, "dept_b", "acknowledge", case)
    act(deployment, "dept_b", "answer", case, b"\x01" * 32)
    act(deployment, "subdistrict", "evaluate", case, 0, 0)
    [got] = pg.client.get(f"{PREFIX}/requests/{rid}.json").json()
    assert got["status"] == "closed" and got["agency_responsible"] == "城管", got
    assert got["description"] == "PostgreSQL 上的居民反馈：路灯不亮" and "email" not in got
    closed = pg.client.get(f"{PREFIX}/requests.json", params={"status": "closed", "service_code": "2"}).json()
    assert rid in {r["service_request_id"] for r in closed}


def test_an_open311_report_with_a_nul_is_refused_before_postgresql_sees_it(pg: PgApi) -> None:
    from api.open311.store import reports

    with pg.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one()
    for field in ("description", "address_string", "first_name", "device_id"):
        r = post(pg.client, **{field: "nul\x00here"})
        assert errors_of(r, 400) == [f"{field}: contains a NUL or another control character"], r.text
    with pg.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one() == before
