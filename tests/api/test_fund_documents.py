"""Off-chain texts (issue 14, items 5, 7, 8): salted commitments on chain, texts stored only once
the chain accepted their write (in the service database, under quotas), and who reads which.

A fund of its own (5-second time lock, see test_fund_support) on the session chain, and an app
with its own service database.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from api.testing import Api, api_for
from ledger.client import Ledger
from ledger.commitment import Opening, commit
from ledger.fund import Credit, Fund
from ledger.fund.docs import DocStore, doc_hash, documents, open_store
from tests.api.test_data_support import synthetic_csv, unique, upload
from tests.api.test_fund_support import ledger_for, mint, move_time, private_fund_manifest
from tests.conftest import MEMBER_IDS, Deployment, database_urls

pytestmark = pytest.mark.ganache

ASYNC = {"Prefer": "respond-async"}


@dataclass
class Env:
    deployment: Deployment
    api: Api
    client: TestClient
    led: Ledger

    def post(self, path: str, label: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(path, headers=self.api.auth(label) | headers, json=body)

    def get(self, path: str, label: str, **params: Any) -> Any:
        return self.client.get(path, headers=self.api.auth(label), params=params)

    def store(self) -> DocStore:
        return DocStore.open(self.api.settings.service_db_url)

    def state_of(self, kind: str, text: str) -> list[str]:
        """The states of the rows keeping ``text`` as ``kind`` (read from the database itself)."""
        with sa.create_engine(self.api.settings.service_db_url).connect() as conn:
            rows = conn.execute(sa.select(documents.c.state).where(documents.c.kind == kind,
                                                                   documents.c.text == text))
            return sorted(str(r[0]) for r in rows)


@contextmanager
def _env(deployment: Deployment, directory: Path, manifest: Path | None = None, **overrides: Any) -> Iterator[Env]:
    manifest = manifest or private_fund_manifest(deployment, directory, quorum=2, timelock=5)
    api = api_for(deployment, directory, "docs", manifest_path=manifest, **overrides)
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
        yield Env(deployment, api, client, ledger_for(deployment, manifest))


@pytest.fixture(scope="module")
def env(request: pytest.FixtureRequest, database: str, deployment: Deployment,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with _env(deployment, tmp_path_factory.mktemp("fund-docs"), **database_urls(request, database)) as e:
        yield e


@pytest.fixture(scope="module")
def story(env: Env) -> dict[str, Any]:
    """One record of each kind, written through the API (and a redemption through the library)."""
    s = env.deployment.signers
    out: dict[str, Any] = {"texts": {}}
    texts = out["texts"]
    texts["deposit"] = f"工商银行入账回单 {secrets.token_hex(3)}"
    r = env.post("/api/v1/fund/credit/mint", "treasurer",
                 {"to": s["resident"].address, "amount": 200_000, "deposit_ref": texts["deposit"]})
    assert r.status_code == 201, r.text
    out["deposit"] = r.json()["deposit_ref_hash"]
    mint(env.led, s["treasurer"], s["enterprise"].address, 200_000)

    texts["title"], texts["milestone"] = unique("加装电梯"), "井道施工"
    r = env.post("/api/v1/fund/projects", "dept_a", {
        "title": texts["title"], "beneficiary": s["dept_b"].address,
        "milestones": [{"amount": 50_000, "description": texts["milestone"]}]})
    assert r.status_code == 201, r.text
    project = r.json()["project"]
    out["project"], out["title"] = project["id"], project["title_hash"]
    out["milestone"] = project["milestones"][0]["description_hash"]

    texts["memo"] = f"我家的捐款 {secrets.token_hex(3)}"
    r = env.post("/api/v1/fund/contributions", "resident",
                 {"amount": 60_000, "project_id": project["id"], "memo": texts["memo"]})
    assert r.status_code == 201, r.text
    out["receipt"], out["memo"] = r.json()["contribution"]["receipt_id"], r.json()["contribution"]["memo_hash"]
    texts["other_memo"] = f"企业捐助 {secrets.token_hex(3)}"
    r = env.post("/api/v1/fund/contributions", "enterprise", {"amount": 1_000, "memo": texts["other_memo"]})
    assert r.status_code == 201, r.text
    out["other_memo"] = r.json()["contribution"]["memo_hash"]

    for label in ("committee_a", "committee_b"):
        assert env.post(f"/api/v1/fund/motions/{project['approval_motion_id']}/votes", label,
                        {"support": True}).status_code == 200
    move_time(env.led, 6)
    texts["invoice"] = f"发票 No.{secrets.randbelow(10**8):08d}"
    r = env.post(f"/api/v1/fund/projects/{project['id']}/payouts", "treasurer",
                 {"milestone_index": 0, "amount": 50_000, "invoice": texts["invoice"]})
    assert r.status_code == 201, r.text
    out["invoice"] = r.json()["payout"]["invoice_hash"]

    texts["redemption"] = f"兑付凭证 {secrets.token_hex(3)}"
    treasurer = s["treasurer"]
    mint(env.led, treasurer, treasurer.address, 10)
    docs = open_store(env.api.settings)
    draft = docs.draft("redemption", texts["redemption"])
    burn = Credit(env.led).burn_call(treasurer.address, 10, draft.hash)
    docs.accept(docs.transact(env.led, treasurer, burn, [draft]))
    out["redemption"] = draft.hash_hex

    r = upload(env.client, env.api.auth("dept_a"), unique("门诊量统计"), "internal", synthetic_csv(3))
    assert r.status_code == 201, r.text
    texts["purpose"] = f"评估社区就诊压力 {secrets.token_hex(3)}"
    r = env.post("/api/v1/access-requests", "dept_b", {"dataset_id": r.json()["dataset"]["id"], "purpose_code": 2,
                                                       "purpose": texts["purpose"], "duration": 600})
    assert r.status_code == 201, r.text
    out["request"], out["purpose"] = r.json()["request"]["id"], r.json()["request"]["purpose_hash"]
    return out


def _document(env: Env, h: str, label: str) -> Any:
    return env.get(f"/api/v1/fund/documents/{h}", label)


def _not_found(env: Env, h: str) -> dict[str, Any]:
    """What a caller gets for a hash the service holds no text for."""
    unknown = "0x" + secrets.token_hex(32)
    r = _document(env, unknown, "auditor")
    assert r.status_code == 404
    body = r.json()
    body["detail"] = body["detail"].replace(unknown, h)
    return dict(body)


# ------------------------------------------------------------------ item 5: salted commitments


def test_private_texts_are_salted_commitments_and_public_ones_plain_hashes(env: Env, story: dict[str, Any]) -> None:
    texts = story["texts"]
    for kind, reader in (("memo", "resident"), ("invoice", "treasurer"), ("deposit", "treasurer"),
                         ("redemption", "treasurer"), ("purpose", "dept_b")):
        h = story[kind]
        assert h != "0x" + doc_hash(texts[kind]).hex(), kind  # the hash alone confirms no guess
        r = _document(env, h, reader)
        assert r.status_code == 200, (kind, r.text)
        doc = r.json()
        assert doc["kind"] == kind and doc["text"] == texts[kind]
        assert "0x" + commit(doc["text"], bytes.fromhex(doc["salt"][2:])).hex() == h  # the opening opens it
    for kind in ("title", "milestone"):  # public by design: anyone checks the portal's text with keccak256
        assert story[kind] == "0x" + doc_hash(texts[kind]).hex()
        assert "salt" not in _document(env, story[kind], "resident").json()


def test_a_purpose_is_opened_through_its_request(env: Env, story: dict[str, Any]) -> None:
    req = env.get(f"/api/v1/access-requests/{story['request']}", "auditor").json()
    assert req["purpose_hash"] == story["purpose"] != "0x" + doc_hash(story["texts"]["purpose"]).hex()
    for label in ("dept_b", "dept_a", "c3", "auditor"):  # requester, owner, data governance, auditor
        r = env.get(f"/api/v1/access-requests/{story['request']}/purpose", label)
        assert r.status_code == 200, (label, r.text)
        opening = Opening(r.json()["text"], bytes.fromhex(r.json()["salt"][2:]))
        assert opening.text == story["texts"]["purpose"] and opening.opens(req["purpose_hash"])
    for label in ("c2", "treasurer", "resident"):
        r = env.get(f"/api/v1/access-requests/{story['request']}/purpose", label)
        assert r.status_code == 404 and r.json() == _not_found(env, story["purpose"]), label
    # a key whose account is no member's reads nothing at all (issue 14, item 17)
    assert env.get(f"/api/v1/access-requests/{story['request']}/purpose", "outsider").status_code == 403


def test_one_bank_reference_one_commitment_minted_once(env: Env, story: dict[str, Any]) -> None:
    s = env.deployment.signers
    r = env.post("/api/v1/fund/credit/mint", "treasurer",
                 {"to": s["enterprise"].address, "amount": 1, "deposit_ref": story["texts"]["deposit"]})
    assert r.status_code == 409 and r.json()["error"] == "CreditDepositAlreadyRecorded"
    assert r.json()["args"]["depositRef"] == story["deposit"]  # the keyed salt: the same slip, the same commitment


# ------------------------------------------------------------------ item 8: who reads which


READERS = {
    "title": (["enterprise", "resident", "c1"], []),
    "milestone": (["resident", "enterprise"], []),
    "memo": (["resident", "treasurer", "auditor"], ["enterprise", "committee_a", "dept_a", "c1"]),
    "invoice": (["dept_b", "committee_a", "treasurer", "auditor"], ["resident", "enterprise", "dept_a"]),
    "deposit": (["treasurer", "auditor"], ["resident", "enterprise", "committee_a", "dept_b", "c1"]),
    "redemption": (["treasurer", "auditor"], ["resident", "dept_a", "committee_b"]),
    "purpose": (["dept_b", "dept_a", "c3", "auditor"], ["c1", "c2", "treasurer", "resident"]),
}


@pytest.mark.parametrize("kind", list(READERS))
def test_who_reads_which_document(env: Env, story: dict[str, Any], kind: str) -> None:
    allowed, refused = READERS[kind]
    h = story[kind]
    for label in allowed:
        r = _document(env, h, label)
        assert r.status_code == 200 and r.json()["text"] == story["texts"][kind], (label, r.text)
    for label in refused:  # the same answer as for a hash the service holds no text for
        r = _document(env, h, label)
        assert r.status_code == 404 and r.json() == _not_found(env, h), (label, r.text)
    # a key whose account is no member's (issue 14, item 17) reads no text, public ones included
    assert _document(env, h, "outsider").status_code == 403


def test_lists_and_the_export_show_texts_to_their_readers_only(env: Env, story: dict[str, Any]) -> None:
    texts = story["texts"]
    rid = story["receipt"]
    for label, memo in (("resident", texts["memo"]), ("auditor", texts["memo"]), ("enterprise", None),
                        ("committee_a", None)):
        assert env.get(f"/api/v1/fund/contributions/{rid}", label).json()["memo"] == memo, label
        listed = env.get("/api/v1/fund/contributions", label, contributor_id=MEMBER_IDS["resident"],
                         project_id=story["project"]).json()["data"]
        assert [c["memo"] for c in listed] == [memo], label
        assert listed[0]["memo_hash"] == story["memo"] and listed[0]["project"] == texts["title"]
    for label, invoice in (("dept_b", texts["invoice"]), ("committee_b", texts["invoice"]), ("resident", None)):
        payouts = env.get("/api/v1/fund/payouts", label, project_id=story["project"]).json()["data"]
        assert [p["invoice"] for p in payouts] == [invoice], label
        assert payouts[0]["invoice_hash"] == story["invoice"] and payouts[0]["project"] == texts["title"]
    rows = env.get("/api/v1/fund/export", "resident").json()["data"]
    described = {r["document_hash"]: r["description"] for r in rows}
    assert described[story["memo"]] == texts["memo"]  # its own memo
    assert described[story["other_memo"]] == "" and described[story["invoice"]] == ""  # not its to read
    rows = env.get("/api/v1/fund/export", "auditor").json()["data"]
    assert {r["document_hash"]: r["description"] for r in rows}[story["invoice"]] == texts["invoice"]


# ------------------------------------------------------------------ item 7: stored once accepted


def test_a_refused_write_leaves_no_text(env: Env, deployment: Deployment, tmp_path: Path,
                                        databases: dict[str, str]) -> None:
    junk = f"junk memo {secrets.token_hex(4)}"
    fund = Fund(env.led)
    count = fund.contribution_count()
    r = env.post("/api/v1/fund/contributions", "resident", {"amount": 10**12, "memo": junk})
    assert r.status_code == 409 and "Cogov-Tx-Hash" not in r.headers  # refused by the pre-flight
    assert fund.contribution_count() == count
    assert env.state_of("memo", junk) == []
    assert _document(env, "0x" + doc_hash(junk).hex(), "treasurer").status_code == 404
    assert not (env.api.settings.manifest_path.parent / "fund-docs.json").exists()  # no JSON file is ever written

    # mined and reverted (no pre-flight): the text kept while it was pending is dropped
    index = databases.get("index_db_url", f"sqlite:///{tmp_path}/i.db")  # a new index of the module's kind
    settings = env.api.settings.model_copy(update={"preflight": False, "index_db_url": index})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        ok = c.post("/api/v1/fund/contributions", headers=env.api.auth("enterprise"), json={"amount": 1, "memo": "x"})
        assert ok.status_code == 201, ok.text  # (caches the call's gas: the next one is sent, not estimated)
        junk = f"mined junk {secrets.token_hex(4)}"
        r = c.post("/api/v1/fund/contributions", headers=env.api.auth("enterprise"),
                   json={"amount": 10**12, "memo": junk})
    assert r.status_code == 409, r.text
    receipt = env.led.receipt(r.headers["Cogov-Tx-Hash"])
    assert receipt is not None and receipt.status == 0
    assert env.state_of("memo", junk) == []


def test_an_async_write_keeps_its_text_once_its_receipt_is_seen(env: Env, story: dict[str, Any]) -> None:
    memo = f"async memo {secrets.token_hex(4)}"
    env.led.rpc("miner_stop")
    try:
        r = env.post("/api/v1/fund/contributions", "resident", {"amount": 5, "memo": memo},
                     **ASYNC, **{"Idempotency-Key": f"docs-{secrets.token_hex(6)}"})
        assert r.status_code == 202, r.text
        tx_hash = r.json()["tx_hash"]
        assert env.state_of("memo", memo) == ["pending"]  # kept from the moment it was signed …
        h = env.store().hashes_of("memo", memo)[0]
        assert _document(env, h, "resident").status_code == 404  # … but not served before the chain has it
    finally:
        env.led.rpc("miner_start")
    receipt = env.led.wait(tx_hash)
    assert "0x" + receipt.event("ContributionReceived").args["memoHash"].hex() == h
    r = _document(env, h, "resident")  # its receipt is seen: stored, and served to its reader
    assert r.status_code == 200 and r.json()["text"] == memo
    assert env.state_of("memo", memo) == ["stored"]


def test_a_crash_between_the_receipt_and_the_store_is_settled_at_start(env: Env, story: dict[str, Any]) -> None:
    memo = f"crash memo {secrets.token_hex(4)}"
    docs = open_store(env.api.settings)
    draft = docs.draft("memo", memo)
    fund = Fund(env.led)
    fund.ensure_allowance(env.deployment.signers["resident"], 7)
    texts = docs.journal([draft])
    texts.wait(fund.send_contribution(env.deployment.signers["resident"], fund.contribute_call(7, 0, draft.hash),
                                      texts))
    # the process dies here: mined, but never accepted
    assert env.state_of("memo", memo) == ["pending"]
    with TestClient(create_app(env.api.settings), raise_server_exceptions=False):
        assert env.state_of("memo", memo) == ["stored"]  # settled at start-up, before any read


def test_quotas_refuse_new_texts_with_nothing_sent(deployment: Deployment, tmp_path: Path,
                                                   databases: dict[str, str]) -> None:
    with _env(deployment, tmp_path, doc_quota_count=2, doc_quota_bytes=64, **databases) as e:
        mint(e.led, deployment.signers["treasurer"], deployment.signers["resident"].address, 100)
        mint(e.led, deployment.signers["treasurer"], deployment.signers["enterprise"].address, 100)
        for memo in ("第一条", "second"):
            assert e.post("/api/v1/fund/contributions", "resident", {"amount": 1, "memo": memo}).status_code == 201
        height = e.led.block_number()
        r = e.post("/api/v1/fund/contributions", "resident", {"amount": 1, "memo": "third"})
        assert r.status_code == 429 and r.json()["code"] == "quota-exceeded", r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "2 texts stored, the limit is 2" in r.json()["detail"]
        assert e.led.block_number() == height and e.state_of("memo", "third") == []
        assert e.post("/api/v1/fund/contributions", "resident", {"amount": 1}).status_code == 201  # no text: fine
        r = e.post("/api/v1/fund/contributions", "enterprise", {"amount": 1, "memo": "字" * 22})  # 66 bytes
        assert r.status_code == 413 and r.json()["code"] == "quota-exceeded", r.text
        assert "the limit is 64 (this write adds 66)" in r.json()["detail"]
        assert e.state_of("memo", "字" * 22) == []
        assert e.post("/api/v1/fund/contributions", "enterprise", {"amount": 1, "memo": "字" * 21}).status_code == 201


def test_the_old_json_store_is_imported_once_and_never_written(deployment: Deployment, tmp_path: Path,
                                                               databases: dict[str, str]) -> None:
    manifest = private_fund_manifest(deployment, tmp_path)
    led = ledger_for(deployment, manifest)
    s = deployment.signers
    fund = Fund(led)
    title, memo, junk = unique("旧标题"), f"旧备注 {secrets.token_hex(3)}", f"被拒绝的备注 {secrets.token_hex(3)}"
    fund.propose_project(s["dept_a"], doc_hash(title), s["dept_b"].address, [(10, doc_hash("旧里程碑"))])
    mint(led, s["treasurer"], s["resident"].address, 11)
    fund.contribute(s["resident"], 10, 0, doc_hash(memo))
    old = tmp_path / "fund-docs.json"
    entries = {t: k for k, t in (("title", title), ("milestone", "旧里程碑"), ("memo", memo), ("memo", junk))}
    documents_json = {"0x" + doc_hash(t).hex(): {"kind": k, "text": t} for t, k in entries.items()}
    documents_json["0x" + doc_hash("forged").hex()] = {"kind": "title", "text": "not the text of that hash"}
    old.write_text(json.dumps({"version": 1, "documents": documents_json}, ensure_ascii=False), encoding="utf-8")
    with _env(deployment, tmp_path / "api", manifest, **databases) as e:
        assert not old.exists() and (tmp_path / "fund-docs.json.imported").exists()  # imported at start, once
        assert _document(e, "0x" + doc_hash(title).hex(), "resident").json()["text"] == title
        assert _document(e, "0x" + doc_hash(memo).hex(), "resident").json()["text"] == memo  # its record found
        assert _document(e, "0x" + doc_hash(memo).hex(), "enterprise").status_code == 404
        for refused in (junk, "forged"):  # no chain record carries it / it does not match its hash
            assert _document(e, "0x" + doc_hash(refused).hex(), "treasurer").status_code == 404
        r = e.post("/api/v1/fund/contributions", "resident", {"amount": 1, "memo": "new"})
        assert r.status_code == 201 and not old.exists()  # never written again
