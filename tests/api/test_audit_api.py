"""GET /api/v1/audit/report: the latest report, to the auditor role only."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from api.services.audit_runs import AuditRun, AuditRuns
from ledger.audit import AuditOptions, run_audit
from ledger.audit.report import write_json
from ledger.client import Ledger
from ledger.manifest import Manifest
from tests.api.conftest import Api, make_settings
from tests.conftest import Deployment


def test_the_auditor_reads_the_latest_report(deployment: Deployment, api: Api, tmp_path: Path,
                                             index_db: dict[str, str]) -> None:
    path = tmp_path / "audit-report.json"
    settings = make_settings(deployment, tmp_path, service_db_url=api.settings.service_db_url, audit_report_path=path,
                             **index_db)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        none = client.get("/api/v1/audit/report", headers=api.auth("auditor"))
        assert none.status_code == 404 and none.headers["content-type"].startswith("application/problem+json")

        m = Manifest.load(deployment.manifest_path)
        report = run_audit(Ledger(deployment.ganache.config.url, m), m, AuditOptions())
        write_json(report, path)

        r = client.get("/api/v1/audit/report", headers=api.auth("auditor"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["ok"] == report.ok and body["head_block"] == report.head_block
        assert {x["id"] for x in body["rules"]} >= {"code.runtime-mismatch", "fund.payout-without-quorum"}
        assert body["scan"]["events"] == report.scan.events

        for label in ("dept_a", "c1", "treasurer"):
            denied = client.get("/api/v1/audit/report", headers=api.auth(label))
            assert denied.status_code == 403, label
        assert client.get("/api/v1/audit/report").status_code == 401


def _until_done(client: TestClient, url: str, auth: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll a run's status until it ends: its last answer and every answer while it ran."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = client.get(url, headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        if body["state"] != "running":
            return body, seen
        assert r.headers["retry-after"] == "1"
        seen.append(body)
        time.sleep(0.05)
    raise AssertionError(f"the audit run at {url} did not end in 120 s")


def test_an_audit_run_from_start_to_reports(deployment: Deployment, api: Api, tmp_path: Path,
                                            index_db: dict[str, str]) -> None:
    path = tmp_path / "audit-report.json"
    settings = make_settings(deployment, tmp_path, service_db_url=api.settings.service_db_url, audit_report_path=path,
                             **index_db)
    auth = api.auth("auditor")
    with (TestClient(create_app(settings), raise_server_exceptions=False) as client,
          TestClient(create_app(settings), raise_server_exceptions=False) as worker):  # another API process's app
        for label in ("dept_a", "c1", "treasurer", "committee_a"):
            assert client.post("/api/v1/audit/runs", headers=api.auth(label)).status_code == 403, label
        assert client.post("/api/v1/audit/runs").status_code == 401

        r = client.post("/api/v1/audit/runs", headers=auth)
        assert r.status_code == 202, r.text
        run = r.json()
        assert run["state"] == "running" and r.headers["location"] == run["status_url"]
        assert run["status_url"] == f"/api/v1/audit/runs/{run['id']}" and run["report_url"] is None

        for c in (client, worker):  # one at a time, whichever process is asked: this one names the running one
            again = c.post("/api/v1/audit/runs", headers=auth)
            assert again.status_code == 409, again.text
            assert again.json()["status_url"] == run["status_url"] == again.headers["location"]

        done, running = _until_done(worker, run["status_url"], auth)  # its progress, seen from any process
        assert done["state"] == "done", done
        assert all(s["blocks_scanned"] <= s["blocks_total"] for s in running)
        assert any(s["blocks_total"] > 0 and s["events"] > 0 for s in running), running  # progress while it ran
        assert done["blocks_scanned"] == done["blocks_total"] > 0 and done["events"] > 0
        assert done["report_url"] == "/api/v1/audit/report" and done["report_html_url"] == "/api/v1/audit/report.html"

        report = client.get(done["report_url"], headers=auth).json()  # the run's report is the latest
        assert report["ok"] == done["ok"] and report["scan"]["events"] == done["events"]
        assert report["summary"]["errors"] == done["errors"]
        page = client.get(done["report_html_url"], headers=auth)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert str(report["head_block"]) in page.text
        assert client.get(done["report_html_url"], headers=api.auth("dept_a")).status_code == 403

        second = client.post("/api/v1/audit/runs", headers=auth)  # the first one over, another may start
        assert second.status_code == 202 and second.json()["id"] != run["id"]
        assert _until_done(client, second.json()["status_url"], auth)[0]["state"] == "done"
        assert client.get("/api/v1/audit/runs/0123456789abcdef", headers=auth).status_code == 404


def test_a_run_whose_process_died_reads_as_failed(tmp_path: Path) -> None:
    """What ``kill -9`` of the process running an audit leaves: its status file says running, and
    nobody holds the lock: the run reads as failed, and another may start."""
    runs = AuditRuns(tmp_path / "audit-report.json")
    runs.dir.mkdir()
    runs.lock_path.write_text("0123456789abcdef", encoding="ascii")
    (runs.dir / "0123456789abcdef.json").write_text(json.dumps(asdict(AuditRun("0123456789abcdef", 1))))
    run = runs.get("0123456789abcdef")
    assert run.state == "failed" and run.problem is not None and "stopped" in run.problem
    assert runs.running_id() is None and runs.running() is None
