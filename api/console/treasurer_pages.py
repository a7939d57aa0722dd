"""The treasurer's page (``/console/treasurer``): deposits to mint against their bank reference (the
fund's credit mint), the payouts due — approved projects whose time lock has passed, each milestone
still open — each paid with its invoice uploaded (the file's keccak256 goes on chain, as
``cogov fund payout --invoice-file``), the payouts made (with each invoice's hash) and the refunds
claimed. Each write is the API's (``api/services/fund_writes.py``) through :func:`api.console.actions.act`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from api.console.actions import BackField, IdemField, act, refused
from api.console.auth import Acting, SignedIn, SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import Id, StateDep, WriteRequest
from api.idempotency import Answer
from api.schemas.fund import MintCreate, PayoutCreate
from api.services.fund import FundService
from api.services.fund_writes import FundWrites
from api.state import ServiceState
from ledger.errors import LedgerError, ValidationFailed
from ledger.fund import parse_amount
from ledger.fund.texts import file_hash
from ledger.membership import Registry, Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

TREASURER = register(Section("treasurer", "/treasurer", "console.nav.treasurer", frozenset({Role.TREASURER}),
                             order=10))
#: Payouts and refunds the page lists (newest first); older ones are in the API's lists.
SHOWN = 50
#: The largest invoice file taken (its bytes are hashed, not kept).
INVOICE_MAX = 20 * 1024 * 1024


def treasurer_view(state: ServiceState, who: SignedIn) -> dict[str, Any]:
    """The milestones due (active projects' open milestones), the accounts a deposit may go to, the
    payouts made and the refunds claimed (as the API lists them)."""
    service = FundService(state, who.caller.key)
    active = service.projects("active", None, 0, 200).data
    members = [m for m in Registry(state.ledger).members() if m.active and m.accounts and Role.CONTRIBUTOR in m.roles]
    return {
        "due": [(p, ms) for p in active for ms in p.milestones if ms.paid < ms.amount],
        "contributors": members,
        "payouts": service.payouts({}, 0, SHOWN, None).data,
        "refunds": service.refunds({}, 0, SHOWN, None).data,
    }


def form_error(exc: LedgerError | ValueError) -> LedgerError:
    """A form's value the write's schema refused (a pydantic error is a ValueError), as a refusal."""
    return exc if isinstance(exc, LedgerError) else ValidationFailed("form", str(exc).splitlines()[0])


@router.get(TREASURER.path)
def treasurer_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, TREASURER)
    return render(request, state, who, "console/treasurer.html", back=TREASURER.href, **treasurer_view(state, who))


@router.post(TREASURER.path + "/mint")
def mint(request: Request, state: StateDep, who: Acting,
         to: Annotated[str, Form(min_length=42, max_length=42)],
         amount: Annotated[str, Form(min_length=1, max_length=40)],
         deposit_ref: Annotated[str, Form(min_length=1, max_length=500)],
         idem: IdemField = None, back: BackField = None) -> Response:
    """Mint ``amount`` 元 of credit to ``to`` against the deposit's bank reference (minted once)."""
    require(who, TREASURER)
    try:
        body = MintCreate(to=to, amount=parse_amount(amount), deposit_ref=deposit_ref)
    except (LedgerError, ValueError) as exc:
        return refused(request, state, who, form_error(exc), back or TREASURER.href)

    def write(w: WriteRequest) -> Answer:
        return FundWrites(state, who.caller).mint(w, body)

    return act(request, state, who, write, idem, back or TREASURER.href)


@router.post(TREASURER.path + "/projects/{project_id}/payouts")
def pay(request: Request, state: StateDep, who: Acting, project_id: Id,
              milestone_index: Annotated[int, Form(ge=0, le=31)],
              amount: Annotated[str, Form(min_length=1, max_length=40)],
              invoice: Annotated[UploadFile, File()],
              idem: IdemField = None, back: BackField = None) -> Response:
    """Pay (part of) a milestone; the uploaded invoice's keccak256 goes on chain."""
    require(who, TREASURER)
    data = invoice.file.read(INVOICE_MAX + 1)  # hashed here, not kept (a sync route: in the thread pool)
    try:
        if not data or len(data) > INVOICE_MAX:
            raise ValidationFailed("invoice", f"the invoice file must hold 1 byte to {INVOICE_MAX // 2**20} MiB")
        body = PayoutCreate(milestone_index=milestone_index, amount=parse_amount(amount), invoice=None,
                            invoice_hash="0x" + file_hash(data).hex())
    except (LedgerError, ValueError) as exc:
        return refused(request, state, who, form_error(exc), back or TREASURER.href)

    def write(w: WriteRequest) -> Answer:
        return FundWrites(state, who.caller).pay_milestone(w, project_id, body)

    return act(request, state, who, write, idem, back or TREASURER.href)
