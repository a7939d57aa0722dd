"""/api/v1/fund: the community co-governance fund (社区共治基金).

Thin: each route parses, calls the service and presents. Reads are
:class:`api.services.fund.FundService`'s (lists from the event index and the fund's reducer,
paginated, filtered, newest first; the trace and the export with the same code as
``cogov fund trace`` / ``cogov fund export``). Writes are
:class:`api.services.fund_writes.FundWrites`'s: signed with the caller's own account (from the
API key), each through its session (:class:`api.deps.WriteRequest`: the ``Idempotency-Key``, so a
retried request never contributes or pays twice, and ``Prefer: respond-async``).

The chain enforces every rule. The service checks the ones about *who* first (the caller's
member, conflicts of interest: a member never votes on a project it proposed or benefits
from, a treasurer never pays its own member), so those refusals are 403 with nothing sent.
Titles, milestone descriptions, memos, invoices and deposit references are stored off chain
(:mod:`ledger.fund.docs`, in the service database) once the chain accepted their write; only
their hash goes on chain (salted, but for the public titles and milestone descriptions). Who
may read which text is :mod:`ledger.doc_access`'s table (:mod:`api.documents`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import JSONResponse, Response

from api.answers import kept
from api.deps import (
    Caller,
    CurrentCaller,
    CurrentKey,
    Id,
    IdFilter,
    Limit,
    Offset,
    Since,
    StateDep,
    Until,
    WriteDep,
    id_query,
    json_answer,
    require_role,
)
from api.documents import document_public, read
from api.schemas.common import Address
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
from api.services.fund import (
    FundService,
    motion_public,
)
from api.services.fund_writes import FundWrites
from api.services.index import arg_filters, time_filter
from ledger.errors import NotFound
from ledger.fund import (
    Fund,
    MotionKind,
)
from ledger.fund.report import (
    export_csv,
)
from ledger.membership import Role

router = APIRouter(prefix="/api/v1/fund", tags=["fund"])

ProjectFilter = Annotated[int | None, id_query("A project id; 0: the general pool.", ge=0)]

ProposerCaller = Annotated[Caller, Depends(require_role(Role.DEPARTMENT, Role.FUND_COMMITTEE))]
CommitteeCaller = Annotated[Caller, Depends(require_role(Role.FUND_COMMITTEE))]
TreasurerCaller = Annotated[Caller, Depends(require_role(Role.TREASURER))]


# ------------------------------------------------------------------ summary


@router.get("/summary", response_model=FundSummary, summary="Totals, the general pool, the invariant")
def summary(state: StateDep, key: CurrentKey) -> FundSummary:
    return FundService(state, key).summary()


# ------------------------------------------------------------------ contributions


@router.get("/contributions", response_model=ContributionList, summary="Contributions, newest first")
@kept()
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
    args = arg_filters(memberId=contributor_id, projectId=project_id)
    return FundService(state, key).contributions(args, offset, limit, time_filter(since, until))


@router.post(
    "/contributions",
    response_model=ContributionWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Contribute to a project or the general pool (approves the fund for the amount first if needed)",
)
def contribute(body: ContributionCreate, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(FundWrites(state, caller).contribute(write, body))


@router.get("/contributions/{receipt_id}", response_model=ContributionPublic, summary="One contribution (receipt id)")
def get_contribution(receipt_id: Id, state: StateDep, key: CurrentKey) -> ContributionPublic:
    return FundService(state, key).get_contribution(receipt_id)


@router.post(
    "/contributions/{receipt_id}/refund",
    response_model=RefundWrite,
    summary="Claim the refund of an earmarked contribution of a closed project (the contributing member)",
)
def claim_refund(receipt_id: Id, state: StateDep, caller: CurrentCaller, write: WriteDep) -> JSONResponse:
    return json_answer(FundWrites(state, caller).claim_refund(write, receipt_id))


@router.get("/contributors/{member_id}/trace", response_model=ContributorTracePublic,
            summary="Where one member's contributions went: payouts funded, refunds, what is unspent")
def contributor_trace_view(member_id: Id, state: StateDep, key: CurrentKey) -> ContributorTracePublic:
    if member_id > int(state.ledger.call("MembershipRegistry", "memberCount")):
        raise NotFound("member", member_id)
    return FundService(state, key).contributor_trace(member_id)


@router.get("/refunds", response_model=RefundList, summary="Refunds claimed, newest first")
@kept()
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
    args = arg_filters(projectId=project_id, memberId=contributor_id)
    return FundService(state, key).refunds(args, offset, limit, time_filter(since, until))


# ------------------------------------------------------------------ projects


@router.get("/projects", response_model=ProjectList, summary="Projects, newest first")
@kept()
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
def propose_project(body: ProjectCreate, state: StateDep, caller: ProposerCaller, write: WriteDep) -> JSONResponse:
    return json_answer(FundWrites(state, caller).propose_project(write, body))


@router.get("/projects/{project_id}", response_model=ProjectPublic, summary="One project, with its milestones")
def get_project(project_id: Id, state: StateDep, key: CurrentKey) -> ProjectPublic:
    return FundService(state, key).get_project(project_id)


@router.post(
    "/projects/{project_id}/allocations",
    response_model=MotionWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Propose allocating general-pool money to an approved project (fund committee)",
)
def propose_allocation(
    project_id: Id, body: AllocationCreate, state: StateDep, caller: CommitteeCaller, write: WriteDep
) -> JSONResponse:
    return json_answer(FundWrites(state, caller).propose_allocation(write, project_id, body))


@router.post(
    "/projects/{project_id}/cancellation",
    response_model=MotionWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Propose cancelling an open project (fund committee); if it passes, earmarked money becomes refundable",
)
def propose_cancellation(project_id: Id, state: StateDep, caller: CommitteeCaller, write: WriteDep) -> JSONResponse:
    return json_answer(FundWrites(state, caller).propose_cancellation(write, project_id))


@router.post(
    "/projects/{project_id}/payouts",
    response_model=PayoutWrite,
    status_code=status.HTTP_201_CREATED,
    summary="Pay (part of) a milestone to the beneficiary, with the invoice's hash (treasurer)",
)
def pay_milestone(
    project_id: Id, body: PayoutCreate, state: StateDep, caller: TreasurerCaller, write: WriteDep
) -> JSONResponse:
    return json_answer(FundWrites(state, caller).pay_milestone(write, project_id, body))


@router.get("/payouts", response_model=PayoutList, summary="Milestone payouts, newest first")
@kept()
def list_payouts(
    state: StateDep,
    key: CurrentKey,
    project_id: IdFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> PayoutList:
    return FundService(state, key).payouts(arg_filters(projectId=project_id), offset, limit, time_filter(since, until))


# ------------------------------------------------------------------ motions and votes


@router.get("/motions", response_model=MotionList, summary="Committee motions, newest first")
@kept()
def list_motions(
    state: StateDep,
    key: CurrentKey,
    project_id: IdFilter = None,
    kind: Annotated[MotionKindName | None, Query()] = None,
    state_filter: Annotated[MotionStateName | None, Query(alias="state")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> MotionList:
    args = arg_filters(projectId=project_id, kind=int(MotionKind[kind.upper()]) if kind is not None else None)
    return FundService(state, key).motions(args, state_filter, offset, limit)


@router.get("/motions/{motion_id}", response_model=MotionPublic, summary="One motion")
def get_motion(motion_id: Id, state: StateDep, key: CurrentKey) -> MotionPublic:
    return motion_public(FundService(state, key).motion(motion_id))


@router.post(
    "/motions/{motion_id}/votes",
    response_model=MotionWrite,
    summary="Vote on an open motion, once per member (fund committee; never on a project your member proposed)",
)
def vote(motion_id: Id, body: VoteCreate, state: StateDep, caller: CommitteeCaller, write: WriteDep) -> JSONResponse:
    return json_answer(FundWrites(state, caller).vote(write, motion_id, body))


@router.get("/motions/{motion_id}/votes", response_model=VoteList, summary="The votes on one motion")
def motion_votes(motion_id: Id, state: StateDep, key: CurrentKey, offset: Offset = 0, limit: Limit = 100) -> VoteList:
    service = FundService(state, key)
    service.motion(motion_id)  # 404 for an unknown motion
    return service.votes({"motionId": motion_id}, offset, limit)


@router.get("/votes", response_model=VoteList, summary="Votes, newest first (by motion and/or member)")
@kept()
def list_votes(
    state: StateDep,
    key: CurrentKey,
    motion_id: IdFilter = None,
    member_id: IdFilter = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> VoteList:
    return FundService(state, key).votes(arg_filters(motionId=motion_id, memberId=member_id), offset, limit)


# ------------------------------------------------------------------ export and documents


ExportType = Annotated[str | None, Query(pattern="^(contribution|payout|refund)$", alias="type")]


@router.get("/export", response_model=ExportList,
            summary="Every contribution, payout and refund for accounting (JSON), with tx hash and block")
def export_json_view(
    state: StateDep, key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> ExportList:
    from dataclasses import asdict

    rows = FundService(state, key).export(type_, since, until)
    return ExportList.model_validate({"data": [asdict(r) for r in rows], "count": len(rows)})


@router.get("/export.csv", response_class=Response, summary="The same as CSV (UTF-8 with BOM, for spreadsheets)",
            responses={200: {"content": {"text/csv": {}}}})
def export_csv_view(
    state: StateDep, key: CurrentKey, type_: ExportType = None, since: Since = None, until: Until = None
) -> Response:
    text = export_csv(FundService(state, key).export(type_, since, until))
    return Response(("\ufeff" + text).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="cogov-fund-export.csv"'})


@router.get(
    "/documents/{doc_hash_hex}", response_model=DocumentPublic, response_model_exclude_none=True,
    summary="The text behind an on-chain hash, to those who may read it (404 to anyone else); verified on read",
    description=(
        "Titles and milestone descriptions: every API key. A memo: its contributing member, the treasurer, "
        "auditors. An invoice: the project's beneficiary, the fund committee, the treasurer, auditors. A deposit "
        "or redemption reference: the treasurer, auditors. A purpose: the requester, the dataset's owner, data "
        "governance, auditors. A case's description marked public: every API key; any other, and an answer's "
        "evidence: the case's raiser, the departments of its current dispatch, the district, auditors. A salted "
        "text comes with its salt: `keccak256(salt ‖ utf8(text))` is the hash."
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
def credit_mint(body: MintCreate, state: StateDep, caller: TreasurerCaller, write: WriteDep) -> JSONResponse:
    return json_answer(FundWrites(state, caller).mint(write, body))

