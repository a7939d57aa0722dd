"""The auditor against a real Ganache chain: a clean history audits with zero findings, and a
tampering scenario per rule is caught (each test fails when its check is removed).

One private chain for the module: the suite deployed, the standard members admitted, a
Sensitive dataset shared under two approvals with accesses and an anchored Merkle batch, and
a fund project approved by quorum, funded (earmarked and general), allocated and paid.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from eth_utils import keccak

from ledger.audit import AuditOptions, AuditReport, run_audit
from ledger.client import ContractCall, Ledger
from ledger.data import Classification, DataSharing, Terms
from ledger.data.row_filter import document_text, row_filter_hash
from ledger.keys import Signer
from ledger.manifest import ContractDeployment, Manifest
from ledger.merkle import AccessRecord, MerkleTree
from ledger.testing import Deployment, deploy_standard, start_ganache
from tests.conftest import TEST_PASSWORD
from tests.ledger.cogov_cli import audit_verify
from tests.postgresql import Db

pytestmark = pytest.mark.ganache

RECEIPT = b"Receipt No. 2024-001: 10.00 CNY from resident group, earmarked for the playground\n"
INVOICE = b"Invoice INV-77: playground benches, 7.00 CNY\n"
TITLE = b"Playground renovation"
PURPOSE = "community visit planning"
ROW_FILTER = {"all": [{"field": "age", "op": "in", "value": [88, 89]}]}


@dataclass
class Scenario:
    d: Deployment
    led: Ledger
    docs: Path
    batch_file: Path
    grant_id: int


def build_fund_history(
    led: Ledger, s: dict[str, Signer], fund: str = "CoGovFund", *, vote: bool = True, wait_lock: bool = True
) -> dict[str, Any]:
    """Mint credits, propose a project (votes: quorum 2), contribute, allocate and pay a milestone."""
    credit = "CommunityCredit"
    fund_addr = led.manifest.address(fund) if fund in led.manifest.contracts else fund  # type: ignore[union-attr]
    abi = led.contract("CoGovFund").abi
    for label, amount in (("resident", 1000), ("enterprise", 500)):
        led.transact(
            s["treasurer"], credit, "mint", s[label].address, amount, keccak(text=f"deposit-{label}-{fund_addr}")
        )
        led.transact(s[label], credit, "approve", fund_addr, amount)

    def tx(signer: Signer, fn: str, *args: Any) -> Any:
        c = led.w3.eth.contract(address=fund_addr, abi=abi)
        return led.transact(signer, ContractCall(fund_addr, c.encode_abi(fn, args=list(args)), gas=1_500_000))

    r = tx(
        s["dept_a"],
        "proposeProject",
        keccak(TITLE),
        s["dept_b"].address,
        1000,
        [(700, keccak(text="benches")), (300, keccak(text="paint"))],
        0,
    )
    project = 1
    out: dict[str, Any] = {"project": project, "proposal_tx": r.tx_hash}
    if vote:
        tx(s["committee_a"], "vote", 1, True)
        tx(s["committee_b"], "vote", 1, True)
        if wait_lock:
            led.rpc("evm_increaseTime", [3601])
            led.rpc("evm_mine", [])
    tx(s["resident"], "contribute", 600, project, keccak(RECEIPT))
    tx(s["enterprise"], "contribute", 500, 0, b"\x00" * 32)
    if vote and wait_lock:
        tx(s["committee_a"], "proposeAllocation", project, 200)
        tx(s["committee_b"], "vote", 2, True)
        tx(s["committee_c"], "vote", 2, True)
    # without the allocation only the earmarked 600 is available
    r = tx(s["treasurer"], "payMilestone", project, 0, 700 if vote and wait_lock else 600, keccak(INVOICE))
    out["payout_tx"] = r.tx_hash
    return out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("audit")
    g = start_ganache(root / "chain")
    try:
        d = deploy_standard(g, root, TEST_PASSWORD)
        led = d.ledger()
        s = d.signers

        # data: a Sensitive dataset, two approvals, accesses, an anchored batch
        ds = DataSharing(led)
        dataset = b"resident_id,age\nE1,88\n"
        did, _ = ds.register(
            s["dept_a"],
            "Elderly registry (synthetic)",
            Classification.SENSITIVE,
            keccak(text="meta"),
            keccak(text="schema"),
            keccak(dataset),
            2,
        )
        terms = Terms(1, keccak(text=PURPOSE), 0b10, 30 * 24 * 3600, row_filter_hash(ROW_FILTER))
        rid, _ = ds.request_access(s["dept_b"], did, terms)
        ds.approve_as_owner(s["dept_a"], rid)
        r = ds.approve_as_governance(s["c3"], rid)
        gid = int(r.event("GrantCreated").args["grantId"])
        for i in range(3):
            ds.record_access(s["dept_a"], gid, keccak(text=f"q{i}"), 10 + i, 0b10)
        now = int(led.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        granted = ds.grant(gid).granted_at
        records = [AccessRecord(gid, keccak(text=f"off-{i}"), i + 1, min(now, granted + i)) for i in range(5)]
        tree = MerkleTree.of_records(records)
        times = [x.timestamp for x in records]
        ds.anchor_batch(s["dept_a"], tree.root, len(records), min(times), max(times))
        batch_file = root / "batch-1.json"
        batch_file.write_text(
            json.dumps(
                {
                    "batch_id": 1,
                    "records": [
                        {
                            "grant_id": x.grant_id,
                            "query_hash": "0x" + x.query_hash.hex(),
                            "row_count": x.row_count,
                            "timestamp": x.timestamp,
                        }
                        for x in records
                    ],
                }
            )
        )

        build_fund_history(led, s)
        # a twin: receipt 3 carries the same memo as receipt 1
        fund_addr = led.manifest.address("CoGovFund")  # type: ignore[union-attr]
        c = led.w3.eth.contract(address=fund_addr, abi=led.contract("CoGovFund").abi)
        data = c.encode_abi("contribute", args=[100, 1, keccak(RECEIPT)])
        led.transact(s["resident"], ContractCall(fund_addr, data, gas=1_500_000))

        docs = root / "docs"
        for rel, content in {
            "receipts/1.txt": RECEIPT,
            "receipts/3.txt": RECEIPT,
            "invoices/1.txt": INVOICE,
            "projects/1.txt": TITLE,
            "milestones/1-0.txt": b"benches",
            "milestones/1-1.txt": b"paint",
            "datasets/1-v1.csv": dataset,
            "purposes/1.txt": PURPOSE.encode(),
            "row_filters/1.txt": document_text(ROW_FILTER).encode(),
        }.items():
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            (docs / rel).write_bytes(content)
        yield Scenario(d, led, docs, batch_file, gid)
    finally:
        g.stop(timeout=10)


def audit(sc: Scenario, manifest: Manifest | None = None, **kw: Any) -> AuditReport:
    m = manifest or Manifest.load(sc.d.manifest_path)
    led = Ledger(sc.d.ganache.config.url, m)
    return run_audit(led, m, AuditOptions(**kw))


def rules(report: AuditReport) -> set[str]:
    return {f.rule for f in report.errors}


def test_clean_chain_audits_with_zero_findings(scenario: Scenario, db: Db) -> None:
    _, url = _synced_index(scenario, db)
    report = audit(scenario, documents=scenario.docs, batches=[scenario.batch_file], index_db=url)
    assert report.findings == [], [f.model_dump() for f in report.findings]
    assert report.ok
    checked = {r.id: r.checked for r in report.rules}
    for rule in (
        "code.runtime-mismatch",
        "code.immutable-mismatch",
        "code.creation-mismatch",
        "state.mismatch",
        "fund.balance-invariant",
        "fund.payout-without-quorum",
        "fund.payout-time-locked",
        "fund.trace-mismatch",
        "data.access-outside-grant",
        "data.sensitive-single-approver",
        "data.batch-root-mismatch",
        "documents.mismatch",
        "index.row-altered",
        "index.row-dropped",
    ):
        assert checked[rule] > 0, rule
    assert report.summary["fund"]["paid_out"] == 700 and report.summary["data"]["accesses"] == 3
    assert report.compiler["version"].startswith("0.8.28")
    assert all(c.code_matches and c.source_hashes for c in report.contracts)


def test_cli_shows_progress_on_stderr_in_plain_lines(scenario: Scenario, tmp_path: Path) -> None:
    """stderr is not a terminal here: a plain line per phase and through the scan, the scan's last
    naming every block and event of the report; ``--no-progress``: none."""
    url, manifest = scenario.d.ganache.config.url, scenario.d.manifest_path
    r = audit_verify(tmp_path, url, manifest, "--no-save", "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    scan = json.loads((tmp_path / "r.json").read_text())["scan"]
    blocks, events = scan["blocks"], scan["events"]
    lines = [x for x in r.stderr.splitlines() if x.startswith("audit: ")]
    assert lines[0] == "audit: code (0 events)", r.stderr
    assert any(x.startswith(f"audit: scan {blocks:,}/{blocks:,} blocks, {events:,} events, ") for x in lines), lines
    assert lines[-1] == f"audit: state ({events:,} events)", lines
    quiet = audit_verify(tmp_path, url, manifest, "--no-save", "--no-progress")
    assert quiet.returncode == 0 and "audit: " not in quiet.stderr, quiet.stderr


def _pointed(
    sc: Scenario, name: str, address: str, tx_hash: str, block: int, args: list[Any] | None = None
) -> Manifest:
    m = Manifest.load(sc.d.manifest_path)
    contracts = dict(m.contracts)
    old = contracts[name]
    contracts[name] = ContractDeployment(
        address=address,
        tx_hash=tx_hash,
        block_number=block,
        runtime_keccak=old.runtime_keccak,
        constructor_args=old.constructor_args if args is None else args,
    )
    return m.model_copy(update={"contracts": contracts})


def test_replaced_code_at_a_manifest_address_is_caught(scenario: Scenario) -> None:
    r = scenario.led.deploy(scenario.d.signers["deployer"], "ReentrantToken")
    assert r.contract_address is not None
    m = _pointed(scenario, "CommunityCredit", r.contract_address, r.tx_hash, r.block_number)
    report = audit(scenario, manifest=m)
    assert "code.runtime-mismatch" in rules(report)
    assert "code.creation-mismatch" in rules(report)
    found = next(f for f in report.errors if f.rule == "code.runtime-mismatch")
    assert found.contract == "CommunityCredit" and found.records["address"] == r.contract_address
    assert not report.ok


def test_altered_index_rows_are_caught(scenario: Scenario, db: Db) -> None:
    where, url = _synced_index(scenario, db)
    [(row_id, args)] = db.sql(where, "SELECT id, args FROM events WHERE event = 'PayoutMade'")
    db.sql(where, "UPDATE events SET args = :args WHERE id = :id", args=args.replace('"700"', '"7000"'), id=row_id)
    dropped = db.sql(where, "SELECT id, tx_hash FROM events WHERE event = 'AccessRecorded' LIMIT 1")[0]
    db.sql(where, "DELETE FROM events WHERE id = :id", id=dropped[0])
    report = audit(scenario, index_db=url)
    found = {f.rule: f for f in report.errors}
    assert set(found) == {"index.row-altered", "index.row-dropped"}, [f.model_dump() for f in report.errors]
    assert found["index.row-altered"].records["fields"]["args_json"]["index"].count('"7000"') == 1
    assert found["index.row-dropped"].tx_hash == dropped[1]


def test_altered_receipt_file_is_caught(scenario: Scenario, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(scenario.docs, docs)
    (docs / "receipts" / "1.txt").write_bytes(RECEIPT.replace(b"10.00", b"100.00"))
    (docs / "invoices" / "1.txt").unlink()
    report = audit(scenario, documents=docs)
    mism = [f for f in report.errors if f.rule == "documents.mismatch"]
    assert len(mism) == 1 and mism[0].records["record"] == "1" and mism[0].records["kind"] == "receipts"
    assert mism[0].tx_hash is not None and mism[0].block is not None
    missing = [f for f in report.findings if f.rule == "documents.missing"]
    assert [f.records["kind"] for f in missing] == ["invoices"]


def test_batch_file_with_one_record_changed_is_caught(scenario: Scenario, tmp_path: Path) -> None:
    doc = json.loads(scenario.batch_file.read_text())
    doc["records"][2]["row_count"] += 1
    changed = tmp_path / "batch-1.json"
    changed.write_text(json.dumps(doc))
    report = audit(scenario, batches=[changed])
    assert rules(report) == {"data.batch-root-mismatch"}
    f = report.errors[0]
    assert f.records["batch"] == 1 and f.records["file_root"] != f.records["anchored_root"]


def test_weak_fund_is_caught_by_code_and_by_the_quorum_rule(scenario: Scenario) -> None:
    led, s = scenario.led, scenario.d.signers
    m0 = Manifest.load(scenario.d.manifest_path)
    r = led.deploy(s["deployer"], "WeakFund", *m0.contracts["CoGovFund"].constructor_args)
    assert r.contract_address is not None
    weak = r.contract_address
    build_fund_history(led, s, fund=weak, vote=False)  # paid without any vote
    m = _pointed(scenario, "CoGovFund", weak, r.tx_hash, r.block_number)
    report = audit(scenario, manifest=m)
    found = rules(report)
    assert "code.runtime-mismatch" in found
    assert "fund.payout-without-quorum" in found
    payout = next(f for f in report.errors if f.rule == "fund.payout-without-quorum")
    assert payout.records["project"] == 1 and payout.records["votes"] == 0 and payout.records["quorum"] == 2
    receipt = led.receipt(payout.tx_hash or "")
    assert receipt is not None and receipt.block_number == payout.block
    # the rest of the weak fund's history is consistent: its views equal the replay
    assert "state.mismatch" not in found


def test_audit_fails_over_past_a_node_that_does_not_answer(scenario: Scenario) -> None:
    """The auditor reads through the ledger's URL list: a dead first node is passed over."""
    from ledger.process import free_port

    m = Manifest.load(scenario.d.manifest_path)
    dead = f"http://127.0.0.1:{free_port()}"
    led = Ledger([dead, scenario.d.ganache.config.url], m)
    report = run_audit(led, m, AuditOptions())
    assert report.ok and report.findings == [], [f.model_dump() for f in report.findings]
    assert report.summary["data"]["accesses"] == 3


# ----------------------------------------------------------------- issue 14, item 12: forged manifests


def test_a_byte_identical_copy_deployed_by_another_account_is_caught(scenario: Scenario) -> None:
    """A manifest pointing the fund at a copy with the same code and arguments, created by someone
    else in their own transaction: everything about the code matches, the creator does not."""
    led, s = scenario.led, scenario.d.signers
    m0 = Manifest.load(scenario.d.manifest_path)
    r = led.deploy(s["outsider"], "CoGovFund", *m0.contracts["CoGovFund"].constructor_args)
    assert r.contract_address is not None
    m = _pointed(scenario, "CoGovFund", r.contract_address, r.tx_hash, r.block_number)
    report = audit(scenario, manifest=m)
    assert rules(report) == {"code.deployer-mismatch"}, [f.model_dump() for f in report.errors]
    f = report.errors[0]
    assert f.contract == "CoGovFund" and f.tx_hash == r.tx_hash and f.block == r.block_number
    assert f.records["sender"] == s["outsider"].address.lower()
    assert f.records["deployer"] == m0.deployer
    assert all(c.code_matches for c in report.contracts)  # the code itself is the audited source
    assert not report.ok


def test_a_fund_wired_to_another_token_is_caught(scenario: Scenario) -> None:
    """The deployer's own fund, with a manifest whose constructor arguments match it, but whose
    token is not the manifest's CommunityCredit: the contracts do not reference each other."""
    led, s = scenario.led, scenario.d.signers
    m0 = Manifest.load(scenario.d.manifest_path)
    credit = led.deploy(s["deployer"], "CommunityCredit", *m0.contracts["CommunityCredit"].constructor_args)
    assert credit.contract_address is not None
    registry, _token, *rest = m0.contracts["CoGovFund"].constructor_args  # quorum, time lock, voting period
    args = [registry, credit.contract_address, *rest]
    r = led.deploy(s["deployer"], "CoGovFund", *args)
    assert r.contract_address is not None
    m = _pointed(scenario, "CoGovFund", r.contract_address, r.tx_hash, r.block_number, args)
    report = audit(scenario, manifest=m)
    assert rules(report) == {"code.wiring-mismatch"}, [f.model_dump() for f in report.errors]
    f = report.errors[0]
    assert f.contract == "CoGovFund" and f.records["view"] == "token"
    assert f.records["got"].lower() == credit.contract_address.lower()
    assert f.records["expected"] == m0.contracts["CommunityCredit"].address


# ----------------------------------------------------------------- issue 14, item 14: index tampering


def _synced_index(scenario: Scenario, db: Db, to_block: int | None = None) -> tuple[Path | str, str]:
    """A new index of ``db``'s kind synced (up to ``to_block``): the database and its URL."""
    from ledger.index import Indexer

    m = Manifest.load(scenario.d.manifest_path)
    where = db.new()
    url = db.url_of(where)
    idx = Indexer(scenario.led, {n: c.address for n, c in m.contracts.items()}, url, start_block=m.start_block)
    idx.sync(to_block=to_block)
    idx.close()
    return where, url


def test_a_row_repeated_with_its_hash_in_upper_case_is_caught(scenario: Scenario, db: Db) -> None:
    """The store refuses that spelling (tests/ledger/test_index.py); an operator who switches its
    CHECK constraints off and inserts it anyway is caught by the auditor: one event, one row."""
    path, url = _synced_index(scenario, db)
    if db.kind == "postgresql":  # the same operator on PostgreSQL drops the constraint
        db.sql(path, "ALTER TABLE events DROP CONSTRAINT ck_events_tx_hash_lower_hex")
    cols = "block_number, block_hash, block_time, tx_hash, tx_index, log_index, contract, address, event, args"
    [row] = db.sql(path, f"SELECT id, {cols} FROM events WHERE event = 'ContributionReceived' LIMIT 1")
    copy = list(row[1:])
    copy[3] = "0x" + copy[3][2:].upper()
    names = cols.split(", ")
    values = ", ".join(f":{n}" for n in names)
    with db.engine(path).begin() as conn:
        if db.kind == "sqlite":
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        new_id = conn.execute(sa.text(f"INSERT INTO events ({cols}) VALUES ({values}) RETURNING id"),
                              dict(zip(names, copy, strict=True))).scalar_one()
    report = audit(scenario, index_db=url)
    assert rules(report) == {"index.row-added"}, [f.model_dump() for f in report.errors]
    [f] = report.errors
    assert f.records["row"]["id"] == new_id and f.records["repeats"] == row[0]
    assert f.tx_hash == copy[3] and "indexed twice" in f.message


def test_rows_deleted_from_a_block_on_with_the_last_block_moved_back_are_caught(scenario: Scenario, db: Db) -> None:
    path, url = _synced_index(scenario, db)
    [(cut,)] = db.sql(path, "SELECT block_number FROM events WHERE event = 'PayoutMade'")
    deleted = db.sql(path, "SELECT tx_hash FROM events WHERE block_number >= :cut", cut=cut)
    db.sql(path, "DELETE FROM events WHERE block_number >= :cut", cut=cut)
    db.sql(path, "UPDATE meta SET value = :v WHERE key = 'last_block'", v=str(cut - 1))
    report = audit(scenario, index_db=url)
    assert rules(report) == {"index.last-block-rewound", "index.row-dropped"}, [f.model_dump() for f in report.errors]
    rewound = next(f for f in report.errors if f.rule == "index.last-block-rewound")
    assert rewound.records["last_block"] == cut - 1 and rewound.records["kept_blocks_above"]
    dropped = {f.tx_hash for f in report.errors if f.rule == "index.row-dropped"}
    assert dropped == {h for (h,) in deleted}
    assert not any(f.rule == "index.lag" for f in report.findings)


def test_an_index_that_is_behind_is_lag_not_tampering(scenario: Scenario, db: Db) -> None:
    """An honest index synced to 4 blocks before the audited head: no violation, one lag finding."""
    m = Manifest.load(scenario.d.manifest_path)
    led = Ledger(scenario.d.ganache.config.url, m)
    head = led.block_number()
    _, url = _synced_index(scenario, db, to_block=head - 4)
    logs = led.rpc(
        "eth_getLogs",
        [{"address": [c.address for c in m.contracts.values()], "fromBlock": hex(head - 3), "toBlock": hex(head)}],
    )
    assert logs  # the twin contribution, at least
    report = audit(scenario, index_db=url, to_block=head)
    assert report.ok and report.errors == [], [f.model_dump() for f in report.errors]
    [lag] = [f for f in report.findings if f.rule == "index.lag"]
    assert lag.severity.value == "warning"
    assert (lag.records["last_block"], lag.records["blocks_behind"]) == (head - 4, 4)
    assert lag.records["events_behind"] == len(logs) == report.summary["index"]["events_behind"]


# ----------------------------------------------------------------- issue 14, item 15: document twins


def test_a_deleted_receipt_cannot_hide_behind_its_twin(scenario: Scenario, tmp_path: Path) -> None:
    """Receipts 1 and 3 carry the same memo; without receipts/1.* receipt 1 has no file, whatever
    receipts/3.txt holds."""
    docs = tmp_path / "docs"
    shutil.copytree(scenario.docs, docs)
    (docs / "receipts" / "1.txt").unlink()
    report = audit(scenario, documents=docs)
    missing = [f for f in report.findings if f.rule == "documents.missing"]
    assert [(f.records["kind"], f.records["record"]) for f in missing] == [("receipts", "1")]
    assert missing[0].severity.value == "warning" and missing[0].tx_hash is not None
    assert not report.errors


def test_one_file_serves_several_records_only_when_shared_json_says_so(scenario: Scenario, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(scenario.docs, docs)
    (docs / "receipts" / "1.txt").unlink()
    (docs / "receipts" / "3.txt").unlink()
    (docs / "shared").mkdir()
    (docs / "shared" / "memo.txt").write_bytes(RECEIPT)

    report = audit(scenario, documents=docs)  # no SHARED.json: the file serves nobody
    missing = sorted(f.records["record"] for f in report.findings if f.rule == "documents.missing")
    assert missing == ["1", "3"]
    [unmatched] = [f for f in report.findings if f.rule == "documents.unmatched"]
    assert unmatched.records["file"] == "shared/memo.txt" and unmatched.records["same_hash_as"] == [
        "receipts/1",
        "receipts/3",
    ]

    (docs / "SHARED.json").write_text(json.dumps({"shared/memo.txt": ["receipts/3"]}))
    report = audit(scenario, documents=docs)
    missing = [f.records["record"] for f in report.findings if f.rule == "documents.missing"]
    assert missing == ["1"]

    (docs / "SHARED.json").write_text(json.dumps({"shared/memo.txt": ["receipts/1", "receipts/3"]}))
    report = audit(scenario, documents=docs)
    assert report.findings == [], [f.model_dump() for f in report.findings]

    (docs / "SHARED.json").write_text(json.dumps({"shared/memo.txt": "receipts/1"}))
    report = audit(scenario, documents=docs)
    assert {f.rule for f in report.findings} == {"documents.shared-invalid", "documents.missing", "documents.unmatched"}


def test_an_opening_file_is_checked_by_its_commitment(tmp_path: Path) -> None:
    from ledger.audit.collect import Collector
    from ledger.audit.documents import OnChainDocument, check_documents
    from ledger.commitment import Opening

    opening = Opening.new("社区花园浇水")
    docs = [OnChainDocument("purposes", "5", opening.commitment_hex, "DataSharing", None)]
    (tmp_path / "purposes").mkdir()
    (tmp_path / "purposes" / "5.json").write_bytes(opening.to_json())
    out = Collector()
    assert check_documents(tmp_path, docs, out)["matched"] == 1 and out.findings == []

    (tmp_path / "purposes" / "5.json").write_bytes(Opening("社区花园施肥", opening.salt).to_json())
    out = Collector()
    check_documents(tmp_path, docs, out)
    assert [f.rule for f in out.findings] == ["documents.mismatch"]
