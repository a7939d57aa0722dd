"""The cases' reducer (ledger.cases.model) against CaseDesk's own views on the in-process chain,
through every transition and through random histories; the published metrics
(ledger.cases.metrics) on a history whose figures are worked out by hand."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.abi.records import record_from_view
from ledger.cases import (
    Assignment,
    Case,
    CaseModel,
    CaseState,
    Evaluation,
    Rate,
    Satisfaction,
    case_metrics,
    month_of,
)
from ledger.errors import ContractReverted
from ledger.testing.evm import Chain, Council, deploy_registry
from tests.contracts.conftest import CaseEnv, decoded_events, h, view_dict

DEPARTMENTS = ("chengguan", "zhujian", "weijian")


@pytest.fixture(scope="module")
def env() -> CaseEnv:
    chain = Chain()
    council = chain.accounts[1:4]
    registry = deploy_registry(chain, council)
    return CaseEnv(chain, registry, Council(chain, registry, council))


@pytest.fixture
def e(env: CaseEnv) -> Iterator[CaseEnv]:
    with env.chain.snapshot():
        yield env


def fold(e: CaseEnv) -> CaseModel:
    return CaseModel.of(decoded_events(e.chain, e.desk, "CaseDesk"))


def assert_matches_the_views(e: CaseEnv) -> CaseModel:
    """Every case and every member's assignment as the contract's views answer them now."""
    model, now, f = fold(e), e.chain.now(), e.desk.functions
    assert len(model.cases) == f.caseCount().call()
    for cid in model.cases:
        assert model.case(cid, now) == record_from_view(Case, e.view(cid)), f"case {cid}"
        for label in (*DEPARTMENTS, "district", "subdistrict"):
            raw = view_dict(e.desk, "assignment", f.assignment(cid, e.ids[label]).call())
            assert model.assignment(cid, e.ids[label]) == record_from_view(Assignment, raw), (cid, label)
    for cat, level in model.levels.items():
        assert (level.ack_seconds, level.resolve_seconds) == tuple(f.serviceLevel(cat).call())
    assert model.satisfaction_window == e.window and model.registry == e.registry.address
    return model


def test_the_reducer_follows_every_transition(e: CaseEnv) -> None:
    f, ids = e.desk.functions, e.ids
    assert_matches_the_views(e)
    one = e.raise_case(category=1, assisting=("zhujian", "weijian"), reports=[h("r1"), h("r2")], channel="channel")
    assert fold(e).cases[one].report_hashes == (h("r1"), h("r2"))
    steps = [
        ("zhujian", f.acknowledge(one)), ("chengguan", f.acknowledge(one)), ("zhujian", f.answer(one, h("z"))),
        ("chengguan", f.answer(one, h("c"))), ("subdistrict", f.evaluate(one, Evaluation.REJECTED, 3)),
        ("chengguan", f.answer(one, h("c2"))), ("subdistrict", f.evaluate(one, Evaluation.NOT_FIXED, 0)),
        ("channel", f.recordSatisfaction(one, Satisfaction.DISSATISFIED)),
        ("chengguan", f.answer(one, h("c3"))), ("subdistrict", f.evaluate(one, Evaluation.FIXED, 0)),
        ("channel", f.recordSatisfaction(one, Satisfaction.SATISFIED)),
    ]
    for who, fn in steps:
        e.send(who, fn)
        assert_matches_the_views(e)
    two = e.raise_case()
    for who, fn in [("chengguan", f.sendBack(two, 2, ids["property"])),
                    ("subdistrict", f.redispatch(two, 2, ids["weijian"], [ids["chengguan"]])),
                    ("weijian", f.sendBack(two, 2, ids["property"])),
                    ("district", f.redispatch(two, 1, ids["district"], [ids["zhujian"]])),
                    ("district", f.acknowledge(two))]:
        e.send(who, fn)
        assert_matches_the_views(e)
    three = e.raise_case(category=1)
    e.send("chengguan", f.sendBack(three, 2, ids["property"]))  # SentBack: overdue too once its deadline passes
    e.chain.time_travel(3 * 3600)  # two's resolve deadline (emergency: 2 h) passes: overdue
    model = assert_matches_the_views(e)
    assert model.case(two, e.chain.now()).overdue is True and model.case(three, e.chain.now()).overdue is True
    e.send("outsider", f.escalate(two))
    e.send(e.council.members[0], f.proposeServiceLevel(3, 60, 120))
    e.send(e.council.members[1], f.approveServiceLevel(1))
    model = assert_matches_the_views(e)
    assert model.cases[two].state == CaseState.ESCALATED and model.levels[3].resolve_seconds == 120


# Actions of a random history: (function, who picks the caller, argument seed).
ACTIONS = ("raise", "acknowledge", "answer", "sendBack", "redispatch", "escalate", "evaluate", "satisfaction", "time")


def _act(e: CaseEnv, action: str, seed: int) -> None:
    f, ids = e.desk.functions, e.ids
    count = f.caseCount().call()
    cid = count - seed % min(count, 3) if count else 0
    team = [ids[d] for d in DEPARTMENTS]
    lead, helper = team[seed % 3], team[(seed // 3) % 3]
    members = [*DEPARTMENTS, "district", "subdistrict"]
    # Mostly a member of the case's current team, so that histories go deep.
    on_team = [label for label in members if cid and ids[label] in f.team(cid).call()]
    dept = on_team[(seed // 9) % len(on_team)] if on_team and seed % 5 else DEPARTMENTS[(seed // 9) % 3]
    calls = {
        "raise": ("subdistrict", lambda: f.raiseCase(1 + seed % 3, 7, h("d"), [], 0, lead, [helper])),
        "acknowledge": (dept, lambda: f.acknowledge(cid)),
        "answer": (dept, lambda: f.answer(cid, h(str(seed)))),
        "sendBack": (dept, lambda: f.sendBack(cid, 1, 0 if seed % 4 == 0 else ids["property"])),
        "redispatch": ("district" if seed % 2 else "subdistrict", lambda: f.redispatch(cid, 1, lead, [helper])),
        "escalate": (members[seed % len(members)], lambda: f.escalate(cid)),
        "evaluate": ("subdistrict", lambda: f.evaluate(cid, seed % 3, 0)),
        "satisfaction": ("channel", lambda: f.recordSatisfaction(cid, seed % 3)),
    }
    if action == "time":
        e.chain.time_travel(1 + seed % (5 * 3600))
        return
    if action != "raise" and not cid:
        return
    who, call = calls[action]
    with contextlib.suppress(ContractReverted):  # a refusal changes nothing: the comparison shows it
        e.send(who, call())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 2**16)), min_size=4, max_size=30))
def test_the_reducer_equals_the_views_after_random_histories(env: CaseEnv, history: list[tuple[str, int]]) -> None:
    with env.chain.snapshot():
        env.raise_case()
        for action, seed in history:
            _act(env, action, seed)
        assert_matches_the_views(env)


# ------------------------------------------------------------------ the published metrics


def test_metrics_follow_the_published_rule(e: CaseEnv) -> None:
    f, ids = e.desk.functions, e.ids
    lv = e.levels[1]  # emergency: 30 min to acknowledge, 2 h to resolve
    c1 = e.raise_case(category=1, assisting=())  # 城管: on time, fixed, 满意
    c2 = e.raise_case(category=1, assisting=("zhujian",))  # 城管 late, 住建委 never: open, overdue
    c4 = e.raise_case(category=1, lead="weijian", assisting=())  # 卫健委: not fixed, 不满意 -> reopened, overdue
    for who, fn in [("chengguan", f.acknowledge(c1)), ("chengguan", f.answer(c1, h("a"))),
                    ("subdistrict", f.evaluate(c1, Evaluation.FIXED, 0)),
                    ("channel", f.recordSatisfaction(c1, Satisfaction.SATISFIED)),
                    ("weijian", f.acknowledge(c4)), ("weijian", f.answer(c4, h("b"))),
                    ("subdistrict", f.evaluate(c4, Evaluation.NOT_FIXED, 0)),
                    ("channel", f.recordSatisfaction(c4, Satisfaction.DISSATISFIED))]:
        e.send(who, fn)
    e.chain.time_travel(lv.ack_seconds + 60)
    e.send("chengguan", f.acknowledge(c2))  # late
    c3 = e.raise_case(category=3, lead="zhujian", assisting=())  # not due yet: counted nowhere
    e.chain.time_travel(lv.resolve_seconds)
    model = assert_matches_the_views(e)
    now = e.chain.now()
    assert [model.case(c, now).overdue for c in (c1, c2, c3, c4)] == [False, True, False, True]
    m = case_metrics(model, now)
    o = m.overall

    def pair(r: Rate) -> tuple[int, int]:
        return (r.numerator, r.denominator)

    # response: c1 城管 on time, c2 城管 late, c2 住建委 due and silent, c4 卫健委 on time (c3 not due)
    assert pair(o.response) == (2, 4)
    assert {d: pair(m.by_department[ids[d]].response) for d in DEPARTMENTS} == {
        "chengguan": (1, 2), "zhujian": (0, 1), "weijian": (1, 1)}
    # resolution: only c1 is closed now (c4 was reopened)
    assert pair(o.resolution) == (1, 1) and pair(m.by_department[ids["weijian"]].resolution) == (0, 0)
    # satisfaction: 满意 on c1, 不满意 on c4 (the record stays after the reopening)
    assert pair(o.satisfaction) == (1, 2)
    assert pair(m.by_department[ids["weijian"]].satisfaction) == (0, 1)
    # on time: c1 closed on time; c2 and c4 open and overdue
    assert pair(o.on_time) == (1, 3)
    assert pair(m.by_department[ids["chengguan"]].on_time) == (1, 2)
    assert o.response.value == 0.5 and Rate().value is None
    assert set(m.by_category) == {1}
    for which in ("response", "resolution", "satisfaction", "on_time"):
        per_month = [getattr(r, which) for r in m.by_month.values()]
        assert sum(r.denominator for r in per_month) == getattr(o, which).denominator, which


def test_months_are_china_standard_time() -> None:
    t = int(datetime(2026, 1, 31, 16, 0, tzinfo=UTC).timestamp())  # 2026-02-01 00:00 in Beijing
    assert month_of(t) == "2026-02" and month_of(t - 1) == "2026-01"
