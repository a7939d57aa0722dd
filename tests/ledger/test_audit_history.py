"""The auditor on a chain that moves on, and on a stale fork of it (issue 14, items 11 and 13).

One chain A: the suite deployed, the standard members admitted, a fund history (a project
approved by quorum, contributions, a payout). Its database is then copied while A is stopped,
and the copy runs as a second Ganache B: the same genesis and history, a fork of A "taken
before a later write". A goes on: tokens sent straight to the fund (not through
``contribute``), then more contributions. B mines one block of its own, so the two chains
differ from the first block after the copy on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from ledger.audit import AuditOptions, AuditReport, run_audit
from ledger.audit.heads import Checkpoint
from ledger.audit.report import to_html
from ledger.chain import Ganache
from ledger.client import Ledger
from ledger.manifest import Manifest
from ledger.testing import Deployment, deploy_standard, start_ganache
from tests.conftest import TEST_PASSWORD
from tests.ledger.cogov_cli import audit_verify
from tests.ledger.test_audit import build_fund_history

pytestmark = pytest.mark.ganache

DIRECT = 100  # tokens the resident sends straight to the fund
SMALL = 17  # small contributions after it, each in its own block


@dataclass
class History:
    a: Ganache  # the chain that went on
    b: Ganache  # its stale fork
    manifest: Manifest
    manifest_path: Path
    root: Path
    fork_block: int  # the last block both chains share
    transfer_tx: str
    transfer_block: int
    later_blocks: list[int]  # blocks after the transfer where the fund's money moved

    def led(self, *urls: str) -> Ledger:
        return Ledger(list(urls) or [self.a.config.url], self.manifest)

    def audit(self, *urls: str, **kw: Any) -> AuditReport:
        return run_audit(self.led(*urls), self.manifest, AuditOptions(**kw))

    def hash(self, g: Ganache, number: int) -> str:
        return str(Ledger(g.config.url).rpc("eth_getBlockByNumber", [hex(number), False])["hash"]).lower()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    root = tmp_path_factory.mktemp("audit-history")
    started: list[Ganache] = []
    try:
        g = start_ganache(root / "a")
        started.append(g)
        d = deploy_standard(g, root, TEST_PASSWORD)
        s = d.signers
        build_fund_history(d.ledger(), s)

        # the fork: B is A's database, copied while A is stopped
        fork_block = Ledger(g.config.url).block_number()
        g.stop(timeout=20)
        started.remove(g)
        shutil.copytree(root / "a" / "chain", root / "b" / "chain")
        a = start_ganache(root / "a")
        started.append(a)
        b = start_ganache(root / "b")
        started.append(b)
        manifest_path = d.manifest_path
        d = Deployment(a, d.keystore, manifest_path, s, root)
        led = d.ledger()
        assert led.block_number() == Ledger(b.config.url).block_number() == fork_block

        # A goes on: a direct transfer, then contributions in later blocks
        fund_addr = led.manifest.address("CoGovFund")  # type: ignore[union-attr]
        r = led.transact(s["resident"], "CommunityCredit", "transfer", fund_addr, DIRECT)
        transfer_tx, transfer_block = r.tx_hash, r.block_number
        later = [led.transact(s["resident"], "CoGovFund", "contribute", 50, 0, keccak(text="later-1")).block_number]
        led.transact(s["treasurer"], "CommunityCredit", "mint", s["enterprise"].address, 200, keccak(text="dep-2"))
        led.transact(s["enterprise"], "CommunityCredit", "approve", fund_addr, 200)
        led.rpc("evm_mine", [])
        later.append(
            led.transact(s["enterprise"], "CoGovFund", "contribute", 200, 1, keccak(text="later-2")).block_number
        )
        for i in range(SMALL):  # more blocks with fund movements than the old sample of 16 held
            r = led.transact(s["resident"], "CoGovFund", "contribute", 1, 0, keccak(text=f"small-{i}"))
            later.append(r.block_number)
        led.rpc("evm_mine", [])
        # B mines a block of its own: the chains differ from fork_block + 1 on
        Ledger(b.config.url).rpc("evm_mine", [])
        yield History(
            a, b, Manifest.load(manifest_path), manifest_path, root, fork_block, transfer_tx, transfer_block, later
        )
    finally:
        for x in started:
            x.stop(timeout=10)


# ----------------------------------------------------------------- item 11: a direct transfer


def test_a_direct_transfer_is_one_warning_whatever_the_audited_head(history: History) -> None:
    """Audited up to the block before the transfer, the transfer's block and later heads (with
    fund movements after it): the same verdict, and exactly one warning naming the transfer."""
    t = history.transfer_block
    head = history.led().block_number()
    assert head > history.later_blocks[-1] > history.later_blocks[0] > t
    for to_block in (t - 1, t, history.later_blocks[0], history.later_blocks[0] + 1, history.later_blocks[-1], head):
        report = history.audit(to_block=to_block)
        assert report.ok and report.errors == [], (to_block, [f.model_dump() for f in report.errors])
        if to_block < t:
            assert report.findings == [], [f.model_dump() for f in report.findings]
            continue
        assert [f.rule for f in report.findings] == ["fund.unattributed-transfer"], (
            to_block,
            [f.model_dump() for f in report.findings],
        )
        [w] = report.findings
        assert w.severity.value == "warning" and w.tx_hash == history.transfer_tx and w.block == t
        assert w.records["amount"] == DIRECT and history.transfer_tx in w.message
        assert report.summary["fund"]["unattributed"] == DIRECT
        html = to_html(report)
        assert html.count("unattributed money") == 1  # one line in the report, not one per later block


def test_the_balance_is_read_at_every_block_where_the_fund_moved(history: History) -> None:
    """No sample: balanceOf(fund) is compared at each such block (and the head), however many."""
    report = history.audit()
    moved = {p["block"] for p in report.charts["fund_flow"]}
    assert {history.transfer_block, *history.later_blocks} <= moved and len(moved) > 16 + 3
    checked = next(r.checked for r in report.rules if r.id == "fund.balance-invariant")
    # one replayed check and one balanceOf per block where the fund moved, and balanceOf at the head
    assert checked == 2 * len(moved) + 1


# ----------------------------------------------------------------- item 13: stale and forked nodes


def test_the_report_names_the_audited_head_hash(history: History) -> None:
    report = history.audit()
    assert report.head_hash == history.hash(history.a, report.head_block)
    stale = history.audit(history.b.config.url)
    assert stale.head_block == history.fork_block + 1
    assert stale.head_hash == history.hash(history.b, stale.head_block) != history.hash(history.a, stale.head_block)


def test_expect_block_passes_on_the_chain_and_fails_on_the_stale_fork(history: History) -> None:
    a, b = history.a, history.b
    head = history.led().block_number()
    published = Checkpoint(head, history.hash(a, head))
    shared = Checkpoint(history.fork_block, history.hash(a, history.fork_block))
    report = history.audit(expect_blocks=[published, shared])
    assert report.ok and not any(f.rule.startswith("chain.") for f in report.findings)

    # B is shorter than the checkpoint
    report = history.audit(b.config.url, expect_blocks=[published, shared])
    [f] = [f for f in report.errors if f.rule == "chain.checkpoint-mismatch"]
    assert not report.ok and f.block == head and f.records["got"] is None
    assert f.records["node_head"] == history.fork_block + 1 and "no block" in f.message

    # B has the block, with another hash
    after = Checkpoint(history.fork_block + 1, history.hash(a, history.fork_block + 1))
    report = history.audit(b.config.url, expect_blocks=[after])
    [f] = [f for f in report.errors if f.rule == "chain.checkpoint-mismatch"]
    assert f.records["expected"] == after.hash and f.records["got"] == history.hash(b, after.number)


def test_nodes_that_disagree_are_flagged(history: History) -> None:
    a, b = history.a.config.url, history.b.config.url
    report = history.audit(a, b)
    assert not report.ok
    [f] = [f for f in report.errors if f.rule == "chain.nodes-disagree"]
    common = history.fork_block + 1  # B's head: the lowest height both have
    assert f.block == common
    assert f.records["hashes"] == {a: history.hash(history.a, common), b: history.hash(history.b, common)}
    assert [(n.url, n.head_block, n.common_block) for n in report.nodes] == [
        (a, history.led().block_number(), common),
        (b, common, common),
    ]

    # with 2 confirmations a block at the tip is not settled: compared one block deeper, B's
    # one-block branch is not (yet) a fork
    report = run_audit(Ledger([a, b], history.manifest, confirmations=2), history.manifest, AuditOptions())
    assert not any(f.rule == "chain.nodes-disagree" for f in report.findings)
    assert {n.common_block for n in report.nodes} == {history.fork_block}

    # two URLs of the same node agree: no finding, both listed
    report = history.audit(a, a + "/")
    assert report.ok and all(f.rule == "fund.unattributed-transfer" for f in report.findings)
    assert len(report.nodes) == 2 and len({n.common_hash for n in report.nodes}) == 1


def _cogov(history: History, urls: str, *args: str) -> subprocess.CompletedProcess[str]:
    return audit_verify(history.root, urls, history.manifest_path, "--no-save", *args)


def test_cli_prints_the_head_hash_and_exits_1_on_a_checkpoint_the_chain_lacks(history: History, tmp_path: Path) -> None:
    head = history.led().block_number()
    checkpoint = f"{head}:{history.hash(history.a, head)}"
    r = _cogov(history, history.a.config.url, "--expect-block", checkpoint, "--json", str(tmp_path / "a.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"audited head: block {head} {history.hash(history.a, head)}" in r.stdout
    body = json.loads((tmp_path / "a.json").read_text())
    assert body["head_hash"] == history.hash(history.a, head) and body["options"]["expect_blocks"] == [checkpoint]

    urls = f"{history.b.config.url},{history.a.config.url}"
    r = _cogov(history, urls, "--expect-block", checkpoint, "--json", str(tmp_path / "b.json"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "chain.checkpoint-mismatch" in r.stdout and "chain.nodes-disagree" in r.stdout
    body = json.loads((tmp_path / "b.json").read_text())
    assert body["head_block"] == history.fork_block + 1 and len(body["nodes"]) == 2

    r = _cogov(history, history.a.config.url, "--expect-block", "12:0xabc")
    assert r.returncode != 0 and "expect_block" in (r.stdout + r.stderr)
