"""``cogov cases``: 街乡吹哨,部门报到 — raise a case, acknowledge (报到), answer, send back (退单),
re-dispatch, evaluate, escalate, record the residents' satisfaction; list, show, metrics.

Writes are signed with ``--key`` and sent to the chain (the contract refuses what its rules do
not allow, with its custom error: exit code 4). Descriptions and evidence texts are kept in the
service database (``COGOV_SERVICE_DB_URL``, as the API keeps them) once the chain took the
write; only their hash goes on chain (``--public``: the description's plain keccak256, shown to
everyone; otherwise a salted commitment). Reads fold the contract's events from the chain with
the reducer the API uses (``ledger.cases``), at the head block's time; metrics follow the rule
published in ``docs/cases.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cogov import output as out
from cogov.context import env, member_id_of, open_docs, text_or_file
from cogov.options import JsonOpt, KeyOpt, PasswordFileOpt

if TYPE_CHECKING:
    from api.open311.store import ReportStore
    from ledger.cases import Case, CaseModel
    from ledger.client import ContractCall, TxReceipt

cases_app = typer.Typer(help="Cases (街乡吹哨,部门报到): raise, acknowledge, answer, send back, evaluate, metrics.",
                        no_args_is_help=True)

CaseArg = Annotated[int, typer.Argument(help="Case id.", min=1)]
MemberOpt = Annotated[str, typer.Option(help="Member id, address or keystore label.")]
AssistOpt = Annotated[list[str] | None, typer.Option("--assist", help="An assisting department (repeat; at most 7).")]
EvidenceFileOpt = Annotated[
    Path | None, typer.Option("--evidence-file", help="Or an evidence file (its keccak256 goes on chain).")
]
CategoryOpt = Annotated[int, typer.Option("--category", min=0, max=65535, help="A category with a service level.")]


def _send(key: str, password_file: Path | None, call: ContractCall) -> TxReceipt:
    return env().ledger().transact(env().signer(key, password_file), call)


def _done(case_id: int, r: TxReceipt) -> None:
    c = env().case_desk().case(case_id)
    out.ok(f"case {case_id}: {c.state.name.lower()}{' (overdue)' if c.overdue else ''}; {out.tx_line(r)}")


def _members(values: Iterable[str] | None) -> list[int]:
    return [member_id_of(v) for v in values or ()]


# ---------------------------------------------------------------- writes


@cases_app.command("raise")
def raise_case(
    key: KeyOpt,
    category: CategoryOpt,
    area: Annotated[int, typer.Option("--area", min=1, help="A coarse area code (a community's), never an address.")],
    description: Annotated[str, typer.Option("--description", help="Stored off chain; its hash goes on chain.")],
    lead: MemberOpt,
    assist: AssistOpt = None,
    public: Annotated[bool, typer.Option("--public", help="Show the description to everyone (the portal).")] = False,
    report_hash: Annotated[
        list[str] | None, typer.Option("--report-hash", help="A resident's report's hash (0x…; repeat).")
    ] = None,
    report: Annotated[list[int] | None, typer.Option(
        "--report", min=1, help="A resident's report by its id (cogov cases reports; repeat).")] = None,
    channel: Annotated[str, typer.Option("--channel", help="The Channel member that took the reports (0: any).")] = "0",
    password_file: PasswordFileOpt = None,
) -> None:
    """Raise a case (吹哨; a sub-district) and dispatch it to its lead and assisting departments.
    Reports named by id are resolved to their commitments (as the API's ``report_ids``); one an open
    case already groups is refused."""
    from api.open311.queue import refuse_grouped, reports_named
    from ledger.fund.docs import parse_hash

    named = reports_named(_reports(), report_hash or (), report or ())
    if named:
        refuse_grouped(_fold()[0], named)
    desk, docs = env().case_desk(), open_docs()
    text = docs.draft("case_public" if public else "case", description)
    call = desk.raise_call(category, area, text.hash, member_id_of(lead), _members(assist),
                           report_hashes=[parse_hash(h) for h in named], channel_id=member_id_of(channel))
    r = docs.transact(desk.ledger, env().signer(key, password_file), call, [text])
    docs.accept(r)
    _done(int(r.event("CaseRaised").args["caseId"]), r)


@cases_app.command("ack")
def acknowledge(case: CaseArg, key: KeyOpt, password_file: PasswordFileOpt = None) -> None:
    """Acknowledge (报到) as a department named in the case's current dispatch (late is recorded)."""
    _done(case, _send(key, password_file, env().case_desk().acknowledge_call(case)))


@cases_app.command("answer")
def answer(
    case: CaseArg,
    evidence: Annotated[str | None, typer.Argument(help="What was done (stored off chain).")] = None,
    *,
    key: KeyOpt,
    evidence_file: EvidenceFileOpt = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Answer with the evidence of the work, as text or as a file (a named department that acknowledged)."""
    docs, text, h = text_or_file("evidence", "evidence", evidence, evidence_file)
    desk = env().case_desk()
    r = docs.transact(desk.ledger, env().signer(key, password_file), desk.answer_call(case, h), [text])
    docs.accept(r)
    _done(case, r)


@cases_app.command("send-back")
def send_back(
    case: CaseArg,
    key: KeyOpt,
    reason: Annotated[int, typer.Option("--reason", min=0, max=65535, help="The reason code.")],
    responsible: Annotated[
        str, typer.Option("--responsible", help="The member believed responsible (0: none known; escalates).")
    ] = "0",
    password_file: PasswordFileOpt = None,
) -> None:
    """Send the case back (退单), naming the member believed responsible (a named department)."""
    _done(case, _send(key, password_file, env().case_desk().send_back_call(case, reason, member_id_of(responsible))))


@cases_app.command("redispatch")
def redispatch(
    case: CaseArg, key: KeyOpt, category: CategoryOpt, lead: MemberOpt, assist: AssistOpt = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Dispatch again: the raiser a sent-back case, the district an escalated one."""
    call = env().case_desk().redispatch_call(case, category, member_id_of(lead), _members(assist))
    _done(case, _send(key, password_file, call))


@cases_app.command("evaluate")
def evaluate(
    case: CaseArg,
    key: KeyOpt,
    outcome: Annotated[str, typer.Option("--outcome", help="fixed, rejected (reopens) or not_fixed.")],
    reason: Annotated[int, typer.Option("--reason", min=0, max=65535, help="Why (for a rejection).")] = 0,
    password_file: PasswordFileOpt = None,
) -> None:
    """Evaluate the lead's answer (the raising sub-district)."""
    from ledger.cases import Evaluation

    call = env().case_desk().evaluate_call(case, _enum(Evaluation, outcome, "outcome"), reason)
    _done(case, _send(key, password_file, call))


@cases_app.command("satisfaction")
def satisfaction(
    case: CaseArg,
    level: Annotated[str, typer.Argument(help="satisfied (满意), basically_satisfied (基本满意) or dissatisfied.")],
    key: KeyOpt,
    password_file: PasswordFileOpt = None,
) -> None:
    """Record the residents' satisfaction with a closed case (a Channel member, within the window)."""
    from ledger.cases import Satisfaction

    call = env().case_desk().satisfaction_call(case, _enum(Satisfaction, level, "level"))
    _done(case, _send(key, password_file, call))


@cases_app.command("escalate")
def escalate(case: CaseArg, key: KeyOpt, password_file: PasswordFileOpt = None) -> None:
    """Escalate to the district (兜底): the raiser any open case; anyone an overdue one."""
    _done(case, _send(key, password_file, env().case_desk().escalate_call(case)))


def _enum(cls: Any, name: str, field: str) -> Any:
    from ledger.errors import ValidationFailed

    try:
        return cls[name.upper()]
    except KeyError as exc:
        raise ValidationFailed(field, f"one of {', '.join(m.name.lower() for m in cls)}") from exc


# ---------------------------------------------------------------- reads (the chain's events, folded)


def _fold() -> tuple[CaseModel, int]:
    from ledger.cases import NAME, CaseModel
    from ledger.cases.model import MODEL_EVENTS
    from ledger.events import deployment_events
    from ledger.logs import head_time

    led = env().ledger()
    return CaseModel.of(deployment_events(led, NAME, MODEL_EVENTS)), head_time(led)


def _reports() -> ReportStore:
    """Residents' reports (Open311) in the service database (``COGOV_SERVICE_DB_URL``), where the
    API keeps them: the CLI reads them there as it reads the cases' texts (:func:`open_docs`)."""
    from api.apikeys import engine_for
    from api.open311.store import ReportStore

    return ReportStore(engine_for(env().settings.service_db_url))


@cases_app.command("reports")
def reports(
    status: Annotated[str, typer.Option("--status", help="waiting (no case groups it yet), grouped, all.")] = "waiting",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    lang: Annotated[str, typer.Option("--lang", help="zh-CN or en: the categories' names.")] = "zh-CN",
    as_json: JsonOpt = False,
) -> None:
    """Residents' reports waiting for a case (or grouped by one), newest first; never the contact
    (``--json``: with the commitment a case lists). Raise a case from them: ``cases raise --report ID``."""
    from api.open311.queue import queue
    from api.services.case_reports import report_public
    from ledger.errors import ValidationFailed

    if status not in ("waiting", "grouped", "all"):
        raise ValidationFailed("status", "waiting, grouped or all")
    model, _ = _fold()
    rows, count = queue(_reports(), lambda use: use(model), status, offset, limit)  # type: ignore[arg-type]
    shown = [report_public(q, None, lang) for q in rows]  # the machine's zone, as every CLI time
    if as_json:
        out.emit_json({"data": [r.model_dump() for r in shown], "count": count})
        return
    out.table(["report", "status", "case", "category", "reported", "area", "description"],
              [[r.service_request_id, r.status, r.case_id or "", r.category_name, out.when(r.requested_at),
                r.area or "", r.description or ""] for r in shown],
              title=f"{len(shown)} of {count} {status} report(s)")


def _plain(c: Case) -> dict[str, Any]:
    d = asdict(c)
    return {**d, "state": c.state.name.lower(), "description_hash": "0x" + c.description_hash.hex()}


@cases_app.command("list")
def list_cases(
    state: Annotated[str | None, typer.Option("--state", help="dispatched, acknowledged, … closed_not_fixed.")] = None,
    category: Annotated[int | None, typer.Option("--category")] = None,
    department: Annotated[str | None, typer.Option("--department", help="Named in the current dispatch.")] = None,
    raiser: Annotated[str | None, typer.Option("--raiser")] = None,
    overdue: Annotated[bool | None, typer.Option("--overdue/--not-overdue", help="Overdue now, or not.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cases, newest first (from the chain's events)."""
    from ledger.cases import CaseState

    model, now = _fold()
    want = None if state is None else _enum(CaseState, state, "state")
    dept = None if department is None else member_id_of(department)
    by = None if raiser is None else member_id_of(raiser)
    rows = [model.case(c, now) for c in reversed(model.cases.values())
            if (want is None or c.state == want) and (category is None or c.category == category)
            and (dept is None or dept in c.team) and (by is None or c.raiser_id == by)
            and (overdue is None or c.overdue(now) == overdue)]
    if as_json:
        out.emit_json([_plain(c) for c in rows])
        return
    out.table(["case", "state", "overdue", "category", "raiser", "lead", "round", "ack by", "resolve by"],
              [[c.id, c.state.name.lower(), "yes" if c.overdue else "", c.category, c.raiser_id, c.lead_id, c.round,
                out.when(c.ack_deadline), out.when(c.resolve_deadline)] for c in rows])


@cases_app.command("show")
def show(case: CaseArg, as_json: JsonOpt = False) -> None:
    """One case: its state, team, description (the operator's view) and timeline with transactions."""
    from ledger.errors import NotFound
    from ledger.events import canonical_args

    model, now = _fold()
    record = model.cases.get(case)
    if record is None:
        raise NotFound("case", case)
    c = model.case(record, now)
    team = [{"member_id": m, **asdict(model.assignment(record, m))} for m in record.team]
    text = open_docs().text(c.description_hash)
    timeline = [{"event": e.name, "block_number": e.block_number, "block_time": e.block_time, "tx_hash": e.tx_hash,
                 "args": canonical_args(e)} for e in record.events]
    if as_json:
        reports = ["0x" + h.hex() for h in record.report_hashes]
        out.emit_json({**_plain(c), "description": text, "team": team, "report_hashes": reports, "timeline": timeline})
        return
    out.say(f"case {c.id}: {c.state.name.lower()}{' (overdue)' if c.overdue else ''}, category {c.category}, "
            f"area {c.area_code}, raised by member {c.raiser_id}, round {c.round}, {c.send_backs} send-backs")
    out.say(f"  description: {text if text is not None else '0x' + c.description_hash.hex()}")
    out.say(f"  acknowledge by {out.when(c.ack_deadline)}, resolve by {out.when(c.resolve_deadline)}")
    out.say(f"  residents' reports grouped: {len(record.report_hashes)}")
    for t in team:
        flags = [k for k in ("lead", "acknowledged", "late", "answered") if t[k]]
        out.say(f"  member {t['member_id']}: {', '.join(flags) or 'waiting'}")
    for e in record.events:
        out.say(f"  {out.when(e.block_time)} {e.name} (block {e.block_number}, {e.tx_hash})")


@cases_app.command("metrics")
def metrics(
    by: Annotated[str, typer.Option("--by", help="department, category or month (UTC+08:00).")] = "department",
    as_json: JsonOpt = False,
) -> None:
    """Response, resolution, satisfaction and on-time rates, with their counts (docs/cases.md)."""
    from ledger.cases import BY, overall, tallies
    from ledger.errors import ValidationFailed

    if by not in BY:
        raise ValidationFailed("by", f"one of {', '.join(BY)}")
    model, now = _fold()
    groups = tallies(model, now, by)
    rows = [("all", overall(model, now)), *groups.items()]
    if as_json:
        out.emit_json({"by": by, "at": now, "data": [
            {"key": str(k), "responses": asdict(t.responses), "closings": asdict(t.closings),
             "satisfactions": asdict(t.satisfactions), "rates": t.rates()} for k, t in rows]})
        return

    def pct(rate: float | None) -> str:
        return "—" if rate is None else f"{rate:.1%}"

    out.table([by, "dispatched", "response", "closed", "resolution", "on time", "open overdue", "satisfaction"],
              [[k, t.responses.dispatched, pct(t.responses.rate), t.closings.closed, pct(t.closings.resolution_rate),
                pct(t.closings.on_time_rate), t.closings.open_overdue, pct(t.satisfactions.rate)] for k, t in rows])


@cases_app.command("service-levels")
def service_levels(as_json: JsonOpt = False) -> None:
    """Each category's deadlines to acknowledge and to resolve (the council's), and the satisfaction window."""
    model, _ = _fold()
    levels = [asdict(lv) for _, lv in sorted(model.levels.items())]
    if as_json:
        out.emit_json({"satisfaction_window": model.satisfaction_window, "data": levels})
        return
    out.table(["category", "acknowledge within", "resolve within"],
              [[lv["category"], out.duration(lv["ack_seconds"]), out.duration(lv["resolve_seconds"])] for lv in levels])
    out.say(f"satisfaction window: {out.duration(model.satisfaction_window)} after closing")
