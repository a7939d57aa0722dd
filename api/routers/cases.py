"""/api/v1/cases: 街乡吹哨,部门报到 — a sub-district raises a case, named departments acknowledge
(报到), answer or send it back (退单), the raiser evaluates, the district takes escalations.

Thin: each route parses, calls the service and presents. Reads are
:class:`api.services.cases.CaseService`'s (the event index and the cases reducer alone); writes
are :class:`api.services.case_writes.CaseWrites`'s, signed with the caller's own account, each
through its session (``Idempotency-Key``, ``Prefer: respond-async``). Every rule, who may act
included, is the contract's: its pre-flight refuses before anything is signed (403 without the
role, 404 for an unknown case, 409 in a state that does not allow it; the custom error named).
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.answers import kept
from api.deps import Caller, CurrentCaller, CurrentKey, StateDep, WriteDep, json_answer, require_role
from api.open311.queue import QueueStatus
from api.params import Id, PageDep, Since, Until, id_query
from api.schemas.cases import (
    AnswerCreate,
    CaseCreate,
    CaseDetail,
    CaseList,
    CaseReportList,
    CaseStateName,
    CaseWrite,
    EvaluationCreate,
    MetricsBy,
    MetricsPublic,
    RedispatchCreate,
    SatisfactionCreate,
    SendBackCreate,
    ServiceLevelList,
)
from api.services.case_reports import queue_mark, report_queue
from api.services.case_writes import CaseWrites
from api.services.cases import CaseService
from ledger.cases import CaseState
from ledger.membership import Role

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.get("", response_model=CaseList, summary="Cases, newest first (from the event index)")
@kept()
def list_cases(
    state: StateDep,
    key: CurrentKey,
    page: PageDep,
    state_filter: Annotated[CaseStateName | None, Query(alias="state")] = None,
    category: Annotated[int | None, id_query("A category (its service level's number).", ge=0)] = None,
    department: Annotated[int | None, id_query("Named in the current dispatch (lead or assisting).")] = None,
    raiser: Annotated[int | None, id_query("The raising sub-district.")] = None,
    overdue: Annotated[bool | None, Query(description="Overdue now (the last indexed block's time).")] = None,
    since: Since = None,
    until: Until = None,
) -> CaseList:
    want = None if state_filter is None else CaseState[state_filter.upper()]
    return CaseService(state, key.account).list(want, category, department, raiser, overdue, since, until, page)


def case_writes(state: StateDep, caller: CurrentCaller, write: WriteDep) -> CaseWrites:
    """The caller's writes, each run as its request asks (``Idempotency-Key``, ``Prefer``)."""
    return CaseWrites(state, caller, write)


Writes = Annotated[CaseWrites, Depends(case_writes)]


@router.post("", response_model=CaseWrite, status_code=status.HTTP_201_CREATED,
             summary="Raise a case (吹哨; SubDistrict), dispatched at once to its departments")
def raise_case(body: CaseCreate, writes: Writes) -> JSONResponse:
    return json_answer(writes.raise_case(body))


@router.get("/reports", response_model=CaseReportList,
            summary="Residents' reports (Open311) waiting for a case or grouped by one (SubDistrict, Channel)")
@kept(also=queue_mark)
def case_reports(
    state: StateDep,
    _caller: Annotated[Caller, Depends(require_role(Role.SUB_DISTRICT, Role.CHANNEL))],
    page: PageDep,
    status_filter: Annotated[QueueStatus, Query(alias="status")] = "waiting",
    lang: Annotated[Literal["zh-CN", "en"], Query(description="The category names' language.")] = "zh-CN",
) -> CaseReportList:
    """Each with its commitment (what ``report_hashes`` lists) and, once grouped, the case; never
    the contact. Kept per index version (a case grouping a report) and per mark of the reports
    (a new report, by any process: :func:`~api.services.case_reports.queue_mark`)."""
    return report_queue(state, status_filter, page, lang)


@router.get("/metrics", response_model=MetricsPublic,
            summary="Response, resolution, satisfaction and on-time rates, with their counts and formulas")
def metrics(state: StateDep, key: CurrentKey, by: MetricsBy = "department") -> MetricsPublic:
    return CaseService(state, key.account).metrics(by)


@router.get("/service-levels", response_model=ServiceLevelList,
            summary="Each category's deadlines to acknowledge and to resolve (set by the council)")
def service_levels(state: StateDep, key: CurrentKey) -> ServiceLevelList:
    return CaseService(state, key.account).service_levels()


@router.get("/{case_id}", response_model=CaseDetail, summary="One case, with its timeline")
def get_case(case_id: Id, state: StateDep, key: CurrentKey) -> CaseDetail:
    return CaseService(state, key.account).get(case_id)


# ------------------------------------------------------------------ the transitions of one case

#: ``POST /{case_id}/<path>``: the :class:`CaseWrites` method and its body (None: none), who may.
TRANSITIONS: tuple[tuple[str, str, type[BaseModel] | None, str], ...] = (
    ("acknowledge", "acknowledge", None,
     "Acknowledge (报到) as a department named in the current dispatch; late is recorded"),
    ("answer", "answer_case", AnswerCreate,
     "Answer with the evidence of the work (a named department that acknowledged)"),
    ("send-back", "send_back", SendBackCreate,
     "Send back (退单) naming the member believed responsible (a named department)"),
    ("redispatch", "redispatch", RedispatchCreate,
     "Dispatch again: the raiser a sent-back case, the district an escalated one"),
    ("evaluate", "evaluate", EvaluationCreate,
     "Evaluate the lead's answer (the raiser): fixed, rejected (reopened) or not fixed"),
    ("escalate", "escalate", None,
     "Escalate to the district (兜底): the raiser any open case, anyone an overdue one"),
    ("satisfaction", "record_satisfaction", SatisfactionCreate,
     "Record the residents' satisfaction with a closed case (Channel, within the window)"),
)


def transition(method: str, body: type[BaseModel] | None) -> Callable[..., JSONResponse]:
    """The endpoint of one transition: ``CaseWrites.<method>(case_id[, body])``, its signature
    (the path's ``case_id``, the writes, the body's schema) declared for FastAPI and OpenAPI."""

    def endpoint(case_id: int, writes: CaseWrites, body: BaseModel | None = None) -> JSONResponse:
        act = getattr(writes, method)
        return json_answer(act(case_id) if body is None else act(case_id, body))

    params = [Parameter("case_id", Parameter.KEYWORD_ONLY, annotation=Id),
              Parameter("writes", Parameter.KEYWORD_ONLY, annotation=Writes)]
    if body is not None:
        params.append(Parameter("body", Parameter.KEYWORD_ONLY, annotation=body))
    endpoint.__signature__ = Signature(params, return_annotation=JSONResponse)  # type: ignore[attr-defined]
    return endpoint


for _path, _method, _body, _summary in TRANSITIONS:
    router.add_api_route(f"/{{case_id}}/{_path}", transition(_method, _body), methods=["POST"], name=_method,
                         response_model=CaseWrite, summary=_summary)
