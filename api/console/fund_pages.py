"""A contributor's page (``/console/contribute``): the balance they hold, a contribution to a project
or the general pool (a short balance is refused before anything is sent, in words), their receipts
and where each one's money went. The write is the API's (``api/services/fund_writes.py``), the
trace the API's (``FundService.contributor_trace``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.console.actions import BackField, IdemField, act, refused
from api.console.auth import Acting, SignedIn, SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import StateDep, WriteRequest
from api.idempotency import Answer
from api.schemas.fund import ContributionCreate
from api.services.fund import FundService
from api.services.fund_writes import FundWrites
from api.services.index import caller_member
from api.state import ServiceState
from ledger.errors import LedgerError
from ledger.fund import Credit, parse_amount
from ledger.membership import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

CONTRIBUTE = register(Section("contribute", "/contribute", "console.nav.contribute",
                              frozenset({Role.CONTRIBUTOR}), order=10))
#: Projects that take contributions.
OPEN = ("proposed", "time_locked", "active")


def contributor_view(state: ServiceState, who: SignedIn) -> dict[str, Any]:
    """The balance, the projects open for contributions and the member's trace."""
    service = FundService(state, who.caller.key)
    projects = service.projects(None, None, 0, 200).data
    return {
        "balance": Credit(state.ledger).balance_of(who.caller.account),
        "projects": [p for p in projects if p.state in OPEN],
        "trace": service.contributor_trace(caller_member(state, who.caller).id),
    }


@router.get(CONTRIBUTE.path)
def contribute_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, CONTRIBUTE)
    return render(request, state, who, "console/contribute.html", back=CONTRIBUTE.href,
                  **contributor_view(state, who))


@router.post(CONTRIBUTE.path)
def contribute(request: Request, state: StateDep, who: Acting,
               amount: Annotated[str, Form(min_length=1, max_length=40)],
               project_id: Annotated[int, Form(ge=0, le=2**63 - 1)] = 0,
               memo: Annotated[str, Form(max_length=2000)] = "",
               idem: IdemField = None, back: BackField = None) -> Response:
    """Contribute ``amount`` 元 to ``project_id`` (0: the general pool)."""
    require(who, CONTRIBUTE)
    try:
        body = ContributionCreate(amount=parse_amount(amount), project_id=project_id, memo=memo or None)
    except LedgerError as exc:
        return refused(request, state, who, exc, back or CONTRIBUTE.href)

    def write(w: WriteRequest) -> Answer:
        return FundWrites(state, who.caller).contribute(w, body)

    return act(request, state, who, write, idem, back or CONTRIBUTE.href)
