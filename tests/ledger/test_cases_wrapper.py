"""The CaseDesk wrapper on Ganache, in the standard deployment: every write and read round-trips
through the transaction pipeline, a refusal is named before anything is signed, and the reducer
over the events the log scanner reads equals the views."""

from __future__ import annotations

import pytest

from ledger.cases import CaseDesk, CaseModel, CaseState, Evaluation, Satisfaction, ServiceLevel, Tally, tallies
from ledger.errors import ContractReverted
from ledger.events import deployment_events
from ledger.fund.docs import doc_hash
from ledger.logs import head_time
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache


def test_wrapper_round_trip(deployment: Deployment) -> None:
    led = deployment.ledger()
    desk, s = CaseDesk(led), deployment.signers
    assert desk.max_assisting() == 7 and desk.satisfaction_window() == 7 * 24 * 3600
    assert desk.service_level(1) == ServiceLevel(1, 1800, 7200)
    dept_a, dept_b = MEMBER_IDS["dept_a"], MEMBER_IDS["dept_b"]
    earlier = CaseModel.of(deployment_events(led, "CaseDesk"))  # the session's other tests' cases
    before = tallies(earlier, head_time(led), "department").get(dept_a, Tally())
    cid, r = desk.raise_case(s["subdistrict"], 2, 110105001001, doc_hash("满溢的垃圾桶"), dept_a, [dept_b],
                             report_hashes=[doc_hash("report-1")], channel_id=MEMBER_IDS["channel"])
    assert r.event("CaseDispatched").args["assistingIds"] == [dept_b]
    assert list(desk.team(cid)) == [dept_a, dept_b] and desk.case_state(cid) == CaseState.DISPATCHED
    with pytest.raises(ContractReverted) as info:
        desk.acknowledge(s["enterprise"], cid)
    assert info.value.error_name == "CaseNotNamed" and info.value.tx_hash is None  # refused before signing
    desk.acknowledge(s["dept_a"], cid)
    desk.acknowledge(s["dept_b"], cid)
    desk.answer(s["dept_b"], cid, doc_hash("住建委: 已清理"))
    desk.answer(s["dept_a"], cid, doc_hash("城管: 已清运"))
    desk.evaluate(s["subdistrict"], cid, Evaluation.FIXED)
    desk.record_satisfaction(s["channel"], cid, Satisfaction.SATISFIED)
    assert desk.assignment(cid, dept_b).answered is True

    back, _ = desk.raise_case(s["subdistrict"], 1, 110105001002, doc_hash("消防通道堵塞"), dept_b)
    desk.send_back(s["dept_b"], back, 3, MEMBER_IDS["enterprise"])
    desk.redispatch(s["subdistrict"], back, 1, dept_a)
    desk.escalate(s["subdistrict"], back)
    desk.redispatch(s["district"], back, 1, MEMBER_IDS["district"])  # the district takes it
    proposed = led.transact(s["c1"], desk.propose_service_level_call(ServiceLevel(5, 600, 3600)))
    proposal = int(proposed.event("ServiceLevelProposed").args["proposalId"])
    led.transact(s["c2"], desk.approve_service_level_call(proposal))
    assert desk.service_level(5) == ServiceLevel(5, 600, 3600)

    model = CaseModel.of(deployment_events(led, "CaseDesk"))
    now = head_time(led)
    cases = [desk.case(i) for i in range(1, desk.case_count() + 1)]
    assert [model.case(model.cases[c.id], now) for c in cases] == cases
    for member in (dept_a, dept_b, MEMBER_IDS["district"]):
        assert model.assignment(model.cases[back], member) == desk.assignment(back, member)
    assert desk.service_level(5) == ServiceLevel(5, 600, 3600)
    after = tallies(model, now, "department")[dept_a]  # this test's cases, beside the session's others
    assert (after.closings.closed - before.closings.closed, after.closings.fixed - before.closings.fixed) == (1, 1)
    assert after.satisfactions.satisfied - before.satisfactions.satisfied == 1
