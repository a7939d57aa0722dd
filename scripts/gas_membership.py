"""Gas of propose, approve and execute for each MembershipRegistry change kind.

Usage: .venv/bin/python scripts/gas_membership.py

Runs on eth-tester's in-process chain (a dev dependency) with the contract-test
harness (ledger.testing.evm): a three-seat council with threshold 2, so each change is one propose
(which counts the proposer's approval), one approve and one execute.
"""

from __future__ import annotations

from typing import Any

from ledger.testing.evm import CHANGE, KIND, ROLE, Chain, Council, deploy_registry, payload, roles_mask

ENODE = "a1" * 64


def _setup(council: Council, accounts: list[str]) -> None:
    """A member 4 with two accounts and a node, so every change has something to act on."""
    council.admit("卫健委", "Department", roles_mask("Department"), accounts[5])
    council.enact("AddAccount", 4, accounts[6])
    council.enact("AddNode", 4, "b2" * 64, "10.0.0.5", 30303)
    council.enact("SetDataKey", 4, b"\x01" * 32)


def _args(change: str, accounts: list[str]) -> tuple[Any, ...]:
    return {
        "AdmitMember": (
            "社区居委会",
            KIND["ResidentGroup"],
            roles_mask("Contributor"),
            accounts[7],
        ),
        "RemoveMember": (4,),
        "GrantRole": (4, ROLE["Treasurer"]),
        "RevokeRole": (4, ROLE["Department"]),
        "AddAccount": (4, accounts[8]),
        "RemoveAccount": (4, accounts[5]),
        "SetDataKey": (4, b"\x02" * 32),
        "AddNode": (4, ENODE, "10.0.0.4", 30303),
        "RemoveNode": (4, "b2" * 64, "10.0.0.5", 30303),
        "SetThreshold": (3,),
        "SetProposalLifetime": (3 * 24 * 3600,),
    }[change]


def measure() -> dict[str, tuple[int, int, int]]:
    """Change kind -> (propose gas, approve gas, execute gas), each on a fresh setup."""
    chain = Chain()
    a = chain.accounts
    registry = deploy_registry(chain, a[1:4])
    council = Council(chain, registry, a[1:4])
    _setup(council, a)
    table: dict[str, tuple[int, int, int]] = {}
    for change in CHANGE:
        with chain.snapshot():
            fn = registry.functions
            proposed = chain.transact(
                fn.propose(CHANGE[change], payload(change, *_args(change, a))), a[1]
            )
            pid = fn.proposalCount().call()
            approved = chain.transact(fn.approve(pid), a[2])
            executed = chain.transact(fn.execute(pid), a[1])
            table[change] = (proposed["gasUsed"], approved["gasUsed"], executed["gasUsed"])
    return table


def main() -> None:
    table = measure()
    print(f"| {'change kind':<20} | {'propose':>8} | {'approve':>8} | {'execute':>8} |")
    print(f"| {'-' * 20} | {'-' * 8}: | {'-' * 8}: | {'-' * 8}: |")
    for change, (p, ap, ex) in table.items():
        print(f"| {change:<20} | {p:>8} | {ap:>8} | {ex:>8} |")


if __name__ == "__main__":
    main()
