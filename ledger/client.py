"""The ledger: one connection to the chain of one deployment, reads and writes.

:class:`Ledger` is a facade over the kernel: :class:`~ledger.rpc.RpcClient` (JSON-RPC with
fail-over) and :class:`~ledger.tx.TxPipeline` (nonces, gas and pre-flight, sending and
re-sending, receipts). It holds the chain's identity and code checks and the contract
registry. Reads and writes are kept apart: :meth:`Ledger.call` returns decoded values;
a write is two steps, ``pending = ledger.send(signer, call, journal)`` (pre-flighted, signed
locally, recorded in ``journal`` before it leaves, sent) then ``pending.wait()`` (the
:class:`~ledger.tx.TxReceipt` with the decoded events of our contracts, once confirmed);
:meth:`Ledger.transact` is both. Custom-error reverts become :class:`ContractReverted` with
the error's name and arguments, detected before anything is signed (the pre-flight
``eth_call`` simulates the call) and, if the state moved in between, after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any, overload

from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware

from ledger import artifacts
from ledger.abi import contract_spec, decode_output, encode_call
from ledger.errors import (
    ChainMismatch,
    ChainUnavailable,
    DeploymentMismatch,
    NotDeployed,
    OutOfGas,
    RpcError,
    TransactionFailed,
)
from ledger.events import Event, decode_logs
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.rpc import FailoverProvider, RpcClient, revert_from
from ledger.tx import ContractCall, Journal, NonceManager, Pending, TxPipeline, TxReceipt, TxStatus

log = logging.getLogger("ledger.client")

__all__ = [
    "CONSTANT_VIEWS",
    "VIEW_BATCH",
    "ContractCall",
    "Event",
    "Journal",
    "Ledger",
    "NonceManager",
    "Pending",
    "TxReceipt",
    "TxStatus",
    "View",
    "runtime_keccak",
]

#: Views returning a value fixed at deployment (Solidity ``immutable`` or ``constant``, or set only
#: by the constructor): :meth:`Ledger.call` asks each once per ledger.
CONSTANT_VIEWS: dict[str, frozenset[str]] = {
    "AccessCheckpoints": frozenset({"registry"}),
    "CaseDesk": frozenset({"registry", "satisfactionWindow", "MAX_ASSISTING"}),
    "CoGovFund": frozenset({"registry", "token", "quorum", "timeLock", "votingPeriod"}),
    "CommunityCredit": frozenset({"registry", "decimals", "name", "symbol"}),
    "DataSharing": frozenset({"registry", "MAX_GRANT_DURATION", "MAX_TITLE_LENGTH"}),
}


#: View calls in one JSON-RPC batch of :meth:`Ledger.views`.
VIEW_BATCH = 200

#: One view of :meth:`Ledger.views`: (contract name, function, args) or (name, function, args, address).
View = tuple[str, str, Sequence[Any]] | tuple[str, str, Sequence[Any], str]


class Ledger:
    """A connection to the chain of one deployment.

    Args:
        rpc_urls: One URL or several (fail-over in order).
        manifest: The deployment; when given, :meth:`check_chain` compares the
            chain id and genesis hash and :meth:`contract` resolves addresses.
        confirmations: Blocks a write waits for (1 = included in a block).
        receipt_timeout: Seconds to wait for a receipt before giving up.
        preflight: Simulate every write with ``eth_call`` before signing (the
            default), so a custom-error revert is decoded and nothing is sent.
            ``False`` skips the simulation (one request less per write): a revert is
            then mined and decoded afterwards (:class:`ContractReverted` with
            ``tx_hash``, by replaying the call on the parent block), and costs the gas
            it used (:class:`~ledger.tx.GasPlanner`).
    """

    def __init__(
        self,
        rpc_urls: str | Sequence[str],
        manifest: Manifest | None = None,
        *,
        confirmations: int = 1,
        receipt_timeout: float = 120.0,
        request_timeout: float = 30.0,
        preflight: bool = True,
    ) -> None:
        self.rpc_client = RpcClient(rpc_urls, timeout=request_timeout)
        self.w3 = Web3(self.provider)
        # Proof-of-authority headers (Clique, Besu QBFT) carry signers in extraData,
        # which web3's block validation would reject; harmless on Ganache.
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0, name="poa")
        self.manifest = manifest
        self.tx = TxPipeline(
            self.rpc_client, self, confirmations=confirmations, receipt_timeout=receipt_timeout, preflight=preflight
        )
        self._chain_ok: tuple[float, str, int] | None = None
        self._contracts: dict[str, Contract] = {}
        self._contracts_at: dict[tuple[str, str], Contract] = {}
        self._constants: dict[tuple[str, str], Any] = {}
        self._by_address: dict[str, str] = {}
        if manifest is not None:
            for name, dep in manifest.contracts.items():
                self._by_address[dep.address.lower()] = name

    @property
    def provider(self) -> FailoverProvider:
        """The transport (web3's provider): its ``urls`` are the nodes, in fail-over order."""
        return self.rpc_client.provider

    @property
    def confirmations(self) -> int:
        return self.tx.receipts.confirmations

    @property
    def receipt_timeout(self) -> float:
        return self.tx.receipts.timeout

    @property
    def preflight(self) -> bool:
        return self.tx.gas.preflight

    @property
    def nonces(self) -> NonceManager:
        return self.tx.nonces

    # ------------------------------------------------------------------ raw RPC

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC request (:meth:`RpcClient.request`): an error answer is :class:`RpcError`."""
        return self.rpc_client.request(method, params)

    def rpc_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Several JSON-RPC requests in one HTTP request; results in order (None for an error).

        Falls back to one request per call (with fail-over) when the node or the
        transport has no batch support (:meth:`RpcClient.batch`).
        """
        return [None if isinstance(a, RpcError) else a for a in self.rpc_client.batch(calls)]

    @property
    def url(self) -> str:
        return self.rpc_client.url

    @property
    def chain_id(self) -> int:
        return self.tx.chain_id

    @cached_property
    def genesis_hash(self) -> str:
        genesis = self.rpc_client.block(0)
        if genesis is None:
            raise ChainUnavailable(self.url, "no genesis block")
        return str(genesis["hash"])

    def block_number(self) -> int:
        return self.rpc_client.block_number()

    def is_up(self) -> bool:
        try:
            self.block_number()
        except ChainUnavailable:
            return False
        return True

    def check_chain(self, *, max_age: float = 0.0) -> None:
        """Raise :class:`ChainMismatch` unless this is the manifest's chain.

        With ``max_age`` a successful check is reused for that many seconds, as
        long as the ledger is on the same node and no request failed to reach a
        node since (a restarted or replaced node shows as a connection error
        first): a genesis block cannot change under a running node.
        """
        if self.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        ok = self._chain_ok
        if (
            max_age > 0
            and ok is not None
            and time.monotonic() - ok[0] < max_age
            and ok[1] == self.url
            and ok[2] == self.rpc_client.failures
        ):
            return
        self._chain_ok = None
        failures, url = self.rpc_client.failures, self.url
        if self.chain_id != self.manifest.chain_id:
            raise ChainMismatch("chain id", self.manifest.chain_id, self.chain_id)
        genesis = self.rpc_client.block(0)
        if genesis is None or genesis["hash"] != self.manifest.genesis_hash:
            raise ChainMismatch(
                "genesis hash", self.manifest.genesis_hash, genesis and genesis["hash"]
            )
        self._chain_ok = (time.monotonic(), url, failures)

    def verify_code(self) -> None:
        """Raise :class:`DeploymentMismatch` if code at any manifest address changed."""
        if self.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        for name, dep in self.manifest.contracts.items():
            code = self.rpc_client.code(dep.address)
            if code in (None, "0x"):
                raise DeploymentMismatch(name, dep.address, "no code at the address")
            if "0x" + keccak(hexstr=code).hex() != dep.runtime_keccak:
                raise DeploymentMismatch(name, dep.address, "runtime code differs from the manifest")

    # ------------------------------------------------------------------ contracts

    def contract(self, name: str, address: str | None = None) -> Contract:
        """A web3 contract object for ``name`` at its manifest address (or ``address``)."""
        if address is None:
            cached = self._contracts.get(name)
            if cached is not None:
                return cached
            if self.manifest is None:
                raise NotDeployed("no deployment manifest: run `cogov deploy`")
            address = self.manifest.address(name)
        at = (name, address.lower())
        known = self._contracts_at.get(at)
        if known is not None:  # building one parses the ABI: tens of ms, once per request otherwise
            return known
        c = self.w3.eth.contract(address=to_checksum_address(address), abi=artifacts.abi(name))
        self._contracts_at[at] = c
        self._by_address.setdefault(c.address.lower(), name)
        manifest = self.manifest
        if manifest is not None and name in manifest.contracts and manifest.address(name).lower() == address.lower():
            self._contracts.setdefault(name, c)  # only the manifest's address is the name's default
        return c

    def register(self, name: str, address: str) -> None:
        """Decode events from ``address`` as contract ``name`` (for contracts outside the manifest)."""
        self._by_address[address.lower()] = name

    # ------------------------------------------------------------------ reads

    def call(self, name: str, fn: str, *args: Any, sender: str | None = None, block: str | int = "latest") -> Any:
        """Call a view; custom-error reverts become :class:`ContractReverted`.

        Views of values fixed at deployment (:data:`CONSTANT_VIEWS`: immutables and
        constants) are asked once per ledger.
        """
        constant = not args and fn in CONSTANT_VIEWS.get(name, ()) and block == "latest"
        key = (str(self.contract(name).address), fn) if constant else None
        if key is not None and key in self._constants:
            return self._constants[key]
        value = self._call(name, fn, *args, sender=sender, block=block)
        if key is not None:
            self._constants[key] = value
        return value

    def _call(self, name: str, fn: str, *args: Any, sender: str | None, block: str | int) -> Any:
        contract = self.contract(name)
        data, outputs = encode_call(contract, name, fn, args)
        tx: dict[str, Any] = {"to": contract.address, "data": data}
        if sender:
            tx["from"] = sender
        try:
            raw = self.rpc_client.call(tx, block)
        except RpcError as exc:
            raise revert_from(exc) from exc
        return decode_output(raw, outputs)

    def views(
        self, calls: Sequence[View], *, block: int | str | Sequence[int] = "latest", raise_errors: bool = True
    ) -> list[Any]:
        """Several independent views in JSON-RPC batches of :data:`VIEW_BATCH` (one HTTP round
        trip each), decoded as :meth:`call` decodes them; ``block``: one block for all, or one each.

        A view the batch answered with an error (a revert) is asked again on its own, so it raises
        exactly what :meth:`call` would (:class:`~ledger.errors.ContractReverted` with the custom
        error). With ``raise_errors`` False that error, or :class:`~ledger.errors.TransactionFailed`
        for an answer that does not decode (the code at the address is not the contract), takes
        the view's place instead. Constant views are not cached here: use :meth:`call` for those.
        """
        blocks = [block] * len(calls) if isinstance(block, int | str) else list(block)
        prepared = []
        for item, blk in zip(calls, blocks, strict=True):
            name, fn, args = item[0], item[1], tuple(item[2])
            address = item[3] if len(item) > 3 else None
            contract = self.contract(name, address)
            data, outputs = encode_call(contract, name, fn, args)
            prepared.append(({"to": contract.address, "data": data}, blk, outputs))
        raws: list[Any] = [None] * len(prepared)
        if len(prepared) > 1:
            raws = []
            for i in range(0, len(prepared), VIEW_BATCH):
                chunk = prepared[i : i + VIEW_BATCH]
                raws += self.rpc_client.calls([(tx, blk) for tx, blk, _ in chunk])
        out: list[Any] = []
        for raw, (tx, blk, outputs) in zip(raws, prepared, strict=True):
            if not isinstance(raw, str):
                try:
                    raw = self.rpc_client.call(tx, blk)
                except RpcError as exc:
                    if raise_errors:
                        raise revert_from(exc) from exc
                    out.append(revert_from(exc))
                    continue
            try:
                out.append(decode_output(raw, outputs))
            except Exception as exc:  # code at the address is not this contract
                if raise_errors:
                    raise
                out.append(TransactionFailed(f"undecodable answer of {tx['to']}: {exc}"))
        return out

    # ------------------------------------------------------------------ writes

    def prepare(
        self, name: str, fn: str, *args: Any, gas: int | None = None, address: str | None = None
    ) -> ContractCall:
        """The call ``name.fn(*args)`` (at its manifest address, or ``address``), ready to send."""
        contract = self.contract(name, address)
        data, _ = encode_call(contract, name, fn, args)
        return ContractCall(str(contract.address), data, gas=gas, contract=name, function=fn, args=args)

    def send(self, signer: Signer, call: ContractCall, journal: Journal | None = None) -> Pending:
        """Pre-flight, sign, ``journal.record`` the :class:`~ledger.tx.Pending` before the bytes
        leave the process (so a crash mid-write loses nothing signed), send; return it.
        ``pending.wait()`` waits for the receipt (:class:`~ledger.tx.TxPipeline`)."""
        return self.tx.send(signer, call, journal)

    @overload
    def transact(self, signer: Signer, target: ContractCall) -> TxReceipt: ...

    @overload
    def transact(self, signer: Signer, target: str, fn: str, *args: Any, gas: int | None = None) -> TxReceipt: ...

    def transact(
        self, signer: Signer, target: ContractCall | str, fn: str | None = None, *args: Any, gas: int | None = None
    ) -> TxReceipt:
        """Send a prepared call (or ``name.fn(*args)``) and wait for its confirmed receipt.

        A transaction that ran out of gas in its block (:class:`~ledger.errors.OutOfGas`: another
        write made it dearer after its pre-flight, and nothing of it happened) is sent once more,
        its gas estimated afresh at the state that made it dearer, unless the call names its gas."""
        if isinstance(target, str):
            if fn is None:
                raise TypeError("transact(signer, name, fn, *args): the function is missing")
            target = self.prepare(target, fn, *args, gas=gas)
        try:
            return self.send(signer, target).wait()
        except OutOfGas as exc:
            if target.gas is not None:
                raise
            log.info("%s; estimating afresh and sending it again", exc.message)
            self.tx.gas.cached(target.tx(signer.address), fresh=True)
        return self.send(signer, target).wait()

    def deploy(self, signer: Signer, name: str, *args: Any, gas: int | None = None) -> TxReceipt:
        """Deploy contract ``name`` with constructor ``args``."""
        art = artifacts.load(name)
        factory = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        data = factory.constructor(*args).data_in_transaction
        receipt = self.transact(signer, ContractCall(None, data, gas=gas, contract=name))
        if receipt.contract_address is None:
            raise TransactionFailed(f"deploying {name} created no contract")
        self.register(name, receipt.contract_address)
        return receipt

    def rebroadcast(self, signed: bytes) -> str:
        """Send already-signed bytes again (same hash: never a second transaction); returns the hash
        (:meth:`~ledger.tx.TxPipeline.rebroadcast`)."""
        return self.tx.rebroadcast(signed)

    def wait(self, tx_hash: str, tx: dict[str, Any] | None = None, timeout: float | None = None) -> TxReceipt:
        """Wait for the receipt of ``tx_hash`` and the configured confirmations (nothing re-sent)."""
        return self.tx.receipts.wait(tx_hash, tx, timeout)

    def wait_signed(self, signed: bytes, timeout: float | None = None) -> TxReceipt:
        """Wait for the transaction ``signed`` is, sending the same bytes again while a node lost them;
        :class:`~ledger.errors.NonceSuperseded` once its nonce is another's
        (:meth:`~ledger.tx.TxPipeline.wait_signed`)."""
        return self.tx.wait_signed(signed, timeout)

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of a mined transaction, or None if it is not (yet) on chain."""
        return self.tx.receipts.get(tx_hash)

    def status(self, tx_hash: str) -> TxStatus:
        """Where ``tx_hash`` is now, against :attr:`confirmations`; a failure is named
        (:class:`ContractReverted`, by replaying the call on the parent block)."""
        return self.tx.status(tx_hash)

    def gas_price(self) -> int:
        return self.tx.gas.price()

    def decode_logs(self, logs: list[dict[str, Any]]) -> list[Event]:
        """The events of our contracts (the manifest's and :meth:`register`ed ones) in raw logs."""
        specs = {}
        for entry in logs:
            address = str(entry["address"]).lower()
            name = self._by_address.get(address)
            if name is not None and address not in specs:
                specs[address] = contract_spec(name, address)
        return decode_logs(logs, specs)


def runtime_keccak(code_hex: str) -> str:
    return "0x" + keccak(hexstr=code_hex).hex()

