"""/api/v1/fund: the community co-governance fund (社区共治基金).

Lists read the event index (paginated, filtered, newest first) and the current state from
the chain; the trace and the export are computed from the indexed events with the same
code as ``cogov fund trace`` / ``cogov fund export``. Writes are signed with the caller's
own account (from the API key), accept an ``Idempotency-Key`` and go through
:func:`api.deps.run_write`, so a retried request never contributes or pays twice.

The chain enforces every rule. The router checks the ones about *who* first (API-key role,
the caller's member, conflicts of interest: a member never votes on a project it proposed
or benefits from, a treasurer never pays its own member), so those refusals are 403 with
nothing sent. Titles, milestone descriptions, memos and invoices are stored off chain in
the document store (:mod:`ledger.fund_docs`); only their keccak256 goes on chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import JSONResponse, Response

from api.deps import (
    Caller,
    CurrentCaller,
    CurrentKey,
    Id,
    IdempotencyKey,
    IdFilter,
    Limit,
    Offset,
    Since,
    StateDep,
    Until,
    id_query,
    require_role,
    write_json,
)
from api.routers._index_reads import caller_member, event_rows, index_for, time_filter
from api.schemas.common import Address, TxInfo
from api.schemas.fund import (
    AllocationCreate,
    ContributionCreate,
    ContributionList,
    ContributionPublic,
    ContributionWrite,
    ContributorTracePublic,
    CreditBalance,
    DocumentPublic,
    ExportList,
    FundSummary,
    MilestonePublic,
    MintCreate,
    MintWrite,
    MotionKindName,
    MotionList,
    MotionPublic,
    MotionStateName,
    MotionWrite,
    PayoutCreate,
    PayoutList,
    PayoutPublic,
    PayoutWrite,
    PoolPublic,
    ProjectCreate,
    ProjectList,
    ProjectPublic,
    ProjectStateName,
    ProjectWrite,
    RefundList,
    RefundPublic,
    RefundWrite,
    VoteCreate,
    VoteList,
    VotePublic,
)
from api.state import ServiceState
from ledger.client import TxReceipt
from ledger.errors import AccessDenied, NotFound
from ledger.fund import (
    NAME,
    Contribution,
    Credit,
    Fund,
    Motion,
    MotionKind,
    MotionState,
    Project,
    ProjectState,
    _contribution,
)
from ledger.fund.report import (
    Labels,
    contributor_trace,
    events_from_index,
    export_csv,
    export_rows,
)
from ledger.fund_docs import DocStore, default_path, hex32, parse_hash
from ledger.membership import NAME as REGISTRY
from ledger.membership import Member, Registry, _member, views
from ledger.roles import MemberKind, Role

router = APIRouter(prefix="/api/v1/fund", tags=["fund"])

ProjectFilter = Annotated[int | None, id_query("A project id; 0: the general pool.", ge=0)]

ProposerCaller = Annotated[Caller, Depends(require_role(Role.DEPARTMENT, Role.FUND_COMMITTEE))]
CommitteeCaller = Annotated[Caller, Depends(require_role(Role.FUND_COMMITTEE))]
TreasurerCaller = Annotated[Caller, Depends(require_role(Role.TREASURER))]


# ------------------------------------------------------------------ helpers


def tx_info(r: TxReceipt) -> TxInfo:
    return TxInfo(tx_hash=r.tx_hash, block_number=r.block_number, gas_used=r.gas_used)


def _docs(state: ServiceState) -> DocStore:
    return DocStore(default_path(state.settings.manifest_path))


_index = index_for


class _Names:
    """Member names and account owners, looked up once per request."""

    def __init__(self, state: ServiceState) -> None:
        self.reg = Registry(state.ledger)
        self._by_id: dict[int, str] = {}
        self._by_account: dict[str, Member | None] = {}

    def name(self, member_id: int) -> str:
        if member_id not in self._by_id:
            self._by_id[member_id] = self.reg.member(member_id).name if member_id else ""
        return self._by_id[member_id]

    def member_of(self, account: str) -> Member | None:
        key = account.lower()
        if key not in self._by_account:
            self._by_account[key] = self.reg.member_of(account)
        return self._by_account[key]

    def labels(self, docs: DocStore) -> Labels:
        texts = {k.lower(): v for k, v in docs.texts().items()}

        def member_of(a: str) -> tuple[int, str] | None:
            m = self.member_of(a)
            return (m.id, m.name) if m else None

        return Labels(self.name, member_of, lambda h: texts.get(h.lower()))


def _rows(
    state: ServiceState,
    event: str,
    args: Mapping[str, Any],
    offset: int,
    limit: int,
    keep: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], int]:
    return event_rows(state, NAME, event, args, offset, limit, keep)


_time_ok = time_filter


_caller_member = caller_member


def _project_or_404(fund: Fund, project_id: int) -> Project:
    if project_id < 1 or project_id > fund.project_count():
        raise NotFound("project", project_id)
    return fund.project(project_id)


def _motion_or_404(fund: Fund, motion_id: int) -> Motion:
    if motion_id > fund.motion_count():
        raise NotFound("motion", motion_id)
    return fund.motion(motion_id)


def _contribution_or_404(fund: Fund, receipt_id: int) -> Contribution:
    if receipt_id > fund.contribution_count():
        raise NotFound("contribution", receipt_id)
    return fund.contribution(receipt_id)


_write = write_json  # one idempotent-write path for every router (api/deps.py)


# ------------------------------------------------------------------ views


@dataclass(frozen=True)
class _Landed:
    """An event of a write's own receipt, shaped like an index row (before the index has it)."""

    tx_hash: str
    block_number: int
    block_time: int = 0
    args: dict[str, Any] = field(default_factory=dict)


def _text(docs: DocStore, texts: dict[str, str] | None, h: bytes) -> str | None:
    if h == b"\x00" * 32:
        return None
    if texts is not None:
        return texts.get(hex32(h))
    return docs.text(h)


def project_public(
    fund: Fund, p: Project, docs: DocStore, names: _Names, texts: dict[str, str] | None = None
) -> ProjectPublic:
    texts = texts if texts is not None else docs.texts()
    ben = names.member_of(p.beneficiary)
    return ProjectPublic(
        id=p.id,
        title=_text(docs, texts, p.title_hash),
        title_hash=hex32(p.title_hash),
        proposer=p.proposer,
        proposer_id=p.proposer_id,
        proposer_name=names.name(p.proposer_id),
        beneficiary=p.beneficiary,
        beneficiary_member_id=ben.id if ben else None,
        beneficiary_name=ben.name if ben else None,
        budget=p.budget,
        approval_motion_id=p.approval_motion_id,
        approved_at=p.approved_at,
        unlocks_at=p.unlocks_at,
        cancelled_at=p.cancelled_at,
        paid=p.paid,
        earmarked=p.earmarked,
        earmarked_spent=p.earmarked_spent,
        allocated=p.allocated,
        allocated_spent=p.allocated_spent,
        allocation_released=p.allocation_released,
        refunded=p.refunded,
        available=p.available,
        state=p.state.name.lower(),  # type: ignore[arg-type]
        milestones=[
            MilestonePublic(index=m.index, amount=m.amount, paid=m.paid, description_hash=hex32(m.description_hash),
                            description=_text(docs, texts, m.description_hash))
            for m in fund.milestones(p.id, p.milestone_count)
        ],
    )


def contribution_public(
    fund: Fund, c: Contribution, docs: DocStore, names: _Names, row: Any = None, texts: dict[str, str] | None = None
) -> ContributionPublic:
    texts = texts if texts is not None else docs.texts()
    title = None
    if c.project_id:
        title = _text(docs, texts, fund.project(c.project_id).title_hash)
    return ContributionPublic(
        receipt_id=c.receipt_id,
        member_id=c.member_id,
        member_name=names.name(c.member_id),
        contributor=c.contributor,
        kind=c.kind.name.lower(),  # type: ignore[arg-type]
        project_id=c.project_id,
        project=title,
        amount=c.amount,
        memo_hash=None if c.memo_hash == b"\x00" * 32 else hex32(c.memo_hash),
        memo=_text(docs, texts, c.memo_hash),
        contributed_at=c.contributed_at,
        spent=c.spent,
        refunded=c.refunded,
        refundable=c.refundable,
        tx_hash=row.tx_hash if row is not None else None,
        block_number=row.block_number if row is not None else None,
    )


def motion_public(m: Motion) -> MotionPublic:
    return MotionPublic(
        id=m.id,
        kind=m.kind.name.lower(),  # type: ignore[arg-type]
        project_id=m.project_id,
        amount=m.amount,
        proposer_id=m.proposer_id,
        created_at=m.created_at,
        deadline=m.deadline,
        decided_at=m.decided_at,
        approvals=m.approvals,
        rejections=m.rejections,
        state=m.state.name.lower(),  # type: ignore[arg-type]
    )


def payout_public(fund: Fund, r: Any, docs: DocStore, names: _Names, texts: dict[str, str]) -> PayoutPublic:
    a = r.args
    pid = int(a["projectId"])
    ben = names.member_of(str(a["beneficiary"]))
    inv = parse_hash(str(a["invoiceHash"]))
    return PayoutPublic(
        payout_id=int(a["payoutId"]),
        project_id=pid,
        project=_text(docs, texts, fund.project(pid).title_hash),
        milestone_index=int(a["milestoneIndex"]),
        beneficiary=str(a["beneficiary"]),
        beneficiary_name=ben.name if ben else None,
        amount=int(a["amount"]),
        invoice_hash=hex32(inv),
        invoice=_text(docs, texts, inv),
        treasurer_id=int(a["treasurerId"]),
        from_earmarked=int(a["fromEarmarked"]),
        from_general=int(a["fromGeneral"]),
        block_number=r.block_number,
        block_time=r.block_time,
        tx_hash=r.tx_hash,
    )


def _contribution_row(state: ServiceState, receipt_id: int) -> Any:
    rows = _index(state).events(NAME, "ContributionReceived", args={"receiptId": receipt_id}, limit=1)
    return rows[0] if rows else None


# ------------------------------------------------------------------ summary


@router.get("/summary", response_model=FundSummary, summary="Totals, the general pool, the invariant")
def summary(state: StateDep, _key: CurrentKey) -> FundSummary:
    fund = Fund(state.ledger)
    t = fund.totals()
    pool = fund.pool()
    by_state: dict[str, int] = {s.name.lower(): 0 for s in ProjectState}
    for p in fund.projects():
        by_state[p.state.name.lower()] += 1
    return FundSummary(
        address=fund.address,
        token=fund.token.address,
        currency=fund.token.symbol,
        decimals=fund.token.decimals,
        quorum=fund.quorum(),
        time_lock=fund.time_lock(),
        total_contributed=t.contributed,
        total_paid_out=t.paid_out,
        total_refunded=t.refunded,
        balance=t.balance,
        expected_balance=t.contributed - t.paid_out - t.refunded,
        invariant_holds=t.invariant_holds,
        pool=PoolPublic(total=pool.total, spent=pool.spent, committed=pool.committed, free=pool.free),
        contributions=t.contributions,
        projects=t.projects,
        motions=t.motions,
        payouts=t.payouts,
        projects_by_state=by_state,
    )


# ------------------------------------------------------------------ contributions


@router.get("/contributions", response_model=ContributionList, summary="Contributions, newest first")
def list_contributions(
    state: StateDep,
    _key: CurrentKey,
    contributor_id: Annotated[int | None, id_query("The contributing member.")] = None,
    project_id: ProjectFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ContributionList:
    args: dict[str, Any] = {}
    if contributor_id is not None:
        args["memberId"] = contributor_id
    if project_id is not None:
        args["projectId"] = project_id
    rows, count = _rows(state, "ContributionReceived", args, offset, limit, _time_ok(since, until))
    fund, docs, names = Fund(state.ledger), _docs(state), _Names(state)
    texts = docs.texts()
    return ContributionList(
        data=[
            contribution_public(fund, fund.contribution(int(r.args["receiptId"])), docs, names, r, texts)
            for r in rows
        ],
        count=count,
    )


@router.post(
    "/contributions",
    response_model=ContributionWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Contribute to a project or the general pool (approves the fund for the amount first if needed)",
)
def contribute(
    body: ContributionCreate,
    request: Request,
    state: StateDep,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    # One call for the caller's member, kind and activity (accountInfo), not two: the
    # same 403s as caller_member; the contract checks the contributor again on the write.
    info = Registry(state.ledger).account_info(caller.account)
    if not info.active:
        raise AccessDenied(f"account {caller.account} is not an active account of any member")
    if info.kind == MemberKind.AUDITOR:
        raise AccessDenied(f"member {info.member_id} is an auditor; auditors never contribute (independence)")
    fund, docs = Fund(state.ledger), _docs(state)
    if body.project_id:
        _project_or_404(fund, body.project_id)
    memo_hash = docs.put("memo", body.memo) if body.memo else b"\x00" * 32

    def send(before_send: Any) -> TxReceipt:
        _, r = fund.contribute(caller.signer(), body.amount, body.project_id, memo_hash, before_send=before_send)
        return r

    def respond(r: TxReceipt) -> ContributionWrite:
        ev = r.event("ContributionReceived")
        rid = int(ev.args["receiptId"])
        member_id = int(ev.args["memberId"])
        # The contribution and its member's name in one JSON-RPC batch.
        raw_c, raw_m = views(state.ledger, [(NAME, "getContribution", (rid,)), (REGISTRY, "getMember", (member_id,))])
        c = _contribution(raw_c)
        names = _Names(state)
        names._by_id[member_id] = _member(raw_m).name
        # The memo is the request's own text: no need to read the whole document store for it.
        texts = None if body.project_id else ({hex32(memo_hash): body.memo} if body.memo else {})
        row = _Landed(ev.tx_hash, ev.block_number)
        return ContributionWrite(tx=tx_info(r), contribution=contribution_public(fund, c, docs, names, row, texts))

    return _write(state, caller, request, idempotency_key, body.model_dump(), send, respond, 201)


@router.get("/contributions/{receipt_id}", response_model=ContributionPublic, summary="One contribution (receipt id)")
def get_contribution(receipt_id: Id, state: StateDep, _key: CurrentKey) -> ContributionPublic:
    fund = Fund(state.ledger)
    c = _contribution_or_404(fund, receipt_id)
    return contribution_public(fund, c, _docs(state), _Names(state), _contribution_row(state, receipt_id))


@router.post(
    "/contributions/{receipt_id}/refund",
    response_model=RefundWrite,
    summary="Claim the refund of an earmarked contribution of a closed project (the contributing member)",
)
def claim_refund(
    receipt_id: Id, request: Request, state: StateDep, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    fund = Fund(state.ledger)
    c = _contribution_or_404(fund, receipt_id)
    m = _caller_member(state, caller)
    if m.id != c.member_id:
        raise AccessDenied(f"only the contributing member {c.member_id} may claim the refund of receipt {receipt_id}")

    def send(before_send: Any) -> TxReceipt:
        _, r = fund.claim_refund(caller.signer(), receipt_id, before_send=before_send)
        return r

    def respond(r: TxReceipt) -> RefundWrite:
        amount = int(r.event("RefundClaimed").args["amount"])
        c2 = fund.contribution(receipt_id)
        return RefundWrite(tx=tx_info(r), amount=amount,
                           contribution=contribution_public(fund, c2, _docs(state), _Names(state)))

    return _write(state, caller, request, idempotency_key, {"refund": receipt_id}, send, respond)


@router.get("/contributors/{member_id}/trace", response_model=ContributorTracePublic,
            summary="Where one member's contributions went: payouts funded, refunds, what is unspent")
def contributor_trace_view(member_id: Id, state: StateDep, _key: CurrentKey) -> ContributorTracePublic:
    if member_id > int(state.ledger.call("MembershipRegistry", "memberCount")):
        raise NotFound("member", member_id)
    fund, docs = Fund(state.ledger), _docs(state)
    events = events_from_index(_index(state))
    t = contributor_trace(events, member_id, _Names(state).labels(docs), fund.token.symbol, fund.token.decimals)
    return ContributorTracePublic.model_validate(t.to_dict())


@router.get("/refunds", response_model=RefundList, summary="Refunds claimed, newest first")
def list_refunds(
    state: StateDep,
    _key: CurrentKey,
    project_id: IdFilter = None,
    contributor_id: IdFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> RefundList:
    args: dict[str, Any] = {}
    if project_id is not None:
        args["projectId"] = project_id
    if contributor_id is not None:
        args["memberId"] = contributor_id
    rows, count = _rows(state, "RefundClaimed", args, offset, limit, _time_ok(since, until))
    names = _Names(state)
    return RefundList(
        data=[
            RefundPublic(receipt_id=int(r.args["receiptId"]), project_id=int(r.args["projectId"]),
                         member_id=int(r.args["memberId"]), member_name=names.name(int(r.args["memberId"])),
                         to=str(r.args["to"]), amount=int(r.args["amount"]), block_number=r.block_number,
                         block_time=r.block_time, tx_hash=r.tx_hash)
            for r in rows
        ],
        count=count,
    )


# ------------------------------------------------------------------ projects


@router.get("/projects", response_model=ProjectList, summary="Projects, newest first")
def list_projects(
    state: StateDep,
    _key: CurrentKey,
    state_filter: Annotated[ProjectStateName | None, Query(alias="state")] = None,
    proposer_id: IdFilter = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ProjectList:
    fund, docs, names = Fund(state.ledger), _docs(state), _Names(state)
    projects = list(reversed(fund.projects()))
    if state_filter is not None:
        projects = [p for p in projects if p.state == ProjectState[state_filter.upper()]]
    if proposer_id is not None:
        projects = [p for p in projects if p.proposer_id == proposer_id]
    texts = docs.texts()
    return ProjectList(
        data=[project_public(fund, p, docs, names, texts) for p in projects[offset : offset + limit]],
        count=len(projects),
    )


@router.post(
    "/projects",
    response_model=ProjectWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Propose a project (department or fund committee); its approval motion opens at once",
)
def propose_project(
    body: ProjectCreate,
    request: Request,
    state: StateDep,
    caller: ProposerCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    fund, docs = Fund(state.ledger), _docs(state)
    title_hash = docs.put("title", body.title)
    specs = [(m.amount, docs.put("milestone", m.description)) for m in body.milestones]

    def send(before_send: Any) -> TxReceipt:
        _, r = fund.propose_project(caller.signer(), title_hash, body.beneficiary, specs, before_send=before_send)
        return r

    def respond(r: TxReceipt) -> ProjectWrite:
        pid = int(r.event("ProjectProposed").args["projectId"])
        return ProjectWrite(tx=tx_info(r), project=project_public(fund, fund.project(pid), docs, _Names(state)))

    return _write(state, caller, request, idempotency_key, body.model_dump(), send, respond, 201)


@router.get("/projects/{project_id}", response_model=ProjectPublic, summary="One project, with its milestones")
def get_project(project_id: Id, state: StateDep, _key: CurrentKey) -> ProjectPublic:
    fund = Fund(state.ledger)
    return project_public(fund, _project_or_404(fund, project_id), _docs(state), _Names(state))


def _motion_write(state: ServiceState, fund: Fund) -> Callable[[TxReceipt], MotionWrite]:
    def respond(r: TxReceipt) -> MotionWrite:
        mid = int(r.event("MotionProposed").args["motionId"])
        return MotionWrite(tx=tx_info(r), motion=motion_public(fund.motion(mid)))

    return respond


@router.post(
    "/projects/{project_id}/allocations",
    response_model=MotionWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Propose allocating general-pool money to an approved project (fund committee)",
)
def propose_allocation(
    project_id: Id,
    body: AllocationCreate,
    request: Request,
    state: StateDep,
    caller: CommitteeCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    fund = Fund(state.ledger)
    _project_or_404(fund, project_id)

    def send(before_send: Any) -> TxReceipt:
        _, r = fund.propose_allocation(caller.signer(), project_id, body.amount, before_send=before_send)
        return r

    return _write(state, caller, request, idempotency_key, body.model_dump(), send, _motion_write(state, fund), 201)


@router.post(
    "/projects/{project_id}/cancellation",
    response_model=MotionWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Propose cancelling an open project (fund committee); if it passes, earmarked money becomes refundable",
)
def propose_cancellation(
    project_id: Id, request: Request, state: StateDep, caller: CommitteeCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    fund = Fund(state.ledger)
    _project_or_404(fund, project_id)

    def send(before_send: Any) -> TxReceipt:
        _, r = fund.propose_cancellation(caller.signer(), project_id, before_send=before_send)
        return r

    return _write(
        state, caller, request, idempotency_key, {"cancel": project_id}, send, _motion_write(state, fund), 201
    )


@router.post(
    "/projects/{project_id}/payouts",
    response_model=PayoutWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Pay (part of) a milestone to the beneficiary, with the invoice's hash (treasurer)",
)
def pay_milestone(
    project_id: Id,
    body: PayoutCreate,
    request: Request,
    state: StateDep,
    caller: TreasurerCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    fund, docs = Fund(state.ledger), _docs(state)
    p = _project_or_404(fund, project_id)
    m = _caller_member(state, caller)
    ben = Registry(state.ledger).member_of(p.beneficiary)
    if ben is not None and ben.id == m.id:
        raise AccessDenied(f"conflict of interest: member {m.id} is the beneficiary of project {project_id}")
    invoice_hash = docs.put("invoice", body.invoice) if body.invoice else parse_hash(str(body.invoice_hash))

    def send(before_send: Any) -> TxReceipt:
        _, r = fund.pay_milestone(caller.signer(), project_id, body.milestone_index, body.amount, invoice_hash,
                                  before_send=before_send)
        return r

    def respond(r: TxReceipt) -> PayoutWrite:
        ev = r.event("PayoutMade")
        names, texts = _Names(state), docs.texts()
        blk = state.ledger.rpc("eth_getBlockByNumber", [hex(ev.block_number), False])
        row = _Landed(ev.tx_hash, ev.block_number, int(blk["timestamp"], 16),
                      {k: (hex32(v) if isinstance(v, bytes) else v) for k, v in ev.args.items()})
        return PayoutWrite(tx=tx_info(r), payout=payout_public(fund, row, docs, names, texts),
                           project=project_public(fund, fund.project(project_id), docs, names, texts))

    return _write(state, caller, request, idempotency_key, body.model_dump(), send, respond, 201)


@router.get("/payouts", response_model=PayoutList, summary="Milestone payouts, newest first")
def list_payouts(
    state: StateDep,
    _key: CurrentKey,
    project_id: IdFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> PayoutList:
    args: dict[str, Any] = {} if project_id is None else {"projectId": project_id}
    rows, count = _rows(state, "PayoutMade", args, offset, limit, _time_ok(since, until))
    fund, docs, names = Fund(state.ledger), _docs(state), _Names(state)
    texts = docs.texts()
    return PayoutList(data=[payout_public(fund, r, docs, names, texts) for r in rows], count=count)


# ------------------------------------------------------------------ motions and votes


@router.get("/motions", response_model=MotionList, summary="Committee motions, newest first")
def list_motions(
    state: StateDep,
    _key: CurrentKey,
    project_id: IdFilter = None,
    kind: Annotated[MotionKindName | None, Query()] = None,
    state_filter: Annotated[MotionStateName | None, Query(alias="state")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> MotionList:
    args: dict[str, Any] = {}
    if project_id is not None:
        args["projectId"] = project_id
    if kind is not None:
        args["kind"] = int(MotionKind[kind.upper()])
    fund = Fund(state.ledger)
    keep = None
    if state_filter is not None:
        want = MotionState[state_filter.upper()]

        def keep(r: Any) -> bool:
            return fund.motion_state(int(r.args["motionId"])) == want

    rows, count = _rows(state, "MotionProposed", args, offset, limit, keep)
    return MotionList(data=[motion_public(fund.motion(int(r.args["motionId"]))) for r in rows], count=count)


@router.get("/motions/{motion_id}", response_model=MotionPublic, summary="One motion")
def get_motion(motion_id: Id, state: StateDep, _key: CurrentKey) -> MotionPublic:
    return motion_public(_motion_or_404(Fund(state.ledger), motion_id))


@router.post(
    "/motions/{motion_id}/votes",
    response_model=MotionWrite,
    summary="Vote on an open motion, once per member (fund committee; never on a project your member proposed)",
)
def vote(
    motion_id: Id,
    body: VoteCreate,
    request: Request,
    state: StateDep,
    caller: CommitteeCaller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    fund = Fund(state.ledger)
    motion = _motion_or_404(fund, motion_id)
    p = fund.project(motion.project_id)
    m = _caller_member(state, caller)
    if m.id == p.proposer_id:
        raise AccessDenied(f"conflict of interest: member {m.id} proposed project {p.id} and never votes on it")
    ben = Registry(state.ledger).member_of(p.beneficiary)
    if ben is not None and ben.id == m.id:
        raise AccessDenied(f"conflict of interest: member {m.id} is the beneficiary of project {p.id}")

    def send(before_send: Any) -> TxReceipt:
        return fund.vote(caller.signer(), motion_id, body.support, before_send=before_send)

    return _write(
        state, caller, request, idempotency_key, body.model_dump(), send,
        lambda r: MotionWrite(tx=tx_info(r), motion=motion_public(fund.motion(motion_id))),
    )


def _votes(state: ServiceState, args: dict[str, Any], offset: int, limit: int) -> VoteList:
    rows, count = _rows(state, "VoteCast", args, offset, limit)
    names = _Names(state)
    return VoteList(
        data=[
            VotePublic(motion_id=int(r.args["motionId"]), member_id=int(r.args["memberId"]),
                       member_name=names.name(int(r.args["memberId"])), voter=str(r.args["voter"]),
                       support=bool(r.args["support"]), approvals=int(r.args["approvals"]),
                       rejections=int(r.args["rejections"]), block_number=r.block_number, block_time=r.block_time,
                       tx_hash=r.tx_hash)
            for r in rows
        ],
        count=count,
    )


@router.get("/motions/{motion_id}/votes", response_model=VoteList, summary="The votes on one motion")
def motion_votes(motion_id: Id, state: StateDep, _key: CurrentKey, offset: Offset = 0, limit: Limit = 100) -> VoteList:
    _motion_or_404(Fund(state.ledger), motion_id)
    return _votes(state, {"motionId": motion_id}, offset, limit)


@router.get("/votes", response_model=VoteList, summary="Votes, newest first (by motion and/or member)")
def list_votes(
    state: StateDep,
    _key: CurrentKey,
    motion_id: IdFilter = None,
    member_id: IdFilter = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> VoteList:
    args: dict[str, Any] = {}
    if motion_id is not None:
        args["motionId"] = motion_id
    if member_id is not None:
        args["memberId"] = member_id
    return _votes(state, args, offset, limit)


# ------------------------------------------------------------------ export and documents


ExportType = Annotated[str | None, Query(pattern="^(contribution|payout|refund)$", alias="type")]


def _export(state: ServiceState, type_: str | None, since: int | None, until: int | None) -> list[Any]:
    fund, docs = Fund(state.ledger), _docs(state)
    events = events_from_index(_index(state))
    kinds = [type_] if type_ else ["contribution", "payout", "refund"]
    return export_rows(events, _Names(state).labels(docs), fund.token.symbol, fund.token.decimals,
                       kinds=kinds, since=since, until=until)


@router.get("/export", response_model=ExportList,
            summary="Every contribution, payout and refund for accounting (JSON), with tx hash and block")
def export_json_view(
    state: StateDep, _key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> ExportList:
    from dataclasses import asdict

    rows = _export(state, type_, since, until)
    return ExportList.model_validate({"data": [asdict(r) for r in rows], "count": len(rows)})


@router.get("/export.csv", response_class=Response, summary="The same as CSV (UTF-8 with BOM, for spreadsheets)",
            responses={200: {"content": {"text/csv": {}}}})
def export_csv_view(
    state: StateDep, _key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> Response:
    text = export_csv(_export(state, type_, since, until))
    return Response(("\ufeff" + text).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="cogov-fund-export.csv"'})


@router.get("/documents/{doc_hash_hex}", response_model=DocumentPublic,
            summary="The text behind an on-chain hash (title, milestone, memo, invoice); verified on read")
def get_document(
    doc_hash_hex: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")], state: StateDep, _key: CurrentKey
) -> DocumentPublic:
    d = _docs(state).get(doc_hash_hex)
    if d is None:
        raise NotFound("document", doc_hash_hex)
    return DocumentPublic(hash=d.hash, kind=d.kind, text=d.text)


# ------------------------------------------------------------------ community credit


@router.get("/credit/balances/{account}", response_model=CreditBalance, summary="An account's fund-token balance")
def credit_balance(account: Address, state: StateDep, _key: CurrentKey) -> CreditBalance:
    fund = Fund(state.ledger)
    tok = fund.token
    return CreditBalance(account=account, balance=tok.balance_of(account),
                         allowance_to_fund=tok.allowance(account, fund.address), currency=tok.symbol,
                         decimals=tok.decimals)


@router.post("/credit/mint", response_model=MintWrite, status_code=status.HTTP_201_CREATED,
             summary="Mint CommunityCredit against a fiat deposit reference, once per reference (treasurer)")
def credit_mint(
    body: MintCreate, request: Request, state: StateDep, caller: TreasurerCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    credit = Credit(state.ledger)
    ref = _docs(state).put("deposit", body.deposit_ref)

    def send(before_send: Any) -> TxReceipt:
        return credit.mint(caller.signer(), body.to, body.amount, ref, before_send=before_send)

    return _write(
        state, caller, request, idempotency_key, body.model_dump(), send,
        lambda r: MintWrite(tx=tx_info(r), to=body.to, amount=body.amount, deposit_ref_hash=hex32(ref),
                            balance=credit.balance_of(body.to)),
        201,
    )

