"""The auditor applies CoGovFund's decision rule (issue 14, item 20): a motion decided by a vote
only once no remaining eligible vote could change it, otherwise at its deadline; decisions taken
at a deadline and not recorded yet are derived at the head like the contract's views; a payout on
a project whose approval was not decided by the rule is flagged.

On a private Ganache chain (quorum 2, four FundCommittee members, a one-hour voting period).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import keccak, to_checksum_address

from ledger.audit import AuditOptions, run_audit
from ledger.audit.findings import AuditReport
from ledger.client import ContractCall, Ledger
from ledger.keys import Signer
from ledger.manifest import ContractDeployment, Manifest
from ledger.membership import MemberKind, Registry, Role
from tests.conftest import Deployment
from tests.reliability.env import deploy_private

pytestmark = pytest.mark.ganache

VOTING_PERIOD = 3600
TIME_LOCK = 60


@dataclass
class Chain:
    d: Deployment
    led: Ledger


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    d = deploy_private(tmp_path_factory.mktemp("audit-motions"), fund_timelock=TIME_LOCK,
                       fund_voting_period=VOTING_PERIOD)
    try:
        # a fourth committee member: two approvals of four no longer settle a motion by themselves
        Registry(d.ledger()).admit(d.council, "共治委员会-丁", MemberKind.RESIDENT_GROUP, [Role.FUND_COMMITTEE],
                                   d.signers["outsider"].address)
        yield Chain(d, d.ledger())
    finally:
        d.ganache.stop(timeout=10)


def later(led: Ledger, seconds: int) -> None:
    led.rpc("evm_increaseTime", [seconds])
    led.rpc("evm_mine", [])


def audit(c: Chain, manifest: Manifest | None = None) -> AuditReport:
    m = manifest or Manifest.load(c.d.manifest_path)
    return run_audit(Ledger(c.d.ganache.config.url, m), m, AuditOptions())


class FundTx:
    """Writes to one CoGovFund-compatible contract at ``address``."""

    def __init__(self, led: Ledger, s: dict[str, Signer], address: str) -> None:
        self.led, self.s, self.address = led, s, address
        self.c = led.w3.eth.contract(address=to_checksum_address(address), abi=led.contract("CoGovFund").abi)

    def __call__(self, who: str, fn: str, *args: Any) -> Any:
        call = ContractCall(self.address, self.c.encode_abi(fn, args=list(args)), gas=1_500_000)
        return self.led.transact(self.s[who], call)

    def fund_contributors(self, tag: str) -> None:
        for label, amount in (("resident", 1000), ("enterprise", 1000)):
            self.led.transact(self.s["treasurer"], "CommunityCredit", "mint", self.s[label].address, amount,
                              keccak(text=f"deposit-{label}-{tag}"))
            self.led.transact(self.s[label], "CommunityCredit", "approve", self.address, amount)

    def propose(self, title: str, amount: int, pool: int = 0) -> int:
        self("c1", "proposeProject", keccak(text=title), self.s["dept_b"].address, amount,
             [(amount, keccak(text=f"{title}-m0"))], pool)
        return int(self.c.functions.projectCount().call())


def _events(report: AuditReport, rule: str) -> list[Any]:
    return [f for f in report.errors if f.rule == rule]


def test_decisions_at_deadlines_audit_clean_recorded_or_not(chain: Chain) -> None:
    led, s = chain.led, chain.d.signers
    f = FundTx(led, s, led.manifest.address("CoGovFund"))  # type: ignore[union-attr]
    f.fund_contributors("clean")
    f("enterprise", "contribute", 500, 0, keccak(text="pool"))
    p1 = f.propose("路灯", 400)
    f("resident", "contribute", 300, p1, keccak(text="earmark"))
    # 2 approvals of 4 eligible: quorum, but the other two could tie it: open until the deadline
    f("committee_a", "vote", 1, True)
    f("committee_b", "vote", 1, True)
    later(led, VOTING_PERIOD + TIME_LOCK + 5)
    # the payout records the approval (decided at the deadline) before paying
    f("treasurer", "payMilestone", p1, 0, 300, keccak(text="invoice-1"))
    # an allocation motion decided at its deadline, NOT recorded at the head: the views derive it
    f("committee_c", "proposeAllocation", p1, 100)
    f("committee_a", "vote", 2, True)
    f("committee_b", "vote", 2, True)
    # an early decision by the rule: 2 rejections, 2 voters left who cannot overcome them
    p2 = f.propose("健身角", 50)
    for who in ("committee_a", "committee_b"):
        f(who, "vote", 3, False)
    later(led, VOTING_PERIOD + 5)
    assert p2 == 2
    report = audit(chain)
    assert report.findings == [], [x.model_dump() for x in report.findings]
    checked = {r.id: r.checked for r in report.rules}
    assert checked["fund.motion-decision"] == 2  # the approval recorded at its deadline, the early rejection
    assert checked["state.mismatch"] > 0


def test_a_proposal_asking_the_pool_audits_clean_held_derived_and_paid(chain: Chain) -> None:
    """Issue 18, item 7: the pool money an approval's votes hold, the allocation its deadline
    decides (not recorded), and the payout that records it: the replay's pool and project match
    the contract's views at each step."""
    led, s = chain.led, chain.d.signers
    f = FundTx(led, s, led.manifest.address("CoGovFund"))  # type: ignore[union-attr]
    f.fund_contributors("pool-ask")
    f("enterprise", "contribute", 400, 0, keccak(text="pool-2"))
    project = f.propose("口袋公园", 300, pool=300)
    motion = int(f.c.functions.motionCount().call())
    f("committee_a", "vote", motion, True)
    f("committee_b", "vote", motion, True)  # quorum and a majority: holds 300; two voters left, open
    committed = int(f.c.functions.generalPool().call()[2])
    for step in ("held", "derived", "paid"):
        if step == "derived":
            later(led, VOTING_PERIOD + TIME_LOCK + 5)
        if step == "paid":
            f("treasurer", "payMilestone", project, 0, 300, keccak(text="invoice-pool"))
        report = audit(chain)
        assert report.findings == [], (step, [x.model_dump() for x in report.findings])
    assert int(f.c.functions.generalPool().call()[2]) == committed - 300


def test_a_payout_on_a_motion_decided_by_quorum_alone_is_flagged(chain: Chain) -> None:
    led, s = chain.led, chain.d.signers
    m0 = Manifest.load(chain.d.manifest_path)
    r = led.deploy(s["deployer"], "QuorumFirstFund", *m0.contracts["CoGovFund"].constructor_args)
    assert r.contract_address is not None
    f = FundTx(led, s, r.contract_address)
    f.fund_contributors("quorum-first")
    project = f.propose("篮球场", 300)
    f("resident", "contribute", 300, project, keccak(text="earmark"))
    f("committee_a", "vote", 1, True)
    f("committee_b", "vote", 1, True)  # decided here: two committee members could still have tied it
    later(led, TIME_LOCK + 5)
    payout = f("treasurer", "payMilestone", project, 0, 300, keccak(text="invoice"))
    contracts = dict(m0.contracts)
    old = contracts["CoGovFund"]
    contracts["CoGovFund"] = ContractDeployment(
        address=r.contract_address, tx_hash=r.tx_hash, block_number=r.block_number,
        runtime_keccak=old.runtime_keccak, constructor_args=old.constructor_args,
    )
    report = audit(chain, m0.model_copy(update={"contracts": contracts}))
    decided = _events(report, "fund.motion-decision")
    assert len(decided) == 1 and decided[0].records["motion"] == 1 and decided[0].records["eligible_left"] == 2
    paid = _events(report, "fund.payout-without-quorum")
    assert len(paid) == 1 and paid[0].tx_hash == payout.tx_hash.lower()
    assert "not passed by the decision rule" in paid[0].message
    assert not _events(report, "state.mismatch")  # its views agree with the replay otherwise
