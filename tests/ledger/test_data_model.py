"""The data-sharing reducer (ledger/data/model.py) against DataSharing's own views on a real chain:
request and grant states at several chain times — expired by time, a frozen grant, a frozen member,
a Sensitive renewal waiting for data governance, renewed grants — and each grant's history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.client import Ledger
from ledger.data import NAME, Classification, DataSharing, DataState, GrantState, RequestState
from ledger.data.model import GrantTerms
from ledger.data.purposes import MAX_PURPOSE_CODE, PURPOSES
from ledger.events import read_events
from ledger.testing import Deployment, deploy_standard, start_ganache
from tests.conftest import TEST_PASSWORD
from tests.ledger.data_helpers import new_dataset, new_grant, new_request

pytestmark = pytest.mark.ganache

DAY = 24 * 3600


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A deployment of its own: this test moves chain time and freezes a member."""
    root = tmp_path_factory.mktemp("data-model")
    d = deploy_standard(start_ganache(root), root, TEST_PASSWORD)
    yield d
    d.ganache.stop()


def _state(led: Ledger) -> tuple[DataState, int]:
    """The reducer over every DataSharing event so far, and the head block's time."""
    assert led.manifest is not None
    head = led.block_number()
    events = read_events(led, {NAME: led.manifest.address(NAME)}, led.manifest.contracts[NAME].block_number, head)
    return DataState(events), int(led.w3.eth.get_block(head)["timestamp"])


def _tick(led: Ledger, seconds: int) -> None:
    led.rpc("evm_increaseTime", [seconds])
    led.rpc("evm_mine", [])


def _same_as_views(led: Ledger, ds: DataSharing) -> tuple[DataState, int]:
    """Every request's and grant's state (and record) in the reducer equals the contract's view now."""
    state, now = _state(led)
    assert len(state.requests) == ds.request_count() and len(state.grants) == ds.grant_count()
    for d in state.datasets.values():
        assert state.dataset_view(d) == ds.dataset(d.id)
    for r in state.requests.values():
        assert state.request_view(r, now) == ds.request(r.id)
    for g in state.grants.values():
        view = ds.grant(g.id)
        assert state.grant_view(g, now) == view
        assert state.grant_state_at(g, now) == view.state, g.id  # the history agrees with the record
        assert state.renewal_view(g.id) == ds.renewal(g.id)
    return state, now


def test_reducer_states_equal_the_contract_views_over_time(private: Deployment) -> None:
    led = private.ledger()
    ds = DataSharing(led)
    s = private.signers

    def request(who: str, did: int, duration: int) -> int:
        return new_request(ds, s[who], did, duration)

    def grant(who: str, did: int, duration: int) -> int:
        return new_grant(ds, s[who], s["dept_a"], did, duration)

    internal, sensitive = new_dataset(ds, s["dept_a"]), new_dataset(ds, s["dept_a"], Classification.SENSITIVE)
    short = grant("c1", internal, 1000)
    frozen = grant("c1", internal, 30 * DAY)
    of_frozen_member = grant("dept_b", internal, 30 * DAY)
    renewed_at_once = grant("c1", internal, 30 * DAY)
    r_sensitive = request("c1", sensitive, 30 * DAY)
    ds.approve_as_owner(s["dept_a"], r_sensitive)
    partly = request("c2", sensitive, 30 * DAY)
    ds.approve_as_owner(s["dept_a"], partly)
    waiting = int(ds.approve_as_governance(s["c3"], r_sensitive).event("GrantCreated").args["grantId"])
    pending, denied, withdrawn = (request(w, internal, DAY) for w in ("c2", "dept_b", "c1"))
    ds.deny(s["dept_a"], denied, 1)
    ds.withdraw(s["c1"], withdrawn)
    ds.freeze_grant(s["c3"], frozen)
    ds.freeze_member(s["c3"], ds.grant(of_frozen_member).grantee_id)
    ds.renew(s["dept_a"], renewed_at_once, DAY)
    ds.renew(s["dept_a"], waiting, DAY)  # Sensitive: waits for data governance

    state, t0 = _same_as_views(led, ds)
    g = state.grants
    assert [state.grant_state(g[i], t0) for i in (short, frozen, of_frozen_member, renewed_at_once, waiting)] == [
        GrantState.ACTIVE,
        GrantState.FROZEN,
        GrantState.FROZEN,
        GrantState.ACTIVE,
        GrantState.ACTIVE,
    ]
    assert g[renewed_at_once].expires_at == g[renewed_at_once].first_terms.expires_at + DAY
    assert waiting in state.renewals and g[waiting].expires_at == g[waiting].first_terms.expires_at
    rq = state.requests
    assert [rq[i].state(t0) for i in (pending, denied, withdrawn, partly, r_sensitive)] == [
        RequestState.PENDING,
        RequestState.DENIED,
        RequestState.WITHDRAWN,
        RequestState.PARTIALLY_APPROVED,
        RequestState.GRANTED,
    ]

    _tick(led, 1100)  # the short grant expires by time
    state, t1 = _same_as_views(led, ds)
    assert state.grant_state(state.grants[short], t1) == GrantState.EXPIRED
    assert state.grant_state_at(state.grants[short], t0) == GrantState.ACTIVE  # as it was

    # Blocks one second apart share a timestamp: "the state at t1" is only the state before the
    # next changes when they come in a later second.
    _tick(led, 10)
    ds.approve_renewal(s["c3"], waiting, DAY)  # renewed through data governance
    ds.unfreeze_grant(s["c3"], frozen)
    ds.unfreeze_member(s["c3"], ds.grant(of_frozen_member).grantee_id)
    state, t2 = _same_as_views(led, ds)
    g = state.grants
    assert waiting not in state.renewals and g[waiting].expires_at == g[waiting].first_terms.expires_at + DAY
    assert [state.grant_state(g[i], t2) for i in (frozen, of_frozen_member)] == [GrantState.ACTIVE] * 2
    assert [state.grant_state_at(g[i], t1) for i in (frozen, of_frozen_member)] == [GrantState.FROZEN] * 2

    _tick(led, ds.request_ttl() + DAY)  # the unanswered requests expire
    state, t3 = _same_as_views(led, ds)
    assert state.requests[pending].state(t3) == RequestState.EXPIRED
    assert state.requests[partly].state(t3) == RequestState.EXPIRED
    assert state.grant_state_at(state.grants[frozen], t2) == GrantState.ACTIVE


def test_narrowed_terms_equal_the_contract_views_at_any_time(private: Deployment) -> None:
    """Narrowing (by the grantee, then by the owner) folds into the grant: its record equals
    ``getGrant`` after each step and :meth:`DataState.terms_at` tells the terms as they were."""
    led = private.ledger()
    ds = DataSharing(led)
    s = private.signers
    did = new_dataset(ds, s["dept_a"])
    gid = new_grant(ds, s["c1"], s["dept_a"], did, 30 * DAY, mask=0b1011, max_accesses=5)
    ds.record_access(s["dept_a"], gid, b"\1" * 32, 3, 0b0010)
    state, t0 = _same_as_views(led, ds)
    first = ds.grant(gid)
    assert (first.field_mask, first.max_accesses, first.accesses, first.row_filter_hash) == (0b1011, 5, 1, None)
    assert state.grants[gid].remaining() == 4
    _tick(led, 10)
    ds.narrow(s["c1"], gid, 0b0011, 5, first.expires_at)  # the grantee drops a field
    _tick(led, 10)
    ds.narrow(s["dept_a"], gid, 0b0001, 2, first.expires_at - DAY)  # the owner narrows every term
    state, t2 = _same_as_views(led, ds)
    g = state.grants[gid]
    assert (g.field_mask, g.max_accesses, g.expires_at) == (0b0001, 2, first.expires_at - DAY)
    by_grantee = g.narrowings[0][0]  # its block's time (a loaded machine adds seconds to the tick)
    assert t0 + 10 <= by_grantee < t2
    assert state.terms_at(g, t0) == state.terms_at(g, by_grantee - 1) == GrantTerms(0b1011, 5, first.expires_at)
    assert state.terms_at(g, by_grantee) == GrantTerms(0b0011, 5, first.expires_at)
    assert state.terms_at(g, t2) == GrantTerms(0b0001, 2, first.expires_at - DAY)
    assert g.remaining() == 1
    _tick(led, 29 * DAY)  # past the narrowed end date, before the first one
    state, t3 = _same_as_views(led, ds)
    assert state.grant_state(state.grants[gid], t3) == GrantState.EXPIRED
    assert state.grant_state_at(state.grants[gid], t0) == GrantState.ACTIVE


def test_purpose_vocabulary_is_the_contracts(private: Deployment) -> None:
    ds = DataSharing(private.ledger())
    assert ds.max_purpose_code() == MAX_PURPOSE_CODE == len(PURPOSES)
    assert sorted(PURPOSES) == list(range(1, MAX_PURPOSE_CODE + 1))


def test_no_events_is_the_empty_state() -> None:
    state = DataState()
    assert (state.datasets, state.requests, state.grants, state.ttl) == ({}, {}, {}, 0)
