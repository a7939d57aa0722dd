"""The fund committee's page (``/console/committee``): the motions open for a vote, each with its
project, budget and milestones and who may not vote on it (the proposer, the beneficiary); vote
yes or no; the results. The vote is the API's write (``FundWrites.vote``), the lists the API's
(``FundService``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.console.actions import BackField, IdemField, act
from api.console.auth import Acting, SignedIn, SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import Id, StateDep, WriteRequest
from api.idempotency import Answer
from api.schemas.fund import MotionPublic, ProjectPublic, VoteCreate
from api.services.fund import FundService
from api.services.fund_writes import FundWrites
from api.services.index import caller_member
from api.state import ServiceState
from ledger.membership import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

COMMITTEE = register(Section("committee", "/committee", "console.nav.committee",
                             frozenset({Role.FUND_COMMITTEE}), order=10))
SHOWN = 100

Choice = Annotated[Literal["yes", "no"], Path()]


def motion_amount(m: MotionPublic, p: ProjectPublic) -> int:
    """What a motion moves: an allocation's amount from the general pool, else the project's budget
    (the one place the page reads a motion's money: a pool allocation carried by the proposal
    itself would be read here)."""
    return m.amount if m.kind == "allocate_from_pool" else p.budget


def committee_view(state: ServiceState, who: SignedIn) -> dict[str, Any]:
    service = FundService(state, who.caller.key)
    me = caller_member(state, who.caller)
    projects = {p.id: p for p in service.projects(None, None, 0, 500).data}
    voted = service.read(lambda model: {i: set(m.voters) for i, m in model.motions.items()})
    rows: list[dict[str, Any]] = []
    for m in service.motions({}, None, 0, SHOWN).data:
        p = projects[m.project_id]
        excluded = {p.proposer_id: p.proposer_name}
        if p.beneficiary_member_id is not None:
            excluded[p.beneficiary_member_id] = p.beneficiary_name or ""
        rows.append({"motion": m, "project": p, "amount": motion_amount(m, p), "excluded": excluded,
                     "voted": me.id in voted.get(m.id, ()), "may_vote": me.id not in excluded})
    return {"open": [r for r in rows if r["motion"].state == "open"],
            "decided": [r for r in rows if r["motion"].state != "open"]}


@router.get(COMMITTEE.path)
def committee_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, COMMITTEE)
    return render(request, state, who, "console/committee.html", back=COMMITTEE.href, **committee_view(state, who))


@router.post(COMMITTEE.path + "/motions/{motion_id}/{choice}")
def vote(request: Request, state: StateDep, who: Acting, motion_id: Id, choice: Choice,
         idem: IdemField = None, back: BackField = None) -> Response:
    """Vote on a motion as the signed-in committee member."""
    require(who, COMMITTEE)

    def write(w: WriteRequest) -> Answer:
        return FundWrites(state, who.caller).vote(w, motion_id, VoteCreate(support=choice == "yes"))

    return act(request, state, who, write, idem, back or COMMITTEE.href)
