"""MembershipRegistry: role matrix, proposal lifecycle, every change kind, key rotation,
Besu views, and the deployer's lack of power.

The bootstrapped registry (conftest): members 1..3 are the council (accounts[1..3]),
threshold 2, proposal lifetime 7 days, deployed by accounts[0].
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import keccak
from web3.contract import Contract

from ledger import artifacts
from ledger.abi import abi_type, decode_revert, revert_data_from_exception
from ledger.testing.evm import deploy_registry
from tests.contracts.conftest import (
    CHANGE,
    KIND,
    ROLE,
    Chain,
    Council,
    expect_revert,
    payload,
    roles_mask,
    state_changing_functions,
)

DAY = 24 * 3600
LIFETIME = 7 * DAY
ZERO32 = b"\x00" * 32
# ProposalState
PENDING, APPROVED, EXECUTED, CANCELLED, EXPIRED = range(5)

ENODE_A = "a1" * 64
ENODE_B = "b2" * 64


# ------------------------------------------------------------------ helpers


def all_events(registry: Contract, receipt: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every registry event in the receipt, in log order, as (name, args)."""
    by_topic: dict[bytes, str] = {}
    for item in registry.abi:
        if item.get("type") == "event":
            sig = f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})"
            by_topic[keccak(text=sig)] = item["name"]
    out = []
    for log in receipt["logs"]:
        name = by_topic[bytes(log["topics"][0])]
        out.append((name, dict(getattr(registry.events, name)().process_log(log)["args"])))
    return out


def propose(chain: Chain, registry: Contract, sender: str, change: str, *args: Any) -> tuple[int, Any]:
    receipt = chain.transact(registry.functions.propose(CHANGE[change], payload(change, *args)), sender)
    return int(registry.functions.proposalCount().call()), receipt


def node_key(enode: str, ip: str, port: int) -> bytes:
    from eth_abi import encode

    return keccak(encode(["string", "string", "uint16"], [enode, ip, port]))


def state(registry: Contract, pid: int) -> int:
    return int(registry.functions.proposalState(pid).call())


def member(registry: Contract, member_id: int) -> dict[str, Any]:
    fields = ["id", "name", "kind", "roles", "active", "dataKey", "admittedAt", "accounts", "nodes"]
    return dict(zip(fields, registry.functions.getMember(member_id).call(), strict=True))


# ------------------------------------------------------------------ our own registry


@pytest.fixture(scope="module")
def _own_registry(chain: Chain, council_accounts: list[str]) -> Iterator[Contract]:
    """A registry bootstrapped like conftest's, but deployed for this module only.

    Session fixtures of other modules (the fund environment) admit members into the
    shared registry, and these tests count member ids from 4. The deployment happens
    inside a snapshot that is reverted when the module is done.
    """
    snap = chain.tester.take_snapshot()
    try:
        yield deploy_registry(chain, council_accounts, lifetime=LIFETIME)
    finally:
        chain.tester.revert_to_snapshot(snap)


@pytest.fixture
def registry(_own_registry: Contract) -> Contract:
    """Overrides conftest's ``registry`` (and so ``council``) in this module."""
    return _own_registry


# ------------------------------------------------------------------ role matrix


@dataclass
class Cast:
    """Callers in every position that lacks a right, on one prepared registry."""

    council: list[str]
    callers: dict[str, str]  # label -> account without the needed right
    pending: int  # proposed by member 1, one approval
    approved: int  # proposed by member 1, approved by member 2


@pytest.fixture(scope="class")
def cast(chain: Chain, _own_registry: Contract, council_accounts: list[str]) -> Iterator[Cast]:
    """Built once for TestRoleMatrix inside its own snapshot (class fixtures run before the
    per-test snapshot), and reverted when the class is done so every other test sees the
    plain bootstrapped registry."""
    snap = chain.tester.take_snapshot()
    r = _own_registry
    c = Council(chain, r, council_accounts)
    a = chain.accounts
    c.admit("卫健委", "Department", roles_mask("Department"), a[5])  # 4: member, not council
    c.admit("城管局", "Department", roles_mask("Council"), a[6])  # 5: council, then removed
    c.enact("RemoveMember", 5)
    c.admit("住建局", "Department", roles_mask("Council"), a[7])  # 6: council role revoked
    c.enact("RevokeRole", 6, ROLE["Council"])
    rotated_out = council_accounts[2]  # member 3 rotates to a fresh key
    c.enact("AddAccount", 3, a[8])
    c.enact("RemoveAccount", 3, rotated_out)
    pending, _ = propose(chain, r, council_accounts[0], "SetThreshold", 1)
    approved, _ = propose(chain, r, council_accounts[0], "SetDataKey", 1, b"\x11" * 32)
    chain.transact(r.functions.approve(approved), council_accounts[1])
    assert state(r, pending) == PENDING and state(r, approved) == APPROVED
    callers = {
        "outsider": a[9],
        "deployer": a[0],
        "member without council role": a[5],
        "removed council member": a[6],
        "council role revoked": a[7],
        "rotated-out council key": rotated_out,
    }
    try:
        yield Cast(council_accounts, callers, pending, approved)
    finally:
        chain.tester.revert_to_snapshot(snap)


@dataclass(frozen=True)
class Row:
    call: Callable[[Contract, Cast], Any]
    error: str
    args: Callable[[Cast, str], dict[str, Any]]
    allowed: Callable[[Cast], str]  # an account that may call: the positive control
    extra_denied: tuple[str, ...] = ()  # council labels that are denied too


MATRIX: dict[str, Row] = {
    "propose": Row(
        call=lambda r, k: r.functions.propose(CHANGE["SetThreshold"], payload("SetThreshold", 1)),
        error="RegistryNotCouncil",
        args=lambda k, who: {"account": who},
        allowed=lambda k: k.council[1],
    ),
    "approve": Row(
        call=lambda r, k: r.functions.approve(k.pending),
        error="RegistryNotCouncil",
        args=lambda k, who: {"account": who},
        allowed=lambda k: k.council[1],
    ),
    "execute": Row(
        call=lambda r, k: r.functions.execute(k.approved),
        error="RegistryNotCouncil",
        args=lambda k, who: {"account": who},
        allowed=lambda k: k.council[1],
    ),
    "cancel": Row(
        call=lambda r, k: r.functions.cancel(k.pending),
        error="RegistryNotProposer",
        args=lambda k, who: {"proposalId": k.pending, "account": who},
        allowed=lambda k: k.council[0],
        extra_denied=("another council member",),
    ),
}

CALLERS = [
    "outsider",
    "deployer",
    "member without council role",
    "removed council member",
    "council role revoked",
    "rotated-out council key",
]


class TestRoleMatrix:
    """Every state-changing function, called by every kind of caller that lacks the right."""

    def test_matrix_covers_every_state_changing_function(self) -> None:
        assert set(MATRIX) == state_changing_functions("MembershipRegistry")

    @pytest.mark.parametrize(
        ("function", "caller"),
        [(f, c) for f in sorted(MATRIX) for c in [*CALLERS, *MATRIX[f].extra_denied]],
    )
    def test_matrix_denies(self, chain: Chain, registry: Contract, cast: Cast, function: str, caller: str) -> None:
        row = MATRIX[function]
        who = cast.council[1] if caller == "another council member" else cast.callers[caller]
        with expect_revert(row.error, **row.args(cast, who)):
            chain.transact(row.call(registry, cast), who)

    @pytest.mark.parametrize("function", sorted(MATRIX))
    def test_matrix_allows(self, chain: Chain, registry: Contract, cast: Cast, function: str) -> None:
        receipt = chain.transact(MATRIX[function].call(registry, cast), MATRIX[function].allowed(cast))
        assert receipt["status"] == 1

    def test_cast_is_what_the_matrix_says(self, chain: Chain, registry: Contract, cast: Cast) -> None:
        for label, who in cast.callers.items():
            assert not registry.functions.hasRole(who, ROLE["Council"]).call(), label
        # The rotated member keeps its seat under its new key.
        assert registry.functions.hasRole(chain.accounts[8], ROLE["Council"]).call()
        assert registry.functions.memberIdOf(chain.accounts[8]).call() == 3
        assert registry.functions.councilSize().call() == 3


# ------------------------------------------------------------------ deployer


def test_deployer_has_no_power(chain: Chain, registry: Contract, council: Council) -> None:
    deployer = chain.accounts[0]
    assert registry.functions.memberIdOf(deployer).call() == 0
    assert registry.functions.accountInfo(deployer).call() == [0, 0, 0, False]
    for role in ROLE.values():
        assert not registry.functions.hasRole(deployer, role).call()
    assert not registry.functions.transactionAllowed(deployer, deployer, 0, 0, 0, b"").call()
    # No owner-style entry point exists: only the four proposal functions change state.
    assert state_changing_functions("MembershipRegistry") == {
        "propose",
        "approve",
        "execute",
        "cancel",
    }
    pid, _ = propose(chain, registry, council.members[0], "SetThreshold", 1)
    for fn in (
        registry.functions.propose(CHANGE["SetThreshold"], payload("SetThreshold", 1)),
        registry.functions.approve(pid),
    ):
        with expect_revert("RegistryNotCouncil", account=deployer):
            chain.transact(fn, deployer)
    with expect_revert("RegistryNotProposer", proposalId=pid, account=deployer):
        chain.transact(registry.functions.cancel(pid), deployer)


# ------------------------------------------------------------------ constructor


def _deploy_error(chain: Chain, seats: list[Any], threshold: int, lifetime: int) -> Any:
    art = artifacts.load("MembershipRegistry")
    factory = chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    try:
        factory.constructor(seats, threshold, lifetime).estimate_gas({"from": chain.accounts[0]})
    except Exception as exc:
        data = revert_data_from_exception(exc)
        if data is None:
            raise
        raise decode_revert(data) from exc


def test_constructor_bootstraps_council(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    assert registry.functions.memberCount().call() == 3
    assert registry.functions.councilSize().call() == 3
    assert registry.functions.threshold().call() == 2
    assert registry.functions.proposalLifetime().call() == LIFETIME
    assert registry.functions.membersWithRole(ROLE["Council"]).call() == [1, 2, 3]
    assert registry.functions.membersWithRole(ROLE["Department"]).call() == [1, 2]
    assert registry.functions.membersWithRole(ROLE["DataGovernance"]).call() == [3]
    m = member(registry, 3)
    assert (m["name"], m["kind"], m["roles"], m["active"], m["accounts"]) == (
        "区数据局",
        KIND["Department"],
        roles_mask("Council", "DataGovernance"),
        True,
        [a[2]],
    )


@pytest.mark.parametrize(
    ("seats", "threshold", "lifetime", "error", "args"),
    [
        ("ok", 0, LIFETIME, "RegistryInvalidThreshold", {"threshold": 0, "councilSize": 2}),
        ("ok", 3, LIFETIME, "RegistryInvalidThreshold", {"threshold": 3, "councilSize": 2}),
        ("ok", 1, 3599, "RegistryInvalidLifetime", {"lifetime": 3599}),
        ("ok", 1, 366 * DAY, "RegistryInvalidLifetime", {"lifetime": 366 * DAY}),
        ("dup", 1, LIFETIME, "RegistryAccountTaken", {"memberId": 1}),
        ("noname", 1, LIFETIME, "RegistryEmptyName", {}),
        ("badroles", 1, LIFETIME, "RegistryInvalidChange", {"kind": CHANGE["AdmitMember"]}),
        ("zero", 1, LIFETIME, "RegistryZeroAccount", {}),
        ("none", 1, LIFETIME, "RegistryInvalidThreshold", {"threshold": 1, "councilSize": 0}),
    ],
)
def test_constructor_refuses(
    chain: Chain, seats: str, threshold: int, lifetime: int, error: str, args: dict[str, Any]
) -> None:
    a = chain.accounts
    seat = {
        "ok": [("A", 0, 0, a[1]), ("B", 0, 0, a[2])],
        "dup": [("A", 0, 0, a[1]), ("B", 0, 0, a[1])],
        "noname": [("", 0, 0, a[1])],
        "badroles": [("A", 0, 1 << len(ROLE), a[1])],
        "zero": [("A", 0, 0, "0x" + "00" * 20)],
        "none": [],
    }[seats]
    with expect_revert(error, **args):
        _deploy_error(chain, seat, threshold, lifetime)


# ------------------------------------------------------------------ proposal lifecycle


def test_propose_counts_proposer_once(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    before = chain.now()
    pid, receipt = propose(chain, registry, a[0], "SetThreshold", 3)
    data = payload("SetThreshold", 3)
    created = chain.events(registry, receipt, "ProposalCreated")[0]
    assert all_events(registry, receipt) == [
        (
            "ProposalCreated",
            {
                "proposalId": pid,
                "proposerId": 1,
                "proposer": a[0],
                "kind": CHANGE["SetThreshold"],
                "data": data,
                "expiresAt": created["expiresAt"],
            },
        ),
        ("ProposalApproved", {"proposalId": pid, "memberId": 1, "account": a[0]}),
    ]
    assert before < created["expiresAt"] - LIFETIME <= chain.now()
    assert registry.functions.approvalCount(pid).call() == 1
    assert state(registry, pid) == PENDING
    with expect_revert("RegistryAlreadyApproved", proposalId=pid, memberId=1):
        chain.transact(registry.functions.approve(pid), a[0])
    view = list(registry.functions.getProposal(pid).call())
    created_at = created["expiresAt"] - LIFETIME
    assert view[:10] == [
        pid,
        CHANGE["SetThreshold"],
        data,
        1,
        a[0],
        created_at,
        created["expiresAt"],
        False,
        False,
        1,
    ]
    assert view[10:] == [[1], PENDING]


def test_approvals_by_distinct_members_then_execute_once(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    pid, _ = propose(chain, registry, a[0], "SetThreshold", 3)
    with expect_revert("RegistryThresholdNotMet", proposalId=pid, approvals=1, threshold=2):
        chain.transact(registry.functions.execute(pid), a[0])
    receipt = chain.transact(registry.functions.approve(pid), a[1])
    assert all_events(registry, receipt) == [("ProposalApproved", {"proposalId": pid, "memberId": 2, "account": a[1]})]
    assert state(registry, pid) == APPROVED
    with expect_revert("RegistryAlreadyApproved", proposalId=pid, memberId=2):
        chain.transact(registry.functions.approve(pid), a[1])
    # A third approval on an approved proposal is accepted and counted.
    chain.transact(registry.functions.approve(pid), a[2])
    assert registry.functions.approvalCount(pid).call() == 3
    # Any council member executes, not only the proposer.
    receipt = chain.transact(registry.functions.execute(pid), a[2])
    assert all_events(registry, receipt) == [
        ("ThresholdChanged", {"oldThreshold": 2, "newThreshold": 3}),
        ("ProposalExecuted", {"proposalId": pid}),
    ]
    assert state(registry, pid) == EXECUTED
    for fn in (
        registry.functions.execute(pid),
        registry.functions.approve(pid),
        registry.functions.cancel(pid),
    ):
        with expect_revert("RegistryProposalNotOpen", proposalId=pid, state=EXECUTED):
            chain.transact(fn, a[0])


def test_member_with_two_accounts_approves_once(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    second = chain.accounts[5]
    council.enact("AddAccount", 2, second)
    pid, _ = propose(chain, registry, a[0], "SetThreshold", 3)
    chain.transact(registry.functions.approve(pid), a[1])
    with expect_revert("RegistryAlreadyApproved", proposalId=pid, memberId=2):
        chain.transact(registry.functions.approve(pid), second)


def test_unknown_proposal(chain: Chain, registry: Contract, council: Council) -> None:
    for pid in (0, 1):
        with expect_revert("RegistryUnknownProposal", proposalId=pid):
            chain.call(registry.functions.proposalState(pid))
        with expect_revert("RegistryUnknownProposal", proposalId=pid):
            chain.transact(registry.functions.approve(pid), council.members[0])
        with expect_revert("RegistryUnknownProposal", proposalId=pid):
            chain.transact(registry.functions.execute(pid), council.members[0])
        with expect_revert("RegistryUnknownProposal", proposalId=pid):
            chain.transact(registry.functions.cancel(pid), council.members[0])
        with expect_revert("RegistryUnknownProposal", proposalId=pid):
            chain.call(registry.functions.getProposal(pid))


def test_expiry(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    pid, receipt = propose(chain, registry, a[0], "SetThreshold", 3)
    expires = chain.events(registry, receipt, "ProposalCreated")[0]["expiresAt"]
    chain.time_travel(expires - chain.now() - 60)
    assert state(registry, pid) == PENDING
    chain.transact(registry.functions.approve(pid), a[1])
    assert state(registry, pid) == APPROVED
    # eth-tester's time_travel(n) leaves the latest block at now + n - 1 (the pending one
    # at now + n): so the latest block, which views run on, is exactly at expiresAt.
    chain.time_travel(expires - chain.now() + 1)
    assert chain.now() == expires
    assert state(registry, pid) == EXPIRED  # expired at expiresAt, not one second later
    for fn in (
        registry.functions.approve(pid),
        registry.functions.execute(pid),
        registry.functions.cancel(pid),
    ):
        with expect_revert("RegistryProposalNotOpen", proposalId=pid, state=EXPIRED):
            chain.transact(fn, a[2] if fn.fn_name == "approve" else a[0])
    assert registry.functions.threshold().call() == 2


def test_cancel(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    pid, _ = propose(chain, registry, a[0], "SetThreshold", 3)
    chain.transact(registry.functions.approve(pid), a[1])
    with expect_revert("RegistryNotProposer", proposalId=pid, account=a[1]):
        chain.transact(registry.functions.cancel(pid), a[1])
    receipt = chain.transact(registry.functions.cancel(pid), a[0])
    assert all_events(registry, receipt) == [("ProposalCancelled", {"proposalId": pid})]
    assert state(registry, pid) == CANCELLED
    for fn in (
        registry.functions.approve(pid),
        registry.functions.execute(pid),
        registry.functions.cancel(pid),
    ):
        with expect_revert("RegistryProposalNotOpen", proposalId=pid, state=CANCELLED):
            chain.transact(fn, a[2] if fn.fn_name == "approve" else a[0])


def test_proposer_cancels_with_rotated_key(chain: Chain, registry: Contract, council: Council) -> None:
    """Cancelling belongs to the proposer's member, whatever key it now uses."""
    a = council.members
    new_key = chain.accounts[5]
    pid, _ = propose(chain, registry, a[2], "SetThreshold", 3)
    council.enact("AddAccount", 3, new_key)
    council.enact("RemoveAccount", 3, a[2])
    with expect_revert("RegistryNotProposer", proposalId=pid, account=a[2]):
        chain.transact(registry.functions.cancel(pid), a[2])
    chain.transact(registry.functions.cancel(pid), new_key)
    assert state(registry, pid) == CANCELLED


@pytest.mark.parametrize("how", ["RemoveMember", "RevokeRole"])
def test_lost_council_member_approval_stops_counting(
    chain: Chain, registry: Contract, council: Council, how: str
) -> None:
    a = council.members
    pid, _ = propose(chain, registry, a[2], "SetDataKey", 1, b"\x22" * 32)  # member 3 proposes
    chain.transact(registry.functions.approve(pid), a[1])  # member 2 approves
    assert state(registry, pid) == APPROVED
    if how == "RemoveMember":
        council.enact("RemoveMember", 3)
    else:
        council.enact("RevokeRole", 3, ROLE["Council"])
    assert registry.functions.councilSize().call() == 2
    assert registry.functions.approvalCount(pid).call() == 1
    assert state(registry, pid) == PENDING
    assert registry.functions.getProposal(pid).call()[10] == [3, 2]  # history kept
    with expect_revert("RegistryThresholdNotMet", proposalId=pid, approvals=1, threshold=2):
        chain.transact(registry.functions.execute(pid), a[0])
    with expect_revert("RegistryNotCouncil", account=a[2]):
        chain.transact(registry.functions.approve(pid), a[2])
    chain.transact(registry.functions.approve(pid), a[0])
    chain.transact(registry.functions.execute(pid), a[0])
    assert member(registry, 1)["dataKey"] == b"\x22" * 32


def test_threshold_cannot_exceed_council(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    for t in (0, 4):
        with expect_revert("RegistryInvalidThreshold", threshold=t, councilSize=3):
            propose(chain, registry, a[0], "SetThreshold", t)
    # Valid when proposed, no longer valid when executed: checked again at execution.
    pid, _ = propose(chain, registry, a[0], "SetThreshold", 3)
    chain.transact(registry.functions.approve(pid), a[1])
    council.enact("RevokeRole", 3, ROLE["Council"])
    with expect_revert("RegistryInvalidThreshold", threshold=3, councilSize=2):
        chain.transact(registry.functions.execute(pid), a[0])
    assert state(registry, pid) == APPROVED  # the failed execution changed nothing


def test_removal_below_threshold_refused(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    # Two removals, each fine on its own: the second one is refused at execution.
    p1, _ = propose(chain, registry, a[0], "RemoveMember", 3)
    p2, _ = propose(chain, registry, a[0], "RevokeRole", 2, ROLE["Council"])
    chain.transact(registry.functions.approve(p1), a[1])
    chain.transact(registry.functions.approve(p2), a[1])
    chain.transact(registry.functions.execute(p1), a[0])
    with expect_revert("RegistryCouncilBelowThreshold", councilSize=1, threshold=2):
        chain.transact(registry.functions.execute(p2), a[0])
    # With threshold == council size, removals are refused when proposed.
    council.enact("SetThreshold", 2)
    with expect_revert("RegistryCouncilBelowThreshold", councilSize=1, threshold=2):
        propose(chain, registry, a[0], "RemoveMember", 2)
    with expect_revert("RegistryCouncilBelowThreshold", councilSize=1, threshold=2):
        propose(chain, registry, a[0], "RevokeRole", 1, ROLE["Council"])
    # Removing a member outside the council never touches the council size.
    council.admit("卫健委", "Department", roles_mask("Department"), chain.accounts[5])
    council.enact("RemoveMember", 4)
    assert registry.functions.councilSize().call() == 2


def test_new_lifetime_applies_to_new_proposals(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    old_pid, _ = propose(chain, registry, a[0], "SetThreshold", 3)
    council.enact("SetProposalLifetime", 2 * DAY)
    _, receipt = propose(chain, registry, a[0], "SetThreshold", 1)
    created = chain.events(registry, receipt, "ProposalCreated")[0]
    assert created["expiresAt"] == chain.now() + 2 * DAY
    chain.time_travel(2 * DAY)
    assert state(registry, old_pid) == PENDING  # keeps the lifetime it was created with


# ------------------------------------------------------------------ every change kind


@dataclass(frozen=True)
class Case:
    setup: Callable[[Council], None]
    args: Callable[[Chain], tuple[Any, ...]]
    events: Callable[[Chain], list[tuple[str, dict[str, Any]]]]
    check: Callable[[Chain, Contract], None]


def _no_setup(c: Council) -> None:
    return None


def _admit_dept(c: Council) -> None:
    c.admit("卫健委", "Department", roles_mask("Department"), c.chain.accounts[5])


def _admit_with_node(c: Council) -> None:
    _admit_dept(c)
    c.enact("AddNode", 4, ENODE_A, "10.0.0.4", 30303)


def _admit_two_accounts(c: Council) -> None:
    _admit_dept(c)
    c.enact("AddAccount", 4, c.chain.accounts[6])


def _admit_with_key(c: Council) -> None:
    _admit_dept(c)
    c.enact("SetDataKey", 4, b"\x01" * 32)


def _admit_with_two_nodes(c: Council) -> None:
    _admit_with_node(c)
    c.enact("AddNode", 4, ENODE_B, "10.0.0.5", 30303)


def _check_admit(ch: Chain, r: Contract) -> None:
    a = ch.accounts[5]
    m = member(r, 4)
    assert (m["name"], m["kind"], m["roles"], m["active"], m["accounts"], m["nodes"]) == (
        "社区居委会",
        KIND["ResidentGroup"],
        roles_mask("Contributor", "Council"),
        True,
        [a],
        [],
    )
    assert m["admittedAt"] == ch.now()
    assert r.functions.accountInfo(a).call() == [4, KIND["ResidentGroup"], m["roles"], True]
    assert r.functions.councilSize().call() == 4
    assert r.functions.membersWithRole(ROLE["Contributor"]).call() == [4]


def _check_remove(ch: Chain, r: Contract) -> None:
    a = ch.accounts[5]
    assert member(r, 4)["active"] is False
    assert member(r, 4)["nodes"] == []
    assert member(r, 4)["accounts"] == [a]  # identity and history stay
    assert r.functions.accountInfo(a).call() == [
        4,
        KIND["Department"],
        roles_mask("Department"),
        False,
    ]
    assert not r.functions.hasRole(a, ROLE["Department"]).call()
    assert r.functions.membersWithRole(ROLE["Department"]).call() == [1, 2]
    assert r.functions.getNode(node_key(ENODE_A, "10.0.0.4", 30303)).call() == (0, "", "", 0)


def _check_node(ch: Chain, r: Contract) -> None:
    key = node_key(ENODE_A, "10.0.0.4", 30303)
    assert r.functions.nodeKey(ENODE_A, "10.0.0.4", 30303).call() == key
    assert r.functions.getNode(key).call() == (4, ENODE_A, "10.0.0.4", 30303)
    assert member(r, 4)["nodes"] == [key]


CASES: dict[str, Case] = {
    "AdmitMember": Case(
        _no_setup,
        lambda ch: (
            "社区居委会",
            KIND["ResidentGroup"],
            roles_mask("Contributor", "Council"),
            ch.accounts[5],
        ),
        lambda ch: [
            (
                "MemberAdmitted",
                {
                    "memberId": 4,
                    "name": "社区居委会",
                    "kind": KIND["ResidentGroup"],
                    "roles": roles_mask("Contributor", "Council"),
                    "account": ch.accounts[5],
                },
            ),
            ("AccountAdded", {"memberId": 4, "account": ch.accounts[5]}),
        ],
        _check_admit,
    ),
    "RemoveMember": Case(
        _admit_with_node,
        lambda ch: (4,),
        lambda ch: [
            ("NodeRemoved", {"memberId": 4, "nodeKey": node_key(ENODE_A, "10.0.0.4", 30303)}),
            ("MemberRemoved", {"memberId": 4}),
        ],
        _check_remove,
    ),
    "GrantRole": Case(
        _admit_dept,
        lambda ch: (4, ROLE["Treasurer"]),
        lambda ch: [("RoleGranted", {"memberId": 4, "role": ROLE["Treasurer"]})],
        lambda ch, r: (
            r.functions.hasRole(ch.accounts[5], ROLE["Treasurer"]).call() is True or pytest.fail("role not granted")
        ),
    ),
    "RevokeRole": Case(
        _admit_dept,
        lambda ch: (4, ROLE["Department"]),
        lambda ch: [("RoleRevoked", {"memberId": 4, "role": ROLE["Department"]})],
        lambda ch, r: (
            r.functions.hasRole(ch.accounts[5], ROLE["Department"]).call() is False or pytest.fail("role not revoked")
        ),
    ),
    "AddAccount": Case(
        _admit_dept,
        lambda ch: (4, ch.accounts[6]),
        lambda ch: [("AccountAdded", {"memberId": 4, "account": ch.accounts[6]})],
        lambda ch, r: (
            (
                member(r, 4)["accounts"] == [ch.accounts[5], ch.accounts[6]]
                and r.functions.hasRole(ch.accounts[6], ROLE["Department"]).call()
            )
            or pytest.fail("account not added")
        ),
    ),
    "RemoveAccount": Case(
        _admit_two_accounts,
        lambda ch: (4, ch.accounts[5]),
        lambda ch: [("AccountRemoved", {"memberId": 4, "account": ch.accounts[5]})],
        lambda ch, r: (
            (
                member(r, 4)["accounts"] == [ch.accounts[6]]
                and not r.functions.hasRole(ch.accounts[5], ROLE["Department"]).call()
            )
            or pytest.fail("account not removed")
        ),
    ),
    "SetDataKey": Case(
        _admit_with_key,
        lambda ch: (4, b"\x02" * 32),
        lambda ch: [("DataKeySet", {"memberId": 4, "oldKey": b"\x01" * 32, "newKey": b"\x02" * 32})],
        lambda ch, r: member(r, 4)["dataKey"] == b"\x02" * 32 or pytest.fail("key not set"),
    ),
    "AddNode": Case(
        _admit_dept,
        lambda ch: (4, ENODE_A, "10.0.0.4", 30303),
        lambda ch: [
            (
                "NodeAdded",
                {
                    "memberId": 4,
                    "nodeKey": node_key(ENODE_A, "10.0.0.4", 30303),
                    "enodeId": ENODE_A,
                    "ip": "10.0.0.4",
                    "port": 30303,
                },
            )
        ],
        _check_node,
    ),
    "RemoveNode": Case(
        _admit_with_two_nodes,
        lambda ch: (4, ENODE_A, "10.0.0.4", 30303),
        lambda ch: [("NodeRemoved", {"memberId": 4, "nodeKey": node_key(ENODE_A, "10.0.0.4", 30303)})],
        lambda ch, r: (
            (
                member(r, 4)["nodes"] == [node_key(ENODE_B, "10.0.0.5", 30303)]
                and r.functions.getNode(node_key(ENODE_A, "10.0.0.4", 30303)).call()[0] == 0
            )
            or pytest.fail("node not removed")
        ),
    ),
    "SetThreshold": Case(
        _no_setup,
        lambda ch: (3,),
        lambda ch: [("ThresholdChanged", {"oldThreshold": 2, "newThreshold": 3})],
        lambda ch, r: r.functions.threshold().call() == 3 or pytest.fail("threshold"),
    ),
    "SetProposalLifetime": Case(
        _no_setup,
        lambda ch: (3 * DAY,),
        lambda ch: [("ProposalLifetimeChanged", {"oldLifetime": LIFETIME, "newLifetime": 3 * DAY})],
        lambda ch, r: r.functions.proposalLifetime().call() == 3 * DAY or pytest.fail("lifetime"),
    ),
}


def test_cases_cover_every_change_kind() -> None:
    assert set(CASES) == set(CHANGE)


@pytest.mark.parametrize("change", list(CHANGE))
def test_change_executed(chain: Chain, registry: Contract, council: Council, change: str) -> None:
    case = CASES[change]
    case.setup(council)
    a = council.members
    pid, _ = propose(chain, registry, a[0], change, *case.args(chain))
    chain.transact(registry.functions.approve(pid), a[1])
    receipt = chain.transact(registry.functions.execute(pid), a[1])
    assert all_events(registry, receipt) == [
        *case.events(chain),
        ("ProposalExecuted", {"proposalId": pid}),
    ]
    case.check(chain, registry)
    assert state(registry, pid) == EXECUTED


# Refusals of each change kind, checked when proposed (and again when executed).
_TAKEN = "taken"  # placeholder for council account 1
BAD_IP = 'x"y'
REFUSALS: list[tuple[str, tuple[Any, ...], str, dict[str, Any]]] = [
    ("AdmitMember", ("", 0, 0, "fresh"), "RegistryEmptyName", {}),
    ("AdmitMember", ("X", 4, 0, "fresh"), "RegistryInvalidChange", {"kind": 0}),
    ("AdmitMember", ("X", 0, 1 << len(ROLE), "fresh"), "RegistryInvalidChange", {"kind": 0}),
    ("AdmitMember", ("X", 0, 0, "zero"), "RegistryZeroAccount", {}),
    ("AdmitMember", ("X", 0, 0, _TAKEN), "RegistryAccountTaken", {"memberId": 1}),
    ("RemoveMember", (0,), "RegistryUnknownMember", {"memberId": 0}),
    ("RemoveMember", (9,), "RegistryUnknownMember", {"memberId": 9}),
    ("GrantRole", (1, ROLE["Council"]), "RegistryRoleUnchanged", {"memberId": 1, "role": 0}),
    ("GrantRole", (1, len(ROLE)), "RegistryInvalidChange", {"kind": CHANGE["GrantRole"]}),
    ("GrantRole", (9, 1), "RegistryUnknownMember", {"memberId": 9}),
    ("RevokeRole", (1, ROLE["Treasurer"]), "RegistryRoleUnchanged", {"memberId": 1, "role": 4}),
    ("RevokeRole", (1, len(ROLE)), "RegistryInvalidChange", {"kind": CHANGE["RevokeRole"]}),
    ("AddAccount", (1, _TAKEN), "RegistryAccountTaken", {"memberId": 1}),
    ("AddAccount", (1, "zero"), "RegistryZeroAccount", {}),
    ("AddAccount", (9, "fresh"), "RegistryUnknownMember", {"memberId": 9}),
    ("RemoveAccount", (1, _TAKEN), "RegistryLastAccount", {"memberId": 1}),
    ("RemoveAccount", (2, _TAKEN), "RegistryAccountNotOfMember", {"memberId": 2}),
    ("SetDataKey", (9, ZERO32), "RegistryUnknownMember", {"memberId": 9}),
    ("AddNode", (1, "A1" * 64, "10.0.0.1", 30303), "RegistryInvalidChange", {"kind": 7}),
    ("AddNode", (1, "a1" * 63, "10.0.0.1", 30303), "RegistryInvalidChange", {"kind": 7}),
    ("AddNode", (1, ENODE_A, "", 30303), "RegistryInvalidChange", {"kind": 7}),
    ("AddNode", (1, ENODE_A, BAD_IP, 30303), "RegistryInvalidChange", {"kind": 7}),
    ("AddNode", (1, ENODE_A, "h" * 65, 30303), "RegistryInvalidChange", {"kind": 7}),
    ("AddNode", (1, ENODE_A, "10.0.0.1", 0), "RegistryInvalidChange", {"kind": 7}),
    ("AddNode", (9, ENODE_A, "10.0.0.1", 30303), "RegistryUnknownMember", {"memberId": 9}),
    (
        "RemoveNode",
        (1, ENODE_A, "10.0.0.1", 30303),
        "RegistryUnknownNode",
        {"nodeKey": node_key(ENODE_A, "10.0.0.1", 30303), "memberId": 1},
    ),
    ("SetThreshold", (0,), "RegistryInvalidThreshold", {"threshold": 0, "councilSize": 3}),
    ("SetProposalLifetime", (3599,), "RegistryInvalidLifetime", {"lifetime": 3599}),
    ("SetProposalLifetime", (366 * DAY,), "RegistryInvalidLifetime", {"lifetime": 366 * DAY}),
]


@pytest.mark.parametrize(
    ("change", "args", "error", "expected"),
    REFUSALS,
    ids=[f"{c}-{e}-{i}" for i, (c, _, e, _) in enumerate(REFUSALS)],
)
def test_change_refused(
    chain: Chain,
    registry: Contract,
    council: Council,
    change: str,
    args: tuple[Any, ...],
    error: str,
    expected: dict[str, Any],
) -> None:
    subst = {_TAKEN: council.members[0], "zero": "0x" + "00" * 20, "fresh": chain.accounts[5]}
    real = tuple(subst.get(x, x) if isinstance(x, str) else x for x in args)
    with expect_revert(error, **expected):
        propose(chain, registry, council.members[0], change, *real)


@pytest.mark.parametrize("change", list(CHANGE))
def test_short_payload_refused(chain: Chain, registry: Contract, council: Council, change: str) -> None:
    with expect_revert("RegistryInvalidChange", kind=CHANGE[change]):
        chain.transact(registry.functions.propose(CHANGE[change], b"\x00" * 31), council.members[0])


def test_node_taken_by_another_member(chain: Chain, registry: Contract, council: Council) -> None:
    council.enact("AddNode", 1, ENODE_A, "10.0.0.1", 30303)
    with expect_revert("RegistryNodeTaken", nodeKey=node_key(ENODE_A, "10.0.0.1", 30303), memberId=1):
        propose(chain, registry, council.members[0], "AddNode", 2, ENODE_A, "10.0.0.1", 30303)
    with expect_revert("RegistryUnknownNode", nodeKey=node_key(ENODE_A, "10.0.0.1", 30303), memberId=2):
        propose(chain, registry, council.members[0], "RemoveNode", 2, ENODE_A, "10.0.0.1", 30303)


def test_removed_member_cannot_be_changed(chain: Chain, registry: Contract, council: Council) -> None:
    mid = council.admit("卫健委", "Department", roles_mask("Department"), chain.accounts[5])
    # Proposed while active, executed after the removal: refused at execution.
    pid, _ = propose(chain, registry, council.members[0], "GrantRole", mid, ROLE["Treasurer"])
    chain.transact(registry.functions.approve(pid), council.members[1])
    council.enact("RemoveMember", mid)
    with expect_revert("RegistryMemberInactive", memberId=mid):
        chain.transact(registry.functions.execute(pid), council.members[0])
    for change, args in [
        ("RemoveMember", (mid,)),
        ("GrantRole", (mid, ROLE["Auditor"])),
        ("AddAccount", (mid, chain.accounts[6])),
        ("SetDataKey", (mid, b"\x01" * 32)),
        ("AddNode", (mid, ENODE_A, "10.0.0.1", 30303)),
    ]:
        with expect_revert("RegistryMemberInactive", memberId=mid):
            propose(chain, registry, council.members[0], change, *args)


# ------------------------------------------------------------------ key rotation


def test_key_rotation_keeps_identity(chain: Chain, registry: Contract, council: Council) -> None:
    old, new = chain.accounts[5], chain.accounts[6]
    roles = roles_mask("Department", "Contributor")
    mid = council.admit("卫健委", "Department", roles, old)
    council.enact("SetDataKey", mid, b"\x07" * 32)
    admitted_at = member(registry, mid)["admittedAt"]
    receipt = council.enact("AddAccount", mid, new)
    assert all_events(registry, receipt)[0] == ("AccountAdded", {"memberId": mid, "account": new})
    receipt = council.enact("RemoveAccount", mid, old)
    assert all_events(registry, receipt)[0] == ("AccountRemoved", {"memberId": mid, "account": old})

    m = member(registry, mid)
    assert (m["id"], m["name"], m["roles"], m["dataKey"], m["admittedAt"], m["accounts"]) == (
        mid,
        "卫健委",
        roles,
        b"\x07" * 32,
        admitted_at,
        [new],
    )
    # The old key is bound to the member forever, but no longer active.
    assert registry.functions.memberIdOf(old).call() == mid
    assert registry.functions.accountInfo(old).call() == [mid, KIND["Department"], roles, False]
    assert not registry.functions.hasRole(old, ROLE["Department"]).call()
    assert not registry.functions.transactionAllowed(old, old, 0, 0, 0, b"").call()
    # The new key acts under the same member id.
    assert registry.functions.accountInfo(new).call() == [mid, KIND["Department"], roles, True]
    assert registry.functions.hasRole(new, ROLE["Contributor"]).call()
    assert registry.functions.membersWithRole(ROLE["Department"]).call() == [1, 2, mid]
    # The removed key can't be reused by anyone, not even to re-enter the same member.
    other = council.admit("民政局二所", "Enterprise", 0, chain.accounts[7])
    for change, args in [
        ("AddAccount", (other, old)),
        ("AddAccount", (mid, old)),
        ("AdmitMember", ("新成员", 1, 0, old)),
    ]:
        with expect_revert("RegistryAccountTaken", account=old, memberId=mid):
            propose(chain, registry, council.members[0], change, *args)


def test_council_key_rotation_keeps_seat_and_approvals(chain: Chain, registry: Contract, council: Council) -> None:
    a = council.members
    new = chain.accounts[5]
    pid, _ = propose(chain, registry, a[1], "SetThreshold", 3)  # member 2, old key
    council.enact("AddAccount", 2, new)
    council.enact("RemoveAccount", 2, a[1])
    assert registry.functions.approvalCount(pid).call() == 1  # approval belongs to member 2
    with expect_revert("RegistryNotCouncil", account=a[1]):
        chain.transact(registry.functions.approve(pid), a[1])
    with expect_revert("RegistryAlreadyApproved", proposalId=pid, memberId=2):
        chain.transact(registry.functions.approve(pid), new)
    receipt = chain.transact(registry.functions.approve(pid), a[0])
    assert all_events(registry, receipt)[0][1]["memberId"] == 1
    p2, receipt = propose(chain, registry, new, "SetProposalLifetime", DAY)
    assert all_events(registry, receipt)[1] == (
        "ProposalApproved",
        {"proposalId": p2, "memberId": 2, "account": new},
    )
    assert registry.functions.councilSize().call() == 3


# ------------------------------------------------------------------ Besu views


def test_transaction_allowed(chain: Chain, registry: Contract, council: Council) -> None:
    active, removed, rotated, unknown = chain.accounts[5:9]
    council.admit("卫健委", "Department", 0, active)
    gone = council.admit("城管局", "Department", 0, removed)
    council.enact("RemoveMember", gone)
    mid = council.admit("住建局", "Enterprise", 0, rotated)
    fresh = chain.new_account()
    council.enact("AddAccount", mid, fresh)
    council.enact("RemoveAccount", mid, rotated)

    def allowed(sender: str) -> bool:
        return bool(registry.functions.transactionAllowed(sender, registry.address, 1, 2, 3, b"\x01").call())

    assert allowed(active) and allowed(fresh) and allowed(council.members[0])
    assert not allowed(removed)
    assert not allowed(rotated)
    assert not allowed(unknown)
    assert not allowed("0x" + "00" * 20)


def test_connection_allowed(chain: Chain, registry: Contract, council: Council) -> None:
    a = chain.accounts
    keep = council.admit("卫健委", "Department", 0, a[5])
    gone = council.admit("城管局", "Department", 0, a[6])
    council.enact("AddNode", keep, ENODE_A, "10.0.0.4", 30303)
    council.enact("AddNode", keep, ENODE_B, "10.0.0.5", 30303)
    council.enact("RemoveNode", keep, ENODE_B, "10.0.0.5", 30303)
    enode_c = "c3" * 64
    council.enact("AddNode", gone, enode_c, "10.0.0.6", 30303)
    council.enact("RemoveMember", gone)

    def allowed(enode: str, ip: str, port: int) -> bool:
        return bool(registry.functions.connectionAllowed(enode, ip, port).call())

    assert allowed(ENODE_A, "10.0.0.4", 30303)
    assert not allowed(ENODE_A, "10.0.0.4", 30304)  # another port
    assert not allowed(ENODE_A, "10.0.0.9", 30303)  # another address
    assert not allowed(ENODE_B, "10.0.0.5", 30303)  # removed node
    assert not allowed(enode_c, "10.0.0.6", 30303)  # removed member
    assert not allowed("d4" * 64, "10.0.0.7", 30303)  # unknown


# ------------------------------------------------------------------ gas


def test_gas_table_measures_every_change_kind() -> None:
    from scripts.gas_membership import measure

    table = measure()
    assert set(table) == set(CHANGE)
    for change, (p, ap, ex) in table.items():
        assert 0 < p < 600_000 and 0 < ap < 100_000 and 0 < ex < 400_000, change
