"""The auditor's case rules (ledger/audit/replay/cases.py) and its comparison of the metrics an API
serves (ledger/audit/case_metrics.py).

On the session chain: a fresh CaseDesk with a history in every state (tests/ledger/case_history.py)
and a service level changed by a council proposal, then a case dispatched under it. The clean
history audits with no case finding and every case rule checked; then each rule is made to fire by
a history as a faulty or tampered CaseDesk could emit it: the chain's own events, with one of them
changed or dropped, replayed as the auditor replays them (the technique of test_data_audit.py).
The comparison with the contract's views fires on such a history too. The metrics comparison runs
against a stub of ``GET /api/v1/cases/metrics`` over real HTTP (the endpoint is the API branch's),
honest and then with one figure or its time changed, through ``run_audit`` and ``cogov audit verify``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import to_checksum_address
from fastapi import FastAPI

from api.testing import LiveServer
from ledger.audit import AuditOptions, AuditReport, run_audit
from ledger.audit.collect import Collector
from ledger.audit.reads import Reads
from ledger.audit.replay.cases import CaseReplay
from ledger.audit.replay.membership import MembershipReplay
from ledger.cases import BY, NAME, CaseDesk, CaseModel, ServiceLevel, overall, tallies
from ledger.client import Ledger
from ledger.events import Event, read_events
from ledger.logs import header
from ledger.manifest import Manifest
from ledger.testing import MEMBER_IDS, Deployment
from tests.ledger.case_history import AREA, CaseHistory, build_case_history
from tests.ledger.cogov_cli import audit_verify

pytestmark = pytest.mark.ganache

REGISTRY = "MembershipRegistry"
NEW_LEVEL = ServiceLevel(2, 45, 200)  # category 2, changed by the council


@dataclass
class Audited:
    deployment: Deployment
    history: CaseHistory
    manifest: Manifest
    events: list[Event]  # the registry's and the desk's, in chain order
    head: int

    @property
    def led(self) -> Ledger:
        return self.history.led

    def audit(self, **options: Any) -> AuditReport:
        return run_audit(Ledger(self.deployment.ganache.config.url, self.manifest), self.manifest,
                         AuditOptions(**options))

    def replay(self, events: list[Event]) -> tuple[CaseReplay, Collector]:
        """The events replayed as the auditor does: registry and desk, in chain order."""
        out = Collector()
        reg = MembershipReplay(out, self.manifest.contracts[REGISTRY].tx_hash)
        cases = CaseReplay(out, reg, self.manifest.contracts[NAME].tx_hash)
        for e in events:
            (reg.on_event if e.contract == REGISTRY else cases.on_event)(e)
        cases.finish()
        return cases, out

    def case_event(self, label: str, name: str, nth: int = 0) -> Event:
        cid = self.history.cases[label]
        return [e for e in self.events if e.name == name and e.args.get("caseId") == cid][nth]

    def forged(self, target: Event, **args: Any) -> list[Event]:
        """The history with ``target``'s arguments changed (``drop=True``: without it)."""
        drop = args.pop("drop", False)
        changed = dataclasses.replace(target, args={**target.args, **args})
        return [changed if e is target else e for e in self.events if not (drop and e is target)]


@pytest.fixture(scope="module")
def audited(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Audited:
    history = build_case_history(deployment, tmp_path_factory.mktemp("audit-cases"))
    desk, s = CaseDesk(history.led), deployment.signers
    r = desk.ledger.transact(s["c1"], desk.propose_service_level_call(NEW_LEVEL))  # the proposer approves at once
    pid = int(r.event("ServiceLevelProposed").args["proposalId"])
    desk.ledger.transact(s["c2"], desk.approve_service_level_call(pid))  # the threshold (2): applied
    assert desk.service_level(2) == NEW_LEVEL
    cid, _ = desk.raise_case(s["subdistrict"], 2, AREA, b"\x01" * 32, MEMBER_IDS["dept_a"])
    history.cases["new_level"] = cid
    manifest = Manifest.load(history.manifest)
    head = history.led.block_number()
    events = read_events(history.led, {REGISTRY: manifest.address(REGISTRY), NAME: manifest.address(NAME)},
                         manifest.contracts[REGISTRY].block_number, head)
    return Audited(deployment, history, manifest, events, head)


def case_rules(report: AuditReport | Collector) -> set[str]:
    return {f.rule for f in report.findings if f.rule.startswith("cases.")
            or f.rule == "state.replay-inconsistent" or (f.rule == "state.mismatch" and f.contract == NAME)}


# ------------------------------------------------------------------ the chain's own history


def test_the_chain_s_history_audits_clean_with_every_case_rule_checked(audited: Audited) -> None:
    report = audited.audit()
    assert case_rules(report) == set(), [f.model_dump() for f in report.findings if f.rule.startswith("cases.")]
    checked = {r.id: r.checked for r in report.rules}
    for rule in ("cases.actor-not-named", "cases.deadline-mismatch", "cases.transition-skipped",
                 "cases.dispatch-unauthorised", "cases.evaluation-not-raiser", "cases.escalation-invalid",
                 "cases.satisfaction-invalid", "cases.service-level-unapproved", "state.mismatch"):
        assert checked[rule] > 0, rule
    assert checked["cases.metrics-mismatch"] == 0  # no API given
    summary = report.summary["cases"]
    assert summary["cases"] == len(audited.history.cases) and summary["overdue"] >= 1
    assert summary["by_state"]["escalated"] == 1 and summary["by_state"]["closed_fixed"] == 1
    # the replay saw the council's change, and the dispatch under it
    replay, out = audited.replay(audited.events)
    assert out.findings == [] and replay.model.levels[2] == NEW_LEVEL
    dispatched = audited.case_event("new_level", "CaseDispatched")
    assert dispatched.args["ackDeadline"] == dispatched.block_time + NEW_LEVEL.ack_seconds


# ------------------------------------------------------------------ each rule made to fire


def _one_rule(audited: Audited, events: list[Event], rule: str) -> list[Any]:
    _, out = audited.replay(events)
    assert case_rules(out) == {rule}, [f.model_dump() for f in out.findings]
    return out.findings


def test_an_acknowledgement_by_an_unnamed_member_is_caught(audited: Audited) -> None:
    ack = audited.case_event("overdue", "CaseAcknowledged")  # the assisting 城管's
    outsider = MEMBER_IDS["enterprise"]
    [f] = _one_rule(audited, audited.forged(ack, memberId=outsider,
                                            account=audited.deployment.signers["enterprise"].address),
                    "cases.actor-not-named")
    assert f.records["member"] == outsider and f.tx_hash == ack.tx_hash


def test_deadlines_that_are_not_the_service_level_s_are_caught(audited: Audited) -> None:
    dispatch = audited.case_event("fixed", "CaseDispatched")
    [f] = _one_rule(audited, audited.forged(dispatch, ackDeadline=dispatch.args["ackDeadline"] + 3600),
                    "cases.deadline-mismatch")
    assert f.records["expected"][0] == dispatch.args["ackDeadline"]
    # the level in force at that block, not today's: the case dispatched before the council's change
    new_level = audited.case_event("new_level", "CaseDispatched")
    old = dispatch.block_time + 60  # category 2 before the change: acknowledge in 60 s
    assert dispatch.args["ackDeadline"] == old and new_level.args["ackDeadline"] - new_level.block_time == 45
    late = audited.case_event("late", "CaseAcknowledged")
    _one_rule(audited, audited.forged(late, late=False), "cases.deadline-mismatch")  # a late act recorded on time


def test_a_skipped_transition_is_caught(audited: Audited) -> None:
    ack = audited.case_event("reopened", "CaseAcknowledged")  # answered without acknowledging
    [f] = _one_rule(audited, audited.forged(ack, drop=True), "cases.transition-skipped")
    assert "without acknowledging" in f.message
    reopened = audited.case_event("reopened", "CaseReopened")  # a rejection that does not reopen
    [f] = _one_rule(audited, audited.forged(reopened, drop=True), "cases.transition-skipped")
    assert f.records["expected"] == "CaseReopened"


def test_a_case_raised_by_an_account_of_no_sub_district_is_caught(audited: Audited) -> None:
    raised = audited.case_event("awaiting", "CaseRaised")
    _one_rule(audited, audited.forged(raised, account=audited.deployment.signers["dept_a"].address),
              "cases.dispatch-unauthorised")


def test_an_evaluation_by_another_than_the_raiser_is_caught(audited: Audited) -> None:
    evaluated = audited.case_event("not_fixed", "CaseEvaluated")
    district = audited.deployment.signers["district"].address
    [f] = _one_rule(audited, audited.forged(evaluated, memberId=MEMBER_IDS["district"], account=district),
                    "cases.evaluation-not-raiser")
    assert f.records["raiser"] == MEMBER_IDS["subdistrict"]


def test_an_escalation_by_anyone_of_a_case_not_overdue_is_caught(audited: Audited) -> None:
    escalated = audited.case_event("escalated", "CaseEscalated")
    outsider = to_checksum_address(audited.deployment.signers["outsider"].address)
    _one_rule(audited, audited.forged(escalated, memberId=0, account=outsider), "cases.escalation-invalid")


def test_satisfaction_from_no_channel_is_caught(audited: Audited) -> None:
    recorded = audited.case_event("fixed", "SatisfactionRecorded")
    [f] = _one_rule(audited, audited.forged(recorded, memberId=MEMBER_IDS["dept_a"],
                                            account=audited.deployment.signers["dept_a"].address),
                    "cases.satisfaction-invalid")
    assert "not a Channel member" in f.message


def test_a_service_level_set_below_the_threshold_is_caught(audited: Audited) -> None:
    second = next(e for e in audited.events if e.name == "ServiceLevelApproved" and e.args["memberId"] == 2)
    [f] = _one_rule(audited, audited.forged(second, drop=True), "cases.service-level-unapproved")
    assert "1 council approvals, threshold 2" in f.message


def test_the_views_are_compared_with_the_replay(audited: Audited) -> None:
    """A history whose evaluation said 'not fixed' where the chain's says 'fixed': its replay
    disagrees with getCase and caseState at the head, in one batched round of view calls."""
    evaluated = audited.case_event("fixed", "CaseEvaluated")
    replay, out = audited.replay(audited.forged(evaluated, outcome=2))
    reads = Reads(audited.led, {n: c.address for n, c in audited.manifest.contracts.items()})
    head = header(audited.led, audited.head)
    assert head is not None
    checks = replay.checks(head.time)
    checks.compare(reads.calls(checks.calls(), audited.head), out, audited.head)
    views = {f.records["view"] for f in out.findings if f.rule == "state.mismatch"}
    assert views == {"getCase", "caseState"}, [f.model_dump() for f in out.findings]
    assert reads.requests <= 2  # batched, not one request per view


# ------------------------------------------------------------------ the metrics an API serves


def served(model: CaseModel, now: int, block: int, by: str) -> dict[str, Any]:
    """The body of GET /api/v1/cases/metrics?by= as the service presents it (its own presenter)."""
    from api.services.cases import tally_public

    return {"by": by, "at": now, "block_number": block, "rule": "docs/cases.md", "formulas": {},
            "total": tally_public("all", overall(model, now)).model_dump(),
            "data": [tally_public(k, t).model_dump() for k, t in tallies(model, now, by).items()]}  # type: ignore[arg-type]


def stub_api(bodies: dict[str, dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/cases/metrics")
    def metrics(by: str = "department") -> dict[str, Any]:
        return bodies[by]

    return app


@pytest.fixture
def honest(audited: Audited) -> dict[str, dict[str, Any]]:
    """What an honest API answers at the audited head (its index there)."""
    model = CaseModel.of(e for e in audited.events if e.contract == NAME)
    h = header(audited.led, audited.head)
    assert h is not None
    return {by: served(model, h.time, audited.head, by) for by in BY}


def test_metrics_served_equal_to_the_auditor_s_pass(audited: Audited, honest: dict[str, dict[str, Any]]) -> None:
    with LiveServer(app=stub_api(honest)) as api:
        report = audited.audit(to_block=audited.head, api_url=api.url)
    assert case_rules(report) == set(), [f.model_dump() for f in report.findings if f.rule.startswith("cases.")]
    checked = {r.id: r.checked for r in report.rules}
    assert checked["cases.metrics-mismatch"] > 3 * 2  # each grouping: its time, each group and the total
    assert set(report.summary["cases"]["api_metrics"]) == set(BY)
    assert report.options["api_url"] == api.url


def test_a_figure_or_a_moment_the_auditor_does_not_compute_is_caught(
    audited: Audited, honest: dict[str, dict[str, Any]]
) -> None:
    forged = {by: dict(body) for by, body in honest.items()}
    department = forged["department"]["data"][0]
    department["responses"] = {**department["responses"], "on_time": department["responses"]["on_time"] + 1}
    forged["month"] = {**forged["month"], "at": forged["month"]["at"] + 86_400}  # a day later: more overdue
    with LiveServer(app=stub_api(forged)) as api:
        report = audited.audit(to_block=audited.head, api_url=api.url)
        # the CLI: cogov audit verify --api-url, exit 1 naming the rule
        run = audit_verify(audited.history.manifest.parent, audited.deployment.ganache.config.url,
                           audited.history.manifest, "--api-url", api.url, "--to-block", str(audited.head))
    assert run.returncode == 1 and "cases.metrics-mismatch" in run.stdout, run.stdout + run.stderr
    found = [f for f in report.errors if f.rule == "cases.metrics-mismatch"]
    assert {f.records["by"] for f in found} == {"department", "month"} and not report.ok
    field = next(f for f in found if f.records.get("key") == department["key"])
    assert set(field.records["fields"]) == {"responses.on_time"}
    assert any("computed at time" in f.message for f in found if f.records["by"] == "month")


def test_an_api_that_cannot_be_read_is_a_violation(audited: Audited) -> None:
    from ledger.process import free_port

    report = audited.audit(to_block=audited.head, api_url=f"http://127.0.0.1:{free_port()}")
    found = [f for f in report.errors if f.rule == "cases.metrics-mismatch"]
    assert len(found) == len(BY) and all("could not be read" in f.message for f in found)

