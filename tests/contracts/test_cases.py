"""CaseDesk (街乡吹哨,部门报到): every transition and every refusal, with chain time moved
across every deadline; the role matrix generated from the ABI; the service levels' council votes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger import artifacts
from ledger.abi import decode_revert, revert_data_from_exception
from ledger.cases import CaseState, EscalationCause, Evaluation, ReopenCause, Satisfaction
from tests.contracts.conftest import (
    GAS,
    ROLE,
    CaseEnv,
    decoded_events,
    expect_revert,
    h,
    roles_mask,
    view_dict,
    web3_events,
)

S = CaseState
DAY = 24 * 3600


def block_time(e: CaseEnv, receipt: Any) -> int:
    return int(e.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def raised_and_acked(e: CaseEnv, **kw: Any) -> int:
    """A case with 城管 (lead) and 住建委 (assisting), both acknowledged."""
    cid = e.raise_case(**kw)
    e.send("chengguan", e.desk.functions.acknowledge(cid))
    e.send("zhujian", e.desk.functions.acknowledge(cid))
    return cid


def awaiting(e: CaseEnv, **kw: Any) -> int:
    """A case whose lead answered: AwaitingEvaluation."""
    cid = raised_and_acked(e, **kw)
    e.send("chengguan", e.desk.functions.answer(cid, h("evidence")))
    return cid


def closed(e: CaseEnv, outcome: Evaluation = Evaluation.FIXED, **kw: Any) -> int:
    cid = awaiting(e, **kw)
    e.send("subdistrict", e.desk.functions.evaluate(cid, outcome, 0))
    return cid


def sent_back(e: CaseEnv) -> int:
    """A case 城管 sent back naming 绿城物业: SentBack, with the raiser."""
    cid = e.raise_case()
    e.send("chengguan", e.desk.functions.sendBack(cid, 4, e.ids["property"]))
    return cid


def escalated(e: CaseEnv) -> int:
    cid = e.raise_case()
    e.send("subdistrict", e.desk.functions.escalate(cid))
    return cid


# ------------------------------------------------------------------ deployment


def _deploy_revert(e: CaseEnv, *args: Any) -> Any:
    art = artifacts.load("CaseDesk")
    factory = e.chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(*args).build_transaction({"from": e.chain.accounts[0], "gas": GAS, "nonce": 0})
    try:
        e.chain.w3.eth.call({"from": e.chain.accounts[0], "data": tx["data"], "gas": GAS})
    except Exception as exc:
        raise decode_revert(revert_data_from_exception(exc)) from exc


def test_deployment_parameters_and_service_levels(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    assert f.registry().call() == e.registry.address
    assert f.satisfactionWindow().call() == e.window
    assert f.MAX_ASSISTING().call() == 7
    assert f.caseCount().call() == 0 and f.proposalCount().call() == 0
    for cat, lv in e.levels.items():
        assert tuple(f.serviceLevel(cat).call()) == (lv.ack_seconds, lv.resolve_seconds)
    assert tuple(f.serviceLevel(99).call()) == (0, 0)
    events = web3_events(e.chain, e.desk)
    assert [x["args"] for x in events if x["event"] == "ServiceLevelSet"] == [
        {"category": lv.category, "oldAckSeconds": 0, "oldResolveSeconds": 0, "ackSeconds": lv.ack_seconds,
         "resolveSeconds": lv.resolve_seconds, "proposalId": 0}
        for lv in e.levels.values()
    ]
    assert [x["args"] for x in events if x["event"] == "CaseDeskDeployed"] == [
        {"registry": e.registry.address, "satisfactionWindow": e.window}
    ]


def test_deployment_refusals(case_env: CaseEnv) -> None:
    e, reg = case_env, case_env.registry.address
    with expect_revert("CaseZeroAddress"):
        _deploy_revert(e, "0x" + "00" * 20, 3600, [])
    for window in (3599, 365 * DAY + 1):
        with expect_revert("CaseInvalidWindow", window=window):
            _deploy_revert(e, reg, window, [])
    for cat, ack, resolve in [(1, 0, 60), (2, 61, 60), (3, 60, 365 * DAY + 1)]:
        with expect_revert("CaseInvalidServiceLevel", category=cat, ackSeconds=ack, resolveSeconds=resolve):
            _deploy_revert(e, reg, 3600, [(cat, ack, resolve)])


# ------------------------------------------------------------------ role matrix

CASE_ROLES: dict[str, str] = {
    "raiseCase": "SubDistrict",
    "acknowledge": "a department named in the current dispatch",
    "answer": "a department named in the current dispatch",
    "sendBack": "a department named in the current dispatch",
    "redispatch": "the raiser (SentBack) or District (Escalated)",
    "escalate": "the raiser; anyone once overdue",
    "evaluate": "the raiser",
    "recordSatisfaction": "Channel (the case's channel, if it names one)",
    "proposeServiceLevel": "Council",
    "approveServiceLevel": "Council",
}

Row = tuple[str, Callable[[], Any], str, dict[str, Any]]


def _unauthorised_cases(e: CaseEnv, cid: int, back: int, up: int, done: int) -> dict[str, list[Row]]:
    """Per function: (caller label, call, expected error, expected args)."""
    f, ids = e.desk.functions, e.ids
    cases: dict[str, list[Row]] = {name: [] for name in CASE_ROLES}
    for who in ("outsider", "chengguan", "district", "channel"):
        cases["raiseCase"].append((who, lambda: f.raiseCase(3, 1, h("d"), [], 0, ids["zhujian"], []),
                                   "CaseMissingRole", {"role": ROLE["SubDistrict"]}))
    for who in ("outsider", "subdistrict", "district", "weijian", "channel"):
        cases["acknowledge"].append((who, lambda: f.acknowledge(cid), "CaseNotNamed", {"caseId": cid}))
        cases["answer"].append((who, lambda: f.answer(cid, h("x")), "CaseNotNamed", {"caseId": cid}))
        cases["sendBack"].append((who, lambda: f.sendBack(cid, 1, ids["property"]), "CaseNotNamed", {"caseId": cid}))
    for who in ("other_subdistrict", "chengguan", "district", "outsider"):
        cases["redispatch"].append((who, lambda: f.redispatch(back, 3, ids["weijian"], []), "CaseNotRaiser",
                                    {"caseId": back}))
        cases["evaluate"].append((who, lambda: f.evaluate(cid, 0, 0), "CaseNotRaiser", {"caseId": cid}))
    for who in ("subdistrict", "chengguan", "outsider"):
        cases["redispatch"].append((who, lambda: f.redispatch(up, 3, ids["weijian"], []), "CaseMissingRole",
                                    {"role": ROLE["District"]}))
    for who in ("other_subdistrict", "chengguan", "district", "outsider"):
        cases["escalate"].append((who, lambda: f.escalate(cid), "CaseNotOverdue", {"caseId": cid}))
    for who in ("outsider", "chengguan", "subdistrict", "district"):
        cases["recordSatisfaction"].append((who, lambda: f.recordSatisfaction(done, 0), "CaseMissingRole",
                                            {"role": ROLE["Channel"]}))
    for who in ("subdistrict", "chengguan", "district", "outsider"):
        cases["proposeServiceLevel"].append((who, lambda: f.proposeServiceLevel(5, 60, 120), "CaseMissingRole",
                                             {"role": ROLE["Council"]}))
        cases["approveServiceLevel"].append((who, lambda: f.approveServiceLevel(1), "CaseMissingRole",
                                             {"role": ROLE["Council"]}))
    return cases


def test_every_unauthorised_caller_is_refused(case_env: CaseEnv) -> None:
    e = case_env
    e.send(e.council.members[0], e.desk.functions.proposeServiceLevel(5, 60, 120))  # proposal 1, open
    cid, back, up, done = e.raise_case(), sent_back(e), escalated(e), closed(e)
    cases = _unauthorised_cases(e, cid, back, up, done)
    assert set(cases) == set(CASE_ROLES)
    for name, rows in cases.items():
        assert rows, name
        for who, call, error, args in rows:
            with expect_revert(error, **args) as got:
                e.send(who, call())
            if "account" in got:
                assert got["account"].lower() == e.acct[who].lower(), (name, who)


def test_a_removed_department_can_no_longer_act(case_env: CaseEnv) -> None:
    e = case_env
    cid = e.raise_case()
    e.council.enact("RemoveMember", e.ids["chengguan"])
    with expect_revert("CaseNotNamed", caseId=cid, account=e.acct["chengguan"]):
        e.send("chengguan", e.desk.functions.acknowledge(cid))
    with expect_revert("CaseNotDepartment", memberId=e.ids["chengguan"]):
        e.raise_case()


# ------------------------------------------------------------------ raising


def test_raise_records_the_case_and_dispatches_it(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    reports = [h("report-1"), h("report-2")]
    r = e.send("subdistrict", f.raiseCase(2, 110105001001, h("满溢的垃圾桶"), reports, e.ids["channel"],
                                          e.ids["chengguan"], [e.ids["zhujian"], e.ids["weijian"]]))
    t = block_time(e, r)
    lv = e.levels[2]
    assert e.events(r, "CaseRaised") == [
        {"caseId": 1, "raiserId": e.ids["subdistrict"], "account": e.acct["subdistrict"], "areaCode": 110105001001,
         "descriptionHash": h("满溢的垃圾桶"), "reportHashes": reports, "channelId": e.ids["channel"]}
    ]
    assert e.events(r, "CaseDispatched") == [
        {"caseId": 1, "round": 1, "category": 2, "leadId": e.ids["chengguan"],
         "assistingIds": [e.ids["zhujian"], e.ids["weijian"]], "ackDeadline": t + lv.ack_seconds,
         "resolveDeadline": t + lv.resolve_seconds, "memberId": e.ids["subdistrict"], "account": e.acct["subdistrict"]}
    ]
    assert e.view(1) == {
        "id": 1, "raiserId": e.ids["subdistrict"], "leadId": e.ids["chengguan"], "channelId": e.ids["channel"],
        "areaCode": 110105001001, "category": 2, "descriptionHash": h("满溢的垃圾桶"),
        "ackDeadline": t + lv.ack_seconds, "resolveDeadline": t + lv.resolve_seconds,
        "resolveSeconds": lv.resolve_seconds, "closedAt": 0, "round": 1, "sendBacks": 0, "satisfaction": 0,
        "dissatisfactionReopened": False, "overdue": False, "state": S.DISPATCHED,
    }
    assert f.team(1).call() == [e.ids["chengguan"], e.ids["zhujian"], e.ids["weijian"]]
    assert _assignment(e, 1, "chengguan") == {"named": True, "lead": True, "acknowledged": False, "late": False,
                                              "answered": False}
    assert _assignment(e, 1, "zhujian")["lead"] is False
    assert _assignment(e, 1, "district") == {"named": False, "lead": False, "acknowledged": False, "late": False,
                                             "answered": False}
    assert f.caseCount().call() == 1
    assert r["gasUsed"] < 250_000


def _assignment(e: CaseEnv, cid: int, label: str) -> dict[str, Any]:
    return view_dict(e.desk, "assignment", e.desk.functions.assignment(cid, e.ids[label]).call())


def test_raise_refusals(case_env: CaseEnv) -> None:
    e, f, ids = case_env, case_env.desk.functions, case_env.ids
    lead = ids["chengguan"]

    def raise_(cat: int = 3, area: int = 1, desc: bytes = h("d"), lead_id: int = lead,
               assisting: list[int] | None = None) -> Any:
        return e.send("subdistrict", f.raiseCase(cat, area, desc, [], 0, lead_id, assisting or []))

    with expect_revert("CaseZeroReference"):
        raise_(desc=b"\0" * 32)
    with expect_revert("CaseZeroArea"):
        raise_(area=0)
    with expect_revert("CaseUnknownCategory", category=9):
        raise_(cat=9)
    with expect_revert("CaseTooManyDepartments", count=8, max=7):
        raise_(assisting=[ids["zhujian"]] * 8)
    for bad in (0, ids["property"], ids["district"], ids["subdistrict"], 999):
        with expect_revert("CaseNotDepartment", memberId=bad):
            raise_(lead_id=bad)
        with expect_revert("CaseNotDepartment", memberId=bad):
            raise_(assisting=[ids["zhujian"], bad])
    with expect_revert("CaseDuplicateDepartment", memberId=lead):
        raise_(assisting=[ids["zhujian"], lead])
    with expect_revert("CaseDuplicateDepartment", memberId=ids["zhujian"]):
        raise_(assisting=[ids["zhujian"], ids["weijian"], ids["zhujian"]])
    with expect_revert("CaseUnknownCase", caseId=1):
        e.chain.call(f.caseState(1))
    # Seven assisting departments (the most) are fine.
    depts = [e.chain.new_account() for _ in range(5)]
    extra = [e.council.admit(f"部门{i}", "Department", roles_mask("Department"), a) for i, a in enumerate(depts)]
    raise_(assisting=[ids["zhujian"], ids["weijian"], *extra])
    assert len(f.team(1).call()) == 8


# ------------------------------------------------------------------ acknowledge (报到)


def test_acknowledgements_on_time_and_late(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = e.raise_case(assisting=("zhujian", "weijian"))
    r = e.send("zhujian", f.acknowledge(cid))  # an assisting department: the state stays
    assert e.events(r, "CaseAcknowledged") == [
        {"caseId": cid, "memberId": e.ids["zhujian"], "account": e.acct["zhujian"], "lead": False, "late": False}
    ]
    assert e.state(cid) == S.DISPATCHED
    r = e.send("chengguan", f.acknowledge(cid))
    assert e.events(r, "CaseAcknowledged")[0]["lead"] is True
    assert e.state(cid) == S.ACKNOWLEDGED
    ack_deadline = e.view(cid)["ackDeadline"]
    e.chain.time_travel(ack_deadline - 1 - e.chain.now())
    r = e.send("weijian", f.acknowledge(cid))
    assert block_time(e, r) <= ack_deadline  # at the deadline is on time
    assert e.events(r, "CaseAcknowledged")[0]["late"] is False
    assert _assignment(e, cid, "weijian")["acknowledged"] is True
    for label in ("chengguan", "zhujian", "weijian"):
        with expect_revert("CaseAlreadyAcknowledged", caseId=cid, memberId=e.ids[label]):
            e.send(label, f.acknowledge(cid))


def test_a_late_acknowledgement_is_recorded_as_late(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = e.raise_case(category=1)
    e.chain.time_travel(e.levels[1].ack_seconds + 2)
    assert f.isOverdue(cid).call() is True
    r = e.send("chengguan", f.acknowledge(cid))
    assert e.events(r, "CaseAcknowledged")[0]["late"] is True
    assert _assignment(e, cid, "chengguan")["late"] is True
    assert e.state(cid) == S.ACKNOWLEDGED and f.isOverdue(cid).call() is False  # until the resolve deadline
    r = e.send("zhujian", f.acknowledge(cid))
    assert e.events(r, "CaseAcknowledged")[0]["late"] is True


def test_acknowledge_refused_outside_the_departments_states(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    for cid, state in ((sent_back(e), S.SENT_BACK), (escalated(e), S.ESCALATED)):
        with expect_revert("CaseWrongState", caseId=cid, state=state):
            e.send("zhujian", f.acknowledge(cid))
    cid = e.raise_case(assisting=("zhujian", "weijian"))
    e.send("chengguan", f.acknowledge(cid))
    e.send("chengguan", f.answer(cid, h("ev")))
    e.send("weijian", f.acknowledge(cid))  # after the lead's answer: still with the departments
    e.send("subdistrict", f.evaluate(cid, Evaluation.NOT_FIXED, 0))
    with expect_revert("CaseWrongState", caseId=cid, state=S.CLOSED_NOT_FIXED):
        e.send("zhujian", f.acknowledge(cid))
    with expect_revert("CaseUnknownCase", caseId=99):
        e.send("chengguan", f.acknowledge(99))


# ------------------------------------------------------------------ answer


def test_answers_and_evaluation_to_closed_fixed(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = e.raise_case()
    with expect_revert("CaseNotAcknowledged", caseId=cid, memberId=e.ids["zhujian"]):
        e.send("zhujian", f.answer(cid, h("ev")))
    with expect_revert("CaseNotAcknowledged", caseId=cid, memberId=e.ids["chengguan"]):
        e.send("chengguan", f.answer(cid, h("ev")))
    e.send("chengguan", f.acknowledge(cid))
    e.send("zhujian", f.acknowledge(cid))
    with expect_revert("CaseZeroReference"):
        e.send("zhujian", f.answer(cid, b"\0" * 32))
    r = e.send("zhujian", f.answer(cid, h("住建委的部分")))
    assert e.events(r, "CaseAnswered") == [
        {"caseId": cid, "memberId": e.ids["zhujian"], "account": e.acct["zhujian"], "evidenceHash": h("住建委的部分"),
         "lead": False, "late": False}
    ]
    assert e.state(cid) == S.ACKNOWLEDGED
    with expect_revert("CaseAlreadyAnswered", caseId=cid, memberId=e.ids["zhujian"]):
        e.send("zhujian", f.answer(cid, h("again")))
    r = e.send("chengguan", f.answer(cid, h("清运完毕")))
    assert e.events(r, "CaseAnswered")[0]["lead"] is True
    assert e.state(cid) == S.AWAITING_EVALUATION
    with expect_revert("CaseAlreadyAnswered", caseId=cid, memberId=e.ids["chengguan"]):
        e.send("chengguan", f.answer(cid, h("again")))
    assert f.isOverdue(cid).call() is False
    e.chain.time_travel(e.levels[3].resolve_seconds + 1)  # waiting for the raiser: not overdue
    assert f.isOverdue(cid).call() is False
    with expect_revert("CaseWrongState", caseId=cid, state=S.AWAITING_EVALUATION):
        e.send("subdistrict", f.escalate(cid))
    r = e.send("subdistrict", f.evaluate(cid, Evaluation.FIXED, 0))
    assert e.events(r, "CaseEvaluated") == [
        {"caseId": cid, "memberId": e.ids["subdistrict"], "account": e.acct["subdistrict"],
         "outcome": Evaluation.FIXED, "reasonCode": 0}
    ]
    assert e.state(cid) == S.CLOSED_FIXED and e.view(cid)["closedAt"] == block_time(e, r)
    for label, fn in (("chengguan", f.answer(cid, h("x"))), ("subdistrict", f.evaluate(cid, 0, 0)),
                      ("chengguan", f.sendBack(cid, 1, e.ids["property"]))):
        with expect_revert("CaseWrongState", caseId=cid, state=S.CLOSED_FIXED):
            e.send(label, fn)


def test_a_late_answer_is_recorded_as_late(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = raised_and_acked(e, category=1)
    e.chain.time_travel(e.levels[1].resolve_seconds + 1)
    assert f.isOverdue(cid).call() is True
    r = e.send("zhujian", f.answer(cid, h("ev")))
    assert e.events(r, "CaseAnswered")[0]["late"] is True
    r = e.send("chengguan", f.answer(cid, h("ev")))
    assert e.events(r, "CaseAnswered")[0]["late"] is True
    assert f.isOverdue(cid).call() is False


def test_not_fixed_is_its_own_closed_state(case_env: CaseEnv) -> None:
    e = case_env
    cid = closed(e, Evaluation.NOT_FIXED)
    assert e.state(cid) == S.CLOSED_NOT_FIXED
    assert e.view(cid)["closedAt"] > 0


def test_a_rejected_answer_reopens_with_a_new_resolve_deadline(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = raised_and_acked(e)
    e.send("zhujian", f.answer(cid, h("part")))
    e.send("chengguan", f.answer(cid, h("first")))
    e.chain.time_travel(3 * DAY)
    with expect_revert("CaseWrongState", caseId=cid, state=S.AWAITING_EVALUATION):
        e.send("chengguan", f.sendBack(cid, 1, e.ids["property"]))
    r = e.send("subdistrict", f.evaluate(cid, Evaluation.REJECTED, 12))
    t = block_time(e, r)
    assert e.events(r, "CaseEvaluated")[0]["outcome"] == Evaluation.REJECTED
    assert e.events(r, "CaseEvaluated")[0]["reasonCode"] == 12
    assert e.events(r, "CaseReopened") == [
        {"caseId": cid, "cause": ReopenCause.REJECTED, "resolveDeadline": t + e.levels[3].resolve_seconds,
         "memberId": e.ids["subdistrict"]}
    ]
    v = e.view(cid)
    assert v["state"] == S.REOPENED and v["resolveDeadline"] == t + e.levels[3].resolve_seconds
    assert v["closedAt"] == 0 and v["round"] == 1
    # Every department may answer again; the acknowledgements stand.
    assert _assignment(e, cid, "zhujian")["answered"] is False
    with expect_revert("CaseAlreadyAcknowledged", caseId=cid, memberId=e.ids["chengguan"]):
        e.send("chengguan", f.acknowledge(cid))
    e.send("zhujian", f.answer(cid, h("part-2")))
    e.send("chengguan", f.answer(cid, h("second")))
    assert e.state(cid) == S.AWAITING_EVALUATION
    e.send("subdistrict", f.evaluate(cid, Evaluation.FIXED, 0))
    assert e.state(cid) == S.CLOSED_FIXED
    with expect_revert("CaseWrongState", caseId=cid, state=S.CLOSED_FIXED):
        e.send("subdistrict", f.evaluate(cid, 0, 0))


def test_evaluate_refused_before_the_answer(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = raised_and_acked(e)
    with expect_revert("CaseWrongState", caseId=cid, state=S.ACKNOWLEDGED):
        e.send("subdistrict", f.evaluate(cid, Evaluation.FIXED, 0))


# ------------------------------------------------------------------ send back (退单) and re-dispatch


def test_send_back_then_redispatch_with_new_deadlines(case_env: CaseEnv) -> None:
    e, f, ids = case_env, case_env.desk.functions, case_env.ids
    cid = e.raise_case()
    e.send("chengguan", f.acknowledge(cid))
    with expect_revert("CaseSelfResponsible", caseId=cid, memberId=ids["zhujian"]):
        e.send("zhujian", f.sendBack(cid, 4, ids["zhujian"]))
    with expect_revert("CaseUnknownMember", memberId=999):
        e.send("zhujian", f.sendBack(cid, 4, 999))
    r = e.send("zhujian", f.sendBack(cid, 4, ids["property"]))  # an assisting department sends it back
    assert e.events(r, "CaseSentBack") == [
        {"caseId": cid, "memberId": ids["zhujian"], "account": e.acct["zhujian"], "reasonCode": 4,
         "responsibleId": ids["property"], "sendBacks": 1}
    ]
    assert e.events(r, "CaseEscalated") == []
    assert e.state(cid) == S.SENT_BACK
    for label, fn in (("chengguan", f.acknowledge(cid)), ("chengguan", f.answer(cid, h("x"))),
                      ("chengguan", f.sendBack(cid, 1, ids["property"]))):
        with expect_revert("CaseWrongState", caseId=cid, state=S.SENT_BACK):
            e.send(label, fn)
    e.chain.time_travel(3600)
    with expect_revert("CaseUnknownCategory", category=9):
        e.send("subdistrict", f.redispatch(cid, 9, ids["weijian"], []))
    r = e.send("subdistrict", f.redispatch(cid, 1, ids["weijian"], [ids["zhujian"]]))
    t = block_time(e, r)
    assert e.events(r, "CaseDispatched") == [
        {"caseId": cid, "round": 2, "category": 1, "leadId": ids["weijian"], "assistingIds": [ids["zhujian"]],
         "ackDeadline": t + e.levels[1].ack_seconds, "resolveDeadline": t + e.levels[1].resolve_seconds,
         "memberId": ids["subdistrict"], "account": e.acct["subdistrict"]}
    ]
    v = e.view(cid)
    assert (v["state"], v["round"], v["category"], v["leadId"]) == (S.DISPATCHED, 2, 1, ids["weijian"])
    assert f.team(cid).call() == [ids["weijian"], ids["zhujian"]]
    # The first dispatch's lead is no longer named; the acknowledgements start afresh.
    with expect_revert("CaseNotNamed", caseId=cid, account=e.acct["chengguan"]):
        e.send("chengguan", f.answer(cid, h("x")))
    assert _assignment(e, cid, "zhujian")["acknowledged"] is False
    e.send("zhujian", f.acknowledge(cid))
    with expect_revert("CaseWrongState", caseId=cid, state=S.DISPATCHED):
        e.send("subdistrict", f.redispatch(cid, 3, ids["chengguan"], []))


def test_a_second_send_back_escalates_to_the_district(case_env: CaseEnv) -> None:
    e, f, ids = case_env, case_env.desk.functions, case_env.ids
    cid = sent_back(e)
    e.send("subdistrict", f.redispatch(cid, 3, ids["zhujian"], []))
    r = e.send("zhujian", f.sendBack(cid, 5, ids["property"]))
    assert e.events(r, "CaseSentBack")[0]["sendBacks"] == 2
    assert e.events(r, "CaseEscalated") == [
        {"caseId": cid, "cause": EscalationCause.SENT_BACK_TWICE, "memberId": ids["zhujian"],
         "account": e.acct["zhujian"]}
    ]
    assert e.state(cid) == S.ESCALATED
    with expect_revert("CaseWrongState", caseId=cid, state=S.ESCALATED):
        e.send("subdistrict", f.escalate(cid))


def test_a_send_back_naming_no_owner_escalates_at_once(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = e.raise_case()
    r = e.send("chengguan", f.sendBack(cid, 9, 0))
    assert e.events(r, "CaseSentBack")[0]["responsibleId"] == 0
    assert e.events(r, "CaseEscalated")[0]["cause"] == EscalationCause.NO_OWNER
    assert e.state(cid) == S.ESCALATED


def test_the_district_redispatches_or_takes_the_case(case_env: CaseEnv) -> None:
    e, f, ids = case_env, case_env.desk.functions, case_env.ids
    cid = escalated(e)
    with expect_revert("CaseNotDepartment", memberId=ids["property"]):
        e.send("district", f.redispatch(cid, 3, ids["property"], []))
    with expect_revert("CaseNotDepartment", memberId=ids["district"]):  # itself only as the lead
        e.send("district", f.redispatch(cid, 3, ids["weijian"], [ids["district"]]))
    r = e.send("district", f.redispatch(cid, 3, ids["weijian"], []))
    assert e.events(r, "CaseDispatched")[0]["memberId"] == ids["district"]
    assert e.state(cid) == S.DISPATCHED
    # Taken by the district itself: it acts as the lead; the raiser still evaluates.
    cid2 = escalated(e)
    e.send("district", f.redispatch(cid2, 3, ids["district"], [ids["chengguan"]]))
    e.send("district", f.acknowledge(cid2))
    e.send("district", f.answer(cid2, h("兜底处置")))
    assert e.state(cid2) == S.AWAITING_EVALUATION
    e.send("subdistrict", f.evaluate(cid2, Evaluation.FIXED, 0))
    assert e.state(cid2) == S.CLOSED_FIXED


# ------------------------------------------------------------------ escalation and overdue


def test_the_raiser_escalates_at_will_others_only_when_overdue(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = e.raise_case(category=1)
    v = e.view(cid)
    deadlines = {"ackDeadline": v["ackDeadline"], "resolveDeadline": v["resolveDeadline"]}
    with expect_revert("CaseNotOverdue", caseId=cid, **deadlines):
        e.send("outsider", f.escalate(cid))
    r = e.send("subdistrict", f.escalate(cid))
    assert e.events(r, "CaseEscalated") == [
        {"caseId": cid, "cause": EscalationCause.BY_RAISER, "memberId": e.ids["subdistrict"],
         "account": e.acct["subdistrict"]}
    ]


def test_overdue_is_derived_from_the_deadlines_in_every_open_state(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    lv = e.levels[1]
    dispatched = e.raise_case(category=1)
    acked = e.raise_case(category=1)
    e.send("chengguan", f.acknowledge(acked))
    back = e.raise_case(category=1)
    e.send("chengguan", f.sendBack(back, 2, e.ids["property"]))
    reopened = awaiting(e, category=1)
    e.send("subdistrict", f.evaluate(reopened, Evaluation.REJECTED, 1))
    cases = (dispatched, acked, back, reopened)
    assert [f.isOverdue(c).call() for c in cases] == [False] * 4
    e.chain.time_travel(lv.ack_seconds + 2)  # past the acknowledge deadline only
    assert [f.isOverdue(c).call() for c in cases] == [True, False, False, False]
    assert e.view(dispatched)["overdue"] is True
    for c in (acked, back, reopened):
        with expect_revert("CaseNotOverdue", caseId=c):
            e.send("outsider", f.escalate(c))
    e.chain.time_travel(lv.resolve_seconds)  # past every resolve deadline
    assert [f.isOverdue(c).call() for c in cases] == [True] * 4
    for c in cases:
        r = e.send("outsider", f.escalate(c))
        assert e.events(r, "CaseEscalated") == [
            {"caseId": c, "cause": EscalationCause.OVERDUE, "memberId": 0, "account": e.acct["outsider"]}
        ]
        assert e.state(c) == S.ESCALATED and f.isOverdue(c).call() is False


def test_deadlines_are_fixed_at_dispatch(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = sent_back(e)
    before = e.view(cid)
    c0, c1 = e.council.members[0], e.council.members[1]
    e.send(c0, f.proposeServiceLevel(3, 60, 600))
    e.send(c1, f.approveServiceLevel(1))
    assert tuple(f.serviceLevel(3).call()) == (60, 600)
    assert e.view(cid) == before
    r = e.send("subdistrict", f.redispatch(cid, 3, e.ids["weijian"], []))
    t = block_time(e, r)
    assert (e.view(cid)["ackDeadline"], e.view(cid)["resolveDeadline"]) == (t + 60, t + 600)


# ------------------------------------------------------------------ residents' satisfaction


def test_satisfaction_within_the_window_once_per_closing(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = closed(e, channel="channel")
    with expect_revert("CaseNotChannel", caseId=cid, account=e.acct["other_channel"]):
        e.send("other_channel", f.recordSatisfaction(cid, Satisfaction.SATISFIED))
    r = e.send("channel", f.recordSatisfaction(cid, Satisfaction.BASICALLY_SATISFIED))
    assert e.events(r, "SatisfactionRecorded") == [
        {"caseId": cid, "memberId": e.ids["channel"], "account": e.acct["channel"],
         "level": Satisfaction.BASICALLY_SATISFIED, "reopened": False}
    ]
    assert e.view(cid)["satisfaction"] == 1 + Satisfaction.BASICALLY_SATISFIED
    with expect_revert("CaseSatisfactionRecorded", caseId=cid):
        e.send("channel", f.recordSatisfaction(cid, Satisfaction.DISSATISFIED))
    # No channel named: any Channel member; after the window, none.
    other = closed(e)
    until = e.view(other)["closedAt"] + e.window
    e.chain.time_travel(until - e.chain.now())
    e.send("other_channel", f.recordSatisfaction(other, Satisfaction.SATISFIED))
    late = closed(e)
    e.chain.time_travel(e.window + 2)
    with expect_revert("CaseSatisfactionWindowClosed", caseId=late, closedUntil=e.view(late)["closedAt"] + e.window):
        e.send("channel", f.recordSatisfaction(late, Satisfaction.SATISFIED))
    waiting = awaiting(e)
    with expect_revert("CaseWrongState", caseId=waiting, state=S.AWAITING_EVALUATION):
        e.send("channel", f.recordSatisfaction(waiting, Satisfaction.SATISFIED))


def test_dissatisfied_reopens_once(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    cid = closed(e, Evaluation.NOT_FIXED)
    r = e.send("channel", f.recordSatisfaction(cid, Satisfaction.DISSATISFIED))
    t = block_time(e, r)
    assert e.events(r, "SatisfactionRecorded")[0]["reopened"] is True
    assert e.events(r, "CaseReopened") == [
        {"caseId": cid, "cause": ReopenCause.DISSATISFIED, "resolveDeadline": t + e.levels[3].resolve_seconds,
         "memberId": e.ids["channel"]}
    ]
    v = e.view(cid)
    assert (v["state"], v["satisfaction"], v["dissatisfactionReopened"]) == (S.REOPENED, 0, True)
    e.send("chengguan", f.answer(cid, h("again")))
    e.send("subdistrict", f.evaluate(cid, Evaluation.FIXED, 0))
    r = e.send("channel", f.recordSatisfaction(cid, Satisfaction.DISSATISFIED))
    assert e.events(r, "SatisfactionRecorded")[0]["reopened"] is False and e.events(r, "CaseReopened") == []
    assert e.state(cid) == S.CLOSED_FIXED and e.view(cid)["satisfaction"] == 1 + Satisfaction.DISSATISFIED


# ------------------------------------------------------------------ service levels by the council


def test_a_service_level_changes_only_with_the_council_threshold(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    c0, c1, c2 = e.council.members
    with expect_revert("CaseInvalidServiceLevel", category=5, ackSeconds=700, resolveSeconds=600):
        e.send(c0, f.proposeServiceLevel(5, 700, 600))
    r = e.send(c0, f.proposeServiceLevel(5, 600, 7200))
    t = block_time(e, r)
    lifetime = e.registry.functions.proposalLifetime().call()
    assert e.events(r, "ServiceLevelProposed") == [
        {"proposalId": 1, "category": 5, "ackSeconds": 600, "resolveSeconds": 7200, "memberId": 1, "account": c0,
         "expiresAt": t + lifetime}
    ]
    assert e.events(r, "ServiceLevelApproved") == [{"proposalId": 1, "memberId": 1, "account": c0}]
    assert e.events(r, "ServiceLevelSet") == []  # 1 of 2
    assert tuple(f.serviceLevel(5).call()) == (0, 0) and f.proposalState(1).call() == 0
    with expect_revert("CaseAlreadyApproved", proposalId=1, memberId=1):
        e.send(c0, f.approveServiceLevel(1))
    r = e.send(c1, f.approveServiceLevel(1))
    assert e.events(r, "ServiceLevelSet") == [
        {"category": 5, "oldAckSeconds": 0, "oldResolveSeconds": 0, "ackSeconds": 600, "resolveSeconds": 7200,
         "proposalId": 1}
    ]
    p = view_dict(e.desk, "getProposal", f.getProposal(1).call())
    assert (p["approvers"], p["approvals"], p["state"], p["proposerId"]) == ([1, 2], 2, 1, 1)
    with expect_revert("CaseProposalNotOpen", proposalId=1, state=1):
        e.send(c2, f.approveServiceLevel(1))
    assert e.raise_case(category=5) == 1
    # Retiring a category: no new dispatch in it.
    e.send(c0, f.proposeServiceLevel(5, 0, 0))
    e.send(c2, f.approveServiceLevel(2))
    with expect_revert("CaseUnknownCategory", category=5):
        e.raise_case(category=5)
    with expect_revert("CaseUnknownProposal", proposalId=3):
        e.send(c0, f.approveServiceLevel(3))


def test_a_proposal_counts_only_the_council_of_now_and_expires(case_env: CaseEnv) -> None:
    e, f = case_env, case_env.desk.functions
    c0, c1, c2 = e.council.members
    e.send(c0, f.proposeServiceLevel(3, 60, 120))  # proposal 1
    e.council.enact("RevokeRole", 1, ROLE["Council"])  # c0 leaves the council: its approval lapses
    e.send(c1, f.approveServiceLevel(1))
    assert f.proposalState(1).call() == 0 and tuple(f.serviceLevel(3).call()) != (60, 120)
    assert view_dict(e.desk, "getProposal", f.getProposal(1).call())["approvals"] == 1
    with expect_revert("CaseMissingRole", account=c0, role=ROLE["Council"]):
        e.send(c0, f.proposeServiceLevel(3, 60, 120))
    e.send(c2, f.approveServiceLevel(1))
    assert f.proposalState(1).call() == 1 and tuple(f.serviceLevel(3).call()) == (60, 120)
    e.send(c1, f.proposeServiceLevel(4, 60, 120))  # proposal 2
    e.chain.time_travel(e.registry.functions.proposalLifetime().call() + 2)
    assert f.proposalState(2).call() == 2
    with expect_revert("CaseProposalNotOpen", proposalId=2, state=2):
        e.send(c2, f.approveServiceLevel(2))


# ------------------------------------------------------------------ the kernel's codec, gas


def test_the_kernel_decodes_every_case_event_as_web3_does(case_env: CaseEnv) -> None:
    e = case_env
    e.raise_case(assisting=("zhujian", "weijian"), reports=[h("r1"), h("r2"), h("r3")], channel="channel")
    closed(e)
    sent_back(e)
    theirs = web3_events(e.chain, e.desk)
    ours = decoded_events(e.chain, e.desk, "CaseDesk")
    assert [(x.name, dict(x.args)) for x in ours] == [(x["event"], x["args"]) for x in theirs]
    assert {x.name for x in ours} >= {"CaseRaised", "CaseDispatched", "CaseAcknowledged", "CaseAnswered",
                                      "CaseEvaluated", "CaseSentBack", "ServiceLevelSet", "CaseDeskDeployed"}


def test_gas_of_every_transition_is_within_the_aims(case_env: CaseEnv) -> None:
    """Raising with two departments under 250,000; every other case transition under 80,000."""
    e, f, ids = case_env, case_env.desk.functions, case_env.ids
    gas: dict[str, int] = {}

    def tx(key: str, who: str, fn: Any) -> None:
        gas[key] = int(e.send(who, fn)["gasUsed"])

    tx("raiseCase", "subdistrict", f.raiseCase(3, 110105001001, h("d"), [h("r1"), h("r2")], ids["channel"],
                                               ids["chengguan"], [ids["zhujian"]]))
    tx("acknowledge", "chengguan", f.acknowledge(1))
    tx("acknowledge (assisting)", "zhujian", f.acknowledge(1))
    tx("answer (assisting)", "zhujian", f.answer(1, h("a")))
    tx("answer", "chengguan", f.answer(1, h("b")))
    tx("evaluate (rejected)", "subdistrict", f.evaluate(1, Evaluation.REJECTED, 1))
    e.send("chengguan", f.answer(1, h("c")))
    tx("evaluate (fixed)", "subdistrict", f.evaluate(1, Evaluation.FIXED, 0))
    tx("recordSatisfaction (reopens)", "channel", f.recordSatisfaction(1, Satisfaction.DISSATISFIED))
    cid = e.raise_case()
    tx("sendBack", "chengguan", f.sendBack(cid, 1, ids["property"]))
    tx("redispatch", "subdistrict", f.redispatch(cid, 3, ids["weijian"], [ids["zhujian"]]))
    tx("sendBack (escalates)", "weijian", f.sendBack(cid, 1, ids["property"]))
    tx("redispatch (district)", "district", f.redispatch(cid, 1, ids["district"], [ids["chengguan"]]))
    e.chain.time_travel(DAY)
    tx("escalate (overdue)", "outsider", f.escalate(cid))
    assert gas["raiseCase"] < 250_000, gas
    assert all(v < 80_000 for k, v in gas.items() if k != "raiseCase"), gas


def test_a_case_stops_at_255_dispatches(case_env: CaseEnv) -> None:
    e, f, ids = case_env, case_env.desk.functions, case_env.ids
    cid = e.raise_case()
    for _ in range(254):
        e.send("subdistrict", f.escalate(cid))
        e.send("district", f.redispatch(cid, 3, ids["chengguan"], []))
    assert e.view(cid)["round"] == 255
    e.send("subdistrict", f.escalate(cid))
    with expect_revert("CaseLimitReached", caseId=cid):
        e.send("district", f.redispatch(cid, 3, ids["chengguan"], []))
