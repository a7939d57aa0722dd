"""The auditor's routes (auditor role only): the latest report, and audit runs.

* ``GET /api/v1/audit/report`` (JSON) and ``/report.html`` (the self-contained HTML page): the
  latest report, produced from the chain alone by ``cogov audit verify`` or a run started here and
  stored at ``COGOV_AUDIT_REPORT_PATH``; the API never edits it.
* ``POST /api/v1/audit/runs``: start ``audit verify`` in the background (202 + the run's status
  URL; 409 naming the running one while another runs); ``GET /api/v1/audit/runs/{id}``: its
  progress, then its verdict (:mod:`api.services.audit_runs`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import Caller, StateDep, require_role
from api.problems import PROBLEM, problem_of
from api.schemas.audit import AuditReportPublic, AuditRunPublic
from api.services.audit_runs import AuditRun, latest_report, runs_of
from ledger.audit.report import to_html
from ledger.errors import Conflict
from ledger.membership import Role

PREFIX = "/api/v1/audit"
router = APIRouter(prefix=PREFIX, tags=["audit"])

AuditorDep = Annotated[Caller, Depends(require_role(Role.AUDITOR))]
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
NO_REPORT: dict[int | str, dict[str, str]] = {404: {"description": "no audit has been run yet"}}


@router.get(
    "/report",
    response_model=AuditReportPublic,
    summary="The latest audit report",
    responses=NO_REPORT,
)
def latest(_caller: AuditorDep, state: StateDep) -> AuditReportPublic:
    return latest_report(state)


@router.get("/report.html", response_class=HTMLResponse, responses=NO_REPORT,
            summary="The latest audit report as one self-contained HTML page")
def latest_html(_caller: AuditorDep, state: StateDep) -> HTMLResponse:
    return HTMLResponse(to_html(latest_report(state)))


def run_public(run: AuditRun, prefix: str = PREFIX) -> AuditRunPublic:
    """A run's status; its report's URLs (under ``prefix``: the API's, or the console's) once done."""
    done = run.state == "done"
    json_url = f"{prefix}/report" if prefix == PREFIX else f"{prefix}/report.json"
    return AuditRunPublic(**asdict(run), status_url=run.status_url, report_url=json_url if done else None,
                          report_html_url=f"{prefix}/report.html" if done else None)


@router.post(
    "/runs",
    status_code=202,
    response_model=AuditRunPublic,
    summary="Run `audit verify` now, in the background",
    responses={409: {"description": "a run is under way (its status URL in the problem)"}},
)
def start_run(_caller: AuditorDep, state: StateDep) -> JSONResponse:
    try:
        run = runs_of(state).start(state)
    except Conflict as exc:  # the running one's status URL, in the problem and as Location
        status, body = problem_of(exc)
        url = str(exc.context["status_url"])
        return JSONResponse(body | {"status_url": url}, status_code=status, media_type=PROBLEM,
                            headers={"Location": url})
    return JSONResponse(run_public(run).model_dump(mode="json"), status_code=202,
                        headers={"Location": run.status_url})


@router.get(
    "/runs/{run_id}",
    response_model=AuditRunPublic,
    summary="An audit run's progress, then its verdict",
    responses={404: {"description": "no such run in this process"}},
)
def run_status(_caller: AuditorDep, state: StateDep, run_id: RunId) -> JSONResponse:
    run = runs_of(state).get(run_id)
    headers = {"Retry-After": "1"} if run.state == "running" else {}
    return JSONResponse(run_public(run).model_dump(mode="json"), headers=headers | {"Cache-Control": "no-store"})
