"""Open311 GeoReport v2 (/open311/v2) on the session chain: services from the chain's service levels,
residents' reports off chain with a salted commitment, their status following the case that groups
them on chain (raised by the sub-district, evaluated fixed: closed), JSON and XML, every error in
the specification's format, the rate limit per client, no contact data in any read; in process and
over real HTTP, and with Open311 clients from PyPI (georeport to read, civicbot to report).
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from eth_utils import keccak
from fastapi.testclient import TestClient

from api.apikeys import ApiKeyStore, engine_for
from api.main import create_app
from api.open311.store import LIMITS, ReportStore, opening_text
from api.routers.open311 import PREFIX, ROOT
from ledger.client import Ledger, TxReceipt
from ledger.commitment import Opening
from tests.api.conftest import Api, LiveServer, make_settings
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTACT = {
    "email": "wang.fang@example.cn",
    "first_name": "芳",
    "last_name": "王",
    "phone": "+86 138 0000 0000",
    "device_id": "device-7f3a",
    "account_id": "resident-42",
}
AREA = 110105001001  # a community's statistical division code: coarse, never an address
EN_NAMES = {"1": "Emergency", "2": "Utilities", "3": "General", "4": "Complex"}


def report(**over: Any) -> dict[str, Any]:
    """A valid report (form fields); ``over`` replaces or adds fields (None: left out)."""
    body: dict[str, Any] = {
        "service_code": "3",
        "lat": "39.9219",
        "long": "116.4436",
        "address_string": "幸福里小区 3 号楼东侧",
        "description": f"垃圾桶满溢，气味很大 {secrets.token_hex(3)}",
        "media_url": "https://example.cn/photos/bins.jpg",
        **CONTACT,
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def post(c: TestClient | httpx.Client, fmt: str = "json", **over: Any) -> httpx.Response:
    return c.post(f"{PREFIX}/requests.{fmt}", data=report(**over))


def posted_id(c: TestClient | httpx.Client, **over: Any) -> str:
    r = post(c, **over)
    assert r.status_code == 200, r.text
    return str(r.json()[0]["service_request_id"])


def xml(r: httpx.Response) -> ET.Element:
    assert r.headers["content-type"] == "text/xml; charset=utf-8", r.headers
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(r.content)


def errors_of(r: httpx.Response, status: int) -> list[str]:
    """The descriptions of a GeoReport error answer (JSON or XML), after checking its status and codes."""
    assert r.status_code == status, r.text
    if r.headers["content-type"].startswith("text/xml"):
        root = xml(r)
        assert root.tag == "errors"
        assert [e.findtext("code") for e in root] == [str(status)] * len(root)
        return [str(e.findtext("description")) for e in root]
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert isinstance(body, list) and body and {e["code"] for e in body} == {status}, body
    return [e["description"] for e in body]


def store_of(c: TestClient) -> ReportStore:
    store: ReportStore = c.app.state.service.reports  # type: ignore[attr-defined]
    return store


def commitment_of(c: TestClient, request_id: str) -> bytes:
    r = store_of(c).get(int(request_id))
    assert r is not None
    return bytes.fromhex(r.commitment[2:])


def w3c_of(led: Ledger, receipt: TxReceipt) -> str:
    block = led.rpc("eth_getBlockByNumber", [hex(receipt.block_number), False])
    return datetime.fromtimestamp(int(block["timestamp"], 16), SHANGHAI).isoformat(timespec="seconds")


def raise_case(d: Deployment, hashes: list[bytes], category: int = 3, lead: str = "dept_b") -> int:
    """The sub-district raises a case (吹哨) grouping the reports' commitments, led by ``lead``."""
    led = d.ledger()
    receipt = led.transact(d.signers["subdistrict"], "CaseDesk", "raiseCase", category, AREA,
                           keccak(text=f"case {secrets.token_hex(4)}"), hashes, 0, MEMBER_IDS[lead], [])
    return int(receipt.event("CaseRaised").args["caseId"])


def act(d: Deployment, label: str, fn: str, *args: Any) -> TxReceipt:
    return d.ledger().transact(d.signers[label], "CaseDesk", fn, *args)


# ------------------------------------------------------------------ services


def test_services_are_the_categories_with_a_service_level_on_chain(client: TestClient) -> None:
    r = client.get(f"{PREFIX}/services.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=utf-8", r.text
    services = {s["service_code"]: s for s in r.json()}
    assert {"1", "2", "3", "4"} <= set(services), services
    assert services["1"]["service_name"] == "紧急事件" and services["1"]["group"] == "emergency"
    assert "30分钟内报到、2小时内办结" in services["1"]["description"]  # the chain's service level
    assert "7天内办结" in services["3"]["description"]
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services.values())
    en = {s["service_code"]: s for s in client.get(f"{PREFIX}/services.json", params={"lang": "en"}).json()}
    assert {k: en[k]["service_name"] for k in EN_NAMES} == EN_NAMES
    assert "within 30 minutes and resolves within 2 hours" in en["1"]["description"]
    root = xml(client.get(f"{PREFIX}/services.xml"))
    assert root.tag == "services" and {s.tag for s in root} == {"service"}
    by_code = {s.findtext("service_code"): s for s in root}
    assert by_code["3"].findtext("service_name") == "一般问题" and by_code["3"].findtext("metadata") == "false"


def test_with_the_index_lost_the_services_are_read_from_the_chain(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A careless operator loses the event index: the services list still answers, from the
    chain's views of the categories the name table knows, with the same levels."""
    import api.services.reports as reports
    from ledger.errors import IndexUnavailable

    indexed = {s["service_code"]: s["description"] for s in client.get(f"{PREFIX}/services.json").json()}

    def lost(_state: object) -> None:
        raise IndexUnavailable("index lost")

    monkeypatch.setattr(reports, "index_for", lost)
    r = client.get(f"{PREFIX}/services.json")
    assert r.status_code == 200, r.text
    from_chain = {s["service_code"]: s["description"] for s in r.json()}
    assert {"1", "2", "3", "4"} <= set(from_chain) and all(indexed[c] == d for c, d in from_chain.items())


def test_a_category_the_council_sets_is_served_and_one_without_a_name_row_by_its_number(
    client: TestClient, deployment: Deployment
) -> None:
    led = deployment.ledger()
    for category, ack, resolve in ((5, 3600, 86400), (77, 600, 7200)):
        receipt = act(deployment, "c1", "proposeServiceLevel", category, ack, resolve)
        proposal = int(receipt.event("ServiceLevelProposed").args["proposalId"])
        act(deployment, "c2", "approveServiceLevel", proposal)
        assert tuple(led.call("CaseDesk", "serviceLevel", category)) == (ack, resolve)
    services = {s["service_code"]: s for s in client.get(f"{PREFIX}/services.json").json()}
    assert services["5"]["service_name"] == "垃圾满溢" and "1小时内报到、24小时内办结" in services["5"]["description"]
    assert services["77"]["service_name"] == "类别 77" and services["77"]["group"] == "other"
    english = client.get(f"{PREFIX}/services.json", params={"lang": "en"}).json()
    assert {s["service_code"]: s["service_name"] for s in english}["5"] == "Overflowing bins"
    assert posted_id(client, service_code="5")  # a report in the new category is taken


def test_service_definitions_have_no_attributes(client: TestClient) -> None:
    assert client.get(f"{PREFIX}/services/3.json").json() == {"service_code": "3", "attributes": []}
    root = xml(client.get(f"{PREFIX}/services/3.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "3"
    assert errors_of(client.get(f"{PREFIX}/services/999.json"), 404) == ["service_code 999 not found"]
    assert errors_of(client.get(f"{PREFIX}/services/abc.xml"), 404) == ["service_code abc not found"]


def test_the_discovery_file_names_this_endpoint_and_when_the_services_last_changed(client: TestClient) -> None:
    d = client.get(f"{ROOT}/discovery.json").json()
    assert set(d) == {"changeset", "contact", "key_service", "endpoints"} and d["contact"]
    [endpoint] = d["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2", "url": f"http://testserver{PREFIX}",
        "changeset": d["changeset"], "type": "test", "formats": ["application/json", "text/xml"],
    }
    assert d["changeset"].endswith("+08:00")  # the latest service level set on chain
    assert client.get(endpoint["url"] + "/services.json").status_code == 200
    root = xml(client.get(f"{ROOT}/discovery.xml"))
    assert root.tag == "discovery" and root.findtext("changeset") == d["changeset"]
    assert [f.text for f in root.iter("format")] == ["application/json", "text/xml"]
    assert root.findtext("endpoints/endpoint/url") == f"http://testserver{PREFIX}"
    assert errors_of(client.get(f"{ROOT}/discovery.html"), 400)


# ------------------------------------------------------------------ reports


def test_a_report_is_stored_off_chain_and_read_back_without_its_contact(client: TestClient) -> None:
    r = post(client)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=utf-8", r.text
    [created] = r.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"} and created["account_id"] is None
    assert "24小时内报到、7天内办结" in created["service_notice"]  # category 3's service level on chain
    rid = created["service_request_id"]

    one = client.get(f"{PREFIX}/requests/{rid}.json")
    assert one.status_code == 200, one.text
    [got] = one.json()
    assert got["service_request_id"] == rid and got["status"] == "open"
    assert got["status_notes"] == "已受理，等待街道研判立案。" and got["agency_responsible"] is None
    assert got["service_code"] == "3" and got["service_name"] == "一般问题"
    assert got["lat"] == 39.9219 and got["long"] == 116.4436 and got["address"] == "幸福里小区 3 号楼东侧"
    assert got["media_url"] == "https://example.cn/photos/bins.jpg" and got["expected_datetime"] is None
    assert got["requested_datetime"].endswith("+08:00") and got["updated_datetime"] == got["requested_datetime"]
    assert abs(datetime.fromisoformat(got["requested_datetime"]).timestamp() - datetime.now().timestamp()) < 120

    # the contact is kept, off chain, and shown by no read (JSON, XML, list, one, English)
    stored = store_of(client).get(int(rid))
    assert stored is not None and stored.contact.email == CONTACT["email"] and stored.client == "ip:testclient"
    reads = [
        client.get(f"{PREFIX}/requests/{rid}.json"), client.get(f"{PREFIX}/requests/{rid}.xml"),
        client.get(f"{PREFIX}/requests.json", params={"service_request_id": rid}),
        client.get(f"{PREFIX}/requests.xml"), client.get(f"{PREFIX}/requests.json", params={"lang": "en"}),
    ]
    for read in reads:
        assert read.status_code == 200, read.text
        for value in CONTACT.values():
            assert value not in read.text, (value, read.text[:300])
        for name in ("email", "phone", "first_name", "last_name", "device_id"):
            assert name not in read.text


def test_a_form_body_with_its_characters_not_percent_encoded_is_read_as_utf8(client: TestClient) -> None:
    """``curl -d 'description=路灯不亮'`` sends the characters as UTF-8 bytes, not percent-encoded. They
    were read as Latin-1: stored as mojibake, and a description near its limit refused as three times
    as long. Percent-encoded text, and other fields, read as before."""
    limit = LIMITS["description"]
    said = ("路灯不亮" * limit)[: limit - 4] + secrets.token_hex(2)  # the longest description allowed
    fields = urlencode(report(description=None, address_string=None))
    body = fields.encode() + b"&description=" + said.encode() + "&address_string=幸福里小区3号楼东侧".encode()
    r = client.post(f"{PREFIX}/requests.json", content=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    [got] = client.get(f"{PREFIX}/requests/{r.json()[0]['service_request_id']}.json").json()
    assert got["description"] == said and got["address"] == "幸福里小区3号楼东侧"
    encoded = posted_id(client, description="café 路灯 %", address_string="Straße 5")
    [got] = client.get(f"{PREFIX}/requests/{encoded}.json").json()
    assert got["description"] == "café 路灯 %" and got["address"] == "Straße 5"


def test_the_commitment_opens_to_the_public_fields_and_confirms_no_guess(client: TestClient) -> None:
    a, b = posted_id(client, description="同一段文字"), posted_id(client, description="同一段文字")
    ra, rb = store_of(client).get(int(a)), store_of(client).get(int(b))
    assert ra is not None and rb is not None and ra.commitment != rb.commitment  # salted
    opening = ra.opening
    assert opening.opens(ra.commitment) and Opening.from_json(opening.to_json()) == opening
    assert opening.text == opening_text(ra, ra.id, ra.requested_at)
    assert '"description":"同一段文字"' in opening.text and CONTACT["email"] not in opening.text
    assert keccak(text=opening.text).hex() not in ra.commitment  # a bare hash of the text would confirm a guess
    assert store_of(client).by_commitment(ra.commitment.upper().replace("0X", "0x")) == ra


def test_reports_in_xml(client: TestClient) -> None:
    root = xml(post(client, fmt="xml", description="井盖缺失 <危险> & 需尽快处理"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    rid = root[0].findtext("service_request_id")
    assert rid and root[0].findtext("account_id") == ""  # <account_id/>: null
    got = xml(client.get(f"{PREFIX}/requests/{rid}.xml"))[0]
    assert got.findtext("description") == "井盖缺失 <危险> & 需尽快处理" and got.findtext("status") == "open"
    assert got.findtext("lat") == "39.9219" and got.findtext("expected_datetime") == ""
    listed = xml(client.get(f"{PREFIX}/requests.xml", params={"service_request_id": rid}))
    assert [r.findtext("service_request_id") for r in listed] == [rid]


def test_a_report_by_address_only_and_one_by_photo_only(client: TestClient) -> None:
    rid = posted_id(client, lat=None, long=None, description=None, address_string="幸福里东门")
    [got] = client.get(f"{PREFIX}/requests/{rid}.json").json()
    assert got["lat"] is None and got["long"] is None and got["description"] is None
    # GeoReport v2: an optional argument sent empty is the same as one not sent
    rid = posted_id(client, lat="", long="", email="", phone="", address_string="幸福里西门")
    assert store_of(client).get(int(rid)).contact.email is None  # type: ignore[union-attr]


# ------------------------------------------------------------------ status from the chain


def test_status_follows_the_case_on_chain(client: TestClient, deployment: Deployment) -> None:
    """A report, then a case raised by the sub-district grouping its commitment (and another report's),
    acknowledged and answered by 城管, evaluated fixed by the sub-district: closed."""
    rid, other = posted_id(client), posted_id(client, service_code="1")
    led = deployment.ledger()
    case = raise_case(deployment, [commitment_of(client, rid), commitment_of(client, other)])
    view = led.call("CaseDesk", "getCase", case)
    deadline = datetime.fromtimestamp(int(view["resolveDeadline"]), SHANGHAI).isoformat(timespec="seconds")

    def status(r: str = rid, **params: str) -> dict[str, Any]:
        got = client.get(f"{PREFIX}/requests/{r}.json", params=params)
        assert got.status_code == 200, got.text
        return dict(got.json()[0])

    s = status()
    assert s["status"] == "open" and s["agency_responsible"] == "城管" and s["expected_datetime"] == deadline
    assert s["status_notes"] == f"已立案（案件 {case}），派单至城管。"
    assert status(other)["agency_responsible"] == "城管"  # one case groups both reports
    act(deployment, "dept_b", "acknowledge", case)
    assert status()["status_notes"] == "城管已报到，正在处置。"
    act(deployment, "dept_b", "answer", case, keccak(text="清运完毕"))
    assert status(lang="en")["status_notes"] == "城管 answered; awaiting the sub-district's evaluation."
    closing = act(deployment, "subdistrict", "evaluate", case, 0, 0)  # Evaluation.Fixed
    s = status()
    assert s["status"] == "closed" and s["status_notes"] == "已办结：问题已解决。"
    assert s["updated_datetime"] == w3c_of(led, closing) and s["expected_datetime"] == deadline
    assert xml(client.get(f"{PREFIX}/requests/{rid}.xml"))[0].findtext("status") == "closed"
    closed = client.get(f"{PREFIX}/requests.json", params={"status": "closed"}).json()
    opened = client.get(f"{PREFIX}/requests.json", params={"status": "open"}).json()
    assert rid in {r["service_request_id"] for r in closed} and rid not in {r["service_request_id"] for r in opened}
    assert {r["status"] for r in closed} == {"closed"} and {r["status"] for r in opened} == {"open"}
    both = client.get(f"{PREFIX}/requests.json", params={"status": "open,closed"}).json()
    assert len(both) == len(closed) + len(opened)


def test_a_rejected_answer_reopens_and_a_new_case_takes_over(client: TestClient, deployment: Deployment) -> None:
    rid = posted_id(client)
    h = commitment_of(client, rid)
    case = raise_case(deployment, [h], lead="dept_a")
    act(deployment, "dept_a", "acknowledge", case)
    act(deployment, "dept_a", "answer", case, keccak(text="已处理"))
    reopened = act(deployment, "subdistrict", "evaluate", case, 1, 7)  # Evaluation.Rejected, reason 7
    [got] = client.get(f"{PREFIX}/requests/{rid}.json").json()
    deadline = int(reopened.event("CaseReopened").args["resolveDeadline"])
    assert got["status"] == "open" and got["agency_responsible"] == "卫健委"
    assert got["status_notes"] == f"街道未通过答复，案件 {case} 已重新打开，由卫健委继续处置。"
    assert got["expected_datetime"] == datetime.fromtimestamp(deadline, SHANGHAI).isoformat(timespec="seconds")
    act(deployment, "dept_a", "answer", case, keccak(text="再次处理"))
    act(deployment, "subdistrict", "evaluate", case, 2, 0)  # Evaluation.NotFixed: closed too
    [got] = client.get(f"{PREFIX}/requests/{rid}.json", params={"lang": "en"}).json()
    assert got["status"] == "closed" and got["status_notes"] == "Closed: not fixed."
    newer = raise_case(deployment, [h], lead="dept_b")  # grouped again: the newer case speaks for it
    [got] = client.get(f"{PREFIX}/requests/{rid}.json").json()
    assert got["status"] == "open" and got["status_notes"] == f"已立案（案件 {newer}），派单至城管。"


# ------------------------------------------------------------------ lists and their filters


def test_filters_by_ids_code_dates_and_pages(client: TestClient) -> None:
    a, b, c = posted_id(client, service_code="2"), posted_id(client, service_code="4"), posted_id(client)
    by_ids = client.get(f"{PREFIX}/requests.json", params={"service_request_id": f"{a},{c},999999999"}).json()
    assert [r["service_request_id"] for r in by_ids] == [c, a]  # newest first; unknown ids left out
    # ids override every other argument
    overridden = client.get(f"{PREFIX}/requests.json",
                            params={"service_request_id": a, "service_code": "1", "status": "closed"}).json()
    assert [r["service_request_id"] for r in overridden] == [a]
    coded = client.get(f"{PREFIX}/requests.json", params={"service_code": "4,2"}).json()
    assert {a, b} <= {r["service_request_id"] for r in coded} and {r["service_code"] for r in coded} <= {"2", "4"}
    assert c not in {r["service_request_id"] for r in coded}
    everything = [r["service_request_id"] for r in client.get(f"{PREFIX}/requests.json").json()]
    assert everything[:3] == [c, b, a] and everything == sorted(everything, key=int, reverse=True)
    page = client.get(f"{PREFIX}/requests.json", params={"page_size": 2, "page": 2}).json()
    assert [r["service_request_id"] for r in page] == everything[2:4]
    now = datetime.now(SHANGHAI)
    today = {"start_date": now.replace(hour=0, minute=0, second=0).isoformat(), "end_date": now.isoformat()}
    assert c in {r["service_request_id"] for r in client.get(f"{PREFIX}/requests.json", params=today).json()}
    long_ago = {"start_date": "2010-01-01T00:00:00Z", "end_date": "2010-03-01T00:00:00Z"}
    assert client.get(f"{PREFIX}/requests.json", params=long_ago).json() == []
    only_start = client.get(f"{PREFIX}/requests.json", params={"start_date": "2010-01-01"}).json()
    assert only_start == []  # start_date alone: the 90 days from it
    # a "+08:00" sent unencoded arrives as " 08:00": still read as the offset
    raw = client.get(f"{PREFIX}/requests.json?start_date=2010-01-01T00:00:00+08:00&end_date=2010-02-01T00:00:00+08:00")
    assert raw.status_code == 200 and raw.json() == []
    assert xml(client.get(f"{PREFIX}/requests.xml", params=long_ago)).tag == "service_requests"


# ------------------------------------------------------------------ errors, in the specification's format

BAD_REPORTS = [
    ({"service_code": None}, "service_code: Field required"),
    ({"service_code": "abc"}, "service_code: Input should be a valid integer"),
    ({"service_code": "99"}, "invalid service_code: 99 is not a service here (GET services lists them)"),
    ({"service_code": "70000"}, "service_code: Input should be less than or equal to 65535"),
    ({"lat": None, "long": None, "address_string": None}, "location: send lat and long, or address_string"),
    ({"long": None}, "lat and long: send both or neither"),
    ({"lat": "91"}, "lat: Input should be less than or equal to 90"),
    ({"long": "nan"}, "long: Input should be a finite number"),
    ({"description": None, "media_url": None}, "description: say what is wrong (or send a media_url)"),
    ({"description": "长" * 4001}, "description: String should have at most 4000 characters"),
    ({"description": "nul\x00here"}, "description: contains a NUL or another control character"),
    ({"address_string": "bell\x07"}, "address_string: contains a NUL or another control character"),
    ({"email": "not-an-address"}, "email: not an e-mail address"),
    ({"phone": "call me"}, "phone: String should match pattern"),
    ({"media_url": "javascript:alert(1)"}, "media_url: String should match pattern"),
    ({"first_name": "名" * 101}, "first_name: String should have at most 100 characters"),
]


@pytest.mark.parametrize(("fields", "says"), BAD_REPORTS, ids=[s.split(":")[0] for _, s in BAD_REPORTS])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_invalid_report_is_a_400_saying_why_and_stores_nothing(
    client: TestClient, fields: dict[str, Any], says: str, fmt: str
) -> None:
    with store_of(client).engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM open311_reports")).scalar_one()
    descriptions = errors_of(post(client, fmt=fmt, **fields), 400)
    assert any(d.startswith(says) for d in descriptions), descriptions
    with store_of(client).engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM open311_reports")).scalar_one() == before


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("/requests/999999999.json", {}, 404, "service request 999999999 not found"),
        ("/requests/abc.xml", {}, 404, "service request abc not found"),
        ("/requests.json", {"start_date": "yesterday"}, 400, "invalid start_date: 'yesterday' is not a W3C datetime"),
        ("/requests.xml", {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-06-01T00:00:00Z"}, 400,
         "invalid end_date: the range may not span more than 90 days"),
        ("/requests.json", {"start_date": "2020-02-01", "end_date": "2020-01-01"}, 400,
         "invalid end_date: is before start_date"),
        ("/requests.json", {"status": "pending"}, 400, "invalid status: open, closed, or both comma-separated"),
        ("/requests.json", {"service_request_id": "1,x"}, 400, "invalid service_request_id: comma-separated numbers"),
        ("/requests.json", {"service_code": "-1"}, 400, "invalid service_code: comma-separated numbers"),
        ("/requests.json", {"page_size": "1001"}, 400, "page_size: Input should be less than or equal to 1000"),
        ("/requests.csv", {}, 400, "fmt: Input should be 'json' or 'xml'"),
        ("/services.yaml", {}, 400, "fmt: Input should be 'json' or 'xml'"),
    ],
)
def test_reads_refuse_in_the_specification_s_format(
    client: TestClient, path: str, params: dict[str, str], status: int, says: str
) -> None:
    descriptions = errors_of(client.get(PREFIX + path, params=params), status)
    assert any(d.startswith(says) for d in descriptions), descriptions


def test_an_api_key_identifies_the_client_and_a_wrong_one_is_403(client: TestClient, api: Api) -> None:
    rid = posted_id(client, api_key=api.keys["resident"])
    stored = store_of(client).get(int(rid))
    key_id = api.keys["resident"].split("_")[1]
    assert stored is not None and stored.client == f"key:{key_id}"
    assert errors_of(post(client, api_key="cgv_0000_nope"), 403) and errors_of(post(client, "xml", api_key="x"), 403)
    store = ApiKeyStore(engine_for(api.settings.service_db_url))
    token, record = store.create("open311-revoked", "contributor", "0x" + "11" * 20, "resident")
    assert posted_id(client, api_key=token)
    store.revoke(record.key_id)
    assert errors_of(post(client, api_key=token), 403)


@pytest.fixture
def strict(deployment: Deployment, api: Api, tmp_path: Path, index_db: dict[str, str]) -> Iterator[TestClient]:
    """A service that takes reports only with an api_key, names its jurisdiction, and allows each
    client a burst of 2 reports refilled at 1 an hour."""
    settings = make_settings(
        deployment, tmp_path, service_db_url=api.settings.service_db_url, open311_require_api_key=True, **index_db,
        open311_jurisdiction_id="xingfuli.gov.cn", open311_reports_per_hour=1, open311_report_burst=2,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_a_service_may_require_an_api_key_and_name_its_jurisdiction(strict: TestClient, api: Api) -> None:
    assert errors_of(post(strict), 403) == ["this service takes reports only with an api_key"]
    key = api.keys["c1"]
    assert post(strict, api_key=key, jurisdiction_id="xingfuli.gov.cn").status_code == 200
    assert errors_of(post(strict, api_key=key, jurisdiction_id="elsewhere.gov"), 404) == [
        "jurisdiction_id elsewhere.gov not found"]
    assert errors_of(strict.get(f"{PREFIX}/services.xml", params={"jurisdiction_id": "elsewhere.gov"}), 404)
    assert strict.get(f"{PREFIX}/services.json", params={"jurisdiction_id": "xingfuli.gov.cn"}).status_code == 200


def test_reports_are_rate_limited_per_client_with_retry_after(strict: TestClient, api: Api) -> None:
    key = api.keys["c2"]
    assert post(strict, api_key=key).status_code == 200
    assert errors_of(post(strict, api_key=key, service_code="abc"), 400)  # an invalid report counts too
    limited = post(strict, "xml", api_key=key)
    assert errors_of(limited, 429) == ["rate limit exceeded; retry after 3600s"]
    assert 3000 < int(limited.headers["Retry-After"]) <= 3600
    assert errors_of(post(strict, api_key=key), 429)
    assert post(strict, api_key=api.keys["dept_a"]).status_code == 200  # another client, its own bucket
    assert strict.get(f"{PREFIX}/requests.json").status_code == 200  # reads are not reports


def test_the_openapi_schema_documents_the_specification_s_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ops = [(p, m, op) for p, item in spec["paths"].items() if p.startswith(ROOT) for m, op in item.items()]
    assert {(p, m) for p, m, _ in ops} == {
        (f"{ROOT}/discovery.{{fmt}}", "get"),
        (f"{PREFIX}/services.{{fmt}}", "get"), (f"{PREFIX}/services/{{service_code}}.{{fmt}}", "get"),
        (f"{PREFIX}/requests.{{fmt}}", "get"), (f"{PREFIX}/requests.{{fmt}}", "post"),
        (f"{PREFIX}/requests/{{service_request_id}}.{{fmt}}", "get"),
    }
    for path, method, op in ops:
        assert "422" not in op["responses"] and {"400", "404", "429", "503"} <= set(op["responses"]), path
        for status in ("200", "400", "404", "429"):
            assert set(op["responses"][status]["content"]) == {"application/json", "text/xml"}, (path, method)
        assert op["responses"]["400"]["content"]["application/json"]["schema"]["items"] == {
            "$ref": "#/components/schemas/Open311Error"}
    form = spec["paths"][f"{PREFIX}/requests.{{fmt}}"]["post"]["requestBody"]["content"]
    assert list(form) == ["application/x-www-form-urlencoded"]


# ------------------------------------------------------------------ over real HTTP, with Open311 clients from PyPI


def test_over_real_http_json_and_xml(http: httpx.Client) -> None:
    r = http.post(f"{PREFIX}/requests.json", data=report(description="消防通道被占用"))
    assert r.status_code == 200, r.text
    rid = r.json()[0]["service_request_id"]
    [got] = http.get(f"{PREFIX}/requests/{rid}.json").json()
    assert got["description"] == "消防通道被占用" and got["status"] == "open"
    assert xml(http.get(f"{PREFIX}/requests/{rid}.xml"))[0].findtext("service_request_id") == rid
    assert errors_of(http.post(f"{PREFIX}/requests.xml", data=report(lat="abc")), 400)
    assert errors_of(http.get(f"{PREFIX}/requests/0.json"), 404) == ["service request 0 not found"]
    assert CONTACT["phone"] not in http.get(f"{PREFIX}/requests.xml").text


def test_georeport_and_civicbot_drive_the_running_server(
    live: str, client: TestClient, deployment: Deployment, api: Api
) -> None:
    """georeport (every release, 0.1.0-0.3.1, only reads: it has no method to create a request)
    reads services, a definition and requests in JSON and XML; civicbot's Open311 client files the
    report (a real POST, form-encoded, with an api_key and without)."""
    from civicbot.open311 import Open311Client
    from civicbot.registry import Endpoint
    from georeport import GeoReport

    root = live + PREFIX
    geo, geo_xml = GeoReport(root), GeoReport(root, output_format="xml")
    codes = {s["service_code"] for s in geo.get_service_list()}
    assert {"1", "2", "3", "4"} <= codes
    assert {s["service_code"] for s in geo_xml.get_service_list()} == codes
    assert geo.get_service_definition("3") == {"service_code": "3", "attributes": []}

    endpoint = Endpoint(id="cogov", name="CoGov Ledger", base_url=root, write=True, api_key_required_for_write=False)
    filer = Open311Client(endpoint)
    filed = filer.create_request(
        "3", dry_run=False, confirm="SEND", api_key=api.keys["resident"],
        lat=39.9219, lng=116.4436, address_string="幸福里 5 号楼", description="楼道堆物堵塞消防通道",
        email=CONTACT["email"], phone=CONTACT["phone"], validate_remote=True,
    )
    assert filed.dry_run is False and isinstance(filed.response, list), filed.as_dict()
    rid = str(filed.response[0]["service_request_id"])
    anonymous = filer.create_request("1", dry_run=False, confirm="SEND", address_string="幸福里南门",
                                     description="井盖缺失")
    other = str(anonymous.response[0]["service_request_id"])

    one = geo.get_service_request(rid)
    assert one["description"] == "楼道堆物堵塞消防通道" and one["status"] == "open" and "email" not in one
    assert geo_xml.get_service_request(rid)["address"] == "幸福里 5 号楼"
    listed = geo.get_service_requests(service_request_id=f"{rid},{other}")
    assert [r["service_request_id"] for r in listed] == [other, rid]
    assert {r["service_request_id"] for r in geo.get_service_requests(service_code="1")} >= {other}

    # the chain moves the report: the georeport client sees it closed
    case = raise_case(deployment, [commitment_of(client, rid)])
    act(deployment, "dept_b", "acknowledge", case)
    act(deployment, "dept_b", "answer", case, keccak(text="清理完毕"))
    act(deployment, "subdistrict", "evaluate", case, 0, 0)
    assert geo.get_service_request(rid)["status"] == "closed"
    assert geo_xml.get_service_request(rid)["agency_responsible"] == "城管"
    assert rid in {r["service_request_id"] for r in geo.get_service_requests(status="closed")}
    assert filer.get_request(rid)["status"] == "closed"


def test_a_live_server_of_its_own_serves_open311(deployment: Deployment, tmp_path: Path,
                                                 databases: dict[str, str]) -> None:
    with LiveServer(make_settings(deployment, tmp_path, **databases)) as s:
        r = httpx.get(s.url + f"{PREFIX}/services.json", timeout=30)
        assert r.status_code == 200 and len(r.json()) >= 4


def test_the_reports_mark_moves_with_every_report_and_reads_no_report_rows(
    databases: dict[str, str], database: str, tmp_path: Path
) -> None:
    """The queue's mark (``ReportStore.version``) changes with each report stored, by this store or
    another over the same database; over PostgreSQL it is the count ``add`` keeps in
    ``service_marks`` (one keyed row, however many reports), and a database whose reports predate
    that count is counted by a query until its next report."""
    from api import marks
    from api.open311.store import Contact, NewReport, reports

    engine = engine_for(databases.get("service_db_url", f"sqlite:///{tmp_path / 'service.db'}"))
    try:
        one, other = ReportStore(engine), ReportStore(engine)
        new = NewReport(3, "路灯不亮", 39.9, 116.4, None, None, Contact(), "ip:127.0.0.1")
        seen = {id(s): {s.version()} for s in (one, other)}  # each store's own marks (SQLite's count is per connection)
        for store in (one, other, one):
            store.add(new)
            for s in (one, other):
                mark = s.version()
                assert mark not in seen[id(s)] and s.version() == mark  # moved, and holds still after
                seen[id(s)].add(mark)
        if database == "postgresql":
            with engine.connect() as conn:
                assert marks.read(conn, "open311_reports") == 3 and one.version() == ("counted", 3)
            with engine.begin() as conn:  # reports stored before the count existed: counted by a query
                conn.execute(marks.marks.delete().where(marks.marks.c.name == "open311_reports"))
                top = conn.execute(sa.select(sa.func.max(reports.c.id))).scalar()
            assert one.version() == ("reports", 3, top)
            one.add(new)
            assert one.version() == ("counted", 1)
        one.close()
        other.close()
    finally:
        engine.dispose()
