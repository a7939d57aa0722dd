"""An in-process chain (eth-tester's py-evm) for the fast contract tests and the gas benchmark.

:class:`Chain` deploys artifacts and sends calls as the ledger does (simulated first, so a
custom error is decoded the same way); :class:`Council` pushes membership changes through the
registry's proposals. Needs the ``dev`` extra (``eth-tester[py-evm]``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from eth_abi import encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import TxParams, TxReceipt, Wei

from ledger import artifacts
from ledger.abi import decode_revert, revert_data_from_exception
from ledger.errors import ContractReverted
from ledger.membership.roles import Role

GAS = 8_000_000

# Role and change-kind numbers, as in IMembershipRegistry (roles: ledger.membership.roles), by
# the contract's names ("DataGovernance").
ROLE = {"".join(w.title() for w in r.name.split("_")): int(r) for r in Role}
KIND = {"Department": 0, "Enterprise": 1, "ResidentGroup": 2, "Auditor": 3}
CHANGE = {
    name: i
    for i, name in enumerate(
        [
            "AdmitMember",
            "RemoveMember",
            "GrantRole",
            "RevokeRole",
            "AddAccount",
            "RemoveAccount",
            "SetDataKey",
            "AddNode",
            "RemoveNode",
            "SetThreshold",
            "SetProposalLifetime",
        ]
    )
}
PAYLOAD_TYPES = {
    "AdmitMember": ["string", "uint8", "uint16", "address"],
    "RemoveMember": ["uint64"],
    "GrantRole": ["uint64", "uint8"],
    "RevokeRole": ["uint64", "uint8"],
    "AddAccount": ["uint64", "address"],
    "RemoveAccount": ["uint64", "address"],
    "SetDataKey": ["uint64", "bytes32"],
    "AddNode": ["uint64", "string", "string", "uint16"],
    "RemoveNode": ["uint64", "string", "string", "uint16"],
    "SetThreshold": ["uint256"],
    "SetProposalLifetime": ["uint48"],
}


def roles_mask(*names: str) -> int:
    mask = 0
    for n in names:
        mask |= 1 << ROLE[n]
    return mask


def payload(change: str, *args: Any) -> bytes:
    return encode(PAYLOAD_TYPES[change], list(args))


class Chain:
    """A thin test helper over one in-process chain."""

    def __init__(self, account_seed: str | None = None) -> None:
        """``account_seed``: derive new accounts' keys from it (same addresses every run)
        instead of random keys; bench/gas.py needs that, since a zero byte in an address
        changes calldata gas."""
        self.tester = EthereumTester(PyEVMBackend())
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        self.accounts: list[str] = list(self.w3.eth.accounts)
        self._account_seed = account_seed
        self._created = 0

    def deploy(self, name: str, *args: Any, sender: str | None = None) -> Contract:
        art = artifacts.load(name)
        factory = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        tx = factory.constructor(*args).transact({"from": sender or self.accounts[0], "gas": GAS})
        receipt = self.w3.eth.get_transaction_receipt(tx)
        assert receipt["status"] == 1 and receipt["contractAddress"] is not None
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])

    def at(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=artifacts.abi(name))

    def transact(self, fn: ContractFunction, sender: str, value: int = 0) -> TxReceipt:
        """Send ``fn`` from ``sender``; raise :class:`ContractReverted` on revert.

        The call is simulated first (as the ledger does before signing), which is
        where the custom error is decoded; a transaction that still fails on chain
        is reported as UnknownRevert.
        """
        params: TxParams = {"from": to_checksum_address(sender), "gas": GAS, "value": Wei(value)}
        try:
            fn.call(params)
            tx = fn.transact(params)
        except Exception as exc:  # web3 raises per-provider types; decode uniformly
            data = revert_data_from_exception(exc)
            if data is None:
                raise
            raise decode_revert(data) from exc
        receipt = self.w3.eth.get_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise ContractReverted("UnknownRevert", {})
        return receipt

    def call(self, fn: ContractFunction, sender: str | None = None) -> Any:
        try:
            return fn.call({"from": sender or self.accounts[0]})
        except Exception as exc:
            data = revert_data_from_exception(exc)
            if data is None:
                raise
            raise decode_revert(data) from exc

    def events(self, contract: Contract, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        from web3.logs import DISCARD

        return [dict(e["args"]) for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def time_travel(self, seconds: int) -> None:
        """Move chain time forward and mine a block at the new time."""
        self.tester.time_travel(self.now() + seconds)

    def new_account(self, funded: bool = True) -> str:
        from eth_account import Account

        if self._account_seed is None:
            acct = Account.create()
        else:
            self._created += 1
            acct = Account.from_key(Web3.keccak(text=f"{self._account_seed}/{self._created}"))
        address = self.tester.add_account(acct.key.hex())
        if funded:
            self.w3.eth.send_transaction(
                {"from": self.accounts[0], "to": address, "value": Wei(10**18), "gas": 21000}
            )
        return str(address)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        snap = self.tester.take_snapshot()
        try:
            yield
        finally:
            self.tester.revert_to_snapshot(snap)


class Council:
    """The bootstrapped registry and helpers to push changes through the council."""

    def __init__(self, chain: Chain, registry: Contract, members: list[str]) -> None:
        self.chain = chain
        self.registry = registry
        self.members = members  # council accounts; member ids 1..len

    def enact(self, change: str, *args: Any) -> Any:
        """Propose, approve to the threshold and execute; return the execute receipt."""
        c, r = self.chain, self.registry
        receipt = c.transact(r.functions.propose(CHANGE[change], payload(change, *args)), self.members[0])
        pid = c.events(r, receipt, "ProposalCreated")[0]["proposalId"]
        needed = r.functions.threshold().call()
        for member in self.members[1:needed]:
            c.transact(r.functions.approve(pid), member)
        return c.transact(r.functions.execute(pid), self.members[0])

    def admit(self, name: str, kind: str, roles: int, account: str) -> int:
        receipt = self.enact("AdmitMember", name, KIND[kind], roles, account)
        return int(self.chain.events(self.registry, receipt, "MemberAdmitted")[0]["memberId"])


#: A council proposal's lifetime in the standard registry (seconds).
PROPOSAL_LIFETIME = 7 * 24 * 3600


def deploy_registry(
    chain: Chain, council: Sequence[str], *, lifetime: int = PROPOSAL_LIFETIME, sender: str | None = None
) -> Contract:
    """The MembershipRegistry with the standard three-seat council on ``chain`` (threshold 2):
    街道办 and 民政局 (Department), 区数据局 (DataGovernance), seated on ``council``'s accounts."""
    seats = [
        ("街道办", KIND["Department"], roles_mask("Department"), council[0]),
        ("民政局", KIND["Department"], roles_mask("Department"), council[1]),
        ("区数据局", KIND["Department"], roles_mask("DataGovernance"), council[2]),
    ]
    return chain.deploy("MembershipRegistry", seats, 2, lifetime, sender=sender or chain.accounts[0])


def state_changing_functions(contract_name: str) -> set[str]:
    """Every non-view function in the contract's ABI: the role matrix must cover each."""
    return {
        item["name"]
        for item in artifacts.abi(contract_name)
        if item.get("type") == "function" and item.get("stateMutability") in ("nonpayable", "payable")
    }
