"""Gas of every state-changing function, beside the same step built from stock OpenZeppelin parts.

One run on eth-tester's in-process chain (py-evm: gas is deterministic, no node
process needed): deploy the suite and the stock reference contracts
(``contracts/bench/``), take every state-changing function of
MembershipRegistry, DataSharing, CommunityCredit, CoGovFund, CaseDesk and
AccessCheckpoints through
its normal case, and record each transaction's gas used. In the same run:

* council admission: our propose + approve + execute, against OpenZeppelin
  ``Governor`` + ``TimelockController`` (propose, 2 votes, queue, execute) driving
  an AccessControl roster that stores the same member record;
* fund payout: our proposeProject + 2 votes + payMilestone of a project its
  contributors funded (earmarked), against ``Governor`` + ``TimelockController``
  executing an ERC-20 transfer of the same token from the timelock (propose,
  2 votes, queue, execute); funding is counted on neither side. Beside it, the
  payout of a project paid from the general pool: its proposal asks for the pool
  allocation, so the same one motion decides both (proposeProject + 2 votes +
  payMilestone), against the same stock path;
* both fund payouts in the fund's steady state: its first payout ever (which makes the
  slot of its paid sums non-zero, once in its life) is measured on its own row first;
* access record: our recordAccess, against an AccessControl-gated contract that
  stores the record (steady state: not the first record of either).

    .venv/bin/python bench/gas.py                 # print the table, write bench/results/gas.json
    .venv/bin/python bench/gas.py --check         # exit 1 naming every function whose gas rose above bench/gas-snapshot.json
    .venv/bin/python bench/gas.py --write-snapshot
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

SNAPSHOT = C.ROOT / "bench" / "gas-snapshot.json"
MEASURED_CONTRACTS = (
    "MembershipRegistry", "DataSharing", "CommunityCredit", "CoGovFund", "CaseDesk", "AccessCheckpoints",
)
VOTING_PERIOD = 5  # blocks
TIMELOCK_DELAY = 3600
FUND_VOTING_PERIOD = 7 * 24 * 3600  # seconds, as the deployment's default


def h(text: str) -> bytes:
    from eth_utils import keccak

    return bytes(keccak(text=text))


def measure() -> tuple[dict[str, int], dict[str, Any]]:
    from ledger.testing.evm import CHANGE, KIND, Chain, Council, deploy_registry, roles_mask

    # Fixed account keys: a zero byte in a random address would move calldata gas by 12 and
    # make `--check` flaky. The seed is a fixed name, never tuned.
    c = Chain(account_seed="bench/gas.py")
    gas: dict[str, int] = {}

    def tx(key: str | None, fn: Any, sender: str) -> Any:
        r = c.transact(fn, sender)
        if key is not None:
            gas[key] = int(r["gasUsed"])
        return r

    deployer = c.accounts[0]
    council = c.accounts[1:4]
    reg = deploy_registry(c, council, sender=deployer)
    cn = Council(c, reg, council)
    R = reg.functions

    # ---- MembershipRegistry: an admission, step by step
    dept_a = c.new_account()
    r = tx("MembershipRegistry.propose (admit member)",
           R.propose(CHANGE["AdmitMember"], _payload("AdmitMember", "卫健委", KIND["Department"], roles_mask("Department"), dept_a)),
           council[0])
    pid = c.events(reg, r, "ProposalCreated")[0]["proposalId"]
    tx("MembershipRegistry.approve (reaches threshold)", R.approve(pid), council[1])
    tx("MembershipRegistry.execute (admit member)", R.execute(pid), council[0])
    ours_admission = sum(gas[k] for k in (
        "MembershipRegistry.propose (admit member)", "MembershipRegistry.approve (reaches threshold)",
        "MembershipRegistry.execute (admit member)"))
    r = c.transact(R.propose(CHANGE["SetThreshold"], _payload("SetThreshold", 2)), council[0])
    pid2 = c.events(reg, r, "ProposalCreated")[0]["proposalId"]
    tx("MembershipRegistry.cancel", R.cancel(pid2), council[0])

    # members for the rest
    dept_a_id = 4
    treasurer = c.new_account()
    cn.admit("区财政局", "Department", roles_mask("Treasurer"), treasurer)
    committee = [c.new_account() for _ in range(2)]
    for i, a in enumerate(committee):
        cn.admit(f"基金委员{i + 1}", "ResidentGroup", roles_mask("FundCommittee"), a)
    contributor = c.new_account()
    cn.admit("绿城物业", "Enterprise", roles_mask("Contributor"), contributor)
    beneficiary = c.new_account()
    cn.admit("便民施工队", "Enterprise", roles_mask("Contributor"), beneficiary)

    # ---- DataSharing
    def terms(duration: int, row_filter: bytes = bytes(32), max_accesses: int = 0) -> tuple[Any, ...]:
        """IDataSharing.Terms: purpose 1, the schema's first two fields."""
        return (1, h("p"), 0b11, row_filter, duration, max_accesses, max_accesses > 0)

    ds = c.deploy("DataSharing", reg.address, 14 * 24 * 3600, sender=deployer)
    D = ds.functions
    owner, gov = council[1], council[2]
    r = tx("DataSharing.registerDataset", D.registerDataset("卫生服务数据", 1, h("m"), h("s"), h("c"), 8), owner)
    did = c.events(ds, r, "DatasetRegistered")[0]["datasetId"]
    tx("DataSharing.updateDatasetVersion", D.updateDatasetVersion(did, h("c2")), owner)
    r = tx("DataSharing.requestAccess", D.requestAccess(did, terms(30 * 86400)), dept_a)
    rid = c.events(ds, r, "AccessRequested")[0]["requestId"]
    r = tx("DataSharing.approveAsOwner (internal: creates the grant)", D.approveAsOwner(rid), owner)
    gid = c.events(ds, r, "GrantCreated")[0]["grantId"]
    tx(None, D.recordAccess(gid, h("q0"), 10, 0b01), owner)
    tx("DataSharing.recordAccess", D.recordAccess(gid, h("q1"), 12, 0b01), owner)
    tx(None, D.recordAccess(gid, h("q2"), 12, 0b11), owner)
    r = tx("DataSharing.requestAccess (fields, row filter, limit, no onward sharing)",
           D.requestAccess(did, terms(30 * 86400, h("filter"), 100)), dept_a)
    rid_t = c.events(ds, r, "AccessRequested")[0]["requestId"]
    r = tx(None, D.approveAsOwner(rid_t), owner)
    gid_t, exp_t = (c.events(ds, r, "GrantCreated")[0][k] for k in ("grantId", "expiresAt"))
    tx("DataSharing.narrowGrant", D.narrowGrant(gid_t, 0b01, 50, exp_t), dept_a)
    tx("DataSharing.recordRefusal", D.recordRefusal(did, gid, 5, 1, h("q3"), 1), owner)
    tx("DataSharing.renewGrant", D.renewGrant(gid, 3600), owner)
    tx("DataSharing.freezeGrant", D.freezeGrant(gid), gov)
    tx("DataSharing.unfreezeGrant", D.unfreezeGrant(gid), gov)
    tx("DataSharing.freezeMember", D.freezeMember(dept_a_id), gov)
    tx("DataSharing.unfreezeMember", D.unfreezeMember(dept_a_id), gov)
    tx("DataSharing.revokeGrant", D.revokeGrant(gid), owner)
    r = tx(None, D.registerDataset("敏感数据", 2, h("m2"), h("s2"), h("c3"), 8), owner)
    did2 = c.events(ds, r, "DatasetRegistered")[0]["datasetId"]
    r = tx(None, D.requestAccess(did2, terms(86400)), dept_a)
    rid2 = c.events(ds, r, "AccessRequested")[0]["requestId"]
    tx("DataSharing.approveAsOwner (sensitive: first of two)", D.approveAsOwner(rid2), owner)
    r = tx("DataSharing.approveAsGovernance (creates the grant)", D.approveAsGovernance(rid2), gov)
    gid2 = c.events(ds, r, "GrantCreated")[0]["grantId"]
    tx("DataSharing.renewGrant (sensitive: waits for data governance)", D.renewGrant(gid2, 3600), owner)
    tx("DataSharing.approveRenewal", D.approveRenewal(gid2, 3600), gov)
    r = tx(None, D.requestAccess(did2, terms(86400)), dept_a)
    tx("DataSharing.denyRequest", D.denyRequest(c.events(ds, r, "AccessRequested")[0]["requestId"], 1), owner)
    r = tx(None, D.requestAccess(did2, terms(86400)), dept_a)
    tx("DataSharing.withdrawRequest", D.withdrawRequest(c.events(ds, r, "AccessRequested")[0]["requestId"]), dept_a)
    now = c.now()
    tx("DataSharing.anchorAccessBatch", D.anchorAccessBatch(h("root"), 1000, now - 100, now), owner)
    tx("DataSharing.setRequestTtl", D.setRequestTtl(7 * 24 * 3600), gov)

    # ---- CommunityCredit and CoGovFund (quorum 2, as the deployment's default)
    credit = c.deploy("CommunityCredit", reg.address, "社区共治积分", "CGC", sender=deployer)
    fund = c.deploy("CoGovFund", reg.address, credit.address, 2, TIMELOCK_DELAY, FUND_VOTING_PERIOD, sender=deployer)
    T, F = credit.functions, fund.functions
    tx(None, T.mint(contributor, 10**9, h("dep-0")), treasurer)
    tx("CommunityCredit.mint", T.mint(contributor, 10**9, h("dep-1")), treasurer)
    tx(None, T.approve(treasurer, 10**6), contributor)
    tx("CommunityCredit.burn", T.burn(contributor, 10**6, h("red-1")), treasurer)
    tx("CommunityCredit.transfer", T.transfer(beneficiary, 10**6), contributor)
    tx("CommunityCredit.approve", T.approve(fund.address, 2**256 - 1), contributor)
    tx(None, T.approve(council[0], 2**256 - 1), beneficiary)
    tx("CommunityCredit.transferFrom", T.transferFrom(beneficiary, council[0], 10**5), council[0])
    tx(None, F.contribute(10**6, 0, h("memo-0")), contributor)
    tx("CoGovFund.contribute (general pool)", F.contribute(10**6, 0, h("memo-1")), contributor)
    # The fund's first payout ever makes its paid sums' slot non-zero, once in the fund's life: measured
    # on its own row, so that both payout paths below are measured in steady state (as the access record).
    r = tx(None, F.proposeProject(h("垃圾分类亭"), beneficiary, 1_000, [(1_000, h("w0"))], 0), council[0])
    p0, m0 = c.events(fund, r, "ProjectProposed")[0]["projectId"], c.events(fund, r, "MotionProposed")[0]["motionId"]
    tx(None, F.vote(m0, True), committee[0])
    tx(None, F.vote(m0, True), committee[1])
    tx(None, F.contribute(1_000, p0, h("memo-w")), contributor)
    c.time_travel(TIMELOCK_DELAY + 1)
    tx("CoGovFund.payMilestone (the fund's first payout)", F.payMilestone(p0, 0, 1_000, h("invoice-w")), treasurer)
    # A payout from the general pool: the proposal asks for its pool allocation, one motion decides both.
    r = tx("CoGovFund.proposeProject (one milestone, asks the general pool)",
           F.proposeProject(h("路灯改造"), beneficiary, 500_000, [(500_000, h("m0"))], 500_000), council[0])
    project = c.events(fund, r, "ProjectProposed")[0]["projectId"]
    motion = c.events(fund, r, "MotionProposed")[0]["motionId"]
    tx("CoGovFund.vote (first)", F.vote(motion, True), committee[0])
    tx("CoGovFund.vote (reaches quorum: decides, allocates from the pool)", F.vote(motion, True), committee[1])
    c.time_travel(TIMELOCK_DELAY + 1)
    tx("CoGovFund.payMilestone", F.payMilestone(project, 0, 500_000, h("invoice")), treasurer)
    ours_general_pool = sum(gas[k] for k in (
        "CoGovFund.proposeProject (one milestone, asks the general pool)", "CoGovFund.vote (first)",
        "CoGovFund.vote (reaches quorum: decides, allocates from the pool)", "CoGovFund.payMilestone"))
    r = tx(None, F.proposeProject(h("绿化"), beneficiary, 300_000, [(300_000, h("g0"))], 0), council[0])
    p2 = c.events(fund, r, "ProjectProposed")[0]["projectId"]
    tx("CoGovFund.contribute (earmarked)", F.contribute(200_000, p2, h("memo-2")), contributor)
    receipt_id = 4
    r = tx("CoGovFund.proposeCancellation", F.proposeCancellation(p2), committee[0])
    cm = c.events(fund, r, "MotionProposed")[0]["motionId"]
    tx(None, F.vote(cm, True), committee[0])
    tx(None, F.vote(cm, True), committee[1])
    tx("CoGovFund.claimRefund", F.claimRefund(receipt_id), contributor)
    # A whole payout of money given to the project (earmarked): nothing to allocate. The contribution
    # is the funding, not counted, as the stock side's mint to the timelock is not.
    r = tx("CoGovFund.proposeProject (one milestone)",
           F.proposeProject(h("加装电梯"), beneficiary, 500_000, [(500_000, h("e0"))], 0), council[0])
    p3 = c.events(fund, r, "ProjectProposed")[0]["projectId"]
    m3 = c.events(fund, r, "MotionProposed")[0]["motionId"]
    ear_steps = [int(r["gasUsed"]), int(tx(None, F.vote(m3, True), committee[0])["gasUsed"]),
                 int(tx("CoGovFund.vote (reaches quorum: decides)", F.vote(m3, True), committee[1])["gasUsed"])]
    tx(None, F.contribute(500_000, p3, h("memo-3")), contributor)
    c.time_travel(TIMELOCK_DELAY + 1)
    ear_steps.append(int(tx("CoGovFund.payMilestone (earmarked project)",
                            F.payMilestone(p3, 0, 500_000, h("invoice-3")), treasurer)["gasUsed"]))
    ours_payout = sum(ear_steps)
    # A top-up: a later allocation from the pool to the approved project, its own motion.
    r = tx(None, F.proposeProject(h("口袋公园"), beneficiary, 200_000, [(200_000, h("k0"))], 100_000), council[0])
    p5, m5 = c.events(fund, r, "ProjectProposed")[0]["projectId"], c.events(fund, r, "MotionProposed")[0]["motionId"]
    tx(None, F.vote(m5, True), committee[0])
    tx(None, F.vote(m5, True), committee[1])
    tx("CoGovFund.proposeAllocation (a top-up)", F.proposeAllocation(p5, 100_000), committee[0])
    # A motion nobody decided by vote (one approval of quorum 2, one voter left): decided at its
    # deadline (failed), recorded by settle.
    r = tx(None, F.proposeProject(h("健身角"), beneficiary, 100_000, [(100_000, h("f0"))], 0), council[0])
    p4 = c.events(fund, r, "ProjectProposed")[0]["projectId"]
    tx(None, F.vote(c.events(fund, r, "MotionProposed")[0]["motionId"], True), committee[0])
    c.time_travel(FUND_VOTING_PERIOD + 1)
    tx("CoGovFund.settle (records a decision taken at the deadline)", F.settle(p4), committee[0])

    # ---- stock parts: Governor + TimelockController, AccessControl
    token = c.deploy("StockVotesToken", list(council), sender=deployer)
    for a in council:
        c.transact(token.functions.delegate(a), a)
    timelock = c.deploy("StockTimelock", TIMELOCK_DELAY, [], ["0x" + "00" * 20], deployer, sender=deployer)
    governor = c.deploy("StockGovernor", token.address, timelock.address, VOTING_PERIOD, 67, sender=deployer)
    TL = timelock.functions
    c.transact(TL.grantRole(TL.PROPOSER_ROLE().call(), governor.address), deployer)
    c.transact(TL.grantRole(TL.CANCELLER_ROLE().call(), governor.address), deployer)
    roster = c.deploy("StockRoster", timelock.address, sender=deployer)
    stock: dict[str, dict[str, int]] = {}

    def governed(label: str, target: str, calldata: bytes, description: str) -> None:
        G = governor.functions
        steps: dict[str, int] = {}
        r = c.transact(G.propose([target], [0], [calldata], description), council[0])
        steps["propose"] = int(r["gasUsed"])
        pid = c.events(governor, r, "ProposalCreated")[0]["proposalId"]
        c.tester.mine_blocks(2)
        steps["castVote (first)"] = int(c.transact(G.castVote(pid, 1), council[0])["gasUsed"])
        steps["castVote (second: quorum)"] = int(c.transact(G.castVote(pid, 1), council[1])["gasUsed"])
        c.tester.mine_blocks(VOTING_PERIOD + 1)
        dh = h(description)
        steps["queue"] = int(c.transact(G.queue([target], [0], [calldata], dh), council[0])["gasUsed"])
        c.time_travel(TIMELOCK_DELAY + 1)
        steps["execute"] = int(c.transact(G.execute([target], [0], [calldata], dh), council[0])["gasUsed"])
        stock[label] = steps

    newcomer = c.new_account()
    admit_data = bytes.fromhex(roster.encode_abi("admit", args=["卫健委", KIND["Department"], roles_mask("Department"), newcomer])[2:])
    governed("admission", roster.address, admit_data, "Admit 卫健委")
    assert roster.functions.memberOf(newcomer).call() == 1
    c.transact(T.mint(timelock.address, 10**6, h("dep-timelock")), treasurer)
    pay_data = bytes.fromhex(credit.encode_abi("transfer", args=[beneficiary, 500_000])[2:])
    governed("payout", credit.address, pay_data, "Pay milestone 0 of 路灯改造")

    log = c.deploy("StockAccessLog", deployer, sender=deployer)
    c.transact(log.functions.grantRole(log.functions.RECORDER_ROLE().call(), owner), deployer)
    c.transact(log.functions.recordAccess(gid, h("q0"), 10), owner)
    stock["access record"] = {"recordAccess": int(c.transact(log.functions.recordAccess(gid, h("q1"), 12), owner)["gasUsed"])}

    _measure_cases(c, reg, cn, council, (dept_a, dept_a_id), tx)
    _measure_checkpoints(c, reg, council, tx)

    comparisons = {
        "council admission": {
            "ours": ours_admission, "ours_steps": "propose + approve + execute",
            "stock": sum(stock["admission"].values()), "stock_steps": stock["admission"],
            "stock_parts": "OZ Governor (Settings, CountingSimple, Votes, QuorumFraction 67%, TimelockControl) + TimelockController + AccessControl roster storing the member record",
        },
        "fund payout": {
            "ours": ours_payout,
            "ours_steps": "proposeProject + 2 votes + payMilestone, a project funded by earmarked contributions",
            "stock": sum(stock["payout"].values()), "stock_steps": stock["payout"],
            "stock_parts": "OZ Governor + TimelockController executing CommunityCredit.transfer from the timelock",
        },
        "fund payout from the general pool": {
            "ours": ours_general_pool,
            "ours_steps": "proposeProject asking the pool + 2 votes + payMilestone (one committee motion decides the project and its pool allocation)",
            "stock": sum(stock["payout"].values()), "stock_steps": stock["payout"],
            "stock_parts": "the same stock path: one Governor proposal moving treasury money",
        },
        "access record": {
            "ours": gas["DataSharing.recordAccess"], "ours_steps": "recordAccess",
            "stock": stock["access record"]["recordAccess"], "stock_steps": stock["access record"],
            "stock_parts": "OZ AccessControl (RECORDER_ROLE) + the record stored in an array + event",
        },
    }
    for v in comparisons.values():
        v["ratio_ours_over_stock"] = round(v["ours"] / v["stock"], 3)
    return gas, comparisons


def _measure_cases(c: Any, reg: Any, cn: Any, council: list[str], dept_a: tuple[str, int], tx: Any) -> None:
    """CaseDesk (standard service levels): a case through every transition. Measured last, so
    that the accounts it creates change no address (and no calldata gas) measured before."""
    from ledger.cases import SATISFACTION_WINDOW, STANDARD_LEVELS
    from ledger.testing.evm import roles_mask

    ids: dict[str, int] = {}
    acct: dict[str, str] = {}
    for label, name, role in [("sub", "幸福里街道", "SubDistrict"), ("district", "区城市运行中心", "District"),
                              ("channel", "12345热线", "Channel"), ("dept_c", "住建委", "Department")]:
        acct[label] = c.new_account()
        ids[label] = cn.admit(name, "Department", roles_mask(role), acct[label])
    dept_a_account, dept_a_id = dept_a
    lead, lead_id = council[0], 1  # 街道办 holds the Department role in the standard registry
    assist, assist_id = council[1], 2  # 民政局 too
    desk = c.deploy("CaseDesk", reg.address, SATISFACTION_WINDOW, [lv.spec() for lv in STANDARD_LEVELS])
    K = desk.functions
    r = tx("CaseDesk.raiseCase (two departments, two reports)",
           K.raiseCase(3, 110105001001, h("满溢的垃圾桶"), [h("r1"), h("r2")], ids["channel"], lead_id, [assist_id]),
           acct["sub"])
    case = c.events(desk, r, "CaseRaised")[0]["caseId"]
    tx("CaseDesk.acknowledge (lead)", K.acknowledge(case), lead)
    tx("CaseDesk.acknowledge (assisting)", K.acknowledge(case), assist)
    tx("CaseDesk.answer (assisting)", K.answer(case, h("e1")), assist)
    tx("CaseDesk.answer (lead: asks for evaluation)", K.answer(case, h("e2")), lead)
    tx("CaseDesk.evaluate (rejected: reopens)", K.evaluate(case, 1, 7), acct["sub"])
    tx(None, K.answer(case, h("e3")), lead)
    tx("CaseDesk.evaluate (fixed: closes)", K.evaluate(case, 0, 0), acct["sub"])
    tx("CaseDesk.recordSatisfaction (dissatisfied: reopens)", K.recordSatisfaction(case, 2), acct["channel"])
    tx(None, K.answer(case, h("e4")), lead)
    tx(None, K.evaluate(case, 0, 0), acct["sub"])
    tx("CaseDesk.recordSatisfaction (satisfied)", K.recordSatisfaction(case, 0), acct["channel"])
    r = tx(None, K.raiseCase(1, 110105001002, h("消防通道堵塞"), [h("r3")], 0, dept_a_id, []), acct["sub"])
    case2 = c.events(desk, r, "CaseRaised")[0]["caseId"]
    tx("CaseDesk.sendBack", K.sendBack(case2, 3, ids["dept_c"]), dept_a_account)
    tx("CaseDesk.redispatch (by the raiser)", K.redispatch(case2, 1, ids["dept_c"], []), acct["sub"])
    tx("CaseDesk.sendBack (second: escalates)", K.sendBack(case2, 3, dept_a_id), acct["dept_c"])
    tx("CaseDesk.redispatch (by the district, two departments)", K.redispatch(case2, 1, lead_id, [ids["dept_c"]]),
       acct["district"])
    c.time_travel(3 * 3600)
    tx("CaseDesk.escalate (overdue, by anyone)", K.escalate(case2), c.accounts[5])
    r = tx("CaseDesk.proposeServiceLevel", K.proposeServiceLevel(5, 3600, 8 * 3600), council[0])
    proposal = c.events(desk, r, "ServiceLevelProposed")[0]["proposalId"]
    tx("CaseDesk.approveServiceLevel (reaches the threshold: applies)", K.approveServiceLevel(proposal), council[1])


def _measure_checkpoints(c: Any, reg: Any, council: list[str], tx: Any) -> None:
    """AccessCheckpoints: a log's first head, a steady-state head (1,000 accesses later) and a
    witness's cosignature. Measured after the cases, for the same reason."""
    cp = c.deploy("AccessCheckpoints", reg.address)
    P, dept, witness = cp.functions, council[0], council[2]  # 街道办 (Department), 区数据局 (DataGovernance)
    tx("AccessCheckpoints.anchorCheckpoint (a log's first)", P.anchorCheckpoint(1000, h("root-1000"), c.now()), dept)
    c.time_travel(60)
    tx("AccessCheckpoints.anchorCheckpoint (steady state: 1,000 entries later)",
       P.anchorCheckpoint(2000, h("root-2000"), c.now()), dept)
    tx("AccessCheckpoints.cosignCheckpoint (first witness)", P.cosignCheckpoint(1, 2000, h("root-2000")), witness)


def _payload(change: str, *args: Any) -> bytes:
    from ledger.testing.evm import payload

    return payload(change, *args)


def coverage_gaps(gas: dict[str, int]) -> list[str]:
    """State-changing functions of our contracts without a measured row."""
    from ledger.testing.evm import state_changing_functions

    measured = {k.split(" ")[0] for k in gas}
    missing = []
    for name in MEASURED_CONTRACTS:
        for fn in sorted(state_changing_functions(name)):
            if f"{name}.{fn}" not in measured:
                missing.append(f"{name}.{fn}")
    return missing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail when any function's gas rose above the snapshot")
    ap.add_argument("--write-snapshot", action="store_true", help="rewrite bench/gas-snapshot.json")
    ns = ap.parse_args()
    gas, comparisons = measure()
    missing = coverage_gaps(gas)
    if ns.write_snapshot:
        SNAPSHOT.write_text(json.dumps({"gas": gas, "comparisons": {k: {"ours": v["ours"], "stock": v["stock"]} for k, v in comparisons.items()}},
                                       indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        C.say(f"wrote {SNAPSHOT.relative_to(C.ROOT)} ({len(gas)} functions)")
    if ns.check:
        snap = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["gas"]
        rises = [f"{k}: {snap[k]} -> {v} (+{v - snap[k]})" for k, v in sorted(gas.items()) if k in snap and v > snap[k]]
        new = sorted(set(gas) - set(snap))
        gone = sorted(set(snap) - set(gas))
        falls = [f"{k}: {snap[k]} -> {v}" for k, v in sorted(gas.items()) if k in snap and v < snap[k]]
        for line in falls:
            print(f"gas fell   {line}  (run `make gas-snapshot` to lock it in)")
        for k in new:
            print(f"gas NEW    {k}: {gas[k]} is not in the snapshot: run `make gas-snapshot`")
        for k in gone:
            print(f"gas GONE   {k}: in the snapshot but no longer measured")
        for k in missing:
            print(f"gas UNMEASURED {k}: a state-changing function without a row in bench/gas.py")
        for line in rises:
            print(f"gas ROSE   {line}")
        if rises or new or gone or missing:
            print(f"gas-check FAILED: {len(rises)} rose, {len(new)} new, {len(gone)} gone, {len(missing)} unmeasured")
            return 1
        print(f"gas-check ok: {len(gas)} functions at or below bench/gas-snapshot.json")
        return 0
    C.emit("gas", {"gas": gas, "comparisons": comparisons, "unmeasured": missing,
                   "chain": "eth-tester (py-evm), in process"})
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
