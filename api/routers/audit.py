"""GET /api/v1/audit/report: the latest auditor's report (auditor role only).

The report is produced by ``cogov audit verify`` from the chain alone and stored at
``COGOV_AUDIT_REPORT_PATH``; the API only serves it and never recomputes or edits it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import ValidationError

from api.deps import Caller, StateDep, require_role
from api.schemas.audit import AuditReportPublic
from ledger.errors import IntegrityError, NotFound
from ledger.membership import Role

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

AuditorDep = Annotated[Caller, Depends(require_role(Role.AUDITOR))]


@router.get(
    "/report",
    response_model=AuditReportPublic,
    summary="The latest audit report",
    responses={404: {"description": "no audit has been run yet"}},
)
def latest_report(_caller: AuditorDep, state: StateDep) -> AuditReportPublic:
    path = state.settings.audit_report_path
    if not path.is_file():
        raise NotFound("audit report", "latest (run `cogov audit verify`)")
    try:
        return AuditReportPublic.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise IntegrityError(f"the stored audit report at {path.name} is not a valid report") from exc
