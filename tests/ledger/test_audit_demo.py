"""The demo scenario, built on a private Ganache, audits with zero findings; ``cogov audit verify``
prints the verdict, writes the JSON and HTML reports and exits 1 when a rule is violated."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.abi import contract_spec
from ledger.audit import AuditOptions, run_audit
from ledger.client import Ledger
from ledger.logs import LogScanner
from ledger.manifest import ContractDeployment, Manifest
from tests.ledger.cogov_cli import audit_verify
from tests.ledger.decoding import agree

pytestmark = pytest.mark.ganache


@dataclass
class Demo:
    url: str
    manifest_path: Path
    root: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from cogov.demo import bootstrap, seed_capabilities
    from ledger.config import Settings
    from tests.conftest import TEST_PASSWORD, start_ganache

    root = tmp_path_factory.mktemp("audit-demo")
    g = start_ganache(root / "chain")
    try:
        manifest_path = root / "deployment.json"
        settings = Settings(env="test", rpc_urls=[g.config.url], keystore_dir=root / "keys",
                            gateway_store_dir=root / "gw", gateway_master_key_file=root / "master.key",
                            manifest_path=manifest_path, service_db_url=f"sqlite:///{root / 'service.db'}")
        seed_capabilities(bootstrap(settings, TEST_PASSWORD, state_dir=root / "state"))
        yield Demo(g.config.url, manifest_path, root)
    finally:
        g.stop(timeout=10)


def test_the_demo_chain_audits_with_zero_findings(demo: Demo) -> None:
    m = Manifest.load(demo.manifest_path)
    report = run_audit(Ledger(demo.url, m), m, AuditOptions())
    assert report.findings == [], [f.model_dump() for f in report.findings]
    assert report.ok and report.scan.events > 50
    assert report.summary["data"]["grants"] >= 3
    assert {c.name for c in report.contracts} == set(m.contracts)


def test_every_log_of_the_demo_decodes_as_eth_abi_and_the_json_path_do(demo: Demo) -> None:
    """The auditor's decoding straight from the node's hex, on every log the demo's contracts
    emitted: equal to the bytes path through canonical JSON and to web3's (``tests/ledger/decoding.py``)."""
    m = Manifest.load(demo.manifest_path)
    led = Ledger(demo.url, m)
    specs = {d.address.lower(): contract_spec(n, d.address) for n, d in m.contracts.items()}
    names: set[str] = set()
    for got in LogScanner(led, list(specs)).scan(m.start_block, led.block_number(), with_headers=False):
        for log in got.logs:
            assert isinstance(log["data"], str)  # the node's hex, as the auditor reads it
            spec = specs[log["address"].lower()]
            names.add(f"{spec.name}.{agree(spec, log)}")
    assert len(names) >= 40, sorted(names)  # every domain's events: members, data, fund, token, cases


def _cogov(demo: Demo, manifest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return audit_verify(demo.root, demo.url, manifest, *args)


def test_cli_writes_reports_and_exits_by_verdict(demo: Demo, tmp_path: Path) -> None:
    r = _cogov(demo, demo.manifest_path, "--json", str(tmp_path / "a.json"), "--html", str(tmp_path / "a.html"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED" in r.stdout and "code matches the source" in r.stdout
    body = json.loads((tmp_path / "a.json").read_text())
    assert body["ok"] is True and body["findings"] == [] and body["scan"]["events"] > 0
    html = (tmp_path / "a.html").read_text()
    assert "<svg" in html and "PASSED" in html
    assert not any(x in html for x in ("<link", "src=", "href=", "@import", "url("))  # self-contained
    assert json.loads((demo.root / "latest.json").read_text())["ok"] is True  # stored for the API

    # the registry's manifest entry pointed at the token: code and state findings, exit 1
    m = Manifest.load(demo.manifest_path)
    contracts = dict(m.contracts)
    credit = contracts["CommunityCredit"]
    contracts["DataSharing"] = ContractDeployment(
        address=credit.address,
        tx_hash=credit.tx_hash,
        block_number=credit.block_number,
        runtime_keccak=credit.runtime_keccak,
        constructor_args=contracts["DataSharing"].constructor_args,
    )
    bad = tmp_path / "bad.json"
    m.model_copy(update={"contracts": contracts}).save(bad)
    r = _cogov(demo, bad, "--json", str(tmp_path / "b.json"), "--no-save")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED" in r.stdout and "code.runtime-mismatch" in r.stdout
    body = json.loads((tmp_path / "b.json").read_text())
    f = next(x for x in body["findings"] if x["rule"] == "code.runtime-mismatch")
    assert f["severity"] == "error" and f["contract"] == "DataSharing" and f["records"]["address"] == credit.address
    assert json.loads((demo.root / "latest.json").read_text())["ok"] is True  # --no-save kept the last one


def test_the_demo_cases_take_their_courses(demo: Demo) -> None:
    """Each of the demo's four cases is where its story leaves it, grouping stored residents' reports."""
    from api.apikeys import engine_for
    from api.open311.store import ReportStore
    from cogov.demo.cases import STORIES
    from ledger.cases import CaseDesk, CaseState, EscalationCause, Satisfaction
    from ledger.events import deployment_events

    m = Manifest.load(demo.manifest_path)
    led = Ledger(demo.url, m)
    desk = CaseDesk(led)
    cases = [desk.case(i) for i in range(1, desk.case_count() + 1)]
    assert [c.state for c in cases] == [
        CaseState.CLOSED_FIXED, CaseState.ESCALATED, CaseState.ACKNOWLEDGED, CaseState.REOPENED
    ]
    assert cases[0].satisfaction == Satisfaction.SATISFIED + 1
    assert cases[2].round == 2 and cases[2].send_backs == 1
    escalated = deployment_events(led, "CaseDesk", ["CaseEscalated"])
    assert [int(e.args["cause"]) for e in escalated] == [EscalationCause.OVERDUE]
    store = ReportStore(engine_for(f"sqlite:///{demo.root / 'service.db'}"))
    raised = deployment_events(led, "CaseDesk", ["CaseRaised"])
    grouped = {"0x" + bytes(h).hex() for e in raised for h in e.args["reportHashes"]}
    assert len(grouped) == sum(len(s.reports) for s in STORIES)
    assert all(store.by_commitment(h) is not None for h in grouped)
