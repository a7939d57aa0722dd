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
from api.routers._index_reads import caller_member, time_filter
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
    MintCreate,
    MintWrite,
    MotionKindName,
    MotionList,
    MotionPublic,
    MotionStateName,
    MotionWrite,
    PayoutCreate,
    PayoutList,
    PayoutWrite,
    PoolPublic,
    ProjectCreate,
    ProjectList,
    ProjectPublic,
    ProjectStateName,
    ProjectWrite,
    RefundList,
    RefundWrite,
    VoteCreate,
    VoteList,
)
from api.services.fund import ZERO32, FundService, motion_public
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
    Project,
    ProjectState,
    contribution_from_view,
)
from ledger.fund.docs import hex32, parse_hash
from ledger.fund.model import payout_of
from ledger.fund.report import (
    Labels,
    contributor_trace,
    events_from_index,
    export_csv,
    export_rows,
)
from ledger.logs import header
from ledger.membership import NAME as REGISTRY
from ledger.membership import Registry, member_from_view
from ledger.roles import MemberKind, Role

router = APIRouter(prefix="/api/v1/fund", tags=["fund"])

ProjectFilter = Annotated[int | None, id_query("A project id; 0: the general pool.", ge=0)]

ProposerCaller = Annotated[Caller, Depends(require_role(Role.DEPARTMENT, Role.FUND_COMMITTEE))]
CommitteeCaller = Annotated[Caller, Depends(require_role(Role.FUND_COMMITTEE))]
TreasurerCaller = Annotated[Caller, Depends(require_role(Role.TREASURER))]


# ------------------------------------------------------------------ helpers


def tx_info(r: TxReceipt) -> TxInfo:
    return TxInfo(tx_hash=r.tx_hash, block_number=r.block_number, gas_used=r.gas_used)


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


def _filters(**args: int | None) -> dict[str, Any]:
    """The index's argument filters that were given."""
    return {k: v for k, v in args.items() if v is not None}


def _chain_project(service: FundService, project_id: int) -> ProjectPublic:
    """A project as the chain's views show it now (a write's answer)."""
    fund = service.fund
    p = fund.project(project_id)
    return service.project_public(p, fund.milestones(p.id, p.milestone_count), service.chain_names)


def _chain_contribution(service: FundService, c: Contribution, row: Event | None = None,
                        memo: str | None = None) -> ContributionPublic:
    """A contribution as the chain's views show it now (a write's answer); ``memo``: the writer's own."""
    title = service.fund.project(c.project_id).title_hash if c.project_id else ZERO32
    if memo is not None:
        texts = {hex32(c.memo_hash): memo} | (service.public_texts([title]) if c.project_id else {})
    else:
        texts = service.contribution_texts([c], {c.project_id: title} if c.project_id else {})
    return service.contribution_public(c, service.chain_names, texts, title, row)


# ------------------------------------------------------------------ summary


@router.get("/summary", response_model=FundSummary, summary="Totals, the general pool, the invariant")
def summary(state: StateDep, key: CurrentKey) -> FundSummary:
    service = FundService(state, key)
    fund = service.fund
    t = fund.totals()
    pool = fund.pool()
    by_state: dict[str, int] = {s.name.lower(): 0 for s in ProjectState}
    for p in service.model.projects.values():
        by_state[service.model.project_state(p, service.now).name.lower()] += 1
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
    key: CurrentKey,
    contributor_id: Annotated[int | None, id_query("The contributing member.")] = None,
    project_id: ProjectFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ContributionList:
    args = _filters(memberId=contributor_id, projectId=project_id)
    return FundService(state, key).contributions(args, offset, limit, time_filter(since, until))


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
    service, docs = FundService(state, caller.key), writer(state, caller)
    fund = service.fund
    memo = docs.draft("memo", body.memo) if body.memo else None
    call = fund.contribute_call(body.amount, body.project_id, memo.hash if memo else ZERO32)
    start = partial(fund.send_contribution, caller.signer(), call)

    def respond(r: TxReceipt) -> ContributionWrite:
        docs.accept(r)  # the memo is kept now that the chain took the contribution
        ev = r.event("ContributionReceived")
        member_id = int(ev.args["memberId"])
        # The contribution and its member's name in one JSON-RPC batch.
        raw_c, raw_m = state.ledger.views([(NAME, "getContribution", (int(ev.args["receiptId"]),)),
                                           (REGISTRY, "getMember", (member_id,))])
        service.chain_names.by_id[member_id] = member_from_view(raw_m).name
        # The memo is the caller's own text (its hash on chain may be that of a first attempt's salt).
        c = _chain_contribution(service, contribution_from_view(raw_c), ev, body.memo or "")
        return ContributionWrite(tx=tx_info(r), contribution=c)

    return write_json(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                      docs.journal([memo]))


@router.get("/contributions/{receipt_id}", response_model=ContributionPublic, summary="One contribution (receipt id)")
def get_contribution(receipt_id: Id, state: StateDep, key: CurrentKey) -> ContributionPublic:
    return FundService(state, key).get_contribution(receipt_id)


@router.post(
    "/contributions/{receipt_id}/refund",
    response_model=RefundWrite,
    summary="Claim the refund of an earmarked contribution of a closed project (the contributing member)",
)
def claim_refund(
    receipt_id: Id, request: Request, state: StateDep, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    service = FundService(state, caller.key)
    fund = service.fund
    c = _contribution_or_404(fund, receipt_id)
    m = caller_member(state, caller)
    if m.id != c.member_id:
        raise AccessDenied(f"only the contributing member {c.member_id} may claim the refund of receipt {receipt_id}")

    start = partial(state.ledger.send, caller.signer(), fund.claim_refund_call(receipt_id))

    def respond(r: TxReceipt) -> RefundWrite:
        amount = int(r.event("RefundClaimed").args["amount"])
        return RefundWrite(tx=tx_info(r), amount=amount,
                           contribution=_chain_contribution(service, fund.contribution(receipt_id)))

    return write_json(state, caller, request, idempotency_key, {"refund": receipt_id}, start, respond)


@router.get("/contributors/{member_id}/trace", response_model=ContributorTracePublic,
            summary="Where one member's contributions went: payouts funded, refunds, what is unspent")
def contributor_trace_view(member_id: Id, state: StateDep, key: CurrentKey) -> ContributorTracePublic:
    if member_id > int(state.ledger.call("MembershipRegistry", "memberCount")):
        raise NotFound("member", member_id)
    service = FundService(state, key)
    events = events_from_index(service.index)
    texts = service.public_texts([bytes(e.args["titleHash"]) for e in events if e.name == "ProjectProposed"])
    t = contributor_trace(events, member_id, _labels(service, texts), service.fund.token.symbol,
                          service.fund.token.decimals)
    return ContributorTracePublic.model_validate(t.to_dict())


@router.get("/refunds", response_model=RefundList, summary="Refunds claimed, newest first")
def list_refunds(
    state: StateDep,
    key: CurrentKey,
    project_id: IdFilter = None,
    contributor_id: IdFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> RefundList:
    args = _filters(projectId=project_id, memberId=contributor_id)
    return FundService(state, key).refunds(args, offset, limit, time_filter(since, until))


# ------------------------------------------------------------------ projects


@router.get("/projects", response_model=ProjectList, summary="Projects, newest first")
def list_projects(
    state: StateDep,
    key: CurrentKey,
    state_filter: Annotated[ProjectStateName | None, Query(alias="state")] = None,
    proposer_id: IdFilter = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ProjectList:
    return FundService(state, key).projects(state_filter, proposer_id, offset, limit)


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
    service, docs = FundService(state, caller.key), writer(state, caller)
    title = docs.draft("title", body.title)
    descriptions = [docs.draft("milestone", m.description) for m in body.milestones]
    specs = [(m.amount, d.hash) for m, d in zip(body.milestones, descriptions, strict=True)]
    call = service.fund.propose_project_call(title.hash, body.beneficiary, specs)
    start = partial(state.ledger.send, caller.signer(), call)

    def respond(r: TxReceipt) -> ProjectWrite:
        docs.accept(r)
        pid = int(r.event("ProjectProposed").args["projectId"])
        return ProjectWrite(tx=tx_info(r), project=_chain_project(service, pid))

    return write_json(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                      docs.journal([title, *descriptions]))


@router.get("/projects/{project_id}", response_model=ProjectPublic, summary="One project, with its milestones")
def get_project(project_id: Id, state: StateDep, key: CurrentKey) -> ProjectPublic:
    return FundService(state, key).get_project(project_id)


def _motion_write(fund: Fund) -> Callable[[TxReceipt], MotionWrite]:
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
    return write_json(state, caller, request, idempotency_key, body.model_dump(), start, _motion_write(fund), 201)


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
    return write_json(state, caller, request, idempotency_key, {"cancel": project_id}, start, _motion_write(fund), 201)


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
    service, docs = FundService(state, caller.key), writer(state, caller)
    fund = service.fund
    p = _project_or_404(fund, project_id)
    m = caller_member(state, caller)
    ben = service.chain_names.of_account(p.beneficiary)
    if ben is not None and ben.id == m.id:
        raise AccessDenied(f"conflict of interest: member {m.id} is the beneficiary of project {project_id}")
    invoice = docs.draft("invoice", body.invoice) if body.invoice else None
    invoice_hash = invoice.hash if invoice else parse_hash(str(body.invoice_hash))
    call = fund.pay_milestone_call(project_id, body.milestone_index, body.amount, invoice_hash)
    start = partial(state.ledger.send, caller.signer(), call)

    def respond(r: TxReceipt) -> PayoutWrite:
        docs.accept(r)
        ev = r.event("PayoutMade")
        top = header(state.ledger, ev.block_number)
        payout = payout_of(replace(ev, time=top.time if top is not None else 0))  # a receipt carries no block time
        names = service.chain_names
        titles = {project_id: p.title_hash}
        texts = service.payout_texts([payout], titles, names)
        return PayoutWrite(tx=tx_info(r), payout=service.payout_public(payout, names, texts, p.title_hash),
                           project=_chain_project(service, project_id))

    return write_json(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                      docs.journal([invoice]))


@router.get("/payouts", response_model=PayoutList, summary="Milestone payouts, newest first")
def list_payouts(
    state: StateDep,
    key: CurrentKey,
    project_id: IdFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> PayoutList:
    return FundService(state, key).payouts(_filters(projectId=project_id), offset, limit, time_filter(since, until))


# ------------------------------------------------------------------ motions and votes


@router.get("/motions", response_model=MotionList, summary="Committee motions, newest first")
def list_motions(
    state: StateDep,
    key: CurrentKey,
    project_id: IdFilter = None,
    kind: Annotated[MotionKindName | None, Query()] = None,
    state_filter: Annotated[MotionStateName | None, Query(alias="state")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> MotionList:
    args = _filters(projectId=project_id, kind=int(MotionKind[kind.upper()]) if kind is not None else None)
    return FundService(state, key).motions(args, state_filter, offset, limit)


@router.get("/motions/{motion_id}", response_model=MotionPublic, summary="One motion")
def get_motion(motion_id: Id, state: StateDep, key: CurrentKey) -> MotionPublic:
    return motion_public(FundService(state, key).motion(motion_id))


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
    m = caller_member(state, caller)
    if m.id == p.proposer_id:
        raise AccessDenied(f"conflict of interest: member {m.id} proposed project {p.id} and never votes on it")
    ben = Registry(state.ledger).member_of(p.beneficiary)
    if ben is not None and ben.id == m.id:
        raise AccessDenied(f"conflict of interest: member {m.id} is the beneficiary of project {p.id}")

    start = partial(state.ledger.send, caller.signer(), fund.vote_call(motion_id, body.support))
    return write_json(
        state, caller, request, idempotency_key, body.model_dump(), start,
        lambda r: MotionWrite(tx=tx_info(r), motion=motion_public(fund.motion(motion_id))),
    )


@router.get("/motions/{motion_id}/votes", response_model=VoteList, summary="The votes on one motion")
def motion_votes(motion_id: Id, state: StateDep, key: CurrentKey, offset: Offset = 0, limit: Limit = 100) -> VoteList:
    service = FundService(state, key)
    service.motion(motion_id)  # 404 for an unknown motion
    return service.votes({"motionId": motion_id}, offset, limit)


@router.get("/votes", response_model=VoteList, summary="Votes, newest first (by motion and/or member)")
def list_votes(
    state: StateDep,
    key: CurrentKey,
    motion_id: IdFilter = None,
    member_id: IdFilter = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> VoteList:
    return FundService(state, key).votes(_filters(motionId=motion_id, memberId=member_id), offset, limit)


# ------------------------------------------------------------------ export and documents


ExportType = Annotated[str | None, Query(pattern="^(contribution|payout|refund)$", alias="type")]


def _labels(service: FundService, texts: Mapping[str, str]) -> Labels:
    members = service.members

    def member_of(account: str) -> tuple[int, str] | None:
        m = members.of_account(account)
        return (m.id, m.name) if m else None

    return Labels(lambda mid: members.name(mid) or "", member_of, lambda h: texts.get(h.lower()))


def _export(state: ServiceState, key: ApiKey, type_: str | None, since: int | None, until: int | None) -> list[Any]:
    service = FundService(state, key)
    events = events_from_index(service.index)
    kinds = [type_] if type_ else ["contribution", "payout", "refund"]
    members = service.members

    def beneficiary(account: str) -> Callable[[], dict[Party, int | None]]:
        return lambda: {Party.BENEFICIARY: members.id_of(account)}

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
    fund = service.fund
    return export_rows(events, _labels(service, texts), fund.token.symbol, fund.token.decimals,
                       kinds=kinds, since=since, until=until)


@router.get("/export", response_model=ExportList,
            summary="Every contribution, payout and refund for accounting (JSON), with tx hash and block")
def export_json_view(
    state: StateDep, key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> ExportList:
    from dataclasses import asdict

    rows = _export(state, key, type_, since, until)
    return ExportList.model_validate({"data": [asdict(r) for r in rows], "count": len(rows)})


@router.get("/export.csv", response_class=Response, summary="The same as CSV (UTF-8 with BOM, for spreadsheets)",
            responses={200: {"content": {"text/csv": {}}}})
def export_csv_view(
    state: StateDep, key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> Response:
    text = export_csv(_export(state, key, type_, since, until))
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

    return write_json(state, caller, request, idempotency_key, body.model_dump(), start, respond, 201,
                      docs.journal([ref]))

