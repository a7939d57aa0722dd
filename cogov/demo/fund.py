"""The demo's fund part: contributors, three projects, votes, two milestone payouts, a cancellation with refunds.

* 财政局 (the treasurer) mints CommunityCredit to every contributor against a recorded fiat
  deposit reference, then government (财政局, 街道办), two enterprises and three residents'
  groups contribute, to the general pool or earmarked to a project.
* 停车难 (parking, proposed by 街道办, paid to 城管): approved by the committee, topped up from
  the general pool by an allocation motion, and paid in two milestones with invoice hashes.
  The fund's time lock (``fund_timelock``, 60 s in ``cogov.demo.bootstrap``) stands between
  approval and the first payout: on the development chain (``ledger.devchain.is_dev_chain``)
  the demo moves chain time past it with ``evm_increaseTime`` + ``evm_mine``; on any other
  chain it leaves the payouts for a later run (run the demo again once the lock has passed).
* 绿化维护 (green space, proposed by committee member 社工代表, paid to 城管): one vote of the
  quorum cast, pending.
* 养老服务设施 (elderly day-care room, proposed by 街道办, paid to 民政局): residents earmark
  money to it, the committee cancels it, two residents claim their refunds and one refund is
  left claimable (the trace shows it as refundable).

Chinese titles, milestone descriptions, memos, invoices and deposit references are stored in
the service database (``service_db_url``, :mod:`ledger.fund.docs`) once their write is mined:
titles and milestone descriptions as keccak256 of the text (public), memos and invoices as
salted commitments, deposit references with the keyed salt that makes one bank slip one
commitment. Idempotent: projects are found by title hash, contributions by (member, amount,
earmark) in order, deposits by reference (``depositRecorded``), votes by ``hasVoted``,
payouts by what each milestone has been paid.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial

from cogov.demo.scenario import DemoContext
from ledger.devchain import is_dev_chain
from ledger.fund import Credit, Fund, MotionKind, MotionState, ProjectState, format_amount, parse_amount
from ledger.fund.docs import DocStore, Draft, open_store
from ledger.fund.report import events_from_chain
from ledger.keys import Signer
from ledger.logs import header

PARKING = "停车难：幸福里片区停车位改造与智能道闸"
GREEN = "绿化维护：和平里公共绿地全年养护"
ELDERLY_CARE = "养老服务设施：光明里社区日间照料室"


@dataclass(frozen=True)
class ProjectSpec:
    key: str
    title: str
    proposer: str  # label
    beneficiary: str  # label
    milestones: tuple[tuple[str, str], ...]  # (amount in 元, description)


PROJECTS = (
    ProjectSpec("parking", PARKING, "jiedaoban", "chengguan",
                (("60000", "第一期：停车位划线、地锁安装与路面修补"), ("40000", "第二期：智能道闸安装、联网与验收"))),
    ProjectSpec("green", GREEN, "committee-3", "chengguan",
                (("20000", "春季修剪与补种"), ("15000", "夏季浇灌与病虫害防治"), ("15000", "秋冬清理与防寒"))),
    ProjectSpec("elderly", ELDERLY_CARE, "jiedaoban", "minzhengju",
                (("80000", "日间照料室装修改造"), ("40000", "适老化设备采购"))),
)

# (contributor label, amount in 元, project key or None for the general pool, memo)
CONTRIBUTIONS = (
    ("caizhengju", "200000", None, "财政局 2024 年度社区共治基金拨款（一般资金池）"),
    ("jiedaoban", "50000", "parking", "街道办专项配套：停车难治理"),
    ("enterprise-1", "30000", "green", "绿城物业：公共绿地养护捐赠"),
    ("enterprise-2", "20000", None, "便民超市：社区共治捐赠（一般资金池）"),
    ("resident-1", "1000", "parking", "幸福里小区居民众筹：停车位改造"),
    ("resident-2", "800", "elderly", "和平里小区居民：支持日间照料室"),
    ("resident-3", "600", "elderly", "光明里小区居民：支持日间照料室"),
    ("resident-1", "500", "elderly", "幸福里小区居民：支持日间照料室"),
)
PARKING_ALLOCATION = "49000"  # 100,000 budget - 51,000 earmarked
INVOICES = ("发票 No.31000241 幸福里停车位改造第一期（划线、地锁、路面）", "发票 No.31000388 幸福里智能道闸安装与验收")
REFUND_CLAIMERS = ("resident-2", "resident-3")  # resident-1's refund stays claimable


def seed(ctx: DemoContext) -> None:
    fund = Fund(ctx.ledger)
    credit = fund.token
    if not isinstance(credit, Credit):
        ctx.say("fund: the fund's token is not this deployment's CommunityCredit; skipping the fund demo")
        return
    docs = open_store(ctx.settings)
    dec = credit.decimals
    signers, ids = ctx.signers, ctx.member_ids

    def units(text: str) -> int:
        return parse_amount(text, dec)

    # ------------------------------------------------------------ projects (found by title hash)
    existing = {p.title_hash: p.id for p in fund.projects()}
    project_ids: dict[str, int] = {}
    for spec in PROJECTS:
        title = docs.draft("title", spec.title)
        descriptions = [docs.draft("milestone", d) for _a, d in spec.milestones]
        if title.hash in existing:
            project_ids[spec.key] = existing[title.hash]
            continue
        ctx.say(f"{spec.proposer} proposes {spec.title}")
        specs = [(units(a), d.hash) for (a, _d), d in zip(spec.milestones, descriptions, strict=True)]
        proposer, beneficiary = signers[spec.proposer], signers[spec.beneficiary].address
        call = fund.propose_project_call(title.hash, beneficiary, specs)
        r = docs.transact(fund.ledger, proposer, call, [title, *descriptions])
        docs.accept(r)
        project_ids[spec.key] = int(r.event("ProjectProposed").args["projectId"])

    # ------------------------------------------------------------ credits and contributions
    # A contribution of the scenario is found by (member, amount, earmark), the n-th such one
    # for the n-th such entry: memos are salted, their hashes cannot find them.
    events = events_from_chain(ctx.ledger)
    made: dict[tuple[int, int, int], list[int]] = {}
    for e in events:
        if e.name == "ContributionReceived":
            a = e.args
            made.setdefault((int(a["memberId"]), int(a["amount"]), int(a["projectId"])), []).append(
                int(a["receiptId"]))
    receipts: dict[int, int] = {}  # entry number -> receipt id
    treasurer = signers["caizhengju"]
    todo: list[tuple[int, str, str, int, Draft, Draft]] = []  # (entry, label, amount, project, memo, deposit ref)
    for n, (label, amount, key, memo) in enumerate(CONTRIBUTIONS, start=1):
        pid = project_ids[key] if key else 0
        found = made.get((ids[label], units(amount), pid))
        if found:
            receipts[n] = found.pop(0)
            continue
        ref = docs.draft("deposit", f"DEMO-DEP-{n:04d} 银行入账回单（{label}，{amount} 元）")
        if pid and fund.project_state(pid) not in (ProjectState.PROPOSED, ProjectState.TIME_LOCKED,
                                                   ProjectState.ACTIVE):
            _mint(docs, credit, treasurer, signers[label].address, units(amount), ref)
            continue  # closed before this contribution was made (a partial earlier run): never forced
        todo.append((n, label, amount, pid, docs.draft("memo", memo), ref))
    # The mints, and each contributor's allowance for all its contributions, do not depend on
    # one another: sent side by side they share blocks (on a network with real block times
    # every sequential write costs a block or two). The contributions stay in order, so
    # receipt ids do not change. On Ganache (instamine: a block per transaction, nothing to
    # share) the treasurer's mints go one after another: one account's concurrent sends are
    # what Ganache 7.9.2 now and then holds unmined for good (an executable nonce that
    # evm_mine does not take), which failed the demo's seeding on loaded machines.
    mints: list[Callable[[], object]] = [
        partial(_mint, docs, credit, treasurer, signers[label].address, units(amount), ref)
        for _n, label, amount, _pid, _memo, ref in todo
    ]
    if is_dev_chain(credit.ledger):
        for mint in mints:
            mint()
    else:
        side_by_side(mints)
    totals: dict[str, int] = {}
    for _n, label, amount, *_ in todo:
        totals[label] = totals.get(label, 0) + units(amount)
    side_by_side([partial(fund.ensure_allowance, signers[label], total) for label, total in totals.items()])
    for n, label, amount, pid, memo_draft, _ref in todo:
        texts = docs.journal([memo_draft])
        call = fund.contribute_call(units(amount), pid, memo_draft.hash)
        r = texts.wait(fund.send_contribution(signers[label], call, texts))
        docs.accept(r)
        receipts[n] = rid = int(r.event("ContributionReceived").args["receiptId"])
        where = f"project {pid}" if pid else "the general pool"
        ctx.say(f"{label} contributes {amount} 元 to {where}: receipt {rid}")

    def decide(motion_id: int, voters: list[str], support: bool = True, stop_before_quorum: bool = False) -> None:
        quorum = fund.quorum()
        for v in voters:
            m = fund.motion(motion_id)
            if m.state != MotionState.OPEN:
                return
            if stop_before_quorum and m.approvals + m.rejections + 1 >= quorum:
                return
            if fund.has_voted(motion_id, ids[v]):
                continue
            fund.vote(signers[v], motion_id, support)

    def motions_of(pid: int, kind: MotionKind) -> list[int]:
        evs = events_from_chain(ctx.ledger, ["MotionProposed"])
        return [int(e.args["motionId"]) for e in evs
                if int(e.args["projectId"]) == pid and int(e.args["kind"]) == int(kind)]

    # ------------------------------------------------------------ 停车难: approve, allocate, unlock, pay twice
    parking = fund.project(project_ids["parking"])
    decide(parking.approval_motion_id, ["committee-1", "committee-2"])
    parking = fund.project(parking.id)
    if parking.state in (ProjectState.TIME_LOCKED, ProjectState.ACTIVE):
        allocations = motions_of(parking.id, MotionKind.ALLOCATE_FROM_POOL)
        if not allocations:
            mid, _ = fund.propose_allocation(signers["committee-3"], parking.id, units(PARKING_ALLOCATION))
            allocations = [mid]
        decide(allocations[0], ["committee-2", "committee-3", "committee-1"])
    if fund.project_state(parking.id) == ProjectState.TIME_LOCKED:
        _pass_time_lock(ctx, parking.unlocks_at)
    if fund.project_state(parking.id) == ProjectState.ACTIVE:
        for index, invoice in enumerate(INVOICES):
            m = fund.milestone(parking.id, index)
            if m.paid < m.amount:
                inv = docs.draft("invoice", invoice)
                call = fund.pay_milestone_call(parking.id, index, m.amount - m.paid, inv.hash)
                r = docs.transact(fund.ledger, treasurer, call, [inv])
                docs.accept(r)
                pay_id = int(r.event("PayoutMade").args["payoutId"])
                ctx.say(f"财政局 pays milestone {index} of {PARKING}: payout {pay_id}")

    # ------------------------------------------------------------ 绿化维护: pending votes (one short of quorum)
    green = fund.project(project_ids["green"])
    decide(green.approval_motion_id, ["committee-1"], stop_before_quorum=True)

    # ------------------------------------------------------------ 养老服务设施: cancelled, refunds claimed
    elderly = fund.project(project_ids["elderly"])
    if elderly.state not in (ProjectState.CANCELLED, ProjectState.COMPLETED, ProjectState.REJECTED):
        cancels = motions_of(elderly.id, MotionKind.CANCEL_PROJECT)
        if not cancels:
            mid, _ = fund.propose_cancellation(signers["committee-2"], elderly.id)
            cancels = [mid]
        decide(cancels[0], ["committee-1", "committee-2", "committee-3"])
    if fund.project_state(elderly.id) == ProjectState.CANCELLED:
        for n, (label, _amount, key, _memo) in enumerate(CONTRIBUTIONS, start=1):
            receipt = receipts.get(n)
            if key != "elderly" or label not in REFUND_CLAIMERS or receipt is None:
                continue
            if fund.refundable(receipt):
                refunded, _ = fund.claim_refund(signers[label], receipt)
                ctx.say(f"{label} claims the refund of receipt {receipt}: {format_amount(refunded, dec)} 元")

    states = {k: fund.project_state(pid).name.lower() for k, pid in project_ids.items()}
    ctx.say(f"fund: projects {project_ids} ({states}); receipts {sorted(receipts.values())}; "
            "texts in the service database")


def _mint(docs: DocStore, credit: Credit, treasurer: Signer, to: str, amount: int, ref: Draft) -> None:
    """Mint against a deposit reference, unless it was minted against already (its commitment is recorded)."""
    if credit.deposit_recorded(ref.hash):
        return
    r = docs.transact(credit.ledger, treasurer, credit.mint_call(to, amount, ref.hash), [ref])
    docs.accept(r)


def side_by_side(jobs: list[Callable[[], object]], timeout: float | None = None) -> None:
    """Run independent writes in threads (the ledger keeps each account's nonces in order);
    every job finishes, then the first failure (in job order) is raised."""
    pool = ThreadPoolExecutor(max_workers=max(1, len(jobs)))
    futures = [pool.submit(job) for job in jobs]
    wait(futures, timeout)
    pool.shutdown(wait=False)
    for f in futures:
        f.result(0)  # a job still running after ``timeout`` raises TimeoutError


def _pass_time_lock(ctx: DemoContext, unlocks_at: int) -> None:
    """Move the development chain's clock past ``unlocks_at``; elsewhere, say when to come back."""
    top = header(ctx.ledger)
    latest = top.time if top is not None else 0
    if latest >= unlocks_at:
        return
    if not is_dev_chain(ctx.ledger):
        ctx.say(f"fund: {PARKING} is time-locked until {unlocks_at} (Unix time); run the demo again after that "
                "to make its payouts")
        return
    # Development chain only: Ganache's evm_increaseTime moves block time forward for the demo.
    ctx.ledger.rpc("evm_increaseTime", [unlocks_at - latest + 1])
    ctx.ledger.rpc("evm_mine", [])
    ctx.say(f"fund: moved the development chain's clock {unlocks_at - latest + 1} s past the time lock")
