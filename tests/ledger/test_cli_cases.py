"""`cogov cases` against a CaseDesk of its own on the session chain: every write, the reads
(list, show, metrics, service levels) equal to the contract's views and the reducer, texts kept
where the API keeps them, and a refusal named with exit code 4."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cogov import output
from cogov.app import app
from ledger.cases import CaseDesk, CaseState, month_of, overall, tallies
from ledger.errors import ContractReverted
from ledger.fund.docs import DocStore, doc_hash
from tests.api.test_fund_support import ledger_for
from tests.conftest import MEMBER_IDS, Deployment
from tests.ledger.cogov_cli import COGOV
from tests.ledger.test_cases_model import LEVELS, WINDOW, folded, private_desk

pytestmark = pytest.mark.ganache

RUNNER = CliRunner()


def run(*args: str) -> str:
    res = RUNNER.invoke(app, ["cases", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def as_json(*args: str) -> Any:
    return json.loads(run(*args, "--json"))


def case_of(output: str) -> int:
    return int(output.split("case ")[1].split(":")[0])


@pytest.fixture
def cli(deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    private_desk(deployment, tmp_path)
    values = {
        "COGOV_ENV": "test",
        "COGOV_RPC_URLS": deployment.ganache.config.url,
        "COGOV_MANIFEST_PATH": str(tmp_path / "deployment.json"),
        "COGOV_KEYSTORE_DIR": str(deployment.keystore.directory),
        "COGOV_SERVICE_DB_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "COGOV_GATEWAY_MASTER_KEY_FILE": str(tmp_path / "gateway-master.key"),
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def test_cases_cli(cli: dict[str, str], deployment: Deployment, tmp_path: Path) -> None:
    led = ledger_for(deployment, Path(cli["COGOV_MANIFEST_PATH"]))
    desk = CaseDesk(led)
    out = run("raise", "--key", "subdistrict", "--category", "2", "--area", "110105001001", "--description",
              "幸福里垃圾桶满溢", "--public", "--lead", "dept_b", "--assist", str(MEMBER_IDS["dept_a"]), "--channel",
              "channel", "--report-hash", "0x" + doc_hash("居民反馈").hex())
    fixed = case_of(out)
    assert "dispatched" in out and desk.team(fixed) == (MEMBER_IDS["dept_b"], MEMBER_IDS["dept_a"])
    assert "acknowledged" in run("ack", str(fixed), "--key", "dept_b")
    evidence = tmp_path / "photo.jpg"
    evidence.write_bytes(b"\xff\xd8 a photo of empty bins")
    assert "awaiting_evaluation" in run("answer", str(fixed), "--key", "dept_b", "--evidence-file", str(evidence))
    run("ack", str(fixed), "--key", "dept_a")
    run("answer", str(fixed), "卫健委已消杀", "--key", "dept_a")
    assert "closed_fixed" in run("evaluate", str(fixed), "--key", "subdistrict", "--outcome", "fixed")
    run("satisfaction", str(fixed), "basically_satisfied", "--key", "channel")

    back = case_of(run("raise", "--key", "subdistrict", "--category", "1", "--area", "1", "--description",
                       "消防通道堵塞", "--lead", "dept_a"))
    assert "sent_back" in run("send-back", str(back), "--key", "dept_a", "--reason", "3", "--responsible", "enterprise")
    run("redispatch", str(back), "--key", "subdistrict", "--category", "2", "--lead", "dept_b")
    assert "escalated" in run("escalate", str(back), "--key", "subdistrict")
    with pytest.raises(ContractReverted) as refused:  # the district's, now
        run("redispatch", str(back), "--key", "subdistrict", "--category", "2", "--lead", "dept_b")
    assert refused.value.error_name == "CaseMissingRole"

    # Texts where the API keeps them: the public description as its plain hash, the evidence salted.
    docs = DocStore.open(cli["COGOV_SERVICE_DB_URL"])
    assert desk.case(fixed).description_hash == doc_hash("幸福里垃圾桶满溢")
    assert docs.hashes_of("case_public", "幸福里垃圾桶满溢") and docs.hashes_of("evidence", "卫健委已消杀")
    assert docs.hashes_of("case", "消防通道堵塞") and desk.case(back).description_hash != doc_hash("消防通道堵塞")

    # Reads: the reducer over the chain's events, equal to the contract's views.
    listed = as_json("list")
    assert [c["id"] for c in listed] == [back, fixed]
    for c in listed:
        view = desk.case(c["id"])
        plain = {"state": view.state.name.lower(), "description_hash": "0x" + view.description_hash.hex()}
        assert c == asdict(view) | plain
    assert [c["id"] for c in as_json("list", "--state", "escalated")] == [back]
    assert [c["id"] for c in as_json("list", "--department", "dept_a", "--not-overdue")] == [fixed]
    shown = as_json("show", str(fixed))
    assert shown["description"] == "幸福里垃圾桶满溢" and shown["state"] == CaseState.CLOSED_FIXED.name.lower()
    assert [t["member_id"] for t in shown["team"]] == [MEMBER_IDS["dept_b"], MEMBER_IDS["dept_a"]]
    assert [e["event"] for e in shown["timeline"]][:2] == ["CaseRaised", "CaseDispatched"]
    assert all(led.receipt(e["tx_hash"]) is not None for e in shown["timeline"])
    assert "SatisfactionRecorded" in run("show", str(fixed))
    assert re.search(r"acknowledge by \d{4}-\d\d-\d\d \d\d:\d\d \+08:00", run("show", str(fixed)))  # dates for people

    model, now = folded(led)
    metrics = as_json("metrics", "--by", "department")
    assert metrics["data"][0] == {"key": "all", **_tally(overall(model, now))}
    assert metrics["data"][1:] == [{"key": str(k), **_tally(t)} for k, t in tallies(model, now, "department").items()]
    assert month_of(now) in run("metrics", "--by", "month")
    levels = as_json("service-levels")
    assert levels == {"satisfaction_window": WINDOW, "data": [asdict(lv) for lv in LEVELS]}


def _tally(t: Any) -> dict[str, Any]:
    return {"responses": asdict(t.responses), "closings": asdict(t.closings), "satisfactions": asdict(t.satisfactions),
            "rates": t.rates()}


def test_a_refusal_is_one_line_with_exit_code_4(cli: dict[str, str]) -> None:
    cid = case_of(run("raise", "--key", "subdistrict", "--category", "2", "--area", "1", "--description", "x",
                      "--lead", "dept_b"))
    res = subprocess.run([*COGOV, "cases", "ack", str(cid), "--key", "c1"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, **cli})
    assert res.returncode == 4, res.stderr
    assert "CaseNotNamed" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_reports_waiting_and_a_case_raised_from_one(cli: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`cases reports` lists a resident's report (from the service database, never its contact) as
    waiting, `cases raise --report ID` groups it (its commitment on chain), then it is grouped; a
    second raise naming it while the case is open, and an unknown id, are refused."""
    from api.apikeys import engine_for
    from api.open311.store import Contact, NewReport, ReportStore
    from ledger.errors import Conflict, ValidationFailed

    store = ReportStore(engine_for(cli["COGOV_SERVICE_DB_URL"]))
    report = store.add(NewReport(2, "幸福里 8 号楼垃圾桶满溢", 39.93, 116.39, "幸福里社区", None,
                                 Contact(email="wang@example.cn", phone="13800000000"), "ip:127.0.0.1"))
    waiting = as_json("reports")
    assert [r["service_request_id"] for r in waiting["data"]] == [str(report.id)] and waiting["count"] == 1
    assert waiting["data"][0]["commitment"] == report.commitment and waiting["data"][0]["case_id"] is None
    assert waiting["data"][0]["description"] == "幸福里 8 号楼垃圾桶满溢"
    monkeypatch.setattr(output.console, "width", 200)  # a terminal's width, not CliRunner's 80 columns
    table = run("reports")
    assert "1 of 1 waiting report(s)" in table and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", table)
    assert "wang@example.cn" not in table + json.dumps(waiting) and "13800000000" not in table

    cid = case_of(run("raise", "--key", "subdistrict", "--category", "2", "--area", "1", "--description", "清运",
                      "--lead", "dept_b", "--report", str(report.id)))
    assert as_json("show", str(cid))["report_hashes"] == [report.commitment]
    assert as_json("reports")["count"] == 0
    assert as_json("reports", "--status", "grouped")["data"][0]["case_id"] == cid
    again = RUNNER.invoke(app, ["cases", "raise", "--key", "subdistrict", "--category", "2", "--area", "1",
                                "--description", "x", "--lead", "dept_b", "--report", str(report.id)])
    assert isinstance(again.exception, Conflict) and f"report {report.id} by case {cid}" in str(again.exception)
    unknown = RUNNER.invoke(app, ["cases", "raise", "--key", "subdistrict", "--category", "2", "--area", "1",
                                  "--description", "x", "--lead", "dept_b", "--report", "999999"])
    assert isinstance(unknown.exception, ValidationFailed) and "999999" in str(unknown.exception)
