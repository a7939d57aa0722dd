"""Audit runs an auditor starts (``POST /api/v1/audit/runs``, the console's button): ``cogov audit
verify`` — the same :func:`ledger.audit.run_audit`, its default options — in a background thread.

* **One at a time** per report (``COGOV_AUDIT_REPORT_PATH``): starting one while another runs is
  refused (:class:`~ledger.errors.Conflict`, naming the running one and its status URL).
* **Progress**: the runner's progress callback (blocks scanned of the total, events so far, the
  phase) is the run's status while it runs.
* **Done**: the report is stored as the latest (what ``cogov audit verify --save`` does), which
  ``GET /api/v1/audit/report`` (JSON) and ``/report.html`` serve; a run that failed says why.

Runs are files beside the report (:class:`AuditRuns`), so every API process sees the same ones.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, replace
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
#: finished runs whose status is kept (their reports are the file; this is their status)
KEPT = 20
#: least seconds between two writes of a run's progress (a phase change is always written)
EVERY = 0.2


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
    """The runs of one report path, in files beside it (``<report>.runs/``) so that every API
    process (``cogov serve --workers``) sees them: each run's status as ``<id>.json``, and
    ``running.lock``, held (``flock``) by the process running one, with its id: one run at a time
    across processes, and a run whose process died reads as failed."""

    def __init__(self, report_path: Path) -> None:
        self.report_path = report_path
        self.dir = report_path.with_name(report_path.name + ".runs")
        self.lock_path = self.dir / "running.lock"

    def start(self, state: ServiceState) -> AuditRun:
        """Start a run in a background thread; :class:`Conflict` while another runs."""
        if state.manifest is None:
            raise NotDeployed("no deployment manifest: nothing to audit")
        manifest = state.manifest
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            run_id = self.lock_path.read_text(encoding="ascii").strip()
            url = STATUS_PATH.format(run_id=run_id)
            raise Conflict(f"audit run {run_id} is under way: follow it at {url}", run_id=run_id,
                           status_url=url) from None
        run = AuditRun(secrets.token_hex(8), int(time.time()))
        os.ftruncate(fd, 0)
        os.pwrite(fd, run.id.encode("ascii"), 0)
        self._save(run)
        self._prune()
        current, saved_at = run, time.monotonic()

        def progress(done: int, total: int, events: int, phase: str) -> None:
            nonlocal current, saved_at
            moved = phase != current.phase
            scanned = {"blocks_scanned": done, "blocks_total": total} if phase == "scan" else {}
            current = replace(current, phase=phase, events=events, **scanned)  # type: ignore[arg-type]
            if moved or time.monotonic() - saved_at >= EVERY:
                self._save(current)
                saved_at = time.monotonic()

        def work() -> None:
            try:
                report = run_audit(state.ledger, manifest, AuditOptions(), progress)
                write_json(report, self.report_path)
                s = report.scan
                final = replace(run, state="done", phase="done", ok=report.ok, errors=report.summary.get("errors"),
                                warnings=report.summary.get("warnings"), events=s.events, blocks_scanned=s.blocks,
                                blocks_total=s.blocks)
            except Exception as exc:  # a run that fails says why (never a credential)
                message = exc.message if isinstance(exc, LedgerError) else f"{type(exc).__name__}: {exc}"
                final = replace(current, state="failed", problem=redact(message))
            try:
                self._save(replace(final, finished_at=int(time.time())))
            finally:
                os.close(fd)  # releases the lock

        threading.Thread(target=work, name=f"audit-run-{run.id}", daemon=True).start()
        return run

    def get(self, run_id: str) -> AuditRun:
        """A run's status; one left running by a process that died reads as failed."""
        try:
            run = AuditRun(**json.loads((self.dir / f"{run_id}.json").read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise NotFound("audit run", run_id) from None
        if run.state == "running" and self.running_id() != run.id:
            return replace(run, state="failed", problem="the process running this audit stopped before it ended")
        return run

    def running_id(self) -> str | None:
        """The id of the run under way (in any process), if one is."""
        if not self.lock_path.is_file():
            return None
        fd = os.open(self.lock_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return self.lock_path.read_text(encoding="ascii").strip() or None
        finally:
            os.close(fd)
        return None

    def running(self) -> AuditRun | None:
        run_id = self.running_id()
        try:
            return self.get(run_id) if run_id else None
        except NotFound:
            return None

    def _save(self, run: AuditRun) -> None:
        path = self.dir / f"{run.id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(run)), encoding="utf-8")
        tmp.replace(path)

    def _prune(self) -> None:
        kept = sorted(self.dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEPT]:
            old.unlink(missing_ok=True)


def runs_of(state: ServiceState) -> AuditRuns:
    """The audit runs of the service's report path."""
    return AuditRuns(state.settings.audit_report_path)


def latest_report(state: ServiceState) -> AuditReport:
    """The latest stored report (``cogov audit verify --save`` or a run's); 404 before the first."""
    path = state.settings.audit_report_path
    if not path.is_file():
        raise NotFound("audit report", "latest (run `cogov audit verify`)")
    try:
        return load(path)
    except ValidationError as exc:
        raise IntegrityError(f"the stored audit report at {path.name} is not a valid report") from exc
