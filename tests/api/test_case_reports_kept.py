"""GET /api/v1/cases/reports kept (api/answers.py ``@kept(also=queue_mark)``): the queue is answered
from a kept answer, at the front door too, and never from before a change — a report posted to
this service or stored by another process, a case grouping a report — and a kept answer reaches no
caller the route would refuse (401 without a valid key, 403 for a role other than SubDistrict and
Channel).

Over real HTTP (uvicorn in a thread), the service running as it is served: the index follower on
(it polls once an hour, so only the writes' wake-ups move the index while a test runs), over the
session's service database, on SQLite and on PostgreSQL (the ``api`` fixture). Whether the route
ran is told by overriding its key dependency with one that refuses: the front door never runs it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.apikeys import ApiKeyStore, engine_for
from api.deps import current_key
from api.testing import KEY_ROLES, Api, LiveServer
from ledger.testing import Deployment
from tests.api.test_case_reports import READERS, raise_from
from tests.api.test_front_door import ROUTE_RAN, caught_up, route_ran, served_settings
from tests.api.test_open311 import posted_id
from tests.conftest import assert_on, index_url

pytestmark = pytest.mark.ganache

QUEUE = "/api/v1/cases/reports"

#: Another process stores a report, as a second API worker would (the same service database).
ADD_REPORT = """
import sys
from api.apikeys import engine_for
from api.open311.store import Contact, NewReport, ReportStore
engine = engine_for(sys.argv[1])
new = NewReport(3, "another worker's report", 39.92, 116.44, "幸福里 5 号楼", None, Contact(), "ip:127.0.0.9")
print(ReportStore(engine).add(new).id)
engine.dispose()
"""


@dataclass
class Served:
    http: httpx.Client
    server: LiveServer
    api: Api

    def get(self, label: str | None = "subdistrict", **headers: str) -> httpx.Response:
        auth = {} if label is None else self.api.auth(label)
        return self.http.get(QUEUE, params={"status": "all", "limit": 500}, headers=auth | headers)

    def route_off(self) -> None:
        """From now on, a request that reaches the route's key check is refused with ``ROUTE_RAN``."""
        self.server.app.dependency_overrides[current_key] = route_ran

    def route_on(self) -> None:
        self.server.app.dependency_overrides.clear()


def ids(r: httpx.Response) -> dict[str, dict[str, Any]]:
    assert r.status_code == 200, r.text
    return {row["service_request_id"]: row for row in r.json()["data"]}


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, database: str, api: Api, deployment: Deployment,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The served service over the session's service database, with an index of the same kind."""
    settings = served_settings(api, deployment, tmp_path_factory.mktemp("reports-kept"), **index_url(request, database))
    assert_on(settings, database)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        caught_up(http)
        yield Served(http, server, api)  # each test that turns the route off turns it on again


def kept_at_the_door(served: Served) -> httpx.Response:
    """The queue as the sub-district reads it, asked until the front door answers it (the route
    files it, then the door serves it without the route)."""
    first = served.get()
    assert first.status_code == 200, first.text
    served.route_off()
    try:
        again = served.get()
        assert (again.status_code, again.content, again.headers["etag"]) == (200, first.content, first.headers["etag"])
        same = served.get(**{"If-None-Match": first.headers["etag"]})
        assert (same.status_code, same.headers["etag"]) == (304, first.headers["etag"])
    finally:
        served.route_on()
    return first


def test_a_report_shows_at_once_though_the_queue_is_kept(served: Served) -> None:
    before = kept_at_the_door(served)
    rid = posted_id(served.http)  # through this service's Open311 route
    served.route_off()
    try:  # the kept answer is from before the report: the route must answer, not the door
        assert served.get().json()["detail"] == ROUTE_RAN
    finally:
        served.route_on()
    after = served.get(**{"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert ids(after)[rid]["status"] == "waiting" and rid not in ids(before)
    assert after.json()["count"] == before.json()["count"] + 1

    kept = kept_at_the_door(served)
    assert kept.content == after.content  # kept again, once read
    added = subprocess.run([sys.executable, "-c", ADD_REPORT, served.api.settings.service_db_url],
                           check=True, timeout=120, capture_output=True, text=True).stdout.strip()
    served.route_off()
    try:  # stored by another process: the door has no answer that holds it
        assert served.get().json()["detail"] == ROUTE_RAN
    finally:
        served.route_on()
    now = served.get()
    assert ids(now)[added]["description"] == "another worker's report" and now.headers["etag"] != kept.headers["etag"]
    assert kept_at_the_door(served).content == now.content


def test_a_case_grouping_a_report_shows_at_once(served: Served) -> None:
    rid = posted_id(served.http)
    before = kept_at_the_door(served)
    assert ids(before)[rid]["status"] == "waiting"
    raised = raise_from(served.http, served.api, [int(rid)])
    assert raised.status_code == 201, raised.text
    after = served.get(**{"If-None-Match": before.headers["etag"]})
    row = ids(after)[rid]
    assert (row["status"], row["case_id"], row["case_open"]) == ("grouped", raised.json()["case"]["id"], True)
    waiting = served.http.get(QUEUE, params={"limit": 500}, headers=served.api.auth("subdistrict"))
    assert rid not in ids(waiting)
    assert kept_at_the_door(served).content == after.content


def test_a_kept_queue_reaches_no_caller_the_route_refuses(served: Served, deployment: Deployment) -> None:
    kept = kept_at_the_door(served)
    others = sorted(label for label, role in KEY_ROLES.items() if role not in READERS)
    for label in others:
        r = served.get(label)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", (label, r.text)
    for headers in ({}, {"Authorization": "Bearer cgv_0000_nothing"}, {"Authorization": "Basic abc"}):
        assert served.get(None, **headers).status_code == 401, headers
    assert served.get("channel").status_code == 200  # the other role the route admits: its own answer

    store = ApiKeyStore(engine_for(served.api.settings.service_db_url))
    token, rec = store.create("reports-then-revoked", "sub_district", deployment.signers["subdistrict"].address,
                              "subdistrict")
    h = {"Authorization": f"Bearer {token}"}
    assert served.http.get(QUEUE, params={"status": "all", "limit": 500}, headers=h).content == kept.content
    assert store.revoke(rec.key_id)
    store.engine.dispose()
    r = served.http.get(QUEUE, params={"status": "all", "limit": 500}, headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
