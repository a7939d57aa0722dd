"""API list answers kept as bytes per index version (api/answers.py): an ETag and 304, a new
event changes the answer at once, and the caller's visibility is part of what is kept."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.testing import Api

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
