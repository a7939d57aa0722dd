"""The portal's pages and public JSON over a synthetic event index (no chain): fast, exact checks.

The browser tests against the demo chain are in tests/e2e/test_portal.py.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from eth_utils.crypto import keccak
from fastapi.testclient import TestClient

from api.main import create_app
from api.middleware import client_address
from api.portal import i18n, views
from api.portal.pages import money, page_cache
from api.services.index import AnswerCache, Folded
from api.settings import Settings
from ledger.errors import IndexUnavailable
from ledger.events import Event
from ledger.fund.docs import open_store
from ledger.index import EventRow

RESIDENT = "0x" + "11" * 20
ENTERPRISE = "0x" + "22" * 20
GOV = "0x" + "33" * 20
CONTRACTOR = "0x" + "44" * 20
TX = ["0x" + f"{i:064x}" for i in range(200)]
TITLE = "幸福里加装电梯"
ZERO = bytes(32)


def h(text: str) -> bytes:
    return keccak(text.encode("utf-8"))


class FakeIndex:
    """Just enough of ledger.index.Indexer: events in chain order, contracts, last_block, version."""

    contracts: ClassVar[dict[str, str]] = {
        "MembershipRegistry": "0x" + "aa" * 20, "DataSharing": "0x" + "bb" * 20, "CoGovFund": "0x" + "cc" * 20}

    def __init__(self, events: list[tuple[str, str, dict[str, Any]]], broken: bool = False) -> None:
        self.rows = [
            EventRow(id=i, block_number=10 + i, block_hash="0x", block_time=1_700_000_000 + 3600 * i,
                     tx_hash=TX[i], tx_index=0, log_index=0, contract=c, address="0x", event=e,
                     args=a, args_json=json.dumps(a, default=str))
            for i, (c, e, a) in enumerate(events)
        ]
        self.broken = broken

    def events(self, contract: str | None = None, event: str | None = None, *, tx_hash: str | None = None,
               args: dict[str, Any] | None = None, limit: int = 100, offset: int = 0, order: str = "asc",
               **_: Any) -> list[Event]:
        if self.broken:
            raise IndexUnavailable("index lost")
        rows = [r for r in self.rows if (contract is None or r.contract == contract)
                and (event is None or r.event == event) and (tx_hash is None or r.tx_hash == tx_hash)
                and all(str(r.args.get(k)).lower() == str(v).lower() for k, v in (args or {}).items())]
        if order == "desc":
            rows.reverse()
        return [_event(r) for r in rows[offset:offset + limit]]

    def iter_events(self, page: int = 5000, contract: str | None = None, event: str | None = None,
                    **kw: Any) -> list[Event]:
        return self.events(contract, event, limit=len(self.rows) + 1, **kw)

    def count_events(self, contract: str | None = None, event: str | None = None, **kw: Any) -> int:
        return len(self.events(contract, event, limit=len(self.rows) + 1, **kw))

    def last_block(self) -> int:
        return self.rows[-1].block_number if self.rows else 0

    def block_time(self, block: int) -> int | None:
        return next((r.block_time for r in self.rows if r.block_number == block), None)

    def kept_blocks(self) -> dict[int, str]:
        return {r.block_number: r.block_hash for r in self.rows}

    def version(self) -> tuple[int, str] | None:
        if self.broken:
            raise IndexUnavailable("index lost")
        return (self.last_block(), f"0x{len(self.rows):064x}") if self.rows else None


def _event(r: EventRow) -> Event:
    return Event(contract=r.contract, name=r.event, args=r.args, block_number=r.block_number, block_hash=r.block_hash,
                 tx_hash=r.tx_hash, log_index=r.log_index, time=r.block_time, address=r.address, tx_index=r.tx_index)


def scenario() -> list[tuple[str, str, dict[str, Any]]]:
    R, F, D = "MembershipRegistry", "CoGovFund", "DataSharing"
    return [
        (R, "MemberAdmitted", {"memberId": 1, "name": "财政局", "kind": 0, "roles": 16, "account": GOV}),
        (R, "MemberAdmitted", {"memberId": 2, "name": "幸福里小区居民", "kind": 2, "roles": 64, "account": RESIDENT}),
        (R, "MemberAdmitted", {"memberId": 3, "name": "绿城物业", "kind": 1, "roles": 64, "account": ENTERPRISE}),
        (R, "MemberAdmitted", {"memberId": 4, "name": "委员会甲", "kind": 2, "roles": 8, "account": "0x" + "55" * 20}),
        (R, "MemberAdmitted", {"memberId": 5, "name": "委员会乙", "kind": 1, "roles": 8, "account": "0x" + "66" * 20}),
        (F, "ContributionReceived", {"receiptId": 1, "memberId": 1, "contributor": GOV, "kind": 0, "projectId": 0,
                                     "amount": 500_000, "memoHash": h("memo")}),
        (F, "ProjectProposed", {"projectId": 1, "proposerId": 1, "proposer": GOV, "beneficiary": CONTRACTOR,
                                "titleHash": h(TITLE), "budget": 300_000, "milestoneCount": 1, "approvalMotionId": 1}),
        (F, "MilestoneDefined", {"projectId": 1, "index": 0, "amount": 300_000, "descriptionHash": h("一期")}),
        (F, "MotionProposed", {"motionId": 1, "kind": 0, "projectId": 1, "proposerId": 1, "proposer": GOV,
                               "amount": 0}),
        (F, "ContributionReceived", {"receiptId": 2, "memberId": 2, "contributor": RESIDENT, "kind": 2, "projectId": 1,
                                     "amount": 20_000, "memoHash": h("我家的捐款")}),
        (F, "VoteCast", {"motionId": 1, "memberId": 4, "voter": "0x" + "55" * 20, "support": True,
                         "approvals": 1, "rejections": 0}),
        (F, "VoteCast", {"motionId": 1, "memberId": 5, "voter": "0x" + "66" * 20, "support": False,
                         "approvals": 1, "rejections": 1}),
        (F, "MotionDecided", {"motionId": 1, "kind": 0, "projectId": 1, "passed": True,
                              "approvals": 2, "rejections": 1}),
        (F, "ProjectApproved", {"projectId": 1, "unlocksAt": 1_700_000_000}),
        (F, "AllocationApproved", {"motionId": 2, "projectId": 1, "amount": 100_000}),
        (F, "PayoutMade", {"payoutId": 1, "projectId": 1, "milestoneIndex": 0, "beneficiary": CONTRACTOR,
                           "amount": 50_000, "invoiceHash": h("发票"), "treasurerId": 1, "fromEarmarked": 20_000,
                           "fromGeneral": 30_000}),
        (D, "DatasetRegistered", {"datasetId": 1, "ownerId": 1, "title": "高龄独居老人登记册", "classification": 2,
                                  "metadataHash": h("m"), "schemaHash": h("s"), "contentHash": h("c"),
                                  "fieldCount": 6}),
        (D, "AccessRequested", {"requestId": 1, "datasetId": 1, "requesterId": 3, "purposeCode": 1,
                                "purposeHash": h("上门探访"), "fieldMask": 0b1100, "rowFilterHash": ZERO,
                                "duration": 60, "maxAccesses": 0, "noOnwardSharing": True, "expiresAt": 1}),
        (D, "GrantCreated", {"grantId": 1, "requestId": 1, "datasetId": 1, "granteeId": 3, "fieldMask": 0b1100,
                             "rowFilterHash": ZERO, "schemaHash": h("s"), "maxAccesses": 0, "noOnwardSharing": True,
                             "expiresAt": 2_000_000_000}),
        (D, "AccessRecorded", {"grantId": 1, "datasetId": 1, "granteeId": 3, "seq": 1, "queryHash": h("q"),
                               "rowCount": 40, "at": 1, "fieldMask": 0b0100}),
        (D, "AccessRefused", {"datasetId": 1, "grantId": 0, "requesterId": 2, "reason": 0,
                              "queryHash": h("q"), "seq": 1}),
    ]


class FakeLedger:
    def rpc(self, method: str, params: list[Any]) -> Any:
        assert method == "eth_getTransactionReceipt"
        if params[0] not in TX:
            return None  # the node does not know it
        return {"status": "0x1", "blockNumber": "0x10", "gasUsed": "0x5208", "from": RESIDENT,
                "to": FakeIndex.contracts["CoGovFund"]}


class FakeState:
    def __init__(self, index: FakeIndex, directory: Path, **settings: Any) -> None:
        self.index = index
        self.ledger = FakeLedger()
        self.manifest = None
        settings.setdefault("service_db_url", f"sqlite:///{directory / 'service.db'}")
        self.settings = Settings(env="test", manifest_path=directory / "deployment.json",
                                 audit_report_path=directory / "audit-report.json",
                                 gateway_master_key_file=directory / "gateway-master.key", **settings)
        self.docs = open_store(self.settings)  # the public texts (an old fund-docs.json there: imported)

    def start_index(self) -> None: ...

    def index_if_current(self) -> FakeIndex:  # nothing written here: always current
        return self.index

    def close(self) -> None: ...


def _client(index: FakeIndex, directory: Path, **settings: Any) -> TestClient:
    state = FakeState(index, directory, **settings)
    return TestClient(create_app(state.settings, state=state), raise_server_exceptions=False)  # type: ignore[arg-type]


@pytest.fixture
def client(tmp_path: Path, databases: dict[str, str]) -> Iterator[TestClient]:
    """The portal over the fake index; its texts (the old JSON store imported at start) in the
    service database, SQLite then PostgreSQL (the index is the fake one: ``index_db_url`` unused)."""
    (tmp_path / "fund-docs.json").write_text(json.dumps({"version": 1, "documents": {
        "0x" + h(TITLE).hex(): {"kind": "title", "text": TITLE},
        "0x" + h("我家的捐款").hex(): {"kind": "memo", "text": "我家的捐款"},
        "0x" + h("伪造").hex(): {"kind": "title", "text": "不是这段文字"},
    }}), encoding="utf-8")
    with _client(FakeIndex(scenario()), tmp_path, **databases) as c:
        yield c


def test_both_languages_have_the_same_keys() -> None:
    assert set(i18n.STRINGS["zh-CN"]) == set(i18n.STRINGS["en"])
    assert i18n.pick(None, None) == "zh-CN"
    assert i18n.pick("en", "zh-CN") == "en" and i18n.pick(None, "en") == "en" and i18n.pick("fr", None) == "zh-CN"


def test_money_format() -> None:
    assert money(0) == "¥0.00" and money(123_456_789) == "¥1,234,567.89" and money(-5) == "-¥0.05"


def test_overview_json_is_the_view_function(client: TestClient) -> None:
    body = client.get("/api/v1/public/overview").json()
    expected = views.overview(FakeIndex(scenario()))
    expected.pop("series")
    assert body == json.loads(json.dumps(expected))
    assert body["total_contributed"] == 520_000 and body["total_paid_out"] == 50_000
    assert body["balance"] == 470_000
    assert body["contributed_by_kind"] == {"government": 500_000, "enterprise": 0, "resident": 20_000}


def test_overview_page_shows_the_same_figures(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-language"] == "zh-CN"
    assert 'data-figure="balance" data-value="470000">¥4,700.00<' in r.text
    assert '<html lang="zh-CN">' in r.text and "社区共治基金概览" in r.text
    assert "<svg" in r.text and "</svg>" in r.text
    assert f'href="/tx/{TX[15]}"' in r.text  # the payout links to its transaction


def test_language_switch_sets_a_cookie(client: TestClient) -> None:
    r = client.get("/projects?lang=en")
    assert '<html lang="en">' in r.text and "<h1>Projects</h1>" in r.text
    assert r.cookies.get("lang") == "en"
    assert 'href="/projects?lang=zh-CN"' in r.text
    r = client.get("/data-sharing")  # the cookie carries the choice
    assert '<html lang="en">' in r.text
    client.cookies.clear()
    assert '<html lang="zh-CN">' in client.get("/data-sharing").text


def _more_projects(n: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The scenario with projects 2 .. ``n`` + 1 proposed after it (each with its approval motion)."""
    F = "CoGovFund"
    more: list[tuple[str, str, dict[str, Any]]] = []
    for pid in range(2, n + 2):
        more += [
            (F, "ProjectProposed", {"projectId": pid, "proposerId": 1, "proposer": GOV, "beneficiary": CONTRACTOR,
                                    "titleHash": h(f"项目 {pid}"), "budget": 1_000 * pid, "milestoneCount": 0,
                                    "approvalMotionId": 100 + pid}),
            (F, "MotionProposed", {"motionId": 100 + pid, "kind": 0, "projectId": pid, "proposerId": 1,
                                   "proposer": GOV, "amount": 0}),
        ]
    return scenario() + more


def test_the_projects_page_shows_twenty_a_page_newest_first(tmp_path: Path, databases: dict[str, str]) -> None:
    """45 projects: three pages (20, 20, 5), newest first, each linking to its neighbours; a page
    past the last is the last, and only pages that exist are kept (review of issue 18: the one
    page grew with every project, 219 KB at 51)."""
    with _client(FakeIndex(_more_projects(44)), tmp_path, **databases) as c:
        def shown(path: str) -> list[int]:
            r = c.get(path)
            assert r.status_code == 200, r.text
            return [int(x) for x in re.findall(r'data-project="(\d+)"', r.text)]

        assert shown("/projects") == list(range(45, 25, -1))
        assert shown("/projects?page=2") == list(range(25, 5, -1))
        assert shown("/projects?page=3") == [5, 4, 3, 2, 1]
        first, second, last = (c.get(p).text for p in ("/projects", "/projects?page=2", "/projects?page=3"))
        assert "第 1 页，共 3 页（45 个项目，最新的在前）" in first
        assert 'rel="next" href="/projects?page=2"' in first and 'rel="prev"' not in first
        assert 'rel="prev" href="/projects"' in second and 'rel="next" href="/projects?page=3"' in second
        assert 'rel="prev" href="/projects?page=2"' in last and 'rel="next"' not in last
        assert 'href="/projects?page=3&amp;lang=en"' in last  # the language switch keeps the page
        assert shown("/projects?page=999") == [5, 4, 3, 2, 1]  # past the last: the last
        assert c.get("/projects?page=999").headers["etag"] == c.get("/projects?page=3").headers["etag"]
        for bad in ("/projects?page=0", "/projects?page=abc", "/activity?page=-1", "/activity?project=x"):
            r = c.get(bad)  # a page's bad parameter is told as a page, in its language
            assert r.status_code == 422 and r.headers["content-type"].startswith("text/html"), bad
            assert "<h1>链接有误</h1>" in r.text and "页码须为从 1 起的整数" in r.text
        assert "<h1>Invalid link</h1>" in c.get("/projects?page=x&lang=en").text
        en = c.get("/projects?page=2&lang=en").text
        assert "Page 2 of 3 (45 projects, newest first)" in en and "← Newer" in en and "Older →" in en
    with _client(FakeIndex(scenario()), tmp_path / "one", **databases) as c:
        one = c.get("/projects").text  # one page: no pager
        assert re.findall(r'data-project="(\d+)"', one) == ["1"] and 'data-testid="pager"' not in one


def test_the_activity_page_shows_a_hundred_movements_a_page_and_totals_them_all(
    tmp_path: Path, databases: dict[str, str]
) -> None:
    """110 more contributions: page 1 the newest 100, page 2 the rest; the total is of every
    movement on every page, and the links keep the filter."""
    more = [("CoGovFund", "ContributionReceived", {"receiptId": 2 + i, "memberId": 2, "contributor": RESIDENT,
                                                     "kind": 2, "projectId": 0, "amount": 100 + i, "memoHash": ZERO})
            for i in range(1, 111)]
    every = scenario() + more
    total = sum(int(a["amount"]) for _, e, a in every if e in views.FUND_MONEY_EVENTS)
    with _client(FakeIndex(every), tmp_path, **databases) as c:
        def receipts(path: str) -> list[int]:
            r = c.get(path)
            assert r.status_code == 200, r.text
            return [int(x) for x in re.findall(r"收据 #(\d+)", r.text)]

        first, second = receipts("/activity"), receipts("/activity?page=2")
        assert first == list(range(112, 12, -1))  # the newest 100: receipts 112 .. 13
        assert second == [*range(12, 2, -1), 2, 1]  # the rest, and the payout's row among them
        page = c.get("/activity?page=2").text
        assert f'data-value="{total}"' in page or money(total) in page
        assert "第 2 页，共 2 页（113 笔，最新的在前）" in page and 'rel="prev" href="/activity"' in page
        filtered = c.get("/activity?event=ContributionReceived").text
        assert 'rel="next" href="/activity?event=ContributionReceived&amp;page=2"' in filtered
        assert receipts("/activity?event=ContributionReceived&page=9") == [*range(12, 0, -1)]  # the last


def test_an_account_s_contributions_are_searched_twenty_a_page_newest_first(
    tmp_path: Path, databases: dict[str, str]
) -> None:
    """The resident's 45 contributions (receipt 2 and 43 more): pages of 20, newest first, the
    chart only of the page's receipts; a page past the last shows the last and is not kept."""
    more = [("CoGovFund", "ContributionReceived", {"receiptId": 2 + i, "memberId": 2, "contributor": RESIDENT,
                                                     "kind": 2, "projectId": 0, "amount": 100 + i, "memoHash": ZERO})
            for i in range(1, 45)]
    index = FakeIndex(scenario() + more)
    with _client(index, tmp_path, **databases) as c:
        kept = page_cache(c.app.state.service, index)  # type: ignore[attr-defined]

        def receipts(page: int | None = None) -> tuple[list[int], str]:
            r = c.get("/contributions", params={"q": RESIDENT, **({"page": page} if page else {})})
            assert r.status_code == 200, r.text
            return [int(x) for x in re.findall(r'data-receipt="(\d+)"', r.text)], r.text

        first, html = receipts()
        assert first == list(range(46, 26, -1))
        assert "第 1 页，共 3 页（45 笔捐助，最新的在前）" in html
        assert f'rel="next" href="/contributions?q={RESIDENT}&amp;page=2"' in html
        assert "收据 #46" in html and "收据 #26" not in html  # the chart: this page's receipts only
        assert receipts(2)[0] == list(range(26, 6, -1))
        last, html = receipts(3)
        assert last == [6, 5, 4, 3, 2] and f'rel="prev" href="/contributions?q={RESIDENT}&amp;page=2"' in html
        entries = len(kept)
        for page in (4, 99, 10**6):  # past the last: the last page, never kept
            assert receipts(page)[0] == last
        assert len(kept) == entries


def test_project_page_votes_payouts_and_verified_titles(client: TestClient) -> None:
    r = client.get("/projects/1")
    assert r.status_code == 200
    html = r.text
    assert TITLE in html  # the title's text matches its on-chain hash
    assert "不是这段文字" not in html and "我家的捐款" not in html  # forged titles and memos never
    assert 'data-vote="approve">委员会甲<' in html and 'data-vote="reject">委员会乙<' in html
    assert "0x" + h("发票").hex() in html  # the payout's invoice hash
    p = views.project(FakeIndex(scenario()), 1)
    assert p is not None
    assert (p["paid"], p["left"], p["available"], p["state"]) == (50_000, 250_000, 70_000, "active")
    assert client.get("/projects/9").status_code == 404


def test_trace_by_receipt_and_by_account(client: TestClient) -> None:
    r = client.get("/contributions", params={"q": "#2"})
    assert 'data-funded-project="1"' in r.text and "幸福里小区居民" in r.text
    r = client.get("/contributions", params={"q": RESIDENT.upper().replace("0X", "0x")})
    assert 'data-receipt="2"' in r.text and 'data-receipt="1"' not in r.text
    assert RESIDENT[2:] not in r.text.split("</form>")[1].lower()  # never echoed in the result
    assert 'role="alert"' in client.get("/contributions", params={"q": "drop table"}).text
    assert 'role="status"' in client.get("/contributions", params={"q": "99"}).text


def test_data_sharing_is_statistics_only(client: TestClient) -> None:
    html = client.get("/data-sharing").text
    d = views.data_sharing(FakeIndex(scenario()))
    assert d["totals"] == {"datasets": 1, "requests": 1, "denied": 0, "grants": 1, "accesses": 1, "refused": 1,
                           "logged": 0}
    assert d["datasets"][0]["sensitive"] == 1 and d["grants"][0]["requester"] == "绿城物业"
    assert "高龄独居老人登记册" not in html and "上门探访" not in html
    # the published purpose vocabulary, by name, with counts (request 1: purpose 1, granted)
    assert [(p["code"], p["requests"], p["grants"]) for p in d["purposes"]][:2] == [(1, 1, 1), (2, 0, 0)]
    assert len(d["purposes"]) == 12 and "公共服务 · public service delivery" in html
    assert "政务公开 · open government information" in html


def test_tx_page_shows_public_fields_only(client: TestClient) -> None:
    html = client.get(f"/tx/{TX[9]}").text  # the resident's contribution
    assert "ContributionReceived" in html and "幸福里小区居民" in html
    assert RESIDENT[2:] not in html.lower() and "0x" + h("我家的捐款").hex() not in html
    html = client.get(f"/tx/{TX[17]}").text  # an access request: no purpose
    assert "0x" + h("上门探访").hex() not in html and "purposeCode" not in html
    assert client.get("/tx/nothex").status_code == 404


def test_verify_without_an_audit_says_how_to_run_one(client: TestClient) -> None:
    html = client.get("/verify").text
    assert "尚无审计报告" in html and "cogov audit verify" in html


def test_verify_shows_the_latest_verdict(tmp_path: Path) -> None:
    (tmp_path / "audit-report.json").write_text(json.dumps(
        {"ok": False, "generated_at": "2025-01-01T00:00:00Z", "block": 123,
         "checks": [{"name": "payouts", "ok": False, "violations": [{"x": 1}]}, {"name": "code", "ok": True}]}))
    with _client(FakeIndex(scenario()), tmp_path) as c:
        html = c.get("/verify?lang=en").text
    assert 'data-testid="verdict">' in html and "Violations found" in html and "payouts" in html


def test_a_lost_index_is_a_503_page_not_a_trace(tmp_path: Path) -> None:
    with _client(FakeIndex(scenario(), broken=True), tmp_path) as c:
        for path in ("/", "/projects", "/projects/1", "/data-sharing", "/contributions?q=1", "/activity"):
            r = c.get(path)
            assert r.status_code == 503, path
            assert "事件索引暂不可用" in r.text


def test_public_args_hide_private_fields() -> None:
    members = views.Members()
    members.by_id[2] = views.Member(2, "幸福里小区居民", "resident_group")
    members.by_account[RESIDENT] = 2
    shown = dict(views.public_args("AccessRequested", scenario()[17][2], members))
    assert shown == {"requestId": "1", "datasetId": "1", "requesterId": "#3", "duration": "60", "expiresAt": "1"}
    shown = dict(views.public_args("ContributionReceived", scenario()[9][2], members))
    assert shown["contributor"] == "幸福里小区居民" and shown["kind"] == "resident" and "memoHash" not in shown


def test_static_assets_are_served(client: TestClient) -> None:
    for path in ("/static/portal/portal.css", "/static/portal/portal.js", "/static/portal/favicon.svg"):
        assert client.get(path).status_code == 200, path


def test_verify_reads_the_auditors_report(tmp_path: Path) -> None:
    (tmp_path / "audit-report.json").write_text(json.dumps(
        {"version": 1, "generated_at": "2025-01-02T00:00:00Z", "ok": True, "head_block": 456, "chain_id": 1337,
         "rules": [{"id": "fund.balance", "group": "fund", "title": "fund balance invariant", "checked": 9,
                    "errors": 0, "warnings": 0}],
         "findings": [{"rule": "docs.missing", "severity": "warning", "message": "private detail"}]}))
    with _client(FakeIndex(scenario()), tmp_path) as c:
        html = c.get("/verify?lang=en").text
    assert "Passed" in html and "fund balance invariant" in html and "456" in html
    assert "private detail" not in html


def test_pages_are_kept_until_the_index_moves_on(tmp_path: Path) -> None:
    index = FakeIndex(scenario())
    with _client(index, tmp_path) as c:
        first = c.get("/?lang=en")
        assert first.status_code == 200 and first.headers["content-language"] == "en"
        assert "lang=en" in first.headers["set-cookie"]
        calls = {"n": 0}
        real = index.iter_events

        def counting(*a: Any, **kw: Any) -> list[Event]:
            calls["n"] += 1
            return real(*a, **kw)

        index.iter_events = counting  # type: ignore[method-assign]
        again = c.get("/?lang=en")
        assert again.content == first.content and calls["n"] == 0  # served from the cache
        assert c.get("/?lang=zh-CN").headers["content-language"] == "zh-CN"  # another key
        assert calls["n"] > 0
        # a new event: a new version, a new page
        index.rows.append(EventRow(
            id=999, block_number=999, block_hash="0x", block_time=1_800_000_000, tx_hash=TX[0], tx_index=0,
            log_index=0, contract="CoGovFund", event="ContributionReceived", address="0x",
            args={"receiptId": 99, "memberId": 1, "contributor": GOV, "kind": 0, "projectId": 0,
                  "amount": 1_000_000, "memoHash": "0x" + "00" * 32},
            args_json="{}"))
        assert c.get("/api/v1/public/overview").json()["total_contributed"] == 1_520_000
        # the page: its first visitor after the change gets the new one, never the previous one
        fresh = c.get("/?lang=en")
        assert fresh.content != first.content and fresh.headers["etag"] != first.headers["etag"]
        assert 'data-figure="total_contributed" data-value="1520000"' in fresh.text
        # ETag: a browser that has the page gets a 304 without a body
        again = c.get("/?lang=en", headers={"If-None-Match": fresh.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_the_answer_cache_computes_once_and_refreshes_in_the_background() -> None:
    cache = AnswerCache()
    calls: list[int] = []
    gate = threading.Event()

    def build(v: int) -> Any:
        def run() -> str:
            calls.append(v)
            gate.wait(5)
            return f"answer {v}"
        return run

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(1, "k", build(1)))) for _ in range(5)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert results == ["answer 1"] * 5 and calls == [1]  # five readers, one computation
    gate.clear()
    assert cache.get(2, "k", build(2), stale_ok=True) == "answer 1"  # stale, refreshing
    gate.set()
    cache.settle()
    assert cache.get(2, "k", build(3)) == "answer 2" and calls == [1, 2]
    assert cache.get(3, "k", lambda: "answer 3") == "answer 3"  # strict readers never see stale


def test_folded_state_is_read_by_many_requests_at_once_and_folded_alone() -> None:
    """Readers of a reducer's state run side by side (each answer used to hold the others up);
    a fold of new events waits for them, and they see the state before or after it, never half."""
    index = FakeIndex(scenario())
    folded: Folded[list[str]] = Folded("MembershipRegistry", list, lambda s, e: s.append(e.name))
    inside = threading.Barrier(3, timeout=10)  # three readers must be inside together

    def reader(out: list[int]) -> None:
        def use(state: list[str], _now: int) -> int:
            inside.wait()  # a lock held by one reader breaks the barrier (BrokenBarrierError)
            return len(state)

        out.append(folded.read(index, use))  # type: ignore[arg-type]

    seen: list[int] = []
    threads = [threading.Thread(target=reader, args=(seen,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    admitted = len([r for r in index.rows if r.contract == "MembershipRegistry"])
    assert seen == [admitted] * 3
    index.rows.append(dataclasses.replace(index.rows[0], id=999, block_number=999))
    assert folded.read(index, lambda state, _now: len(state)) == admitted + 1  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- issue 14, item 10


PAGES = ["/", "/activity", "/activity?event=PayoutMade", "/projects", "/projects/1", "/contributions?q=2",
         "/data-sharing", "/verify", f"/tx/{TX[9]}"]


class Counting:
    """Counts the index reads that build a page (events and iter_events)."""

    def __init__(self, index: FakeIndex) -> None:
        self.n = 0
        for name in ("events", "iter_events"):
            real = getattr(index, name)

            def counted(*a: Any, _real: Any = real, **kw: Any) -> Any:
                self.n += 1
                return _real(*a, **kw)

            setattr(index, name, counted)


def _new_event(index: FakeIndex) -> None:
    n = len(index.rows)
    index.rows.append(EventRow(
        id=1000 + n, block_number=1000 + n, block_time=1_800_000_000 + n, block_hash="0x", tx_hash=TX[50 + n % 40],
        tx_index=0, log_index=0, contract="CoGovFund", event="ContributionReceived", address="0x",
        args={"receiptId": 100 + n, "memberId": 2, "contributor": RESIDENT, "kind": 2, "projectId": 1,
              "amount": 7, "memoHash": "0x" + "00" * 32}, args_json="{}"))


def test_every_page_is_kept_per_index_version_and_renewed_when_it_moves(tmp_path: Path) -> None:
    index = FakeIndex(scenario())
    with _client(index, tmp_path) as c:
        first = {path: c.get(path) for path in PAGES}
        assert all(r.status_code == 200 for r in first.values()), {p: r.status_code for p, r in first.items()}
        reads = Counting(index)
        for path in PAGES:  # served from the cache: not one index read to build them
            again = c.get(path)
            assert again.content == first[path].content and again.headers["etag"] == first[path].headers["etag"]
        assert reads.n == 0
        _new_event(index)
        for path in PAGES:  # a new event indexed: every page is rendered anew for its first visitor
            before = reads.n
            fresh = c.get(path)
            assert fresh.status_code == 200 and fresh.headers["etag"] != first[path].headers["etag"], path
            assert fresh.content != first[path].content, path
            assert f'data-testid="indexed-block">{index.last_block()}<' in fresh.text, path
            assert path == "/verify" or reads.n > before, path  # (the verify page reads the audit report)


def test_unknown_parameters_neither_make_an_entry_nor_evict_one(tmp_path: Path) -> None:
    index = FakeIndex(scenario())
    with _client(index, tmp_path, page_cache_size=4) as c:
        state = c.app.state.service  # type: ignore[attr-defined]
        kept = page_cache(state, index)
        base = c.get("/")
        assert len(kept) == 1
        reads = Counting(index)
        for _ in range(20):  # random query strings: the same page, the same entry
            r = c.get(f"/?x={secrets.token_hex(8)}&lang=zh-CN&utm={secrets.token_hex(4)}")
            assert r.content == base.content
        for junk in ("?event=bogus", "?kind=alien", "?project=99999", "?event=bogus&kind=alien&project=99999"):
            c.get(f"/activity{junk}")  # unknown filters are no filter: one page
        assert len(kept) == 2 and reads.n > 0
        reads.n = 0
        for _ in range(10):  # records that do not exist and searches that find nothing are not kept
            assert c.get(f"/projects/{secrets.randbelow(10**6) + 10}").status_code == 404
            assert c.get(f"/tx/0x{secrets.token_hex(32)}").status_code == 404
            assert c.get("/contributions", params={"q": "0x" + secrets.token_hex(20)}).status_code == 200
            assert c.get("/contributions", params={"q": str(secrets.randbelow(10**6) + 10)}).status_code == 200
        assert len(kept) == 2  # none of them took a place, none evicted "/"
        reads.n = 0
        assert c.get("/").content == base.content and reads.n == 0  # still served from the cache
        assert c.get("/?x=1").text.count("x=1") == 0  # the raw query never reaches the page (its links)


def test_anonymous_clients_beyond_their_limit_get_429_with_retry_after(tmp_path: Path) -> None:
    with _client(FakeIndex(scenario()), tmp_path, anonymous_rate_limit_per_minute=3) as c:
        assert [c.get(p).status_code for p in ("/", "/projects", "/api/v1/public/overview")] == [200, 200, 200]
        for path, headers in (("/", {}), ("/data-sharing", {"Authorization": "Bearer cgv_x_y"}),
                              ("/api/v1/public/overview", {})):
            r = c.get(path, headers=headers)  # a bearer header does not buy more: this is the address's bucket
            assert r.status_code == 429, path
            assert int(r.headers["Retry-After"]) >= 1 and r.headers["content-type"].startswith("application/problem")
            assert r.json()["code"] == "rate-limited"
        assert c.get("/static/portal/portal.css").status_code == 200  # static files are not pages


def test_client_address_groups_ipv6_by_64() -> None:
    from starlette.requests import Request

    def address(host: str) -> str:
        return client_address(Request({"type": "http", "client": (host, 1), "headers": []}))

    assert address("203.0.113.7") == "203.0.113.7"
    assert address("2001:db8:1:2:aaaa::1") == address("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address("2001:db8:1:3::1") != address("2001:db8:1:2::1")
    assert address("::ffff:203.0.113.7") == "203.0.113.7"
