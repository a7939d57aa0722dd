"""The fund over the API (TestClient): lifecycle, refusals, lists, trace (== CLI == fund_trace), export.

Runs against a fund of its own (5-second time lock) on the session chain, so moving chain
time past the lock moves the session clock by seconds only (see test_fund_support).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from api.testing import Api, api_for
from ledger.commitment import Opening
from ledger.fund import Fund
from ledger.fund.docs import doc_hash
from ledger.fund.report import events_from_chain
from ledger.fund.trace import trace_fund
from tests.api.test_fund_support import in_one_block, ledger_for, move_time, private_fund_manifest
from tests.conftest import MEMBER_IDS, Deployment, database_urls

pytestmark = pytest.mark.ganache


class FundApi:
    def __init__(self, deployment: Deployment, api: Api, client: TestClient, manifest: Path) -> None:
        self.deployment, self.api, self.client, self.manifest = deployment, api, client, manifest
        self.led = ledger_for(deployment, manifest)
        self.fund = Fund(self.led)

    def auth(self, label: str) -> dict[str, str]:
        return self.api.auth(label)

    def post(self, path: str, label: str, body: Any = None, key: str | None = None) -> Any:
        headers = self.auth(label) | ({"Idempotency-Key": key} if key else {})
        return self.client.post(f"/api/v1/fund{path}", headers=headers, json=body)

    def get(self, path: str, label: str = "auditor", **params: Any) -> Any:
        r = self.client.get(f"/api/v1/fund{path}", headers=self.auth(label), params=params)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def fa(request: pytest.FixtureRequest, database: str, deployment: Deployment,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[FundApi]:
    """A fund of its own, and its service, for each database."""
    directory = tmp_path_factory.mktemp("fund-api")
    manifest = private_fund_manifest(deployment, directory, quorum=2, timelock=5)
    api = api_for(deployment, directory, "fund", manifest_path=manifest, **database_urls(request, database))
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
        yield FundApi(deployment, api, client, manifest)


@pytest.fixture(scope="module")
def story(fa: FundApi) -> dict[str, Any]:
    """Credits minted; project 1 (停车难) approved, funded (earmarked + pool) and paid in two milestones."""
    s = fa.deployment.signers
    for label, amount, ref in (("resident", 100_000, "BANK-R-1"), ("enterprise", 500_000, "BANK-E-1")):
        r = fa.post("/credit/mint", "treasurer", {"to": s[label].address, "amount": amount, "deposit_ref": ref})
        assert r.status_code == 201, r.text
        assert r.json()["balance"] >= amount
        # a salted commitment (the bank reference is not confirmed by hashing a guess), opened by the treasurer
        ref_hash = r.json()["deposit_ref_hash"]
        assert ref_hash != "0x" + doc_hash(ref).hex()
        doc = fa.get(f"/documents/{ref_hash}", "treasurer")
        assert doc["kind"] == "deposit" and doc["text"] == ref
        assert Opening(doc["text"], bytes.fromhex(doc["salt"][2:])).commitment_hex == ref_hash
    r = fa.post("/credit/mint", "treasurer", {"to": s["resident"].address, "amount": 1, "deposit_ref": "BANK-R-1"})
    assert r.status_code == 409 and r.json()["error"] == "CreditDepositAlreadyRecorded"  # one bank slip mints once

    r = fa.post("/projects", "dept_a", {"title": "停车难：幸福里停车位改造", "beneficiary": s["dept_b"].address,
                                        "milestones": [{"amount": 60_000, "description": "划线与地锁"},
                                                       {"amount": 40_000, "description": "智能道闸"}]})
    assert r.status_code == 201, r.text
    p = r.json()["project"]
    assert p["title"] == "停车难：幸福里停车位改造" and p["state"] == "proposed" and p["budget"] == 100_000
    assert p["proposer_id"] == MEMBER_IDS["dept_a"] and p["beneficiary_name"] == "城管"
    assert [m["description"] for m in p["milestones"]] == ["划线与地锁", "智能道闸"]

    r = fa.post("/contributions", "resident", {"amount": 70_000, "project_id": p["id"], "memo": "幸福里居民众筹"})
    assert r.status_code == 201, r.text
    earmarked = r.json()["contribution"]
    assert earmarked["memo"] == "幸福里居民众筹" and earmarked["kind"] == "resident" and earmarked["tx_hash"]
    r = fa.post("/contributions", "enterprise", {"amount": 200_000})
    assert r.status_code == 201, r.text
    general = r.json()["contribution"]
    assert general["project_id"] == 0 and general["project"] is None and general["kind"] == "enterprise"

    for label in ("committee_a", "committee_b"):
        r = fa.post(f"/motions/{p['approval_motion_id']}/votes", label, {"support": True})
        assert r.status_code == 200, r.text
    assert r.json()["motion"]["state"] == "passed"
    assert fa.get(f"/projects/{p['id']}")["state"] == "time_locked"
    assert _listed_state(fa, p["id"]) == "time_locked"
    r = fa.post(f"/projects/{p['id']}/payouts", "treasurer", {"milestone_index": 0, "amount": 1, "invoice": "早"})
    assert r.status_code == 409 and r.json()["error"] == "FundTimeLocked"

    r = fa.post(f"/projects/{p['id']}/allocations", "committee_c", {"amount": 30_000})
    assert r.status_code == 201, r.text
    alloc = r.json()["motion"]
    assert alloc["kind"] == "allocate_from_pool" and alloc["state"] == "open"
    for label in ("committee_a", "committee_c"):
        assert fa.post(f"/motions/{alloc['id']}/votes", label, {"support": True}).status_code == 200
    move_time(fa.led, 6)
    assert _listed_state(fa, p["id"]) == "active"  # a kept list decides at the block move_time mined
    r = fa.post(f"/projects/{p['id']}/payouts", "treasurer",
                {"milestone_index": 0, "amount": 60_000, "invoice": "发票 No.0001 划线工程"})
    assert r.status_code == 201, r.text
    pay1 = r.json()
    assert pay1["payout"]["from_earmarked"] == 60_000 and pay1["payout"]["invoice"] == "发票 No.0001 划线工程"
    assert pay1["project"]["state"] == "active"
    inv = "0x" + doc_hash("scan of invoice 0002").hex()
    r = fa.post(f"/projects/{p['id']}/payouts", "treasurer",
                {"milestone_index": 1, "amount": 40_000, "invoice_hash": inv})
    assert r.status_code == 201, r.text
    pay2 = r.json()
    assert (pay2["payout"]["from_earmarked"], pay2["payout"]["from_general"]) == (10_000, 30_000)
    assert pay2["project"]["state"] == "completed" and pay2["payout"]["invoice_hash"] == inv
    return {"project": p, "earmarked": earmarked, "general": general, "payouts": [pay1, pay2], "alloc": alloc}


def _listed_state(fa: FundApi, project_id: int) -> str:
    """The project's state as the (kept) projects list shows it."""
    state: str = {p["id"]: p["state"] for p in fa.get("/projects", limit=500)["data"]}[project_id]
    return state


def test_lifecycle_lists_and_summary(fa: FundApi, story: dict[str, Any]) -> None:
    pid = story["project"]["id"]
    summ = fa.get("/summary")
    assert summ["total_contributed"] == 270_000 and summ["total_paid_out"] == 100_000 and summ["currency"] == "CCR"
    assert summ["balance"] == summ["expected_balance"] == 170_000 and summ["invariant_holds"]
    assert summ["pool"] == {"total": 200_000, "spent": 30_000, "committed": 0, "free": 170_000}
    assert summ["projects_by_state"]["completed"] == 1 and summ["time_lock"] == 5

    c = fa.get("/contributions", contributor_id=MEMBER_IDS["resident"])
    assert c["count"] == 1 and c["data"][0]["receipt_id"] == story["earmarked"]["receipt_id"]
    assert c["data"][0]["spent"] == 70_000 and c["data"][0]["project"] == "停车难：幸福里停车位改造"
    assert fa.get("/contributions", project_id=0)["count"] == 1
    assert fa.get("/contributions", project_id=pid)["data"][0]["member_name"] == "幸福里居民"
    assert fa.get("/contributions", since=2**40)["count"] == 0
    page = fa.get("/contributions", limit=1, offset=1)
    assert page["count"] == 2 and len(page["data"]) == 1 and page["data"][0]["receipt_id"] == 1  # newest first
    assert fa.get(f"/contributions/{story['general']['receipt_id']}")["spent"] == 30_000

    assert [p["id"] for p in fa.get("/projects", state="completed")["data"]] == [pid]
    assert fa.get("/projects", state="proposed")["count"] == 0
    payouts = fa.get("/payouts", project_id=pid)
    assert payouts["count"] == 2 and [x["milestone_index"] for x in payouts["data"]] == [1, 0]
    assert payouts["data"][1]["beneficiary_name"] == "城管" and payouts["data"][1]["tx_hash"].startswith("0x")
    motions = fa.get("/motions", project_id=pid)
    assert {m["kind"] for m in motions["data"]} == {"approve_project", "allocate_from_pool"}
    assert fa.get("/motions", kind="allocate_from_pool", state="passed")["data"][0]["id"] == story["alloc"]["id"]
    votes = fa.get(f"/motions/{story['alloc']['id']}/votes")
    assert votes["count"] == 2 and {v["member_id"] for v in votes["data"]} == {MEMBER_IDS["committee_a"],
                                                                               MEMBER_IDS["committee_c"]}
    assert fa.get("/votes", member_id=MEMBER_IDS["committee_b"])["count"] == 1
    doc = fa.get(f"/documents/0x{doc_hash('划线与地锁').hex()}")
    assert doc == {"hash": "0x" + doc_hash("划线与地锁").hex(), "kind": "milestone", "text": "划线与地锁"}
    assert fa.client.get(f"/api/v1/fund/projects/{pid + 50}", headers=fa.auth("auditor")).status_code == 404
    assert fa.client.get("/api/v1/fund/summary").status_code == 401


def test_role_refusals_are_403_with_nothing_on_chain(fa: FundApi, story: dict[str, Any]) -> None:
    s = fa.deployment.signers
    r = fa.post("/projects", "committee_c", {"title": "绿化维护", "beneficiary": s["dept_b"].address,
                                             "milestones": [{"amount": 5_000, "description": "修剪"}]})
    assert r.status_code == 201, r.text
    p = r.json()["project"]
    head = fa.led.block_number()
    refusals = [
        # a contributor key cannot pay out (API role), nor mint
        fa.post(f"/projects/{story['project']['id']}/payouts", "resident", {"milestone_index": 0, "amount": 1,
                                                                            "invoice": "x"}),
        fa.post("/credit/mint", "resident", {"to": s["resident"].address, "amount": 1, "deposit_ref": "forged"}),
        # a committee member never votes on a project its member proposed (conflict of interest)
        fa.post(f"/motions/{p['approval_motion_id']}/votes", "committee_c", {"support": True}),
        # a contributor cannot vote, nor propose
        fa.post(f"/motions/{p['approval_motion_id']}/votes", "resident", {"support": True}),
        fa.post("/projects", "enterprise", {"title": "x", "beneficiary": s["dept_b"].address,
                                            "milestones": [{"amount": 1, "description": "x"}]}),
        # auditors never contribute; an account of no member cannot either
        fa.post("/contributions", "auditor", {"amount": 1}),
        fa.post("/contributions", "outsider", {"amount": 1}),
        # only the contributing member claims a refund
        fa.post(f"/contributions/{story['earmarked']['receipt_id']}/refund", "enterprise"),
    ]
    for r in refusals:
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert "conflict of interest" in refusals[2].json()["detail"]
    assert fa.led.block_number() == head  # nothing was sent
    assert not fa.fund.has_voted(p["approval_motion_id"], MEMBER_IDS["committee_c"])

    # the chain's own rules: a 409 naming the custom error, still nothing mined
    r = fa.post(f"/projects/{story['project']['id']}/payouts", "treasurer",
                {"milestone_index": 0, "amount": 1, "invoice": "again"})
    assert r.status_code == 409 and r.json()["error"] == "FundProjectNotActive"
    r = fa.post("/contributions", "resident", {"amount": 10**12})
    assert r.status_code == 409, r.text  # ERC20InsufficientBalance (after the exact-amount approval)
    r = fa.post("/projects", "dept_a", {"title": "x", "beneficiary": s["dept_b"].address, "milestones": []})
    assert r.status_code == 422
    r = fa.post(f"/projects/{p['id']}/payouts", "treasurer",
                {"milestone_index": 0, "amount": 1, "invoice": "x", "invoice_hash": "0x" + "11" * 32})
    assert r.status_code == 422


def test_cancellation_and_refund(fa: FundApi, story: dict[str, Any]) -> None:
    s = fa.deployment.signers
    r = fa.post("/projects", "dept_a", {"title": "养老服务设施：日间照料室", "beneficiary": s["c2"].address,
                                        "milestones": [{"amount": 900_000, "description": "装修"}]})
    pid = r.json()["project"]["id"]
    r = fa.post("/contributions", "resident", {"amount": 2_500, "project_id": pid})
    receipt = r.json()["contribution"]["receipt_id"]
    r = fa.post(f"/contributions/{receipt}/refund", "resident")
    assert r.status_code == 409 and r.json()["error"] == "FundProjectStillOpen"
    r = fa.post(f"/projects/{pid}/cancellation", "committee_b")
    assert r.status_code == 201, r.text
    mid = r.json()["motion"]["id"]
    fa.post(f"/motions/{mid}/votes", "committee_a", {"support": True})
    r = fa.post(f"/motions/{mid}/votes", "committee_b", {"support": True})
    assert r.json()["motion"]["state"] == "passed"
    assert fa.get(f"/projects/{pid}")["state"] == "cancelled"
    assert fa.get(f"/contributions/{receipt}")["refundable"] == 2_500
    r = fa.post(f"/contributions/{receipt}/refund", "resident", key=f"refund-{receipt}")
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == 2_500 and r.json()["contribution"]["refunded"] is True
    again = fa.post(f"/contributions/{receipt}/refund", "resident", key=f"refund-{receipt}")
    assert again.status_code == 200 and again.json() == r.json()  # the retry answers the first result
    assert fa.fund.totals().refunded == 2_500
    refunds = fa.get("/refunds", project_id=pid)
    assert refunds["count"] == 1 and refunds["data"][0]["member_name"] == "幸福里居民"


def _cli(fa: FundApi, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    from cogov.app import app

    monkeypatch.setenv("COGOV_ENV", "test")
    monkeypatch.setenv("COGOV_RPC_URLS", fa.deployment.ganache.config.url)
    monkeypatch.setenv("COGOV_MANIFEST_PATH", str(fa.manifest))
    monkeypatch.setenv("COGOV_KEYSTORE_DIR", str(fa.deployment.keystore.directory))
    monkeypatch.setenv("COGOV_SERVICE_DB_URL", fa.api.settings.service_db_url)  # the texts, as the API keeps them
    monkeypatch.setenv("COGOV_GATEWAY_MASTER_KEY_FILE", str(fa.api.settings.gateway_master_key_file))
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_trace_api_equals_cli_equals_fund_trace(fa: FundApi, story: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for label in ("resident", "enterprise"):
        member = MEMBER_IDS[label]
        api_trace = fa.get(f"/contributors/{member}/trace")
        cli_trace = json.loads(_cli(fa, monkeypatch, "fund", "trace", str(member), "--json"))
        assert api_trace == cli_trace
        assert json.loads(_cli(fa, monkeypatch, "fund", "trace", label, "--json")) == cli_trace  # by key label
        truth = trace_fund(events_from_chain(fa.led))
        mine = [c for c in truth.contributions.values() if c.member_id == member]
        assert [c["receipt_id"] for c in api_trace["contributions"]] == [c.receipt_id for c in mine]
        for got, want in zip(api_trace["contributions"], mine, strict=True):
            assert (got["spent"], got["refunded"], got["unspent"]) == (want.spent, want.refunded, want.unspent)
            assert [(f["payout_id"], f["amount"], f["source"]) for f in got["fundings"]] == [
                (f.payout_id, f.amount, f.source) for f in want.fundings]
            assert got["spent"] == fa.fund.spent_of(got["receipt_id"])  # the contract agrees
    general = fa.get(f"/contributors/{MEMBER_IDS['enterprise']}/trace")["contributions"][0]
    assert general["earmark_project_id"] == 0 and general["fundings"][0]["project"] == "停车难：幸福里停车位改造"
    assert general["fundings"][0]["source"] == "general" and general["fundings"][0]["amount"] == 30_000
    assert general["unspent"] == 170_000
    human = _cli(fa, monkeypatch, "fund", "trace", str(MEMBER_IDS["resident"]))
    assert "幸福里居民" in human and "payout" in human
    assert fa.client.get("/api/v1/fund/contributors/999/trace", headers=fa.auth("auditor")).status_code == 404


def test_export_rows_carry_tx_and_block(fa: FundApi, story: dict[str, Any], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    body = fa.get("/export")
    rows = body["data"]
    assert body["count"] == len(rows) >= 4
    assert {r["type"] for r in rows} >= {"contribution", "payout"}
    for r in rows:
        assert r["tx_hash"].startswith("0x") and len(r["tx_hash"]) == 66 and r["block_number"] > 0
        assert r["date"].endswith("Z") and r["currency"] == "CCR"
        rc = fa.led.receipt(r["tx_hash"])
        assert rc is not None and rc.block_number == r["block_number"]
    pay = [r for r in rows if r["type"] == "payout"]
    assert pay[0]["amount"] == "600.00" and pay[0]["net_amount"] == "-600.00" and pay[0]["counterparty"] == "城管"
    assert pay[0]["description"] == "发票 No.0001 划线工程" and pay[0]["project"] == "停车难：幸福里停车位改造"
    assert fa.get("/export", type="payout")["count"] == len(pay)

    r = fa.client.get("/api/v1/fund/export.csv", headers=fa.auth("auditor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [p["tx_hash"] for p in parsed] == [x["tx_hash"] for x in rows]
    assert all(p["block_number"] for p in parsed)

    out = _cli(fa, monkeypatch, "fund", "export", "--out-dir", str(tmp_path))
    assert "rows" in out
    from_cli = json.loads((tmp_path / "fund-export.json").read_text("utf-8"))
    assert from_cli["data"] == rows  # the CLI (chain logs) and the API (index) agree row for row
    with (tmp_path / "fund-export.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert [p["tx_hash"] for p in csv.DictReader(fh)] == [x["tx_hash"] for x in rows]


def test_cli_writes(fa: FundApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's write commands round-trip (the API covers the rules)."""
    s = fa.deployment.signers
    _cli(fa, monkeypatch, "credit", "mint", "enterprise", "10.50", "--deposit-ref", "CLI-DEP-1", "--key", "treasurer")
    bal = json.loads(_cli(fa, monkeypatch, "credit", "balance", "enterprise", "--json"))
    assert bal["balance"] >= 1050
    out = _cli(fa, monkeypatch, "fund", "propose", "--title", "CLI 绿化", "--beneficiary", s["dept_b"].address,
               "--milestone", "5:修剪", "--milestone", "5.5:补种", "--pool", "3", "--key", "dept_a")
    assert "3.00 元 asked of the general pool" in " ".join(out.split())  # (the console wraps lines)
    pid = int(out.split("project ")[1].split(" ")[0])
    assert fa.fund.motion(fa.fund.project(pid).approval_motion_id).amount == 300  # decided with the project
    out = _cli(fa, monkeypatch, "fund", "contribute", "10.50", "--project", str(pid), "--memo", "CLI", "--key",
               "enterprise")
    receipt = int(out.split("receipt ")[1].split(":")[0])
    assert fa.fund.contribution(receipt).amount == 1050
    motion = fa.fund.project(pid).approval_motion_id
    _cli(fa, monkeypatch, "fund", "vote", str(motion), "--yes", "--key", "committee_a")
    out = _cli(fa, monkeypatch, "fund", "vote", str(motion), "--no", "--key", "committee_b")
    assert "open" in out  # 1 yes, 1 no: quorum, but committee_c could still make it 2 to 1
    out = _cli(fa, monkeypatch, "fund", "vote", str(motion), "--no", "--key", "committee_c")
    assert "failed" in out  # 1 yes, 2 no: no one left to overcome the rejections
    assert fa.fund.project(pid).state.name == "REJECTED"
    out = _cli(fa, monkeypatch, "fund", "refund", str(receipt), "--key", "enterprise")
    assert "10.50 元" in out
    projects = json.loads(_cli(fa, monkeypatch, "fund", "projects", "--state", "rejected", "--json"))
    assert [p["title"] for p in projects] == ["CLI 绿化"]
    summary = json.loads(_cli(fa, monkeypatch, "fund", "summary", "--json"))
    assert summary["invariant_holds"] and summary["balance"] == summary["expected_balance"]


def _node_requests(fa: FundApi) -> dict[str, int]:
    """Count the service's requests to the node by method (single and batched)."""
    state = fa.client.app.state.service  # type: ignore[attr-defined]
    provider = state.ledger.rpc_client.provider
    seen: dict[str, int] = {}
    real_one, real_batch = provider.make_request, provider.batch_request

    def one(method: str, params: Any) -> Any:
        seen[method] = seen.get(method, 0) + 1
        return real_one(method, params)

    def batch(calls: list[tuple[str, Any]]) -> Any:
        for method, _ in calls:
            seen[method] = seen.get(method, 0) + 1
        return real_batch(calls)

    provider.make_request, provider.batch_request = one, batch
    return seen


def test_lists_are_answered_from_the_index_without_a_chain_call_per_row(fa: FundApi, story: dict[str, Any]) -> None:
    seen = _node_requests(fa)

    def requests_of(path: str, limit: int) -> tuple[int, dict[str, int]]:
        before = dict(seen)
        rows = len(fa.get(path, limit=limit)["data"])
        return rows, {m: n - before.get(m, 0) for m, n in seen.items() if n != before.get(m, 0)}

    for path in ("/contributions", "/projects"):
        count = fa.get(path)["count"]
        assert count >= 2, path
        one_row, one = requests_of(path, 1)
        all_rows, every = requests_of(path, 100)
        assert (one_row, all_rows) == (1, count)
        # The node requests of a list do not grow with its rows: the index's catch-up and the head's
        # time, and (once a row has a memo) the caller's member for what it may read, never a row.
        calls = every.pop("eth_call", 0)
        assert calls <= 2 and one.pop("eth_call", 0) <= calls, (path, calls)
        assert every == one, path


def test_a_vote_out_of_gas_in_its_block_is_a_409_its_key_forgotten_and_its_retry_counts(fa: FundApi) -> None:
    """W10 over HTTP, as two committee members voting at once meet it: each pre-flight sees one vote
    to go (the process's gas cache holds a vote that does not decide, as after a restart); in the
    block the second decides and runs out of gas. Its answer is a 409 ``OutOfGas`` that changed
    nothing, so the same Idempotency-Key is not replayed as that 409: the retry votes, and counts."""
    s = fa.deployment.signers
    r = fa.post("/projects", "dept_a", {"title": "夜间照明", "beneficiary": s["dept_b"].address,
                                        "milestones": [{"amount": 1_000, "description": "一期"}]})
    assert r.status_code == 201, r.text
    motion = r.json()["project"]["approval_motion_id"]
    fa.client.app.state.service.ledger.tx.gas._cache.clear()  # type: ignore[attr-defined]
    voters = {"committee_a": "oog-vote-a", "committee_b": "oog-vote-b"}
    answers: dict[str, Any] = {}

    def vote(label: str) -> None:
        answers[label] = fa.post(f"/motions/{motion}/votes", label, {"support": True}, key=voters[label])

    in_one_block(fa.led, [s[label].address for label in voters], *(lambda label=label: vote(label) for label in voters))
    statuses = {label: a.status_code for label, a in answers.items()}
    assert sorted(statuses.values()) == [200, 409], {k: a.text for k, a in answers.items()}
    loser = next(label for label, status in statuses.items() if status == 409)
    assert answers[loser].json()["error"] == "OutOfGas" and "send it again" in answers[loser].json()["detail"]
    assert not fa.fund.has_voted(motion, MEMBER_IDS[loser])  # nothing of it happened
    again = fa.post(f"/motions/{motion}/votes", loser, {"support": True}, key=voters[loser])
    assert again.status_code == 200, again.text  # the key was forgotten: the retry ran, not a replay
    assert again.json()["motion"]["state"] == "passed" and fa.fund.has_voted(motion, MEMBER_IDS[loser])
