"""The audit report as the API serves it (the same model the CLI writes with ``--json``), and an
audit run's status (``POST /api/v1/audit/runs``)."""

from typing import Literal

from pydantic import BaseModel

from ledger.audit.findings import AuditReport, ContractCode, Finding, RuleResult, ScanStats, Severity

AuditReportPublic = AuditReport


class AuditRunPublic(BaseModel):
    """Where an audit run is: running (its phase; blocks scanned of the total and events so far
    while it scans), then done (the verdict; its report is the latest) or failed (why)."""

    id: str
    state: Literal["running", "done", "failed"]
    phase: str
    blocks_scanned: int
    blocks_total: int
    events: int
    started_at: int
    finished_at: int | None
    ok: bool | None
    errors: int | None
    warnings: int | None
    problem: str | None
    status_url: str
    #: the latest report (JSON, then HTML) once the run is done
    report_url: str | None
    report_html_url: str | None


__all__ = [
    "AuditReportPublic", "AuditRunPublic", "ContractCode", "Finding", "RuleResult", "ScanStats", "Severity",
]
