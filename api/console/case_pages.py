"""The cases page (``/console/cases``), for a department and a sub-district: the cases waiting for
the department's check-in (报到) with the time left, the answers it owes, and — for the sub-district
that raised them (吹哨) — the cases to evaluate and the residents' reports waiting for a case, with
the form raising one from them. Reads are the API's case list
(``api/services/cases.py``), each action the API's case write (``api/services/case_writes.py``)
through :func:`api.console.actions.act`; who may do what is the contract's alone."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.console.actions import BackField, IdemField, act
from api.console.auth import Acting, SignedIn, SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import Id, StateDep, WriteRequest
from api.idempotency import Answer
from api.open311.categories import name_of
from api.params import Paging
from api.portal.pages import lang_of
from api.schemas.cases import AnswerCreate, CaseCreate, CasePublic, EvaluationCreate
from api.services.case_reports import report_queue
from api.services.case_writes import CaseWrites
from api.services.cases import CaseService, cases_state
from api.services.index import caller_member
from api.services.names import Members
from api.state import ServiceState
from ledger.membership import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

CASES = register(Section("cases", "/cases", "console.nav.cases", frozenset({Role.DEPARTMENT, Role.SUB_DISTRICT}),
                         order=20))
#: The cases the page reads (newest first); older ones are in the API's list.
SHOWN = Paging(0, 200)
#: The reports the page shows waiting, and grouped lately (older ones: GET /api/v1/cases/reports).
REPORTS, GROUPED = Paging(0, 100), Paging(0, 20)
#: The states in which the named departments check in and answer (the contract's ``_withDepartments``).
WITH_DEPARTMENTS = ("dispatched", "acknowledged", "reopened")
Outcome = Literal["fixed", "rejected", "not_fixed"]


def time_left(deadline: int, now: int) -> dict[str, int] | None:
    """Hours and minutes until ``deadline`` (chain time), or None once it passed."""
    left = deadline - now
    return None if left < 0 else {"hours": left // 3600, "minutes": left % 3600 // 60}


def mine(c: CasePublic, me: int) -> tuple[bool, bool]:
    """Whether department ``me`` is named in ``c``'s dispatch: (acknowledged, answered)."""
    a = next(a for a in c.team if a.member_id == me)
    return a.acknowledged, a.answered


def cases_view(state: ServiceState, who: SignedIn, lang: str) -> dict[str, Any]:
    """What the member has to do: check in and answer (a department), evaluate (the raiser)."""
    service = CaseService(state, who.caller.account)
    me = caller_member(state, who.caller).id
    now = cases_state(service.index, lambda _model, t: t)
    view: dict[str, Any] = {"now": now, "time_left": time_left, "to_ack": [], "to_answer": [], "to_evaluate": [],
                            "raised": []}
    if who.role == Role.DEPARTMENT:
        named = [c for c in service.list(None, None, me, None, None, None, None, SHOWN).data
                 if c.state in WITH_DEPARTMENTS]
        view["to_ack"] = [c for c in named if not mine(c, me)[0]]
        view["to_answer"] = [c for c in named if mine(c, me) == (True, False)]
    else:
        raised = service.list(None, None, None, me, None, None, None, SHOWN).data
        view["to_evaluate"] = [c for c in raised if c.state == "awaiting_evaluation"]
        view["raised"] = [c for c in raised if c.state != "awaiting_evaluation"]
        view.update(reports_view(state, service, lang, raised[0].area_code if raised else None))
    return view


def reports_view(state: ServiceState, service: CaseService, lang: str, area: int | None) -> dict[str, Any]:
    """The residents' reports waiting for a case, the form raising one from them (its category the
    newest report's, its area the sub-district's last case's), and the reports grouped lately."""
    waiting = report_queue(state, "waiting", REPORTS, lang).data
    members = Members.cached(service.index)
    levels = service.service_levels().data
    return {
        "waiting": waiting, "grouped": report_queue(state, "grouped", GROUPED, lang).data,
        "categories": [(lv.category, name_of(lv.category, lang)) for lv in levels],
        "departments": sorted((m.id, m.name) for m in members.by_id.values() if m.kind == "department"),
        "pick_category": waiting[0].category if waiting else None, "pick_area": area,
        "pick_text": waiting[0].description if waiting else "",
    }


@router.get(CASES.path)
def cases_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, CASES)
    view = cases_view(state, who, lang_of(request))
    return render(request, state, who, "console/cases.html", back=CASES.href, **view)


@router.post(CASES.path + "/raise")
def raise_case(request: Request, state: StateDep, who: Acting,
               category: Annotated[int, Form(ge=0, le=65535)], lead_id: Annotated[int, Form(ge=1)],
               area_code: Annotated[int, Form(ge=1, le=2**64 - 1)],
               description: Annotated[str, Form(min_length=1, max_length=4000)],
               public: Annotated[bool, Form()] = False,
               report_id: Annotated[list[int], Form(max_length=100)] = [],  # noqa: B006 (FastAPI copies it)
               idem: IdemField = None, back: BackField = None) -> Response:
    """吹哨: the sub-district raises a case grouping the reports ticked (the API's raise by ``report_ids``)."""
    require(who, CASES)
    body = CaseCreate(category=category, area_code=area_code, description=description, description_public=public,
                      lead_id=lead_id, assisting_ids=[], report_hashes=[], report_ids=report_id, channel_id=0)

    def write(w: WriteRequest) -> Answer:
        return CaseWrites(state, who.caller, w).raise_case(body)

    return act(request, state, who, write, idem, back or CASES.href)


@router.post(CASES.path + "/{case_id}/acknowledge")
def acknowledge(request: Request, state: StateDep, who: Acting, case_id: Id,
                idem: IdemField = None, back: BackField = None) -> Response:
    """报到: the signed-in department checks in on the case."""
    require(who, CASES)
    return act(request, state, who, lambda w: CaseWrites(state, who.caller, w).acknowledge(case_id), idem,
               back or CASES.href)


@router.post(CASES.path + "/{case_id}/answer")
def answer(request: Request, state: StateDep, who: Acting, case_id: Id,
           evidence: Annotated[str, Form(min_length=1, max_length=4000)],
           idem: IdemField = None, back: BackField = None) -> Response:
    """Answer the case with what was done (kept off chain; its salted commitment on chain)."""
    require(who, CASES)
    body = AnswerCreate(evidence=evidence, evidence_hash=None)

    def write(w: WriteRequest) -> Answer:
        return CaseWrites(state, who.caller, w).answer_case(case_id, body)

    return act(request, state, who, write, idem, back or CASES.href)


@router.post(CASES.path + "/{case_id}/evaluate")
def evaluate(request: Request, state: StateDep, who: Acting, case_id: Id,
             outcome: Annotated[Outcome, Form()],
             idem: IdemField = None, back: BackField = None) -> Response:
    """The raising sub-district evaluates the answer: fixed, rejected or not fixed."""
    require(who, CASES)
    body = EvaluationCreate(outcome=outcome)

    def write(w: WriteRequest) -> Answer:
        return CaseWrites(state, who.caller, w).evaluate(case_id, body)

    return act(request, state, who, write, idem, back or CASES.href)
