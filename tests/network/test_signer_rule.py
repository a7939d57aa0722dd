"""The signer rule (who may seal blocks) as a pure function of registry state: no nodes needed."""

from __future__ import annotations

from ledger.besu import MemberRecord, NodeRecord
from ledger.network.signers import ManagedNode, desired_signers

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
C = "0x" + "cc" * 20
ENODE_A = "a1" * 64
ENODE_B = "b1" * 64


def member(mid: int, accounts: tuple[str, ...], nodes: tuple[str, ...] = (), active: bool = True) -> MemberRecord:
    return MemberRecord(mid, f"m{mid}", active, accounts, tuple(NodeRecord(n, "127.0.0.1", 30303) for n in nodes))


def node(signer: str, enode: str) -> ManagedNode:
    from eth_utils import to_checksum_address

    return ManagedNode("http://127.0.0.1:1", enode, to_checksum_address(signer))


def test_member_with_registered_node_and_signing_account_is_a_signer() -> None:
    got = desired_signers([member(1, (A,), (ENODE_A,))], [node(A, ENODE_A)], current=[])
    assert {a.lower() for a in got} == {A}


def test_member_without_a_registered_node_is_not() -> None:
    assert desired_signers([member(1, (A,))], [node(A, ENODE_A)], current=[A]) == set()


def test_inactive_member_is_voted_out() -> None:
    assert desired_signers([member(1, (A,), (ENODE_A,), active=False)], [node(A, ENODE_A)], current=[A]) == set()


def test_node_registered_to_another_member_does_not_count() -> None:
    members = [member(1, (A,), (ENODE_B,)), member(2, (B,))]
    assert desired_signers(members, [node(A, ENODE_A), node(B, ENODE_B)], current=[]) == set()


def test_current_signer_of_an_unmanaged_node_is_kept_while_its_member_qualifies() -> None:
    members = [member(1, (A,), (ENODE_A,)), member(2, (C,), (ENODE_B,))]
    got = desired_signers(members, [node(A, ENODE_A)], current=[C])
    assert {a.lower() for a in got} == {A, C}


def test_signer_that_is_nobodys_account_is_voted_out() -> None:
    got = desired_signers([member(1, (A,), (ENODE_A,))], [node(A, ENODE_A)], current=[A, B])
    assert {a.lower() for a in got} == {A}
