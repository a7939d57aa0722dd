"""The fund demo on a fresh Ganache: the scenario it promises, and a second run that changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ganache


def test_fund_demo_scenario_and_idempotency(ganache_factory: Any, tmp_path: Path) -> None:
    from cogov.demo import bootstrap
    from cogov.demo.fund import ELDERLY_CARE, GREEN, PARKING, seed
    from ledger.config import Settings
    from ledger.fund import Fund, MotionState, ProjectState
    from ledger.fund.docs import open_store
    from ledger.fund.model import FundModel
    from ledger.fund.report import contributor_trace, events_from_chain, export_rows, labels_for
    from ledger.logs import head_time
    from tests.conftest import TEST_PASSWORD

    g = ganache_factory("fund-demo")
    said: list[str] = []
    settings = Settings(env="test", rpc_urls=[g.config.url], keystore_dir=tmp_path / "keys",
                        manifest_path=tmp_path / "deployment.json",
                        service_db_url=f"sqlite:///{tmp_path / 'service.db'}",
                        gateway_master_key_file=tmp_path / "gateway-master.key")
    ctx = bootstrap(settings, TEST_PASSWORD, said.append, state_dir=tmp_path / "state")
    led = ctx.ledger
    seed(ctx)

    fund = Fund(led)
    docs = open_store(settings)  # the texts, in the service database
    projects = {docs.text(p.title_hash): p for p in fund.projects()}
    assert set(projects) == {PARKING, GREEN, ELDERLY_CARE}
    parking, green, elderly = projects[PARKING], projects[GREEN], projects[ELDERLY_CARE]
    assert parking.state == ProjectState.COMPLETED and parking.paid == parking.budget == 10_000_000
    assert fund.payout_count() == 2 and parking.allocated == 4_900_000
    assert green.state == ProjectState.PROPOSED
    gm = fund.motion(green.approval_motion_id)
    assert gm.state == MotionState.OPEN and gm.approvals == 1 and gm.approvals + gm.rejections < fund.quorum()
    assert elderly.state == ProjectState.CANCELLED and elderly.refunded == 140_000
    assert [fund.contribution(i).refunded for i in (6, 7, 8)] == [True, True, False]
    assert fund.refundable(8) == 50_000  # resident-1's refund left claimable
    t = fund.totals()
    assert t.contributions == 8 and t.invariant_holds and t.balance == t.contributed - t.paid_out - t.refunded

    events = events_from_chain(led)
    hashes = [a[k] for e in events for a in [e.args] for k in ("titleHash", "memoHash", "invoiceHash") if k in a]
    labels = labels_for(led, docs.texts(hashes))
    model, now = FundModel.of(events), head_time(led)
    gov = contributor_trace(model, now, ctx.member_ids["caizhengju"], labels, "CCR", 2)
    assert gov.member_name == "财政局" and gov.projects_funded == [parking.id]
    assert gov.contributions[0].fundings[0].project == PARKING and gov.total_spent == 4_900_000
    resident = contributor_trace(model, now, ctx.member_ids["resident-1"], labels, "CCR", 2)
    assert [c.receipt_id for c in resident.contributions] == [5, 8] and resident.total_refundable == 50_000
    rows = export_rows(model, labels, "CCR", 2)
    assert [r.type for r in rows].count("payout") == 2 and [r.type for r in rows].count("refund") == 2
    assert all(r.tx_hash and r.block_number for r in rows)
    assert rows[0].counterparty == "财政局" and rows[0].description.startswith("财政局")

    # memos are salted commitments, deposit references keyed ones; titles plain keccak256 (public)
    from ledger.commitment import Opening
    from ledger.fund.docs import doc_hash

    memo = docs.get(fund.contribution(1).memo_hash)
    assert memo is not None and memo.opening is not None and memo.opening.opens(fund.contribution(1).memo_hash)
    assert fund.contribution(1).memo_hash != doc_hash(memo.text)
    assert parking.title_hash == doc_hash(PARKING)
    assert isinstance(memo.opening, Opening)
    # the texts in the auditor's folder layout: openings for the salted ones, texts for the public ones
    folder = tmp_path / "documents"
    assert docs.export(folder) >= 8 + 3 + 2
    assert Opening.from_json((folder / "receipts" / "1.json").read_bytes()).opens(fund.contribution(1).memo_hash)
    assert (folder / "projects" / f"{parking.id}.txt").read_text("utf-8") == PARKING
    assert (folder / "milestones" / f"{parking.id}-0.txt").exists() and len(list((folder / "invoices").iterdir())) == 2

    before = (fund.contribution_count(), fund.project_count(), fund.motion_count(), led.block_number())
    said.clear()
    seed(ctx)
    assert (fund.contribution_count(), fund.project_count(), fund.motion_count(), led.block_number()) == before, said
