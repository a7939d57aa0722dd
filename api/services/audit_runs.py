"""Audit runs an auditor starts (``POST /api/v1/audit/runs``, the console's button): ``cogov audit
verify`` — the same :func:`ledger.audit.run_audit`, its default options — in a background thread.

* **One at a time** per report (``COGOV_AUDIT_REPORT_PATH``): starting one while another runs is
  refused (:class:`~ledger.errors.Conflict`, naming the running one and its status URL).
* **Progress**: the runner's progress callback (blocks scanned of the total, events so far, the
  phase) is the run's status while it runs.
* **Done**: the report is stored as the latest (what ``cogov audit verify --save`` does), which
  ``GET /api/v1/audit/report`` (JSON) and ``/report.html`` serve; a run that failed says why.

Runs live in the process that started them (the latest few, by id); the report they write is the
file every process serves.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from api.state import ServiceState
from ledger.audit import AuditOptions, run_audit
from ledger.audit.findings import AuditReport
from ledger.audit.report import load, write_json
from ledger.errors import Conflict, IntegrityError, LedgerError, NotDeployed, NotFound, redact

RunState = Literal["running", "done", "failed"]
STATUS_PATH = "/api/v1/audit/runs/{run_id}"
#: finished runs each process remembers (their reports are the file; this is their status)
KEPT = 20


@dataclass(frozen=True)
class AuditRun:
    """Where one run is: its phase and progress, then its verdict or why it failed."""

    id: str
    started_at: int
    state: RunState = "running"
    phase: str = "connect"
    blocks_scanned: int = 0
    blocks_total: int = 0
    events: int = 0
    finished_at: int | None = None
    ok: bool | None = None
    errors: int | None = None
    warnings: int | None = None
    problem: str | None = None

    @property
    def status_url(self) -> str:
        return STATUS_PATH.format(run_id=self.id)


class AuditRuns:
    """The runs of one report path: the running one (at most one) and the latest finished."""

    def __init__(self, report_path: Path) -> None:
        self.report_path = report_path
        self._lock = threading.Lock()
        self._runs: dict[str, AuditRun] = {}
        self._running: str | None = None

    def start(self, state: ServiceState) -> AuditRun:
        """Start a run in a background thread; :class:`Conflict` while another runs."""
        if state.manifest is None:
            raise NotDeployed("no deployment manifest: nothing to audit")
        manifest = state.manifest
        with self._lock:
            if self._running is not None:
                running = self._runs[self._running]
                raise Conflict(f"audit run {running.id} is under way: follow it at {running.status_url}",
                               run_id=running.id, status_url=running.status_url)
            run = AuditRun(secrets.token_hex(8), int(time.time()))
            self._running = run.id
            self._runs[run.id] = run
            for old in list(self._runs)[:-KEPT]:
                del self._runs[old]

        def progress(done: int, total: int, events: int, phase: str) -> None:
            self._update(run.id, phase=phase, events=events,
                         **({"blocks_scanned": done, "blocks_total": total} if phase == "scan" else {}))

        def work() -> None:
            try:
                report = run_audit(state.ledger, manifest, AuditOptions(), progress)
                write_json(report, self.report_path)
            except Exception as exc:  # a run that fails says why (never a credential)
                message = exc.message if isinstance(exc, LedgerError) else f"{type(exc).__name__}: {exc}"
                self._finish(run.id, state="failed", problem=redact(message))
            else:
                self._finish(run.id, state="done", phase="done", ok=report.ok, errors=report.summary.get("errors"),
                             warnings=report.summary.get("warnings"), events=report.scan.events,
                             blocks_scanned=report.scan.blocks, blocks_total=report.scan.blocks)

        threading.Thread(target=work, name=f"audit-run-{run.id}", daemon=True).start()
        return run

    def get(self, run_id: str) -> AuditRun:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise NotFound("audit run", run_id)
        return run

    def running(self) -> AuditRun | None:
        with self._lock:
            return self._runs[self._running] if self._running is not None else None

    def _update(self, run_id: str, **changes: object) -> None:
        with self._lock:
            self._runs[run_id] = replace(self._runs[run_id], **changes)  # type: ignore[arg-type]

    def _finish(self, run_id: str, **changes: object) -> None:
        with self._lock:
            self._runs[run_id] = replace(self._runs[run_id], finished_at=int(time.time()), **changes)  # type: ignore[arg-type]
            self._running = None


_registry: dict[Path, AuditRuns] = {}
_registry_lock = threading.Lock()


def runs_of(state: ServiceState) -> AuditRuns:
    """The audit runs of the service's report path (one registry per path in this process)."""
    path = state.settings.audit_report_path
    with _registry_lock:
        runs = _registry.get(path)
        if runs is None:
            runs = _registry[path] = AuditRuns(path)
        return runs


def latest_report(state: ServiceState) -> AuditReport:
    """The latest stored report (``cogov audit verify --save`` or a run's); 404 before the first."""
    path = state.settings.audit_report_path
    if not path.is_file():
        raise NotFound("audit report", "latest (run `cogov audit verify`)")
    try:
        return load(path)
    except ValidationError as exc:
        raise IntegrityError(f"the stored audit report at {path.name} is not a valid report") from exc
