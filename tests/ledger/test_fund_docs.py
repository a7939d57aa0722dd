"""The off-chain text store (ledger.fund.docs) and the read table (ledger.doc_access), without a chain:
commitments per kind, the pending → stored life of a text, the old JSON store's import, quotas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.problems import status_of
from ledger.abi import hex_of
from ledger.client import ContractCall, Pending, TxReceipt
from ledger.commitment import commit
from ledger.data.row_filter import document_text, row_filter_hash
from ledger.doc_access import READERS, Party, Reader, may_read
from ledger.errors import QuotaExceeded, ValidationFailed
from ledger.events import Event
from ledger.fund.docs import KINDS, DocStore, Quota, doc_hash, documents
from ledger.membership import Role
from tests.postgresql import Db

KEY = b"\x07" * 32
TX_A, TX_B = "0x" + "aa" * 32, "0x" + "bb" * 32


def signed(tx_hash: str) -> Pending:
    """A transaction as the pipeline hands it to a journal: signed, about to be sent."""
    return Pending(tx_hash, b"signed", "0x" + "00" * 20, 0, ContractCall(None, "0x"))


def store(url: str, **kw: object) -> DocStore:
    """The texts' store on the service database ``url`` (the ``db`` fixture's: SQLite, then PostgreSQL)."""
    return DocStore.open(url, reference_key=lambda: KEY, **kw)  # type: ignore[arg-type]


def contribution(tx: str, memo_hash: bytes, status: int = 1, receipt_id: int = 9, member: int = 4) -> TxReceipt:
    ev = Event(contract="CoGovFund", name="ContributionReceived", address="0x" + "cc" * 20, log_index=0,
               block_number=7, tx_hash=tx, block_hash="0x" + "00" * 32, time=None, tx_index=0,
                      args={"receiptId": receipt_id, "memberId": member, "contributor": "0x" + "11" * 20, "kind": 2,
                            "projectId": 0, "amount": 5, "memoHash": memo_hash})
    return TxReceipt(tx_hash=tx, block_number=7, block_hash="0x" + "00" * 32, gas_used=1, status=status, events=(ev,))


def test_each_kind_commits_as_its_table_says(db: Db) -> None:
    docs = store(db.url("service"))
    title = docs.draft("title", "停车难综合治理")
    assert title.salt is None and title.hash == doc_hash("停车难综合治理")  # public: plain keccak256
    a, b = docs.draft("memo", "幸福里居民众筹"), docs.draft("memo", "幸福里居民众筹")
    assert a.salt and b.salt and a.hash != b.hash != doc_hash("幸福里居民众筹")  # a fresh random salt each time
    assert a.hash == commit(a.text, a.salt)
    d1, d2 = docs.draft("deposit", "BANK-1"), docs.draft("deposit", "BANK-1")
    assert d1.hash == d2.hash != doc_hash("BANK-1")  # keyed: one slip, one commitment (the token refuses a reuse)
    assert docs.draft("redemption", "BANK-1").hash != d1.hash  # the kind is part of the keyed salt
    other = DocStore.open(db.url("other"), reference_key=lambda: b"\x08" * 32)
    assert other.draft("deposit", "BANK-1").hash != d1.hash  # unguessable without the deployment's key
    for bad in ("", "   ", "x" * 20_001):
        with pytest.raises(ValidationFailed):
            docs.draft("memo", bad)
    flt = {"all": [{"field": "district", "op": "eq", "value": "幸福里"}]}
    row_filter = docs.draft("row_filter", document_text(flt))
    assert row_filter.salt is None and row_filter.hash == row_filter_hash(flt)  # the hash the request binds
    with pytest.raises(ValidationFailed, match="canonical JSON"):
        docs.draft("row_filter", json.dumps(flt))  # spaces: another text, another hash


def test_a_text_is_pending_from_signing_and_stored_once_its_receipt_says_so(db: Db) -> None:
    url = db.url("service")
    docs = store(url)
    memo = docs.draft("memo", "我家的捐款")
    journal = docs.journal([memo, None])
    assert journal is not None
    journal.record(signed(TX_A))  # signed, about to be sent
    row = docs.get(memo.hash)
    assert row is not None and row.state == "pending" and row.tx_hash == TX_A and row.record is None
    assert docs.accept(contribution(TX_B, doc_hash("another"))) == 0  # another write's receipt: nothing
    assert docs.accept(contribution(TX_A, memo.hash, receipt_id=12, member=5)) == 1
    row = docs.get(memo.hash)
    assert row is not None and row.state == "stored" and row.record == {"receiptId": 12, "memberId": 5}
    assert row.opening is not None and row.opening.opens(memo.hash) and row.verifies()
    assert docs.texts([memo.hash]) == {memo.hash_hex: "我家的捐款"}
    assert docs.accept(contribution(TX_A, memo.hash)) == 0  # idempotent

    reverted = docs.draft("memo", "refused")
    docs.journal([reverted]).record(signed(TX_B))
    assert docs.accept(contribution(TX_B, reverted.hash, status=0)) == 1  # a revert: dropped
    assert docs.get(reverted.hash) is None

    with db.engine(url).begin() as conn:  # a doctored text
        conn.execute(documents.update().where(documents.c.hash == memo.hash_hex).values(text="我家的捐款!"))
    assert docs.texts([memo.hash]) == {}  # never shown: it no longer opens the on-chain hash
    assert docs.get(memo.hash).verifies() is False  # type: ignore[union-attr]


def test_quotas_count_rows_and_bytes_per_scope(db: Db) -> None:
    key_a = store(db.url("service")).for_scope("key-a", Quota(count=2, bytes=20))
    key_a.journal([key_a.draft("memo", "one")]).record(signed(TX_A))
    key_a.journal([key_a.draft("memo", "two")]).record(signed(TX_A))
    with pytest.raises(QuotaExceeded) as count:
        key_a.journal([key_a.draft("memo", "three")]).record(signed(TX_B))
    assert status_of(count.value) == 429 and key_a.usage() == (2, 6)
    key_b = key_a.for_scope("key-b", Quota(count=10, bytes=20))
    with pytest.raises(QuotaExceeded) as size:
        key_b.journal([key_b.draft("memo", "字" * 7)]).record(signed(TX_B))  # 21 bytes
    assert status_of(size.value) == 413 and key_b.usage() == (0, 0)
    key_b.journal([key_b.draft("title", "one public title")]).record(signed(TX_B))
    key_b.journal([key_b.draft("title", "one public title")]).record(signed(TX_B))  # same row: no cost
    assert key_b.usage() == (1, 16)


def test_the_old_json_store_is_imported_once(tmp_path: Path, db: Db) -> None:
    old = tmp_path / "fund-docs.json"
    old.write_text(json.dumps({"version": 1, "documents": {
        hex_of(doc_hash("标题")): {"kind": "title", "text": "标题"},
        hex_of(doc_hash("备注")): {"kind": "memo", "text": "备注"},
        hex_of(doc_hash("伪造")): {"kind": "title", "text": "不是这段文字"},  # does not match its hash
        hex_of(doc_hash("x")): {"kind": "poem", "text": "x"},  # no such kind
    }}, ensure_ascii=False), encoding="utf-8")
    docs = store(db.url("service"))
    assert docs.import_legacy(old) == 2 and not old.exists() and (tmp_path / "fund-docs.json.imported").exists()
    assert docs.import_legacy(old) == 0  # once
    row = docs.get(doc_hash("备注"))
    assert row is not None and row.state == "legacy" and row.salt is None and row.record is None
    assert docs.texts([doc_hash("标题"), doc_hash("伪造")]) == {hex_of(doc_hash("标题")): "标题"}
    assert docs.accept(contribution(TX_A, doc_hash("备注"))) == 1  # a chain record names it: stored
    assert docs.get(doc_hash("备注")).state == "stored"  # type: ignore[union-attr]


def test_the_read_table() -> None:
    assert set(READERS) == set(KINDS)
    nobody = Reader()
    treasurer = Reader(1, frozenset({Role.TREASURER}))
    auditor = Reader(2, frozenset(), auditor=True)
    committee = Reader(3, frozenset({Role.FUND_COMMITTEE}))
    governance = Reader(4, frozenset({Role.DATA_GOVERNANCE}))
    member = Reader(5, frozenset({Role.CONTRIBUTOR}))
    public = ("title", "milestone", "case_public")  # a case_public: a description its raiser marked public
    for kind in public:
        assert may_read(kind, nobody)
    assert may_read("memo", member, {Party.CONTRIBUTOR: 5}) and not may_read("memo", member, {Party.CONTRIBUTOR: 6})
    assert may_read("memo", treasurer) and may_read("memo", auditor) and not may_read("memo", committee)
    for kind in ("deposit", "redemption"):
        assert may_read(kind, treasurer) and may_read(kind, auditor)
        assert not any(may_read(kind, r, {p: r.member_id for p in Party}) for r in (committee, governance, member))
    assert may_read("invoice", committee) and may_read("invoice", member, {Party.BENEFICIARY: 5})
    assert not may_read("invoice", member, {Party.CONTRIBUTOR: 5}) and not may_read("invoice", governance)
    assert may_read("purpose", governance) and may_read("purpose", member, {Party.OWNER: 5})
    assert may_read("purpose", member, {Party.REQUESTER: 5}) and may_read("purpose", auditor)
    assert not may_read("purpose", treasurer) and not may_read("purpose", committee)
    assert READERS["row_filter"] == READERS["purpose"]  # a request's filter is read as its purpose is
    assert not any(may_read(kind, nobody, {p: None for p in Party}) for kind in KINDS if kind not in public)


def test_a_row_filter_is_exported_where_the_auditor_checks_it(tmp_path: Path, db: Db) -> None:
    """Issue 17: a request's row filter, kept once the chain accepted the request, is exported as
    ``row_filters/<requestId>.txt`` and matches the request's rowFilterHash in the auditor's check."""
    from ledger.audit.collect import Collector
    from ledger.audit.documents import OnChainDocument, check_documents

    docs = store(db.url("service"))
    flt = {"all": [{"field": "age", "op": "in", "value": [70, 71]}]}
    draft = docs.draft("row_filter", document_text(flt))
    docs.journal([draft]).record(signed(TX_A))
    ev = Event(contract="DataSharing", name="AccessRequested", address="0x" + "dd" * 20, log_index=0, block_number=7,
               tx_hash=TX_A, block_hash="0x" + "00" * 32, time=None, tx_index=0,
               args={"requestId": 5, "datasetId": 2, "requesterId": 4, "rowFilterHash": row_filter_hash(flt)})
    assert docs.accept(TxReceipt(tx_hash=TX_A, block_number=7, block_hash="0x" + "00" * 32, gas_used=1, status=1,
                                 events=(ev,))) == 1
    out_dir = tmp_path / "export"
    assert docs.export(out_dir) == 1 and (out_dir / "row_filters" / "5.txt").read_text() == document_text(flt)
    on_chain = [OnChainDocument("row_filters", "5", hex_of(row_filter_hash(flt)), "DataSharing", ev)]
    out = Collector()
    assert check_documents(out_dir, on_chain, out)["matched"] == 1 and out.findings == []
