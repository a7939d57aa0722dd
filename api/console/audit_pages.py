"""The auditors' page (``/console/audit``): the latest audit report (verdict, findings by rule,
when), a button that runs ``audit verify`` (the API's own run, :mod:`api.services.audit_runs`)
and follows its progress live (``api/static/console/audit.js`` polling the run's status), and the
JSON and HTML reports to download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.console.auth import Acting, SignedIn, SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import StateDep
from api.routers.audit import RunId, run_public
from api.services.audit_runs import AuditRun, latest_report, runs_of
from api.state import ServiceState
from ledger.audit.report import to_html, to_json
from ledger.errors import Conflict, NotFound
from ledger.membership import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

AUDIT = register(Section("audit", "/audit", "console.nav.audit", frozenset({Role.AUDITOR}), order=10))
#: findings the page lists (the rest are in the reports)
SHOWN = 20


def audit_view(state: ServiceState, run_id: str | None) -> dict[str, Any]:
    """The latest report (None before the first), its rules with something checked or found, and
    the run to follow: ``run_id``'s, else the one under way."""
    runs = runs_of(state)
    run: AuditRun | None = None
    if run_id is not None:
        try:
            run = runs.get(run_id)
        except NotFound:
            run = None
    run = run or runs.running()
    try:
        report = latest_report(state)
    except NotFound:
        report = None
    return {
        "report": report,
        "generated": int(datetime.fromisoformat(report.generated_at).timestamp()) if report else None,
        "rules": sorted((r for r in report.rules if r.checked or r.errors or r.warnings),
                        key=lambda r: (-r.errors, -r.warnings)) if report else [],  # what was found first
        "findings": report.findings[:SHOWN] if report else [],
        "run": run_public(run, AUDIT.href) if run else None,
    }


@router.get(AUDIT.path)
def audit_home(request: Request, state: StateDep, who: SignedInDep,
               run: Annotated[str | None, Query(pattern=r"^[0-9a-f]{16}$")] = None) -> Response:
    require(who, AUDIT)
    return render(request, state, who, "console/audit.html", back=AUDIT.href, **audit_view(state, run))


@router.post(AUDIT.path + "/runs")
def audit_start(state: StateDep, who: Acting) -> Response:
    """Start ``audit verify`` (or, while one runs, follow that one)."""
    require(who, AUDIT)
    try:
        run_id = runs_of(state).start(state).id
    except Conflict as exc:
        run_id = str(exc.context["run_id"])
    return RedirectResponse(f"{AUDIT.href}?run={run_id}", status_code=303)


@router.get(AUDIT.path + "/runs/{run_id}/status")
def audit_run_status(state: StateDep, who: SignedInDep, run_id: RunId) -> JSONResponse:
    """The run's status, as the API's ``GET /api/v1/audit/runs/{id}`` (report links the console's)."""
    require(who, AUDIT)
    run = runs_of(state).get(run_id)
    return JSONResponse(run_public(run, AUDIT.href).model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def _download(who: SignedIn, state: ServiceState, kind: str) -> Response:
    require(who, AUDIT)
    report = latest_report(state)
    name = f"audit-report-{report.head_block}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if kind == "html":
        return HTMLResponse(to_html(report), headers=headers)
    return Response(to_json(report), media_type="application/json", headers=headers)


@router.get(AUDIT.path + "/report.json")
def audit_report_json(state: StateDep, who: SignedInDep) -> Response:
    return _download(who, state, "json")


@router.get(AUDIT.path + "/report.html")
def audit_report_html(state: StateDep, who: SignedInDep) -> Response:
    return _download(who, state, "html")


__all__ = ["AUDIT", "router"]
