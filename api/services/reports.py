"""Residents' reports through Open311 GeoReport v2 (:mod:`api.routers.open311`): the services,
taking a report, and what anyone may read of one.

* **Services** are the case categories that have a service level on chain now: one batch of
  ``CaseDesk.serviceLevel`` views (the chain kernel) over the categories the name table knows
  (:mod:`api.open311.categories`) and those the index saw the council set.
* **A report** is stored off chain (:mod:`api.open311.store`) with its salted commitment; its
  category must have a service level on chain. Who sent it (the client: its ``api_key``, else its
  address) is rate-limited by the router (a token bucket in the process).
* **Its status** is the chain's: the case whose ``CaseRaised`` lists the report's commitment,
  found through the event index by the cases reducer (:class:`ledger.cases.CaseModel`, kept current
  by :func:`api.services.cases.cases_state`; its ``by_report`` maps a report to the latest case
  grouping it). What Open311 shows of that case (:func:`tracks`): closed once the raiser evaluated
  it fixed or not fixed (until a reopening or a new dispatch), its lead department and resolve
  deadline, the time of its last
  event. No list makes a chain call per row. The contact is never read here for an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from api.open311.categories import NAMES, describe, duration, name_of
from api.open311.formats import parse_w3c, w3c
from api.open311.store import Contact, NewReport, Report, ReportQuery
from api.schemas.open311 import (
    Discovery,
    DiscoveryEndpoint,
    ReportCreate,
    RequestCreated,
    RequestPublic,
    ServiceDefinition,
    ServicePublic,
)
from api.services.cases import cases_state
from api.services.index import cache_of, index_for
from api.services.names import Members
from api.state import ServiceState
from ledger.cases import NAME as CASES
from ledger.cases import CaseModel, CaseRecord, CaseState, ReopenCause
from ledger.errors import IndexUnavailable, NotFound, Unauthenticated, ValidationFailed

#: GeoReport v2: a query spans at most 90 days and answers at most 1000 requests.
SPAN = 90 * 86400
MAX_REQUESTS = 1000
MAX_IDS = 200  # service_request_id values in one query
SCAN = 10_000  # most reports a status-filtered list looks at

Status = Literal["open", "closed"]

# ----------------------------------------------------------------------------- cases, from the index


@dataclass(frozen=True)
class CaseTrack:
    """What Open311 shows of one case, as its indexed events left it."""

    case_id: int
    updated_at: int  # block time of its last event
    lead_id: int = 0
    resolve_deadline: int = 0
    closed: bool = False
    note: str = "dispatched"  # a key of NOTES


_NOTES = {
    CaseState.ACKNOWLEDGED: "acknowledged", CaseState.AWAITING_EVALUATION: "answered",
    CaseState.SENT_BACK: "sent_back", CaseState.ESCALATED: "escalated",
    CaseState.CLOSED_FIXED: "closed_fixed", CaseState.CLOSED_NOT_FIXED: "closed_not_fixed",
}


def _track(c: CaseRecord) -> CaseTrack:
    """What Open311 shows of the case ``c`` of the cases reducer."""
    if c.state == CaseState.DISPATCHED:
        note = "dispatched" if c.dispatch.round == 1 else "redispatched"
    elif c.state == CaseState.REOPENED:
        cause = next(int(e.args["cause"]) for e in reversed(c.events) if e.name == "CaseReopened")
        note = "reopened_dissatisfied" if cause == ReopenCause.DISSATISFIED else "reopened"
    else:
        note = _NOTES[c.state]
    return CaseTrack(c.id, c.events[-1].block_time, c.lead_id, c.resolve_deadline, c.closed, note)


def tracks(model: CaseModel, commitments: Iterable[str]) -> dict[str, CaseTrack]:
    """The latest case grouping each report commitment (0x-hex) that a case groups."""
    found = {h: model.by_report.get(bytes.fromhex(h[2:])) for h in commitments}
    return {h: _track(model.cases[c]) for h, c in found.items() if c is not None}


#: status_notes, per language, by CaseTrack.note ({lead}: the lead department, {case}: the case id).
NOTES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "received": "已受理，等待街道研判立案。",
        "dispatched": "已立案（案件 {case}），派单至{lead}。",
        "redispatched": "案件 {case} 已重新派单至{lead}。",
        "acknowledged": "{lead}已报到，正在处置。",
        "answered": "{lead}已答复，等待街道评价。",
        "sent_back": "案件 {case} 被退单，等待重新派单。",
        "escalated": "案件 {case} 已上报区级兜底。",
        "closed_fixed": "已办结：问题已解决。",
        "closed_not_fixed": "已办结：问题未解决。",
        "reopened": "街道未通过答复，案件 {case} 已重新打开，由{lead}继续处置。",
        "reopened_dissatisfied": "居民不满意，案件 {case} 已重新打开，由{lead}继续处置。",
    },
    "en": {
        "received": "Received; the sub-district will triage it.",
        "dispatched": "Case {case} raised and dispatched to {lead}.",
        "redispatched": "Case {case} dispatched again, to {lead}.",
        "acknowledged": "{lead} acknowledged the case and is working on it.",
        "answered": "{lead} answered; awaiting the sub-district's evaluation.",
        "sent_back": "Case {case} was sent back; awaiting a new dispatch.",
        "escalated": "Case {case} was escalated to the district.",
        "closed_fixed": "Closed: fixed.",
        "closed_not_fixed": "Closed: not fixed.",
        "reopened": "The answer was rejected; case {case} is open again with {lead}.",
        "reopened_dissatisfied": "Residents were dissatisfied; case {case} is open again with {lead}.",
    },
}

# ----------------------------------------------------------------------------- services


def service_levels(state: ServiceState) -> dict[int, tuple[int, int]]:
    """Category → (seconds to acknowledge, seconds to resolve), for every category with a service
    level now: the cases reducer's (kept current with the index). With no index, the chain's views
    of the categories the name table knows (one batch)."""
    try:
        return cases_state(index_for(state), lambda model, _now: {
            c: (lv.ack_seconds, lv.resolve_seconds) for c, lv in sorted(model.levels.items())})
    except IndexUnavailable:
        codes = sorted(NAMES)
        levels = state.ledger.views([(CASES, "serviceLevel", (c,)) for c in codes])
        return {c: (int(ack), int(res)) for c, (ack, res) in zip(codes, levels, strict=True) if int(ack) > 0}


def services(state: ServiceState, lang: str) -> list[ServicePublic]:
    return [_service(code, level, lang) for code, level in sorted(service_levels(state).items())]


def definition(state: ServiceState, code: str) -> ServiceDefinition:
    category = _code(code)
    if category is None or category not in service_levels(state):
        raise NotFound("service_code", code)
    return ServiceDefinition(service_code=str(category))


def discovery(state: ServiceState, endpoint_url: str) -> Discovery:
    """The discovery file: this one endpoint; its changeset the time the services last changed on
    chain (the latest ``ServiceLevelSet`` indexed), which tells clients to refresh their cached list."""
    idx = index_for(state)
    latest = idx.events(CASES, "ServiceLevelSet", limit=1, order="desc") if CASES in idx.contracts else []
    changeset = w3c(latest[0].block_time, ZoneInfo(state.settings.open311_timezone)) if latest else ""
    s = state.settings
    key_service = (
        "Reports need an api_key of this service: ask its operator for one (cogov keys create)."
        if s.open311_require_api_key
        else "No key is needed to read or to report; an api_key of this service (from its operator) identifies "
             "a client app and gives it its own rate limit."
    )
    endpoint = DiscoveryEndpoint(
        specification="http://wiki.open311.org/GeoReport_v2",
        url=endpoint_url,
        changeset=changeset,
        type="production" if s.env == "production" else "test",
        formats=["application/json", "text/xml"],
    )
    return Discovery(changeset=changeset, contact=s.open311_contact, key_service=key_service, endpoints=[endpoint])


def _service(code: int, level: tuple[int, int], lang: str) -> ServicePublic:
    c = NAMES.get(code)
    return ServicePublic(
        service_code=str(code),
        service_name=name_of(code, lang),
        description=describe(code, lang, *level),
        metadata=False,
        keywords=", ".join(c.keywords) if c is not None else "",
        group=c.group if c is not None else "other",
    )


def _code(code: str) -> int | None:
    return int(code) if code.isascii() and code.isdigit() and len(code) <= 5 and 0 < int(code) <= 65535 else None


# ----------------------------------------------------------------------------- taking a report


def check_jurisdiction(state: ServiceState, jurisdiction_id: str | None) -> None:
    """GeoReport v2: a jurisdiction this endpoint does not serve is a 404 (when it names its own)."""
    own = state.settings.open311_jurisdiction_id
    if own is not None and jurisdiction_id and jurisdiction_id != own:
        raise NotFound("jurisdiction_id", jurisdiction_id)


def client_of(state: ServiceState, api_key: str | None, address: str) -> str:
    """Who sent a report, for its rate limit and its record: its API key (verified: an unknown or
    revoked key is refused), else its address when the service takes anonymous reports."""
    if api_key:
        return "key:" + state.apikeys.verify(api_key).key_id
    if state.settings.open311_require_api_key:
        raise Unauthenticated("this service takes reports only with an api_key")
    return "ip:" + address


def create(state: ServiceState, form: ReportCreate, client: str, lang: str) -> RequestCreated:
    """Store a report in a category with a service level on chain, and say what follows."""
    check_jurisdiction(state, form.jurisdiction_id)
    ack, resolve = (int(v) for v in state.ledger.call(CASES, "serviceLevel", form.service_code))
    if ack == 0:
        raise ValidationFailed("service_code", f"{form.service_code} is not a service here (GET services lists them)")
    contact = Contact(form.email, form.first_name, form.last_name, form.phone, form.device_id, form.account_id)
    new = NewReport(form.service_code, form.description, form.lat, form.long, form.address_string, form.media_url,
                    contact, client)
    report = state.reports.add(new)
    return RequestCreated(service_request_id=str(report.id), service_notice=_notice(ack, resolve, lang))


def _notice(ack: int, resolve: int, lang: str) -> str:
    if lang == "en":
        return (f"Received. The sub-district triages reports and raises a case for the departments concerned; "
                f"the lead department must acknowledge it within {duration(ack, lang)} and resolve it within "
                f"{duration(resolve, lang)}. Follow its status here.")
    return (f"已受理。街道研判后立案派单，牵头部门须在{duration(ack, lang)}内报到、"
            f"{duration(resolve, lang)}内办结。可在此查询办理进度。")


# ----------------------------------------------------------------------------- reading reports


@dataclass(frozen=True)
class RequestFilter:
    """GET Service Requests' arguments, as given (strings; validated by :func:`query_of`)."""

    service_request_id: str | None = None
    service_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    status: str | None = None
    page: int = 1
    page_size: int = MAX_REQUESTS


def query_of(f: RequestFilter, tz: ZoneInfo, now: int) -> tuple[ReportQuery, set[Status] | None]:
    """The store's query and the statuses asked for; :class:`ValidationFailed` for a malformed argument."""
    statuses: set[Status] | None = None
    if f.status:
        wanted = {s.strip() for s in f.status.split(",") if s.strip()}
        if not wanted or not wanted <= {"open", "closed"}:
            raise ValidationFailed("status", "open, closed, or both comma-separated")
        statuses = {s for s in ("open", "closed") if s in wanted}
    if f.service_request_id:
        ids = _numbers("service_request_id", f.service_request_id, 2**63 - 1)
        if len(ids) > MAX_IDS:
            raise ValidationFailed("service_request_id", f"at most {MAX_IDS} ids")
        return ReportQuery(ids=ids), None  # "This overrides all other arguments."
    codes = _numbers("service_code", f.service_code, 65535) if f.service_code else None
    start = parse_w3c("start_date", f.start_date, tz) if f.start_date else None
    end = parse_w3c("end_date", f.end_date, tz) if f.end_date else None
    if start is not None and end is not None:
        if end < start:
            raise ValidationFailed("end_date", "is before start_date")
        if end - start > SPAN:
            raise ValidationFailed("end_date", "the range may not span more than 90 days")
    elif start is not None:
        end = start + SPAN
    else:
        end = end if end is not None else now
        start = end - SPAN
    return ReportQuery(codes=codes, since=start, until=end), statuses


def _numbers(field: str, value: str, top: int) -> list[int]:
    parts = [p.strip() for p in value.split(",")]
    if not all(p.isascii() and p.isdigit() and len(p) <= 19 and int(p) <= top for p in parts):
        raise ValidationFailed(field, "comma-separated numbers")
    return [int(p) for p in parts]


def list_requests(state: ServiceState, f: RequestFilter, lang: str, now: int) -> list[RequestPublic]:
    tz = ZoneInfo(state.settings.open311_timezone)
    query, statuses = query_of(f, tz, now)
    first = (f.page - 1) * f.page_size
    if statuses is None:
        rows = state.reports.find(query, f.page_size, first)
        return _present(state, rows, lang, tz)
    answers = [r for r in _present(state, state.reports.find(query, SCAN), lang, tz) if r.status in statuses]
    return answers[first : first + f.page_size]


def one_request(state: ServiceState, service_request_id: str, lang: str) -> RequestPublic:
    report_id = int(service_request_id) if service_request_id.isascii() and service_request_id.isdigit() else 0
    report = state.reports.get(report_id) if 0 < report_id < 2**63 else None
    if report is None:
        raise NotFound("service request", service_request_id)
    return _present(state, [report], lang, ZoneInfo(state.settings.open311_timezone))[0]


def _present(state: ServiceState, rows: Sequence[Report], lang: str, tz: ZoneInfo) -> list[RequestPublic]:
    """The public view of each report: its case's status read from the index (one fold, no chain call)."""
    if not rows:
        return []
    idx = index_for(state)
    found = cases_state(idx, lambda model, _now: tracks(model, [r.commitment for r in rows]))
    members: Members = cache_of(idx).get(idx.version(), ("members",), lambda: Members.load(idx))
    notes = NOTES["en" if lang == "en" else "zh-CN"]
    out = []
    for r in rows:
        t = found.get(r.commitment)
        lead = (members.name(t.lead_id) or f"#{t.lead_id}") if t is not None and t.lead_id else None
        note = notes[t.note].format(case=t.case_id, lead=lead or "") if t is not None else notes["received"]
        out.append(RequestPublic(
            service_request_id=str(r.id),
            status="closed" if t is not None and t.closed else "open",
            status_notes=note,
            service_name=name_of(r.service_code, lang),
            service_code=str(r.service_code),
            description=r.description,
            agency_responsible=lead,
            service_notice=None,
            requested_datetime=w3c(r.requested_at, tz),
            updated_datetime=w3c(max(r.requested_at, t.updated_at if t is not None else 0), tz),
            expected_datetime=w3c(t.resolve_deadline, tz) if t is not None and t.resolve_deadline else None,
            address=r.address,
            lat=r.lat,
            long=r.lon,
            media_url=r.media_url,
        ))
    return out


__all__ = [
    "NOTES",
    "CaseTrack",
    "RequestFilter",
    "check_jurisdiction",
    "client_of",
    "create",
    "definition",
    "discovery",
    "list_requests",
    "one_request",
    "service_levels",
    "services",
]
