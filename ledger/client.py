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

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, overload

from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware

from ledger import artifacts
from ledger.errors import (
    ChainMismatch,
    ChainUnavailable,
    DeploymentMismatch,
    NotDeployed,
    RpcError,
    TransactionFailed,
)
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.rpc import FailoverProvider, RpcClient, revert_from
from ledger.tx import ContractCall, Journal, NonceManager, Pending, TxPipeline, TxReceipt, TxStatus

__all__ = [
    "CONSTANT_VIEWS",
    "ContractCall",
    "DecodedEvent",
    "Journal",
    "Ledger",
    "NonceManager",
    "Pending",
    "TxReceipt",
    "TxStatus",
    "runtime_keccak",
]

#: Views returning a value fixed at deployment (Solidity ``immutable`` or ``constant``, or set only
#: by the constructor): :meth:`Ledger.call` asks each once per ledger.
CONSTANT_VIEWS: dict[str, frozenset[str]] = {
    "CoGovFund": frozenset({"registry", "token", "quorum", "timeLock", "votingPeriod"}),
    "CommunityCredit": frozenset({"registry", "decimals", "name", "symbol"}),
    "DataSharing": frozenset({"registry", "MAX_GRANT_DURATION", "MAX_TITLE_LENGTH"}),
}


@dataclass(frozen=True)
class DecodedEvent:
    """One event of one of our contracts, decoded."""

    contract: str
    name: str
    args: dict[str, Any]
    address: str
    log_index: int
    block_number: int
    tx_hash: str


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
        if address is None or (self.manifest and self.manifest.contracts.get(name)):
            self._contracts.setdefault(name, c)
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
        data, outputs = _encode_call(contract, name, fn, args)
        tx: dict[str, Any] = {"to": contract.address, "data": data}
        if sender:
            tx["from"] = sender
        try:
            raw = self.rpc_client.call(tx, block)
        except RpcError as exc:
            raise revert_from(exc) from exc
        output_types = [_abi_type(o) for o in outputs]
        from eth_abi import decode

        values = decode(output_types, bytes.fromhex(raw[2:]))
        values = tuple(_normalize(v, o) for v, o in zip(values, outputs, strict=True))
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ writes

    def prepare(
        self, name: str, fn: str, *args: Any, gas: int | None = None, address: str | None = None
    ) -> ContractCall:
        """The call ``name.fn(*args)`` (at its manifest address, or ``address``), ready to send."""
        contract = self.contract(name, address)
        data, _ = _encode_call(contract, name, fn, args)
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
        """Send a prepared call (or ``name.fn(*args)``) and wait for its confirmed receipt."""
        if isinstance(target, str):
            if fn is None:
                raise TypeError("transact(signer, name, fn, *args): the function is missing")
            target = self.prepare(target, fn, *args, gas=gas)
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

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of a mined transaction, or None if it is not (yet) on chain."""
        return self.tx.receipts.get(tx_hash)

    def status(self, tx_hash: str) -> TxStatus:
        """Where ``tx_hash`` is now, against :attr:`confirmations`; a failure is named
        (:class:`ContractReverted`, by replaying the call on the parent block)."""
        return self.tx.status(tx_hash)

    def gas_price(self) -> int:
        return self.tx.gas.price()

    def decode_logs(self, logs: list[dict[str, Any]]) -> list[DecodedEvent]:
        out = []
        for entry in logs:
            name = self._by_address.get(str(entry["address"]).lower())
            if name is None:
                continue
            decoded = _event_decoder(name).decode(entry)
            if decoded is None:
                continue
            event_name, args = decoded
            out.append(
                DecodedEvent(
                    contract=name,
                    name=event_name,
                    args=args,
                    address=to_checksum_address(entry["address"]),
                    log_index=_quantity(entry["logIndex"]),
                    block_number=_quantity(entry["blockNumber"]),
                    tx_hash=str(entry["transactionHash"]),
                )
            )
        return out


_functions: dict[tuple[str, str], tuple[str, list[str], list[dict[str, Any]]] | None] = {}


def _function(name: str, fn: str) -> tuple[str, list[str], list[dict[str, Any]]] | None:
    """(selector, input types, output ABI) of ``name.fn``, or None when overloaded or unknown."""
    key = (name, fn)
    if key not in _functions:
        items = [i for i in artifacts.abi(name) if i.get("type") == "function" and i.get("name") == fn]
        spec = None
        if len(items) == 1:
            types = [_abi_type(i) for i in items[0]["inputs"]]
            selector = "0x" + keccak(text=f"{fn}({','.join(types)})").hex()[:8]
            spec = (selector, types, list(items[0]["outputs"]))
        _functions[key] = spec
    return _functions[key]


def _encode_call(contract: Contract, name: str, fn: str, args: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Calldata and output ABI of ``fn(*args)``: straight through eth_abi (web3's function
    lookup and encoding cost ~5 ms a call under load); web3's path for whatever eth_abi
    does not take as given (overloads, hex strings for bytes, structs as dicts)."""
    spec = _function(name, fn)
    if spec is not None:
        from eth_abi import encode

        try:
            return spec[0] + encode(spec[1], list(args)).hex(), spec[2]
        except Exception:  # any value eth_abi refuses: web3 normalises it below
            pass
    func = contract.get_function_by_name(fn)(*args)
    return str(contract.encode_abi(fn, args=list(args))), list(func.abi["outputs"])



def _abi_type(item: dict[str, Any]) -> str:
    t = str(item["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + t[5:]
    return t


def _normalize(value: Any, item: dict[str, Any]) -> Any:
    """Decoded ABI values to plain Python: addresses checksummed, tuples to dicts by name."""
    t = str(item["type"])
    if t.endswith("]"):
        inner = dict(item)
        inner["type"] = t[: t.rindex("[")]
        return [_normalize(v, inner) for v in value]
    if t == "tuple":
        return {c["name"]: _normalize(v, c) for v, c in zip(value, item["components"], strict=True)}
    if t == "address":
        return to_checksum_address(value)
    return value


class _EventDecoder:
    """topic0 -> (event name, ABI inputs) for one contract, decoding without web3 overhead."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.by_topic: dict[bytes, dict[str, Any]] = {}
        for item in abi:
            if item.get("type") != "event" or item.get("anonymous"):
                continue
            sig = f"{item['name']}({','.join(_abi_type(i) for i in item['inputs'])})"
            self.by_topic[keccak(text=sig)] = item

    def decode(self, entry: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        from eth_abi import decode

        topics = [_to_bytes(t) for t in entry["topics"]]
        if not topics:
            return None
        item = self.by_topic.get(topics[0])
        if item is None:
            return None
        indexed = [i for i in item["inputs"] if i["indexed"]]
        plain = [i for i in item["inputs"] if not i["indexed"]]
        values: dict[str, Any] = {}
        for inp, topic in zip(indexed, topics[1:], strict=False):
            t = _abi_type(inp)
            if t in ("string", "bytes") or t.endswith("]") or t.startswith("("):
                values[inp["name"]] = topic  # only the hash is in the topic
            else:
                values[inp["name"]] = _normalize(decode([t], topic)[0], inp)
        data = _to_bytes(entry["data"])
        decoded = decode([_abi_type(i) for i in plain], data) if plain else ()
        for inp, v in zip(plain, decoded, strict=True):
            values[inp["name"]] = _normalize(v, inp)
        ordered = {i["name"]: values[i["name"]] for i in item["inputs"]}
        return str(item["name"]), ordered


_decoders: dict[str, _EventDecoder] = {}


def _event_decoder(name: str) -> _EventDecoder:
    dec = _decoders.get(name)
    if dec is None:
        dec = _decoders[name] = _EventDecoder(artifacts.abi(name))
    return dec


def _to_bytes(v: Any) -> bytes:
    if isinstance(v, bytes | bytearray):
        return bytes(v)
    s = str(v)
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def _quantity(v: Any) -> int:
    """A JSON-RPC quantity (hex string) or an int, as int."""
    return int(v, 16) if isinstance(v, str) else int(v)


def runtime_keccak(code_hex: str) -> str:
    return "0x" + keccak(hexstr=code_hex).hex()

