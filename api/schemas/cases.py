"""Cases (街乡吹哨,部门报到): raising, the departments' answers, evaluation, the metrics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from api.schemas.common import FROM_RECORD, Bytes32, Hash, Page, PositiveUint64, TxInfo, Uint64, exactly_one, name_of

CaseStateName = Literal[
    "dispatched", "acknowledged", "awaiting_evaluation", "sent_back", "escalated", "reopened", "closed_fixed",
    "closed_not_fixed",
]
EvaluationName = Literal["fixed", "rejected", "not_fixed"]
SatisfactionName = Literal["satisfied", "basically_satisfied", "dissatisfied"]
MetricsBy = Literal["department", "category", "month"]

Category = Annotated[int, Field(ge=0, le=65535, description="A category with a service level (the council's).")]
ReasonCode = Annotated[int, Field(ge=0, le=65535, description="From the city's reason code list.")]
Departments = Annotated[list[PositiveUint64], Field(max_length=7, description="Assisting departments (at most 7).")]


def _satisfaction(v: object) -> object:
    """The view's satisfaction (0: none since the last closing; else 1 + level) as a name or None."""
    if isinstance(v, int):
        return None if v == 0 else ("satisfied", "basically_satisfied", "dissatisfied")[v - 1]
    return v


# ------------------------------------------------------------------ writes


class CaseCreate(BaseModel):
    category: Category
    area_code: Annotated[
        int, Field(ge=1, le=2**64 - 1, description="A coarse area code (a community's statistical code), never "
                   "an address.")
    ]
    description: Annotated[
        str, Field(min_length=1, max_length=4000, description="Stored off chain once the chain took the case.")
    ]
    description_public: bool = Field(
        False, description="Show the description to everyone (the portal): its plain keccak256 goes on chain. "
        "Otherwise only the raiser, the named departments, the district and auditors read it (a salted commitment).",
    )
    lead_id: PositiveUint64
    assisting_ids: Departments = []
    report_hashes: list[Bytes32] = Field(
        [], max_length=100, description="Hashes of the residents' reports this case groups (Open311).")
    report_ids: list[PositiveUint64] = Field(
        [], max_length=100, description="Residents' reports this case groups, by service_request_id (GET "
        "/api/v1/cases/reports): each resolved to its commitment; an unknown id is a 422, a report an open case "
        "already groups a 409.")
    channel_id: Uint64 = Field(0, description="The Channel member that took the reports (0: any Channel member).")


class AnswerCreate(BaseModel):
    """The evidence of the work: a text (stored off chain, a salted commitment on chain) or a file's hash."""

    evidence: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    evidence_hash: Bytes32 | None = Field(None, description="keccak256 of an evidence file (a photo, a report).")
    _one = exactly_one("evidence", "evidence_hash")


class SendBackCreate(BaseModel):
    reason_code: ReasonCode
    responsible_id: Uint64 = Field(description="The member believed responsible; 0: none known (escalates at once).")


class RedispatchCreate(BaseModel):
    category: Category
    lead_id: PositiveUint64
    assisting_ids: Departments = []


class EvaluationCreate(BaseModel):
    outcome: EvaluationName
    reason_code: ReasonCode = 0


class SatisfactionCreate(BaseModel):
    level: SatisfactionName = Field(description="满意 satisfied, 基本满意 basically satisfied, 不满意 dissatisfied.")


# ------------------------------------------------------------------ a case


class AssignmentPublic(BaseModel):
    model_config = FROM_RECORD

    member_id: int
    member_name: str | None
    lead: bool
    acknowledged: bool
    late: bool = Field(description="Acknowledged after the acknowledge deadline.")
    answered: bool = Field(description="Since the current dispatch or the last reopening.")


class CasePublic(BaseModel):
    model_config = FROM_RECORD

    id: int
    state: Annotated[CaseStateName, BeforeValidator(name_of)]
    overdue: bool = Field(description="Derived from the deadlines and the chain time, as the contract's isOverdue.")
    category: int
    area_code: int
    raiser_id: int
    raiser_name: str | None
    lead_id: int
    lead_name: str | None
    team: list[AssignmentPublic] = Field(description="The current dispatch's departments, the lead first.")
    channel_id: int
    description_hash: Hash
    description: str | None = Field(description="The text, when public or when the caller may read it.")
    description_public: bool
    ack_deadline: int
    resolve_deadline: int
    resolve_seconds: int
    closed_at: int
    round: int = Field(description="Dispatches so far (1 after raising).")
    send_backs: int
    satisfaction: Annotated[SatisfactionName | None, BeforeValidator(_satisfaction)] = Field(
        description="Recorded since the last closing.")
    dissatisfaction_reopened: bool


class TimelineEntry(BaseModel):
    event: str
    member_id: int | None = Field(description="The acting member (the raiser for CaseRaised).")
    block_number: int
    block_time: int
    tx_hash: str
    log_index: int
    args: dict[str, Any]


class CaseDetail(CasePublic):
    raised_at: int
    report_hashes: list[Hash]
    timeline: list[TimelineEntry]


class CaseList(Page[CasePublic]):
    """A page of cases."""


class CaseWrite(BaseModel):
    tx: TxInfo
    case: CasePublic


# ------------------------------------------------------------------ residents' reports waiting for a case


class CaseReportPublic(BaseModel):
    """A resident's report (Open311) as the sub-district triages it: never its contact."""

    service_request_id: str
    status: Literal["waiting", "grouped"] = Field(description="grouped: a case's CaseRaised lists its commitment.")
    category: int = Field(description="Its service_code: a case category.")
    category_name: str
    description: str | None
    area: str | None = Field(description="Where, as the resident said it (Open311's address_string).")
    lat: float | None
    long: float | None
    media_url: str | None
    requested_at: int = Field(description="Unix seconds.")
    requested_datetime: str = Field(description="ISO 8601 with the service's offset (COGOV_OPEN311_TIMEZONE).")
    commitment: Hash = Field(description="What a case lists on chain (reportHashes): a salted commitment.")
    case_id: int | None = Field(description="The latest case grouping it.")
    case_open: bool | None = Field(description="Whether that case is open (not closed).")


class CaseReportList(Page[CaseReportPublic]):
    """A page of residents' reports."""


# ------------------------------------------------------------------ service levels and metrics


class ServiceLevelPublic(BaseModel):
    model_config = FROM_RECORD

    category: int
    ack_seconds: int
    resolve_seconds: int


class ServiceLevelList(BaseModel):
    satisfaction_window: int = Field(description="Seconds after a closing during which satisfaction is recorded.")
    data: list[ServiceLevelPublic]


class TallyPublic(BaseModel):
    """One group's counts and rates (the rule: ``ledger/cases/metrics.py``, ``docs/cases.md``)."""

    key: str = Field(description="The department's member id, the category, or the month (YYYY-MM, UTC+08:00).")
    name: str | None = Field(None, description="The department's name.")
    responses: dict[str, int] = Field(description="Assignments: dispatched, on_time, late.")
    closings: dict[str, int] = Field(description="Cases closed now: closed, fixed, on_time; and open_overdue.")
    satisfactions: dict[str, int] = Field(
        description="Records: records, satisfied, basically_satisfied, dissatisfied.")
    rates: dict[str, float | None] = Field(
        description="response, resolution, satisfaction, on_time (null: nothing to divide by).")


class MetricsPublic(BaseModel):
    by: MetricsBy
    at: int = Field(description="The chain time the figures are computed at (the last indexed block's).")
    block_number: int | None
    rule: str = Field(description="Where the published rule is: what is counted, and each formula.")
    formulas: dict[str, str]
    total: TallyPublic
    data: list[TallyPublic]
