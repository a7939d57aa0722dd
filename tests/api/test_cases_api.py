"""/api/v1/cases in process and over real HTTP: every write and its refusal status (the
contract's custom errors through the pre-flight), a caller without the role refused on every
state-changing route, idempotent replay and respond-async, descriptions shown only where they
may be, and every read answered from the event index with no chain call per row (the lists,
one case, the metrics, the service levels), equal to the contract's views and to the metrics
recomputed from the chain."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.main import create_app
from api.routers.cases import router as cases_router
from api.testing import Api, LiveServer, api_for
from ledger.cases import NAME, CaseDesk, overall, tallies
from ledger.client import Ledger
from ledger.fund.docs import doc_hash
from tests.api.test_fund_support import ledger_for, move_time
from tests.conftest import MEMBER_IDS, Deployment, database_urls
from tests.ledger.test_cases_model import AREA, LEVELS, WINDOW, folded, private_desk
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache

IDS = MEMBER_IDS
A, B = IDS["dept_a"], IDS["dept_b"]  # 卫健委, 城管


@dataclass
class CaseApi:
    api: Api
    client: TestClient | httpx.Client
    led: Ledger

    def post(self, path: str, label: str, body: Any = None, **headers: str) -> httpx.Response:
        return self.client.post(f"/api/v1/cases{path}", headers=self.api.auth(label) | headers, json=body)

    def get(self, path: str = "", label: str = "auditor", **params: Any) -> Any:
        r = self.client.get(f"/api/v1/cases{path}", headers=self.api.auth(label), params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def ok(self, path: str, label: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        r = self.post(path, label, body)
        assert r.status_code == status, r.text
        case: dict[str, Any] = r.json()["case"]
        return case

    def refused(self, path: str, label: str, body: Any, status: int, error: str) -> None:
        r = self.post(path, label, body)
        assert (r.status_code, r.headers["content-type"]) == (status, "application/problem+json"), r.text
        assert r.json()["error"] == error, r.text

    def raised(self, category: int = 2, lead: int = B, assisting: list[int] | None = None, *,
               text: str | None = None, public: bool = False) -> dict[str, Any]:
        body = {"category": category, "area_code": AREA, "description": text or f"满溢的垃圾桶 {secrets.token_hex(3)}",
                "description_public": public, "lead_id": lead, "assisting_ids": assisting or [],
                "report_hashes": ["0x" + doc_hash("居民反馈").hex()], "channel_id": IDS["channel"]}
        return self.ok("", "subdistrict", body, 201)


@pytest.fixture(scope="module")
def desk_dir(database: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's folder, one per database: the desk, its service and every case are built again."""
    return tmp_path_factory.mktemp(f"cases-api-{database}")


@pytest.fixture(scope="module")
def manifest(deployment: Deployment, desk_dir: Path) -> Path:
    """A CaseDesk of its own with short service levels (tests.ledger.test_cases_model.LEVELS)."""
    private_desk(deployment, desk_dir)
    return desk_dir / "deployment.json"


@pytest.fixture(scope="module")
def ca(request: pytest.FixtureRequest, database: str, deployment: Deployment, manifest: Path,
       desk_dir: Path) -> Iterator[CaseApi]:
    api = api_for(deployment, desk_dir / "api", "cases", manifest_path=manifest, **database_urls(request, database))
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
        yield CaseApi(api, client, ledger_for(deployment, manifest))


# ------------------------------------------------------------------ a case's life, every write and its refusals


def test_a_case_from_raising_to_satisfaction(ca: CaseApi) -> None:
    c = ca.raised(assisting=[A])
    cid = c["id"]
    assert (c["state"], c["lead_name"], c["raiser_name"], c["round"]) == ("dispatched", "城管", "幸福里街道", 1)
    assert [(m["member_id"], m["lead"], m["acknowledged"]) for m in c["team"]] == [(B, True, False), (A, False, False)]
    assert c["description"] is not None and c["description_public"] is False  # the raiser reads its own text
    ca.refused(f"/{cid}/answer", "dept_b", {"evidence": "早"}, 409, "CaseNotAcknowledged")
    c = ca.ok(f"/{cid}/acknowledge", "dept_a")
    assert c["state"] == "dispatched" and c["team"][1]["acknowledged"]  # an assisting department: the state stays
    c = ca.ok(f"/{cid}/acknowledge", "dept_b")
    assert c["state"] == "acknowledged"
    ca.refused(f"/{cid}/acknowledge", "dept_b", None, 409, "CaseAlreadyAcknowledged")
    ca.ok(f"/{cid}/answer", "dept_a", {"evidence": "卫健委已消杀"})
    c = ca.ok(f"/{cid}/answer", "dept_b", {"evidence_hash": "0x" + doc_hash("清运照片").hex()})
    assert c["state"] == "awaiting_evaluation"
    ca.refused(f"/{cid}/answer", "dept_b", {"evidence": "again"}, 409, "CaseAlreadyAnswered")
    ca.refused(f"/{cid}/escalate", "subdistrict", None, 409, "CaseWrongState")
    c = ca.ok(f"/{cid}/evaluate", "subdistrict", {"outcome": "rejected", "reason_code": 7})
    assert c["state"] == "reopened"  # the sub-district's veto
    ca.ok(f"/{cid}/answer", "dept_b", {"evidence": "再次清运"})
    c = ca.ok(f"/{cid}/evaluate", "subdistrict", {"outcome": "fixed"})
    assert c["state"] == "closed_fixed" and c["closed_at"] > 0
    ca.refused(f"/{cid}/evaluate", "subdistrict", {"outcome": "fixed"}, 409, "CaseWrongState")
    c = ca.ok(f"/{cid}/satisfaction", "channel", {"level": "dissatisfied"})
    assert c["state"] == "reopened" and c["dissatisfaction_reopened"] and c["satisfaction"] is None
    ca.ok(f"/{cid}/answer", "dept_b", {"evidence": "第三次清运"})
    ca.ok(f"/{cid}/evaluate", "subdistrict", {"outcome": "fixed"})
    c = ca.ok(f"/{cid}/satisfaction", "channel", {"level": "satisfied"})
    assert (c["state"], c["satisfaction"]) == ("closed_fixed", "satisfied")
    ca.refused(f"/{cid}/satisfaction", "channel", {"level": "satisfied"}, 409, "CaseSatisfactionRecorded")

    # One case, from the index: its timeline, every event with its transaction.
    detail = ca.get(f"/{cid}", "subdistrict")
    events = [e["event"] for e in detail["timeline"]]
    assert events[:2] == ["CaseRaised", "CaseDispatched"] and events.count("CaseAnswered") == 4
    assert events.count("CaseReopened") == 2 and events[-1] == "SatisfactionRecorded"
    for e in detail["timeline"]:
        receipt = ca.led.receipt(e["tx_hash"])
        assert receipt is not None and receipt.block_number == e["block_number"]
    assert detail["timeline"][0]["member_id"] == IDS["subdistrict"] and detail["report_hashes"]
    assert detail["description"] and c["description"] is None  # the channel does not read it; the raiser does
    assert {k: v for k, v in detail.items() if k not in ("timeline", "raised_at", "report_hashes", "description")} == {
        k: v for k, v in c.items() if k != "description"}  # the index's answer equals the chain's views


def test_refusals_name_the_contract_s_error(ca: CaseApi) -> None:
    body = {"category": 2, "area_code": AREA, "description": "x", "lead_id": B}
    ca.refused("", "subdistrict", body | {"category": 9}, 404, "CaseUnknownCategory")
    ca.refused("", "subdistrict", body | {"lead_id": IDS["enterprise"]}, 409, "CaseNotDepartment")
    ca.refused("", "subdistrict", body | {"assisting_ids": [B]}, 409, "CaseDuplicateDepartment")
    assert ca.post("", "subdistrict", body | {"assisting_ids": list(range(1, 9))}).status_code == 422
    assert ca.post("/1/answer", "dept_b", {}).status_code == 422  # neither evidence nor its hash
    missing = 10**6
    ca.refused(f"/{missing}/acknowledge", "dept_b", None, 404, "CaseUnknownCase")
    assert ca.client.get(f"/api/v1/cases/{missing}", headers=ca.api.auth("c1")).status_code == 404
    cid = ca.raised()["id"]
    ca.refused(f"/{cid}/send-back", "dept_b", {"reason_code": 1, "responsible_id": B}, 409, "CaseSelfResponsible")
    ca.refused(f"/{cid}/send-back", "dept_b", {"reason_code": 1, "responsible_id": 999}, 404, "CaseUnknownMember")
    ca.refused(f"/{cid}/redispatch", "subdistrict", {"category": 2, "lead_id": A}, 409, "CaseWrongState")
    ca.refused(f"/{cid}/satisfaction", "channel", {"level": "satisfied"}, 409, "CaseWrongState")
    ca.refused(f"/{cid}/answer", "dept_b", {"evidence_hash": "0x" + "00" * 32}, 409, "CaseNotAcknowledged")


#: Per state-changing route: a caller without the right, and the contract's refusal (403 each).
WITHOUT_ROLE: dict[str, tuple[str, dict[str, Any] | None, str]] = {
    "": ("dept_a", {"category": 2, "area_code": AREA, "description": "x", "lead_id": B}, "CaseMissingRole"),
    "/acknowledge": ("c1", None, "CaseNotNamed"),  # a department, not named in the case
    "/answer": ("subdistrict", {"evidence": "x"}, "CaseNotNamed"),
    "/send-back": ("district", {"reason_code": 1, "responsible_id": IDS["enterprise"]}, "CaseNotNamed"),
    "/redispatch": ("subdistrict", {"category": 2, "lead_id": A}, "CaseMissingRole"),  # escalated: the district's
    "/evaluate": ("dept_b", {"outcome": "fixed"}, "CaseNotRaiser"),
    "/escalate": ("dept_b", None, "CaseNotOverdue"),  # not the raiser, not overdue
    "/satisfaction": ("subdistrict", {"level": "satisfied"}, "CaseMissingRole"),
}


def test_every_state_changing_route_refuses_a_caller_without_the_role(ca: CaseApi) -> None:
    routes = {r.path.removeprefix("/api/v1/cases").replace("/{case_id}", "")
              for r in cases_router.routes if isinstance(r, APIRoute) and "POST" in r.methods}
    assert routes == set(WITHOUT_ROLE)
    open_case, up = ca.raised()["id"], ca.raised()["id"]
    ca.ok(f"/{up}/escalate", "subdistrict")
    closed = ca.raised()["id"]
    ca.ok(f"/{closed}/acknowledge", "dept_b")
    ca.ok(f"/{closed}/answer", "dept_b", {"evidence": "ok"})
    ca.ok(f"/{closed}/evaluate", "subdistrict", {"outcome": "not_fixed"})
    on = {"/redispatch": up, "/satisfaction": closed}
    for route, (label, body, error) in WITHOUT_ROLE.items():
        path = f"/{on.get(route, open_case)}{route}" if route else ""
        ca.refused(path, label, body, 403, error)
    assert ca.ok(f"/{closed}/satisfaction", "channel", {"level": "basically_satisfied"})["satisfaction"]
    assert ca.post(f"/{open_case}/acknowledge", "outsider").status_code == 403  # no member: refused by its key


def test_send_back_redispatch_and_the_district(ca: CaseApi) -> None:
    cid = ca.raised(lead=A)["id"]
    c = ca.ok(f"/{cid}/send-back", "dept_a", {"reason_code": 3, "responsible_id": IDS["enterprise"]})
    assert (c["state"], c["send_backs"]) == ("sent_back", 1)
    ca.refused(f"/{cid}/redispatch", "c1", {"category": 2, "lead_id": B}, 403, "CaseNotRaiser")
    c = ca.ok(f"/{cid}/redispatch", "subdistrict", {"category": 1, "lead_id": B, "assisting_ids": [A]})
    assert (c["state"], c["round"], c["category"], c["lead_id"]) == ("dispatched", 2, 1, B)
    c = ca.ok(f"/{cid}/send-back", "dept_b", {"reason_code": 4, "responsible_id": 0})  # no owner: to the district
    assert c["state"] == "escalated"
    c = ca.ok(f"/{cid}/redispatch", "district", {"category": 2, "lead_id": IDS["district"]})  # it takes the case
    assert (c["state"], c["lead_name"], c["round"]) == ("dispatched", "区城市运行中心", 3)
    timeline = [e["event"] for e in ca.get(f"/{cid}", "district")["timeline"]]
    assert timeline.count("CaseDispatched") == 3 and timeline.count("CaseEscalated") == 1


def test_overdue_cases_are_listed_and_anyone_may_escalate_them(ca: CaseApi) -> None:
    cid = ca.raised(category=1)["id"]  # 30 s to acknowledge
    assert cid not in [c["id"] for c in ca.get(overdue=True, limit=500)["data"]]
    ca.refused(f"/{cid}/escalate", "resident", None, 403, "CaseNotOverdue")
    move_time(ca.led, 31)
    listed = ca.get(overdue=True, state="dispatched", limit=500)
    assert cid in [c["id"] for c in listed["data"]] and all(c["overdue"] for c in listed["data"])
    assert CaseDesk(ca.led).is_overdue(cid)
    c = ca.ok(f"/{cid}/escalate", "resident")  # any member, once overdue
    assert c["state"] == "escalated" and c["overdue"] is False
    cause = ca.get(f"/{cid}")["timeline"][-1]
    assert cause["event"] == "CaseEscalated" and cause["args"]["cause"] == "1"  # Overdue (canonical: decimal text)


# ------------------------------------------------------------------ idempotency and respond-async


def test_a_retried_write_with_the_same_key_writes_once(ca: CaseApi) -> None:
    desk = CaseDesk(ca.led)
    body = {"category": 2, "area_code": AREA, "description": f"同一请求 {secrets.token_hex(3)}", "lead_id": B}
    key = {"Idempotency-Key": f"raise-{secrets.token_hex(6)}"}
    before = desk.case_count()
    first = ca.post("", "subdistrict", body, **key)
    again = ca.post("", "subdistrict", body, **key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert desk.case_count() == before + 1
    assert ca.post("", "subdistrict", body | {"category": 1}, **key).status_code == 409  # another request, same key
    cid = first.json()["case"]["id"]
    ack = {"Idempotency-Key": f"ack-{secrets.token_hex(6)}"}
    once, twice = ca.post(f"/{cid}/acknowledge", "dept_b", **ack), ca.post(f"/{cid}/acknowledge", "dept_b", **ack)
    assert once.status_code == twice.status_code == 200 and once.json() == twice.json()  # not AlreadyAcknowledged


def test_respond_async_answers_202_and_the_case_follows(ca: CaseApi) -> None:
    cid = ca.raised()["id"]
    r = ca.post(f"/{cid}/acknowledge", "dept_b", **{"Prefer": "respond-async", "Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 202 and r.headers["Location"] == r.json()["status_url"]
    ca.led.wait(r.json()["tx_hash"])
    assert ca.get(f"/{cid}")["state"] == "acknowledged"


# ------------------------------------------------------------------ descriptions


def test_a_description_is_shown_only_where_it_may_be(ca: CaseApi) -> None:
    private = ca.raised(lead=B, assisting=[A], text="302室漏水 (住户隐私)")
    public = ca.raised(lead=B, text="幸福里3号楼垃圾满溢", public=True)
    assert public["description_public"] and public["description_hash"] == "0x" + doc_hash("幸福里3号楼垃圾满溢").hex()
    assert private["description_hash"] != "0x" + doc_hash("302室漏水 (住户隐私)").hex()  # salted
    for label, sees in (("subdistrict", True), ("dept_a", True), ("district", True), ("auditor", True),
                        ("c1", False), ("resident", False), ("channel", False)):
        assert ca.get(f"/{private['id']}", label)["description"] == ("302室漏水 (住户隐私)" if sees else None), label
        assert ca.get(f"/{public['id']}", label)["description"] == "幸福里3号楼垃圾满溢", label
        doc = ca.client.get(f"/api/v1/fund/documents/{private['description_hash']}", headers=ca.api.auth(label))
        assert doc.status_code == (200 if sees else 404), label
    listed = {c["id"]: c for c in ca.get(label="c1", raiser=IDS["subdistrict"], limit=500)["data"]}
    assert listed[public["id"]]["description"] and listed[private["id"]]["description"] is None


# ------------------------------------------------------------------ reads from the index alone


def test_reads_make_no_chain_call_per_row_and_equal_the_views(
    ca: CaseApi, deployment: Deployment, manifest: Path, desk_dir: Path, databases: dict[str, str]
) -> None:
    for _ in range(3):
        ca.raised(assisting=[A])
    desk = CaseDesk(ca.led)
    address = ca.led.manifest.address(NAME)  # type: ignore[union-attr]
    with RpcProxy(deployment.ganache.config.url) as proxy:
        api = api_for(deployment, desk_dir / "proxied", "caselists", rpc_urls=[proxy.url], manifest_path=manifest,
                      **databases)
        with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
            reads = CaseApi(api, client, ca.led)

            def counted(path: str = "", **params: Any) -> tuple[Any, list[str]]:
                before = len(proxy.calls)
                body = reads.get(path, "subdistrict", **params)
                return body, [m for m, p in proxy.calls[before:] if m == "eth_call" and p[0]["to"] == address]

            counted()  # warm: the index caught up, the key checked
            for params in ({}, {"state": "dispatched"}, {"department": A}, {"raiser": IDS["subdistrict"]},
                           {"category": 2, "overdue": False}, {"since": 0, "until": 2**40, "offset": 1, "limit": 3}):
                body, calls = counted(**params)
                assert calls == [] and body["data"], params
                for c in body["data"]:
                    view = desk.case(c["id"])
                    assert (c["state"], c["overdue"], c["resolve_deadline"], c["round"]) == (
                        view.state.name.lower(), view.overdue, view.resolve_deadline, view.round)
                    assert [m["member_id"] for m in c["team"]] == list(desk.team(c["id"]))
            everything, _ = counted(limit=500)
            assert everything["count"] == desk.case_count()
            named = [c for c in everything["data"] if A in [m["member_id"] for m in c["team"]]]
            assert counted(state="dispatched", department=A)[0]["count"] == sum(
                1 for c in named if c["state"] == "dispatched")
            for path in (f"/{everything['data'][0]['id']}", "/metrics", "/service-levels"):
                assert counted(path)[1] == [], path


def test_the_metrics_are_the_reducer_s_over_the_chain(ca: CaseApi) -> None:
    model, now = folded(ca.led)  # the chain's events, read by the log scanner (not the index)
    for by in ("department", "category", "month"):
        served = ca.get("/metrics", by=by)
        assert served["at"] == now and served["formulas"]["on_time"].startswith("closed on time")
        expected = tallies(model, now, by)  # type: ignore[arg-type]
        assert [row["key"] for row in served["data"]] == [str(k) for k in expected]
        for row, t in zip(served["data"], expected.values(), strict=True):
            assert row["responses"] == asdict(t.responses) and row["closings"] == asdict(t.closings)
            assert row["satisfactions"] == asdict(t.satisfactions) and row["rates"] == t.rates()
        assert served["total"]["rates"] == overall(model, now).rates()
    by_department = {row["key"]: row for row in ca.get("/metrics", by="department")["data"]}
    assert by_department[str(B)]["name"] == "城管"
    levels = ca.get("/service-levels")
    assert levels["satisfaction_window"] == WINDOW
    assert [(lv["category"], lv["ack_seconds"], lv["resolve_seconds"]) for lv in levels["data"]] == [
        lv.spec() for lv in LEVELS]


# ------------------------------------------------------------------ over real HTTP


def test_over_real_http(ca: CaseApi) -> None:
    with LiveServer(ca.api.settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        live = CaseApi(ca.api, http, ca.led)
        cid = live.raised(assisting=[A])["id"]
        live.ok(f"/{cid}/acknowledge", "dept_b")
        live.refused(f"/{cid}/acknowledge", "dept_b", None, 409, "CaseAlreadyAcknowledged")
        live.refused(f"/{cid}/evaluate", "dept_a", {"outcome": "fixed"}, 403, "CaseNotRaiser")
        c = live.ok(f"/{cid}/answer", "dept_b", {"evidence": "现场已清理"})
        assert c["state"] == "awaiting_evaluation"
        assert live.get(f"/{cid}")["timeline"][-1]["event"] == "CaseAnswered"
        assert cid in [x["id"] for x in live.get(state="awaiting_evaluation", limit=500)["data"]]
        assert live.get("/metrics", by="month")["total"]["responses"]["dispatched"] > 0


def test_the_auditor_finds_the_served_metrics_equal_to_its_own(ca: CaseApi) -> None:
    """``cogov audit verify --api-url`` against this service (not a stub): the case metrics it
    serves equal the auditor's own fold of the chain, for every grouping."""
    from ledger.audit import AuditOptions, run_audit
    from ledger.manifest import Manifest

    ca.raised()  # at least one case dispatched since the last read
    key = ca.api.auth("auditor")["Authorization"].removeprefix("Bearer ")
    manifest = Manifest.load(ca.api.settings.manifest_path)
    with LiveServer(ca.api.settings) as server:
        report = run_audit(ca.led, manifest, AuditOptions(api_url=server.url, api_key=key))
    rule = next(r for r in report.rules if r.id == "cases.metrics-mismatch")
    assert rule.checked > 3 and rule.errors == 0, [(f.message, f.records) for f in report.findings
                                                    if f.rule == "cases.metrics-mismatch"]
    assert set(report.summary["cases"]["api_metrics"]) == {"department", "category", "month"}


def test_the_metrics_name_the_block_their_time_is_of(
    ca: CaseApi, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index advances while the metrics are answered (a follower racing the request, here a
    real sync of the index at that moment): the answer still names the block its figures and time
    are of, so an auditor's comparison of ``at`` with that block's time holds."""
    import api.services.cases as service

    state = ca.client.app.state.service  # type: ignore[attr-defined]
    desk, raiser = CaseDesk(ca.led), deployment.signers["subdistrict"]
    cached = service.Members.cached

    def advancing(index: Any) -> Any:
        # after the fold, before the answer is built: a new case on chain, and the index takes it in
        desk.raise_case(raiser, 2, AREA, doc_hash(f"race {secrets.token_hex(3)}"), B)
        ca.led.rpc("evm_mine", [])  # one block past it, whatever confirmations the index waits for
        state.index.sync()
        return cached(index)

    monkeypatch.setattr(service.Members, "cached", staticmethod(advancing))
    served = ca.get("/metrics", by="department")
    assert state.index.last_block() > served["block_number"]  # the index did move on meanwhile
    assert served["at"] == state.index.block_time(served["block_number"])
