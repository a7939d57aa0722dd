"""/api/v1/fund: the community co-governance fund (社区共治基金).

Lists read the event index (paginated, filtered, newest first) and the current state from
the chain; the trace and the export are computed from the indexed events with the same
code as ``cogov fund trace`` / ``cogov fund export``. Writes are signed with the caller's
own account (from the API key), accept an ``Idempotency-Key`` and go through
:func:`api.deps.run_write`, so a retried request never contributes or pays twice.

The chain enforces every rule. The router checks the ones about *who* first (API-key role,
the caller's member, conflicts of interest: a member never votes on a project it proposed
or benefits from, a treasurer never pays its own member), so those refusals are 403 with
nothing sent. Titles, milestone descriptions, memos, invoices and deposit references are
stored off chain (:mod:`ledger.fund.docs`, in the service database) once the chain accepted
their write; only their hash goes on chain (salted, but for the public titles and milestone
descriptions). Who may read which text is :mod:`ledger.doc_access`'s table (:mod:`api.documents`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import JSONResponse, Response

from api.apikeys import ApiKey
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
from api.documents import document_public, read, readable_texts, writer
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
from ledger.doc_access import Party
from ledger.errors import AccessDenied, NotFound
from ledger.events import Event
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
    contribution_from_view,
)
from ledger.fund.docs import PUBLIC_KINDS, DocStore, hex32, parse_hash
from ledger.fund.report import (
    Labels,
    contributor_trace,
    events_from_index,
    export_csv,
    export_rows,
)
from ledger.logs import header
from ledger.membership import NAME as REGISTRY
from ledger.membership import Member, Registry, member_from_view
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
    docs: DocStore = state.docs
    return docs


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

    def member_id(self, account: str) -> int | None:
        m = self.member_of(account)
        return m.id if m else None

    def labels(self, texts: Mapping[str, str]) -> Labels:
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


def _text(texts: Mapping[str, str], h: bytes) -> str | None:
    return None if h == b"\x00" * 32 else texts.get(hex32(h))


def project_public(
    fund: Fund, p: Project, docs: DocStore, names: _Names, texts: Mapping[str, str] | None = None
) -> ProjectPublic:
    """A project with its title and milestone descriptions (public texts)."""
    ben = names.member_of(p.beneficiary)
    milestones = fund.milestones(p.id, p.milestone_count)
    if texts is None:
        texts = docs.texts([p.title_hash, *(m.description_hash for m in milestones)], PUBLIC_KINDS)
    return ProjectPublic(
        id=p.id,
        title=_text(texts, p.title_hash),
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
                            description=_text(texts, m.description_hash))
            for m in milestones
        ],
    )


def _contribution_texts(state: ServiceState, key: ApiKey, fund: Fund, cs: list[Contribution]) -> dict[str, str]:
    """The memos of ``cs`` the caller may read, and their projects' titles."""
    titles = {c.project_id: fund.project(c.project_id).title_hash for c in cs if c.project_id}
    return readable_texts(state, key.account, [
        *(("memo", c.memo_hash, {Party.CONTRIBUTOR: c.member_id}) for c in cs),
        *(("title", h, {}) for h in titles.values()),
    ])


def contribution_public(
    fund: Fund, c: Contribution, names: _Names, texts: Mapping[str, str], row: Event | None = None
) -> ContributionPublic:
    """A contribution; ``texts`` holds its memo only for a caller allowed to read it."""
    title = None
    if c.project_id:
        title = _text(texts, fund.project(c.project_id).title_hash)
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
        memo=_text(texts, c.memo_hash),
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


def _payout_texts(state: ServiceState, key: ApiKey, fund: Fund, names: _Names, rows: list[Event]) -> dict[str, str]:
    """The invoices of payout rows the caller may read, and their projects' titles."""
    titles = {int(r.args["projectId"]) for r in rows}

    def parties(beneficiary: str) -> Callable[[], dict[Party, int | None]]:
        return lambda: {Party.BENEFICIARY: names.member_id(beneficiary)}

    return readable_texts(state, key.account, [
        *(("invoice", bytes(r.args["invoiceHash"]), parties(str(r.args["beneficiary"]))) for r in rows),
        *(("title", fund.project(pid).title_hash, {}) for pid in titles),
    ])


def payout_public(fund: Fund, r: Event, names: _Names, texts: Mapping[str, str]) -> PayoutPublic:
    """A payout; ``texts`` holds its invoice only for a caller allowed to read it."""
    a = r.args
    pid = int(a["projectId"])
    ben = names.member_of(str(a["beneficiary"]))
    inv = bytes(a["invoiceHash"])
    return PayoutPublic(
        payout_id=int(a["payoutId"]),
        project_id=pid,
        project=_text(texts, fund.project(pid).title_hash),
        milestone_index=int(a["milestoneIndex"]),
        beneficiary=str(a["beneficiary"]),
        beneficiary_name=ben.name if ben else None,
        amount=int(a["amount"]),
        invoice_hash=hex32(inv),
        invoice=_text(texts, inv),
        treasurer_id=int(a["treasurerId"]),
        from_earmarked=int(a["fromEarmarked"]),
        from_general=int(a["fromGeneral"]),
        block_number=r.block_number,
        block_time=r.block_time,
        tx_hash=r.tx_hash,
    )


def _contribution_row(state: ServiceState, receipt_id: int) -> Event | None:
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
    fund, names = Fund(state.ledger), _Names(state)
    cs = [fund.contribution(int(r.args["receiptId"])) for r in rows]
    texts = _contribution_texts(state, _key, fund, cs)
    return ContributionList(
        data=[contribution_public(fund, c, names, texts, r) for c, r in zip(cs, rows, strict=True)],
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
    fund, docs = Fund(state.ledger), writer(state, caller)
    if body.project_id:
        _project_or_404(fund, body.project_id)
    memo = docs.draft("memo", body.memo) if body.memo else None
    memo_hash = memo.hash if memo else b"\x00" * 32

    call = fund.contribute_call(body.amount, body.project_id, memo_hash)
    start = partial(fund.send_contribution, caller.signer(), call)

    def respond(r: TxReceipt) -> ContributionWrite:
        docs.accept(r)  # the memo is kept now that the chain took the contribution
        ev = r.event("ContributionReceived")
        rid = int(ev.args["receiptId"])
        member_id = int(ev.args["memberId"])
        # The contribution and its member's name in one JSON-RPC batch.
        raw_c, raw_m = state.ledger.views([(NAME, "getContribution", (rid,)), (REGISTRY, "getMember", (member_id,))])
        c = contribution_from_view(raw_c)
        names = _Names(state)
        names._by_id[member_id] = member_from_view(raw_m).name
        # The memo is the caller's own text (its hash on chain may be that of a first attempt's salt).
        texts = {hex32(c.memo_hash): body.memo} if body.memo else {}
        if c.project_id:
            texts |= docs.texts([fund.project(c.project_id).title_hash], PUBLIC_KINDS)
        return ContributionWrite(tx=tx_info(r), contribution=contribution_public(fund, c, names, texts, ev))

    return _write(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                  docs.journal([memo]))


@router.get("/contributions/{receipt_id}", response_model=ContributionPublic, summary="One contribution (receipt id)")
def get_contribution(receipt_id: Id, state: StateDep, _key: CurrentKey) -> ContributionPublic:
    fund = Fund(state.ledger)
    c = _contribution_or_404(fund, receipt_id)
    texts = _contribution_texts(state, _key, fund, [c])
    return contribution_public(fund, c, _Names(state), texts, _contribution_row(state, receipt_id))


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

    start = partial(state.ledger.send, caller.signer(), fund.claim_refund_call(receipt_id))

    def respond(r: TxReceipt) -> RefundWrite:
        amount = int(r.event("RefundClaimed").args["amount"])
        c2 = fund.contribution(receipt_id)
        texts = _contribution_texts(state, caller.key, fund, [c2])
        return RefundWrite(tx=tx_info(r), amount=amount,
                           contribution=contribution_public(fund, c2, _Names(state), texts))

    return _write(state, caller, request, idempotency_key, {"refund": receipt_id}, start, respond)


@router.get("/contributors/{member_id}/trace", response_model=ContributorTracePublic,
            summary="Where one member's contributions went: payouts funded, refunds, what is unspent")
def contributor_trace_view(member_id: Id, state: StateDep, _key: CurrentKey) -> ContributorTracePublic:
    if member_id > int(state.ledger.call("MembershipRegistry", "memberCount")):
        raise NotFound("member", member_id)
    fund = Fund(state.ledger)
    events = events_from_index(_index(state))
    names = _Names(state)
    texts = _docs(state).texts([hex32(e.args["titleHash"]) for e in events if e.name == "ProjectProposed"],
                               PUBLIC_KINDS)
    t = contributor_trace(events, member_id, names.labels(texts), fund.token.symbol, fund.token.decimals)
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
    return ProjectList(
        data=[project_public(fund, p, docs, names) for p in projects[offset : offset + limit]],
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
    fund, docs = Fund(state.ledger), writer(state, caller)
    title = docs.draft("title", body.title)
    descriptions = [docs.draft("milestone", m.description) for m in body.milestones]
    specs = [(m.amount, d.hash) for m, d in zip(body.milestones, descriptions, strict=True)]

    texts = docs.journal([title, *descriptions])
    start = partial(state.ledger.send, caller.signer(), fund.propose_project_call(title.hash, body.beneficiary, specs))

    def respond(r: TxReceipt) -> ProjectWrite:
        docs.accept(r)
        pid = int(r.event("ProjectProposed").args["projectId"])
        return ProjectWrite(tx=tx_info(r), project=project_public(fund, fund.project(pid), docs, _Names(state)))

    return _write(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201, texts)


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

    start = partial(state.ledger.send, caller.signer(), fund.propose_allocation_call(project_id, body.amount))
    return _write(state, caller, request, idempotency_key, body.model_dump(), start, _motion_write(state, fund), 201)


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

    start = partial(state.ledger.send, caller.signer(), fund.propose_cancellation_call(project_id))
    return _write(
        state, caller, request, idempotency_key, {"cancel": project_id}, start, _motion_write(state, fund), 201
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
    fund, docs = Fund(state.ledger), writer(state, caller)
    p = _project_or_404(fund, project_id)
    m = _caller_member(state, caller)
    ben = Registry(state.ledger).member_of(p.beneficiary)
    if ben is not None and ben.id == m.id:
        raise AccessDenied(f"conflict of interest: member {m.id} is the beneficiary of project {project_id}")
    invoice = docs.draft("invoice", body.invoice) if body.invoice else None
    invoice_hash = invoice.hash if invoice else parse_hash(str(body.invoice_hash))

    call = fund.pay_milestone_call(project_id, body.milestone_index, body.amount, invoice_hash)
    start = partial(state.ledger.send, caller.signer(), call)

    def respond(r: TxReceipt) -> PayoutWrite:
        docs.accept(r)
        ev = r.event("PayoutMade")
        names = _Names(state)
        top = header(state.ledger, ev.block_number)
        row = replace(ev, time=top.time if top is not None else 0)  # a receipt carries no block time
        texts = _payout_texts(state, caller.key, fund, names, [row])
        return PayoutWrite(tx=tx_info(r), payout=payout_public(fund, row, names, texts),
                           project=project_public(fund, fund.project(project_id), docs, names))

    return _write(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                  docs.journal([invoice]))


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
    fund, names = Fund(state.ledger), _Names(state)
    texts = _payout_texts(state, _key, fund, names, rows)
    return PayoutList(data=[payout_public(fund, r, names, texts) for r in rows], count=count)


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

    start = partial(state.ledger.send, caller.signer(), fund.vote_call(motion_id, body.support))
    return _write(
        state, caller, request, idempotency_key, body.model_dump(), start,
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


def _export(state: ServiceState, key: ApiKey, type_: str | None, since: int | None, until: int | None) -> list[Any]:
    fund, names = Fund(state.ledger), _Names(state)
    events = events_from_index(_index(state))
    kinds = [type_] if type_ else ["contribution", "payout", "refund"]

    def beneficiary(account: str) -> Callable[[], dict[Party, int | None]]:
        return lambda: {Party.BENEFICIARY: names.member_id(account)}

    wanted: list[tuple[str, bytes, Any]] = []
    for e in events:
        a = e.args
        if e.name == "ContributionReceived":
            wanted.append(("memo", bytes(a["memoHash"]), {Party.CONTRIBUTOR: int(a["memberId"])}))
        elif e.name == "PayoutMade":
            wanted.append(("invoice", bytes(a["invoiceHash"]), beneficiary(str(a["beneficiary"]))))
        elif e.name == "ProjectProposed":
            wanted.append(("title", bytes(a["titleHash"]), {}))
    texts = readable_texts(state, key.account, wanted)
    return export_rows(events, names.labels(texts), fund.token.symbol, fund.token.decimals,
                       kinds=kinds, since=since, until=until)


@router.get("/export", response_model=ExportList,
            summary="Every contribution, payout and refund for accounting (JSON), with tx hash and block")
def export_json_view(
    state: StateDep, _key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> ExportList:
    from dataclasses import asdict

    rows = _export(state, _key, type_, since, until)
    return ExportList.model_validate({"data": [asdict(r) for r in rows], "count": len(rows)})


@router.get("/export.csv", response_class=Response, summary="The same as CSV (UTF-8 with BOM, for spreadsheets)",
            responses={200: {"content": {"text/csv": {}}}})
def export_csv_view(
    state: StateDep, _key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> Response:
    text = export_csv(_export(state, _key, type_, since, until))
    return Response(("\ufeff" + text).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="cogov-fund-export.csv"'})


@router.get(
    "/documents/{doc_hash_hex}", response_model=DocumentPublic, response_model_exclude_none=True,
    summary="The text behind an on-chain hash, to those who may read it (404 to anyone else); verified on read",
    description=(
        "Titles and milestone descriptions: every API key. A memo: its contributing member, the treasurer, "
        "auditors. An invoice: the project's beneficiary, the fund committee, the treasurer, auditors. A deposit "
        "or redemption reference: the treasurer, auditors. A purpose: the requester, the dataset's owner, data "
        "governance, auditors. A salted text comes with its salt: `keccak256(salt ‖ utf8(text))` is the hash."
    ),
)
def get_document(
    doc_hash_hex: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")], state: StateDep, caller: CurrentCaller
) -> DocumentPublic:
    return document_public(read(state, caller, doc_hash_hex))


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
    credit, docs = Credit(state.ledger), writer(state, caller)
    ref = docs.draft("deposit", body.deposit_ref)  # the same bank reference, the same commitment: minted once

    start = partial(state.ledger.send, caller.signer(), credit.mint_call(body.to, body.amount, ref.hash))

    def respond(r: TxReceipt) -> MintWrite:
        docs.accept(r)
        return MintWrite(tx=tx_info(r), to=body.to, amount=body.amount, deposit_ref_hash=ref.hash_hex,
                         balance=credit.balance_of(body.to))

    return _write(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                  docs.journal([ref]))

