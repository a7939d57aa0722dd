"""GET /api/v1/cases/reports and raising a case from reports by id: a resident's Open311 report is
in the sub-district's queue (waiting) with its commitment and never its contact, a case raised
naming it by ``service_request_id`` groups it on chain (the report moves to grouped, Open311 shows
the case's lead department), an unknown id is a 422 naming it, a report an open case groups is a
409 (a replay of the same raise still answers as the first did), and every role but SubDistrict
and Channel is refused with problem+json. On SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.testing import KEY_ROLES, Api
from tests.api.test_open311 import AREA, CONTACT, PREFIX, posted_id, store_of
from tests.conftest import MEMBER_IDS

pytestmark = pytest.mark.ganache

READERS = {"sub_district", "channel"}


def queue(client: TestClient, api: Api, label: str = "subdistrict", **params: Any) -> httpx.Response:
    return client.get("/api/v1/cases/reports", headers=api.auth(label), params=params)


def listed(client: TestClient, api: Api, status: str, **params: Any) -> dict[str, dict[str, Any]]:
    r = queue(client, api, status=status, limit=500, **params)
    assert r.status_code == 200, r.text
    return {row["service_request_id"]: row for row in r.json()["data"]}


def raise_from(client: TestClient | httpx.Client, api: Api, ids: list[int], **headers: str) -> httpx.Response:
    body = {"category": 3, "area_code": AREA, "description": "幸福里垃圾桶满溢", "description_public": True,
            "lead_id": MEMBER_IDS["dept_b"], "report_ids": ids}
    return client.post("/api/v1/cases", headers=api.auth("subdistrict") | headers, json=body)


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert (r.status_code, r.headers["content-type"]) == (status, "application/problem+json"), r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_report_waits_then_a_case_raised_by_its_id_groups_it(client: TestClient, api: Api) -> None:
    rid, other = posted_id(client), posted_id(client, service_code="1")
    stored = store_of(client).get(int(rid))
    assert stored is not None
    waiting = listed(client, api, "waiting")
    row = waiting[rid]
    assert row | {"requested_datetime": None} == {
        "service_request_id": rid, "status": "waiting", "category": 3, "category_name": "一般问题",
        "description": stored.description, "area": "幸福里小区 3 号楼东侧", "lat": 39.9219, "long": 116.4436,
        "media_url": "https://example.cn/photos/bins.jpg", "requested_at": stored.requested_at,
        "requested_datetime": None, "commitment": stored.commitment, "case_id": None, "case_open": None,
    }
    assert row["requested_datetime"].endswith("+08:00") and other in waiting
    assert listed(client, api, "waiting", lang="en")[other]["category_name"] == "Emergency"

    r = raise_from(client, api, [int(rid)], **{"Idempotency-Key": f"raise-{rid}"})
    assert r.status_code == 201, r.text
    case = r.json()["case"]["id"]
    assert raise_from(client, api, [int(rid)], **{"Idempotency-Key": f"raise-{rid}"}).json() == r.json()  # a replay
    detail = client.get(f"/api/v1/cases/{case}", headers=api.auth("subdistrict")).json()
    assert detail["report_hashes"] == [stored.commitment]  # the chain's record of the case's reports

    assert rid not in listed(client, api, "waiting") and other in listed(client, api, "waiting")
    grouped = listed(client, api, "grouped")[rid]
    assert (grouped["status"], grouped["case_id"], grouped["case_open"]) == ("grouped", case, True)
    everything = listed(client, api, "all")
    assert everything[rid]["case_id"] == case and everything[other]["status"] == "waiting"
    shown = client.get(f"{PREFIX}/requests/{rid}.json").json()[0]
    assert (shown["status"], shown["agency_responsible"]) == ("open", "城管")

    refused = problem(raise_from(client, api, [int(other), int(rid)]), 409)
    assert f"report {rid} by case {case}" in refused["detail"] and f"report {other} " not in refused["detail"]
    assert other in listed(client, api, "waiting")  # nothing was raised


def test_an_unknown_report_id_is_a_422_naming_it(client: TestClient, api: Api) -> None:
    rid = posted_id(client)
    detail = problem(raise_from(client, api, [int(rid), 2**62]), 422)["detail"]
    assert str(2**62) in detail and f"report {rid}," not in detail


def test_the_queue_pages_and_counts(client: TestClient, api: Api) -> None:
    for _ in range(3):
        posted_id(client)
    whole = queue(client, api, status="all", limit=500).json()
    first, second = (queue(client, api, status="all", offset=o, limit=2).json() for o in (0, 2))
    assert first["count"] == second["count"] == whole["count"] == len(whole["data"]) >= 3
    ids = [r["service_request_id"] for r in first["data"] + second["data"]]
    assert ids == [r["service_request_id"] for r in whole["data"][:4]]
    assert ids == sorted(ids, key=int, reverse=True)  # newest first
    assert problem(queue(client, api, status="open"), 422)


def test_the_channel_reads_it_and_no_answer_holds_a_contact(client: TestClient, api: Api) -> None:
    rid = posted_id(client)
    r = queue(client, api, "channel", status="all", limit=500)
    assert r.status_code == 200 and rid in {row["service_request_id"] for row in r.json()["data"]}
    text = json.dumps(r.json(), ensure_ascii=False) + queue(client, api, status="all", limit=500).text
    assert not [v for v in CONTACT.values() if v in text]


@pytest.mark.parametrize("label", sorted(label for label, role in KEY_ROLES.items() if role not in READERS))
def test_every_other_role_is_refused(client: TestClient, api: Api, label: str) -> None:
    detail = problem(queue(client, api, label), 403)["detail"]
    assert "sub_district or channel role" in detail or label == "outsider"  # not a member at all


def test_no_key_is_refused(client: TestClient) -> None:
    assert client.get("/api/v1/cases/reports").status_code == 401


def test_a_report_whose_case_closed_may_be_grouped_again(client: TestClient, api: Api) -> None:
    """The documented choice: only an open case holds a report; once closed, a new case may group it."""
    rid = posted_id(client)
    first = raise_from(client, api, [int(rid)]).json()["case"]["id"]
    for path, label, body in (("acknowledge", "dept_b", None), ("answer", "dept_b", {"evidence": "已清运"}),
                              ("evaluate", "subdistrict", {"outcome": "fixed"})):
        r = client.post(f"/api/v1/cases/{first}/{path}", headers=api.auth(label), json=body)
        assert r.status_code == 200, r.text
    assert listed(client, api, "grouped")[rid]["case_open"] is False
    again = raise_from(client, api, [int(rid)])
    assert again.status_code == 201, again.text
    assert listed(client, api, "grouped")[rid]["case_id"] == again.json()["case"]["id"] != first
