"""GET /api/v1/audit/report: the latest report, to the auditor role only."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from ledger.audit import AuditOptions, run_audit
from ledger.audit.report import write_json
from ledger.client import Ledger
from ledger.manifest import Manifest
from tests.api.conftest import Api, make_settings
from tests.conftest import Deployment


def test_the_auditor_reads_the_latest_report(deployment: Deployment, api: Api, tmp_path: Path) -> None:
    path = tmp_path / "audit-report.json"
    settings = make_settings(deployment, tmp_path, service_db_url=api.settings.service_db_url, audit_report_path=path)
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
