"""The demo's cases part (街乡吹哨,部门报到): residents report, the sub-district summons, departments report.

* The council votes two service levels for the demo's categories: 垃圾满溢 (5: acknowledge
  within 2 hours, resolve within 24) and 消防通道占用 (6: 30 minutes, 4 hours).
* Residents of 幸福里 report overflowing bins (BIN-003 and BIN-007: the smart-bin readings of
  城管's dataset show them full) and a blocked fire lane through the Open311 store (off chain;
  only their salted commitments go on chain, in the case that groups them).
* 街道办 (SubDistrict) raises four cases, descriptions public, and each takes its course:
  1. BIN-003 → 城管 acknowledges in time, answers with its evidence, 街道办 accepts it (closed,
     fixed) and 12345 (the Channel that took the reports) records 满意.
  2. The fire lane → 城管 with 住建委 assisting, never acknowledged: overdue once its deadline
     passes, and 12345 escalates it to the district (anyone may escalate an overdue case).
  3. BIN-007 → 住建委, which sends it back naming 绿城物业 as responsible; 街道办 re-dispatches it
     to 城管, which acknowledges.
  4. Bins at the 幸福里 east gate → 城管 answers without fixing them; 街道办 rejects the answer
     and the case is open again (reopened).

Chain time: the overdue case needs its acknowledge deadline to pass. On the development chain
(:func:`ledger.devchain.is_dev_chain`) the demo moves the clock past it (``evm_increaseTime``);
on any other chain the escalation waits for a later run. Idempotent: reports are found by their
text, cases by their description's hash, and each case's story moves it on from the state it is
in (a run cut short is completed by the next).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api.apikeys import engine_for
from api.open311.store import Contact, NewReport, Report, ReportQuery, ReportStore
from cogov.demo.scenario import DemoContext
from ledger.cases import CaseDesk, CaseModel, CaseState, Evaluation, Satisfaction, ServiceLevel
from ledger.devchain import is_dev_chain
from ledger.events import deployment_events
from ledger.fund.docs import DocStore, doc_hash, open_store
from ledger.logs import head_time

AREA = 110105001001  # 幸福里社区 (a community's statistical division code: coarse, never an address)
BINS, FIRE_LANE = 5, 6
LEVELS = (ServiceLevel(BINS, 2 * 3600, 24 * 3600), ServiceLevel(FIRE_LANE, 30 * 60, 4 * 3600))


@dataclass(frozen=True)
class Story:
    key: str
    category: int
    description: str
    reports: tuple[str, ...]  # residents' report texts it groups
    lead: str  # label
    assisting: tuple[str, ...] = ()


STORIES = (
    Story("fixed", BINS, "幸福里3号楼旁 BIN-003 垃圾桶连续两天满溢，需清运并加密收运频次。",
          ("3号楼旁的垃圾桶又满了，垃圾堆到地上，味道很大。", "BIN-003 垃圾桶满溢两天没人清运。"), "chengguan"),
    Story("overdue", FIRE_LANE, "幸福里5号楼消防通道被私家车长期占用，消防车无法通行。",
          ("5号楼消防通道一直停着车，出了事消防车进不来。",), "chengguan", ("zhujianwei",)),
    Story("sent-back", BINS, "幸福里小区 BIN-007 垃圾站满溢，物业保洁未按时清运。",
          ("小区垃圾站（BIN-007）满了，物业说不归他们管。",), "zhujianwei"),
    Story("reopened", BINS, "幸福里东门垃圾桶满溢，周边散落垃圾。",
          ("东门的垃圾桶天天满，旁边全是垃圾袋。",), "chengguan"),
)


def seed(ctx: DemoContext) -> None:
    desk = CaseDesk(ctx.ledger)
    _service_levels(ctx, desk)
    store = ReportStore(engine_for(ctx.settings.service_db_url))
    docs = open_store(ctx.settings)
    model = CaseModel.of(deployment_events(ctx.ledger, "CaseDesk"))
    by_description = {c.description_hash: c.id for c in model.cases.values()}
    for story in STORIES:
        reports = [_report(store, story.category, text) for text in story.reports]
        text = docs.draft("case_public", story.description)
        case_id = by_description.get(text.hash)
        if case_id is None:
            case_id = _raise(ctx, desk, docs, story, text.hash, reports)
        _STEPS[story.key](ctx, desk, case_id)
    ctx.say(f"cases: {desk.case_count()} on chain; residents' reports at /open311/v2/requests.json")


def _service_levels(ctx: DemoContext, desk: CaseDesk) -> None:
    """The council's vote on the demo categories' service levels (the approval reaching the threshold applies it)."""
    for level in LEVELS:
        if desk.service_level(level.category) == level:
            continue
        proposer, *others = ctx.council
        r = desk.ledger.transact(proposer, desk.propose_service_level_call(level))
        proposal = int(r.event("ServiceLevelProposed").args["proposalId"])
        for signer in others:
            if desk.service_level(level.category) == level:
                break
            desk.ledger.transact(signer, desk.approve_service_level_call(proposal))
        ctx.say(f"cases: the council set category {level.category}'s service level "
                f"({level.ack_seconds // 60} min to acknowledge, {level.resolve_seconds // 3600} h to resolve)")


def _report(store: ReportStore, code: int, text: str) -> Report:
    """The resident's report ``text`` (stored once, as Open311 stores a report)."""
    for r in store.find(ReportQuery(codes=[code]), limit=1000):
        if r.description == text:
            return r
    return store.add(NewReport(code, text, 39.9289, 116.3883, "幸福里社区", None, Contact(), "demo"))


def _raise(ctx: DemoContext, desk: CaseDesk, docs: DocStore, story: Story, description: bytes,
           reports: list[Report]) -> int:
    ids = ctx.member_ids
    call = desk.raise_call(story.category, AREA, description, ids[story.lead], [ids[a] for a in story.assisting],
                           report_hashes=[bytes.fromhex(r.commitment[2:]) for r in reports],
                           channel_id=ids["rexian"])
    r = docs.transact(ctx.ledger, ctx.signers["jiedaoban"], call, [docs.draft("case_public", story.description)])
    docs.accept(r)
    case_id = int(r.event("CaseRaised").args["caseId"])
    ctx.say(f"cases: 街道办 raised case {case_id} ({story.key}), grouping {len(reports)} residents' report(s)")
    return case_id


def _evidence(text: str) -> bytes:
    """An answer's evidence: the hash of its record, kept where the department keeps it."""
    return doc_hash(text)


def _fixed(ctx: DemoContext, desk: CaseDesk, case_id: int) -> None:
    s = ctx.signers
    if desk.case(case_id).state == CaseState.DISPATCHED:
        desk.acknowledge(s["chengguan"], case_id)
    if desk.case(case_id).state == CaseState.ACKNOWLEDGED:
        done = _evidence("城管：BIN-003 已清运，收运频次由每日一次增至两次（现场照片存档）。")
        desk.answer(s["chengguan"], case_id, done)
    if desk.case(case_id).state == CaseState.AWAITING_EVALUATION:
        desk.evaluate(s["jiedaoban"], case_id, Evaluation.FIXED)
    c = desk.case(case_id)
    if c.state == CaseState.CLOSED_FIXED and c.satisfaction == 0:
        desk.record_satisfaction(s["rexian"], case_id, Satisfaction.SATISFIED)


def _overdue(ctx: DemoContext, desk: CaseDesk, case_id: int) -> None:
    c = desk.case(case_id)
    if c.state != CaseState.DISPATCHED:
        return
    now = head_time(ctx.ledger)
    if now <= c.ack_deadline:
        if not is_dev_chain(ctx.ledger):
            ctx.say(f"cases: case {case_id} becomes overdue at {c.ack_deadline} (Unix time); run the demo again "
                    "after that to escalate it")
            return
        # Development chain only: Ganache's evm_increaseTime moves block time past the deadline.
        ctx.ledger.rpc("evm_increaseTime", [c.ack_deadline - now + 1])
        ctx.ledger.rpc("evm_mine", [])
    desk.escalate(ctx.signers["rexian"], case_id)
    ctx.say(f"cases: case {case_id} was not acknowledged in time; 12345 escalated it to the district")


def _sent_back(ctx: DemoContext, desk: CaseDesk, case_id: int) -> None:
    s, ids = ctx.signers, ctx.member_ids
    if desk.case(case_id).state == CaseState.DISPATCHED and desk.case(case_id).lead_id == ids["zhujianwei"]:
        desk.send_back(s["zhujianwei"], case_id, 2, ids["enterprise-1"])  # 2: not ours; 绿城物业 is responsible
    if desk.case(case_id).state == CaseState.SENT_BACK:
        desk.redispatch(s["jiedaoban"], case_id, BINS, ids["chengguan"])
    c = desk.case(case_id)
    if c.state == CaseState.DISPATCHED and c.lead_id == ids["chengguan"]:
        desk.acknowledge(s["chengguan"], case_id)


def _reopened(ctx: DemoContext, desk: CaseDesk, case_id: int) -> None:
    s = ctx.signers
    if desk.case(case_id).state == CaseState.DISPATCHED:
        desk.acknowledge(s["chengguan"], case_id)
    if desk.case(case_id).state == CaseState.ACKNOWLEDGED:
        desk.answer(s["chengguan"], case_id, _evidence("城管：已督促保洁清理东门垃圾桶。"))
    if desk.case(case_id).state == CaseState.AWAITING_EVALUATION:
        desk.evaluate(s["jiedaoban"], case_id, Evaluation.REJECTED, 1)  # 1: the bins are still full


_STEPS: dict[str, Callable[[DemoContext, CaseDesk, int], None]] = {
    "fixed": _fixed, "overdue": _overdue, "sent-back": _sent_back, "reopened": _reopened,
}

__all__ = ["STORIES", "seed"]
