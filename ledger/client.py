"""The ledger core: one connection to the chain, safe concurrent sends, typed receipts.

Reads and writes are kept apart: :meth:`Ledger.call` returns decoded values,
:meth:`Ledger.transact` signs locally, sends, waits for the configured number
of confirmations and returns a :class:`TxReceipt` with the decoded events of
our contracts. Custom-error reverts become :class:`ContractReverted` with the
error's name and arguments, detected before anything is signed (the
pre-flight ``eth_call`` simulates the call) and, if the state moved in between, after.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import RPCEndpoint

from ledger import artifacts
from ledger.abi import contract_spec, decode_output, decode_revert, encode_call, revert_data_from_exception
from ledger.errors import (
    ChainMismatch,
    ChainUnavailable,
    ContractReverted,
    DeploymentMismatch,
    LedgerError,
    NonceSuperseded,
    NotDeployed,
    RpcError,
    TransactionFailed,
)
from ledger.events import Event, decode_logs
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.transport import FailoverProvider

log = logging.getLogger("ledger.client")

GAS_MARGIN = 1.25
GAS_PRICE_TTL = 60.0
#: Seconds without a receipt before checking that the node still has the transaction
#: (and every earlier nonce of its sender that we signed).
RESEND_AFTER = 5.0
#: Signed transactions kept per ledger, to send the same bytes again when a node lost one.
RECENT_KEPT = 4096
#: Seconds a cached gas estimate is reused (one ``eth_estimateGas`` per function and calldata size).
GAS_CACHE_TTL = 60.0

#: Views returning a value fixed at deployment (Solidity ``immutable`` or ``constant``, or set only
#: by the constructor): :meth:`Ledger.call` asks each once per ledger.
CONSTANT_VIEWS: dict[str, frozenset[str]] = {
    "CoGovFund": frozenset({"registry", "token", "quorum", "timeLock", "votingPeriod"}),
    "CommunityCredit": frozenset({"registry", "decimals", "name", "symbol"}),
    "DataSharing": frozenset({"registry", "MAX_GRANT_DURATION", "MAX_TITLE_LENGTH"}),
}

#: View calls in one JSON-RPC batch of :meth:`Ledger.views`.
VIEW_BATCH = 200

#: One view of :meth:`Ledger.views`: (contract name, function, args) or (name, function, args, address).
View = tuple[str, str, Sequence[Any]] | tuple[str, str, Sequence[Any], str]

#: Set by :meth:`Ledger.send_only`: the write carrying a ``before_send`` hook returns once sent.
_SEND_ONLY: ContextVar[bool] = ContextVar("cogov_send_only", default=False)


class TxSent(Exception):
    """Raised out of a write inside :meth:`Ledger.send_only` once its transaction has left.

    It unwinds the wrapper that would otherwise wait for the receipt and decode it;
    the caller catches it and answers with :attr:`tx_hash` (pending).
    """

    def __init__(self, tx_hash: str, tx: dict[str, Any]) -> None:
        super().__init__(tx_hash)
        self.tx_hash = tx_hash
        self.tx = tx


@dataclass(frozen=True)
class TxStatus:
    """Where a transaction is: ``unknown``, ``pending``, ``mined`` (fewer confirmations than
    the ledger waits for), ``confirmed``, or ``failed`` (mined and reverted; ``error`` names why)."""

    tx_hash: str
    state: str
    block_number: int | None = None
    block_hash: str | None = None
    confirmations: int = 0
    required_confirmations: int = 1
    gas_used: int | None = None
    events: tuple[Event, ...] = ()
    error: LedgerError | None = None


@dataclass(frozen=True)
class TxReceipt:
    """What a write returns: where it landed and what it did."""

    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    status: int
    events: tuple[Event, ...] = field(default_factory=tuple)
    contract_address: str | None = None

    def event(self, name: str) -> Event:
        for e in self.events:
            if e.name == name:
                return e
        raise LookupError(f"transaction {self.tx_hash} emitted no {name} event")

    def events_named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


class NonceManager:
    """Hands out nonces per account, safe under concurrent callers.

    The per-account lock is held from nonce reservation through signing and
    sending, so transactions reach the node in nonce order. Any failure after
    a nonce was taken makes the next caller re-read the count from the node,
    so a lost or rejected transaction never leaves a gap.
    """

    def __init__(self, fetch: Callable[[str], int]) -> None:
        self._fetch = fetch
        self._next: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    @contextmanager
    def reserve(self, address: str) -> Iterator[int]:
        lock = self._lock_for(address)
        with lock:
            nonce = self._next.get(address)
            if nonce is None:
                nonce = self._fetch(address)
            try:
                yield nonce
            except BaseException:
                self._next.pop(address, None)  # resync from the node next time
                raise
            self._next[address] = nonce + 1

    def reset(self, address: str | None = None) -> None:
        with self._guard:
            if address is None:
                self._next.clear()
            else:
                self._next.pop(address, None)


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
            Either way the gas limit of each (contract, function, calldata size)
            is estimated once (``eth_estimateGas``) and reused for
            :data:`GAS_CACHE_TTL` seconds with :data:`GAS_MARGIN`; the pre-flight
            runs with that limit, and a call that would run out of it is
            estimated afresh. ``False`` skips the simulation (one request less per
            write): a revert is then mined and decoded afterwards
            (:class:`ContractReverted` with ``tx_hash``, by replaying the call on
            the parent block), and costs the gas it used.
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
        urls = [rpc_urls] if isinstance(rpc_urls, str) else list(rpc_urls)
        self.provider = FailoverProvider(urls, timeout=request_timeout)
        self.w3 = Web3(self.provider)
        # Proof-of-authority headers (Clique, Besu QBFT) carry signers in extraData,
        # which web3's block validation would reject; harmless on Ganache.
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0, name="poa")
        self.manifest = manifest
        self.confirmations = max(1, confirmations)
        self.receipt_timeout = receipt_timeout
        self.nonces = NonceManager(self._pending_nonce)
        self._gas_price: tuple[float, int] | None = None
        self.preflight = preflight
        self._gas_cache: dict[tuple[str | None, str, int], tuple[float, int]] = {}
        self._gas_locks: dict[tuple[str | None, str, int], threading.Lock] = {}
        self._receipts = _ReceiptPoller(self)
        self._recent: dict[tuple[str, int], bytes] = {}  # (sender, nonce) -> signed bytes we sent
        self._recent_lock = threading.Lock()
        self._transport_failures = 0  # ChainUnavailable seen by rpc(): invalidates check_chain's cache
        self._chain_ok: tuple[float, str, int] | None = None
        self._batch_ok = True
        self._contracts: dict[str, Contract] = {}
        self._contracts_at: dict[tuple[str, str], Contract] = {}
        self._constants: dict[tuple[str, str], Any] = {}
        self._by_address: dict[str, str] = {}
        if manifest is not None:
            for name, dep in manifest.contracts.items():
                self._by_address[dep.address.lower()] = name

    # ------------------------------------------------------------------ raw RPC

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC request; errors other than transport stay in the result."""
        try:
            response = self.provider.make_request(RPCEndpoint(method), params or [])
        except ChainUnavailable:
            self._transport_failures += 1
            raise
        return _result(response)

    def rpc_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Several JSON-RPC requests in one HTTP request; results in order (None for an error).

        Falls back to one request per call (with fail-over) when the node or the
        transport has no batch support.
        """
        if len(calls) > 1 and self._batch_ok:
            current = self.provider._providers[self.provider._current]  # the same package's transport
            try:
                answers = current.make_batch_request([(RPCEndpoint(m), p) for m, p in calls])
                if isinstance(answers, list) and len(answers) == len(calls):
                    return [a.get("result") if "error" not in a else None for a in answers]
            except (NotImplementedError, ValueError, TypeError):
                pass
            except Exception:  # connection errors: the per-call path fails over
                pass
            else:
                self._batch_ok = False  # a node that answers a batch with one error
        out = []
        for m, p in calls:
            try:
                out.append(self.rpc(m, p))
            except _RPCError:
                out.append(None)
        return out

    @property
    def url(self) -> str:
        return self.provider.current_url

    @cached_property
    def chain_id(self) -> int:
        return int(self.rpc("eth_chainId"), 16)

    @cached_property
    def genesis_hash(self) -> str:
        return str(self.rpc("eth_getBlockByNumber", ["0x0", False])["hash"])

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

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
            and ok[2] == self._transport_failures
        ):
            return
        self._chain_ok = None
        failures, url = self._transport_failures, self.url
        if self.chain_id != self.manifest.chain_id:
            raise ChainMismatch("chain id", self.manifest.chain_id, self.chain_id)
        genesis = self.rpc("eth_getBlockByNumber", ["0x0", False])
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
            code = self.rpc("eth_getCode", [dep.address, "latest"])
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
        blk = hex(block) if isinstance(block, int) else block
        try:
            raw = self.rpc("eth_call", [tx, blk])
        except _RPCError as exc:
            raise self._revert_from(exc) from exc
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
            tag = hex(blk) if isinstance(blk, int) else blk
            prepared.append(({"to": contract.address, "data": data}, tag, outputs))
        raws: list[Any] = [None] * len(prepared)
        if len(prepared) > 1:
            raws = []
            for i in range(0, len(prepared), VIEW_BATCH):
                chunk = prepared[i : i + VIEW_BATCH]
                raws += self.rpc_batch([("eth_call", [tx, tag]) for tx, tag, _ in chunk])
        out: list[Any] = []
        for raw, (tx, tag, outputs) in zip(raws, prepared, strict=True):
            if not isinstance(raw, str):
                try:
                    raw = self.rpc("eth_call", [tx, tag])
                except _RPCError as exc:
                    if raise_errors:
                        raise self._revert_from(exc) from exc
                    out.append(self._revert_from(exc))
                    continue
            try:
                out.append(decode_output(raw, outputs))
            except Exception as exc:  # code at the address is not this contract
                if raise_errors:
                    raise
                out.append(TransactionFailed(f"undecodable answer of {tx['to']}: {exc}"))
        return out

    # ------------------------------------------------------------------ writes

    def transact(
        self,
        signer: Signer,
        name: str,
        fn: str,
        *args: Any,
        gas: int | None = None,
        wait: bool = True,
        before_send: Callable[[str, bytes], None] | None = None,
    ) -> TxReceipt:
        """Sign and send a contract call; wait for confirmations; decode events.

        ``before_send(tx_hash, signed_bytes)`` runs after signing and before the
        transaction leaves the process, so a caller can persist it first (the
        API's idempotency records do, to survive a crash mid-write).
        """
        contract = self.contract(name)
        data, _ = encode_call(contract, name, fn, args)
        return self.send(
            signer, to=contract.address, data=data, gas=gas, wait=wait, before_send=before_send
        )

    def deploy(self, signer: Signer, name: str, *args: Any, gas: int | None = None) -> TxReceipt:
        """Deploy contract ``name`` with constructor ``args``."""
        art = artifacts.load(name)
        factory = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        data = factory.constructor(*args).data_in_transaction
        receipt = self.send(signer, to=None, data=data, gas=gas)
        if receipt.contract_address is None:
            raise TransactionFailed(f"deploying {name} created no contract")
        self.register(name, receipt.contract_address)
        return receipt

    def send(
        self,
        signer: Signer,
        *,
        to: str | None,
        data: str,
        value: int = 0,
        gas: int | None = None,
        wait: bool = True,
        before_send: Callable[[str, bytes], None] | None = None,
    ) -> TxReceipt:
        tx: dict[str, Any] = {"from": signer.address, "data": data, "value": hex(value)}
        if to is not None:
            tx["to"] = to
        if self.preflight:
            gas = self._preflight(tx, gas)
        elif gas is None:
            gas = self._cached_gas(tx)
        for attempt in range(2):
            try:
                signed, tx_hash = self._sign_and_send(signer, to, data, value, gas, before_send)
                break
            except NonceSuperseded as exc:
                # A different transaction holds our nonce on chain (another process sent from this
                # account) and no node has ours mined or pending: it can never be mined. The
                # reservation re-reads the nonce; this is the one case in which an intent is signed again.
                if attempt:
                    raise
                log.info("%s; signing again", exc.message)
        if before_send is not None and _SEND_ONLY.get():
            raise TxSent(tx_hash, tx)
        if not wait:
            return TxReceipt(tx_hash, -1, "", 0, -1)
        try:
            return self._wait_resending(tx_hash, tx, signed)
        except TransactionFailed:
            # Never mined in time: the node may hold a gap at this nonce. Re-read the
            # account's nonce from the node before its next transaction.
            self.nonces.reset(signer.address)
            raise

    def _sign_and_send(
        self,
        signer: Signer,
        to: str | None,
        data: str,
        value: int,
        gas: int,
        before_send: Callable[[str, bytes], None] | None,
    ) -> tuple[bytes, str]:
        with self.nonces.reserve(signer.address) as nonce:
            signed = signer.sign_transaction(
                {
                    "chainId": self.chain_id,
                    "nonce": nonce,
                    "gas": gas,
                    "gasPrice": self.gas_price(),
                    "to": to if to is not None else b"",
                    "data": data,
                    "value": value,
                }
            )
            tx_hash = "0x" + keccak(signed).hex()
            if before_send is not None:
                before_send(tx_hash, signed)
            self._deliver(signed, tx_hash, signer.address)
            self._remember(signer.address, nonce, signed)
        return signed, tx_hash

    def _wait_resending(self, tx_hash: str, tx: dict[str, Any], signed: bytes) -> TxReceipt:
        """Wait; if a node lost the transaction (a crash, a fail-over), send the same bytes again.

        Only ever the same signed bytes: one hash, so at most one transaction on chain. Raises
        :class:`NonceSuperseded` at once when a different transaction took its nonce.
        """
        remaining = self.receipt_timeout
        while True:
            step = min(RESEND_AFTER, remaining)
            try:
                return self.wait(tx_hash, tx, timeout=step)
            except TransactionFailed:
                remaining -= step
                if remaining <= 0:
                    raise
            try:
                if self.rpc("eth_getTransactionByHash", [tx_hash]) is None:
                    log.warning("node does not know %s any more; sending the same bytes again", tx_hash)
                    self._deliver(signed, tx_hash, str(tx["from"]))
                else:
                    self._fill_gap(str(tx["from"]), signed)
                    self._nudge_dev_chain(tx_hash)
            except NonceSuperseded:
                raise
            except (ChainUnavailable, TransactionFailed) as exc:
                log.warning("re-sending %s failed: %s", tx_hash, exc)

    @cached_property
    def _ganache(self) -> bool:
        try:
            return "ganache" in str(self.rpc("web3_clientVersion")).lower()
        except (ChainUnavailable, _RPCError):
            return False

    def _nudge_dev_chain(self, tx_hash: str) -> None:
        """Ganache 7.9.2 in strict instamine now and then keeps a transaction it accepted in its
        pool, unmined, while it says it is mining (seen with several senders at once on a loaded
        machine): every later nonce of that account then waits behind it. Ask it to mine a block
        (``evm_mine``, a development-chain method). Only on Ganache, only while its miner runs
        (a test that stopped it keeps its blocks), and nothing is signed or sent again."""
        if not self._ganache or self.rpc("eth_mining") is not True:
            return
        log.warning("Ganache holds %s unmined while mining; asking it to mine a block", tx_hash)
        self.rpc("evm_mine", [])

    def _fill_gap(self, sender: str, signed: bytes) -> None:
        """Our transaction waits behind a nonce the node never got (a request lost under load):
        send the same bytes we signed for the missing nonces again (never a new transaction)."""
        nonce = _tx_nonce(signed)
        mined = int(self.rpc("eth_getTransactionCount", [sender, "latest"]), 16)
        for n in range(mined, nonce):
            raw = self._recent.get((sender.lower(), n))
            if raw is None:
                continue
            h = "0x" + keccak(raw).hex()
            if self.rpc("eth_getTransactionByHash", [h]) is None:
                log.warning("nonce %d of %s never reached the node; sending %s again", n, sender, h)
                self._send_raw(raw, h)

    @contextmanager
    def send_only(self) -> Iterator[None]:
        """Inside, a write given a ``before_send`` hook raises :class:`TxSent` once sent.

        For callers that answer before the receipt (the API's ``Prefer: respond-async``):
        the wrappers need no ``wait`` flag, and any preparatory transaction without
        the hook (an allowance approval) is still waited for. Per thread and task.
        """
        token = _SEND_ONLY.set(True)
        try:
            yield
        finally:
            _SEND_ONLY.reset(token)

    def status(self, tx_hash: str) -> TxStatus:
        """Where ``tx_hash`` is now, against :attr:`confirmations`; a failure is named
        (:class:`ContractReverted`, by replaying the call on the parent block)."""
        need = self.confirmations
        raw = self.rpc("eth_getTransactionReceipt", [tx_hash])
        if raw is None or raw.get("blockNumber") is None:
            known = self.rpc("eth_getTransactionByHash", [tx_hash])
            return TxStatus(tx_hash, "pending" if known else "unknown", required_confirmations=need)
        block = int(raw["blockNumber"], 16)
        confirmations = max(0, self.block_number() - block + 1)
        common = {
            "block_number": block,
            "block_hash": raw["blockHash"],
            "confirmations": confirmations,
            "required_confirmations": need,
            "gas_used": int(raw["gasUsed"], 16),
        }
        if int(raw["status"], 16) != 1:
            sent = self.rpc("eth_getTransactionByHash", [tx_hash]) or {}
            call: dict[str, Any] | None = None
            if sent:
                call = {"from": sent["from"], "data": sent.get("input") or sent.get("data") or "0x",
                        "value": sent.get("value") or "0x0", "gas": sent.get("gas")}
                if sent.get("to"):
                    call["to"] = sent["to"]
            return TxStatus(tx_hash, "failed", error=self._explain_failure(tx_hash, raw, call), **common)
        state = "confirmed" if confirmations >= need else "mined"
        return TxStatus(tx_hash, state, events=tuple(self.decode_logs(raw["logs"])), **common)

    def _remember(self, sender: str, nonce: int, signed: bytes) -> None:
        with self._recent_lock:
            self._recent[(sender.lower(), nonce)] = signed
            while len(self._recent) > RECENT_KEPT:
                self._recent.pop(next(iter(self._recent)))

    def rebroadcast(self, signed: bytes) -> str:
        """Send already-signed bytes again (same hash: never a second transaction); returns the hash.

        Returns once the transaction is on its way: a node took it, or some node already knows
        it (pending or mined: a "nonce too low" for a copy mined meanwhile is no failure).
        Raises :class:`NonceSuperseded` only when a different transaction holds its nonce on
        chain, the one case in which the intent may be signed again.
        """
        from eth_account import Account

        tx_hash = "0x" + keccak(signed).hex()
        self._deliver(signed, tx_hash, str(Account.recover_transaction(signed)))
        return tx_hash

    def _deliver(self, signed: bytes, tx_hash: str, sender: str) -> None:
        """Send ``signed``; an ambiguous outcome is settled on chain before anyone may sign again.

        A refusal that names a revert is final. Any other failure (a node's refusal such as
        "nonce too low", or no node answering) may hide a copy that a node took without its
        answer arriving: :meth:`_settle` decides.
        """
        try:
            self._send_raw(signed, tx_hash)
        except ContractReverted:
            raise
        except (TransactionFailed, ChainUnavailable) as exc:
            self._settle(signed, tx_hash, sender, exc)

    def _settle(self, signed: bytes, tx_hash: str, sender: str, cause: LedgerError) -> None:
        """After a failed send, decide from the chain, asking every node the provider knows.

        Returns when ``tx_hash`` is mined (it holds its nonce on a node's chain) or pending (in a
        node's pool while its nonce is still free there). Raises :class:`NonceSuperseded` when a
        node's chain has its nonce used by a different transaction and no node has it mined or
        pending. Otherwise (its nonce still free everywhere, no node answering) re-raises
        ``cause``: nothing is proven, and these same bytes may still be mined. A node that does
        not answer cannot veto the verdict of those that do. (A lookup entry alone proves
        nothing: Ganache killed mid-block keeps entries of transactions whose block it lost.)
        """
        nonce = _tx_nonce(signed)
        holders: list[str | None] = []  # per node whose chain used the nonce: by which transaction
        for index, url in enumerate(self.provider.urls):
            ask = self._asker(index)
            try:
                used, holder = _nonce_holder(ask, sender, nonce)
                if used and holder is None and ask("eth_getTransactionReceipt", [tx_hash]):
                    holder = tx_hash  # no state old enough to search; its receipt says it is ours
                if holder is not None and holder.lower() == tx_hash.lower():
                    log.info("%s is mined on %s (%s): not signing again", tx_hash, url, cause.message)
                    return
                found = None if used else ask("eth_getTransactionByHash", [tx_hash])
                if found and (found.get("blockNumber") is None or ask("eth_getTransactionReceipt", [tx_hash])):
                    # in the pool, or mined since its nonce was looked at
                    log.info("%s is pending or mined on %s (%s): not signing again", tx_hash, url, cause.message)
                    return
            except (ChainUnavailable, _RPCError) as exc:
                log.warning("could not settle %s with %s: %s", tx_hash, url, exc)
                continue
            if used:
                holders.append(holder)
        if not holders:
            raise cause
        raise NonceSuperseded(tx_hash, sender, nonce, next((h for h in holders if h), None)) from cause

    def _asker(self, index: int) -> Callable[[str, list[Any]], Any]:
        """JSON-RPC to node ``index`` alone: the result, or :class:`_RPCError` for an error answer."""

        def ask(method: str, params: list[Any]) -> Any:
            return _result(self.provider.request_at(index, method, params))

        return ask

    def _send_raw(self, signed: bytes, tx_hash: str) -> None:
        try:
            self.rpc("eth_sendRawTransaction", ["0x" + signed.hex()])
        except _RPCError as exc:
            msg = exc.message.lower()
            if "already known" in msg or "already imported" in msg or "known transaction" in msg:
                return  # the same signed bytes are on their way: not a second transaction
            if exc.data is not None or "revert" in msg:
                raise self._revert_from(exc, tx_hash=tx_hash) from exc
            raise TransactionFailed(f"node refused transaction {tx_hash}: {exc.message}") from exc

    def wait(self, tx_hash: str, tx: dict[str, Any] | None = None, timeout: float | None = None) -> TxReceipt:
        """Wait for the receipt and the configured confirmations (``timeout``: default ``receipt_timeout``).

        With one confirmation, concurrent waiters share one poller that asks for
        all their receipts in one JSON-RPC batch per tick (instead of each thread
        polling on its own back-off): fewer requests for the node to answer, and
        a receipt is seen within a tick of being mined.
        """
        limit = self.receipt_timeout if timeout is None else timeout
        if self.confirmations <= 1:
            receipt = self._receipts.wait(tx_hash, limit)
            if receipt is None:
                raise TransactionFailed(
                    f"no confirmed receipt for {tx_hash} within {limit:.0f}s; "
                    "it may still be mined: check it before sending again"
                )
            if int(receipt["status"], 16) != 1:
                raise self._explain_failure(tx_hash, receipt, tx)
            return self._typed_receipt(receipt)
        deadline = time.monotonic() + limit
        delay = 0.01
        receipt = None
        while True:
            try:
                receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
            except ChainUnavailable:
                if time.monotonic() > deadline:
                    raise
                receipt = None
            if receipt is not None and receipt.get("blockNumber") is not None:
                block = int(receipt["blockNumber"], 16)
                if self.confirmations <= 1 or self.block_number() >= block + self.confirmations - 1:
                    # Re-read: a reorg below the depth may have moved it.
                    if self.confirmations > 1:
                        again = self.rpc("eth_getTransactionReceipt", [tx_hash])
                        if again is None or again["blockHash"] != receipt["blockHash"]:
                            receipt = again
                            continue
                    break
            if time.monotonic() > deadline:
                raise TransactionFailed(
                    f"no confirmed receipt for {tx_hash} within {limit:.0f}s; "
                    "it may still be mined: check it before sending again"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        status = int(receipt["status"], 16)
        if status != 1:
            raise self._explain_failure(tx_hash, receipt, tx)
        return self._typed_receipt(receipt)

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of a mined transaction, or None if it is not (yet) on chain."""
        raw = self.rpc("eth_getTransactionReceipt", [tx_hash])
        if raw is None or raw.get("blockNumber") is None:
            return None
        return self._typed_receipt(raw)

    def _typed_receipt(self, raw: dict[str, Any]) -> TxReceipt:
        return TxReceipt(
            tx_hash=raw["transactionHash"],
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            gas_used=int(raw["gasUsed"], 16),
            status=int(raw["status"], 16),
            events=tuple(self.decode_logs(raw["logs"])),
            contract_address=(
                to_checksum_address(raw["contractAddress"]) if raw.get("contractAddress") else None
            ),
        )

    def decode_logs(self, logs: list[dict[str, Any]]) -> list[Event]:
        """The events of our contracts (the manifest's and :meth:`register`ed ones) in raw logs."""
        specs = {}
        for entry in logs:
            address = str(entry["address"]).lower()
            name = self._by_address.get(address)
            if name is not None and address not in specs:
                specs[address] = contract_spec(name, address)
        return decode_logs(logs, specs)

    # ------------------------------------------------------------------ helpers

    def gas_price(self) -> int:
        now = time.monotonic()
        if self._gas_price is None or now - self._gas_price[0] > GAS_PRICE_TTL:
            self._gas_price = (now, int(self.rpc("eth_gasPrice"), 16))
        return self._gas_price[1]

    def _pending_nonce(self, address: str) -> int:
        return int(self.rpc("eth_getTransactionCount", [address, "pending"]), 16)

    def _estimate(self, tx: dict[str, Any]) -> int:
        try:
            estimate = int(self.rpc("eth_estimateGas", [tx]), 16)
        except _RPCError as exc:
            raise self._revert_from(exc) from exc
        return int(estimate * GAS_MARGIN) + 10_000

    def _cached_gas(self, tx: dict[str, Any], *, fresh: bool = False) -> int:
        """The gas limit from one estimate per (to, selector, size), reused for :data:`GAS_CACHE_TTL`.

        One caller estimates a missing entry while the others of the same key wait
        (concurrent ``eth_estimateGas`` is what Ganache 7 sometimes drops).
        """
        data = str(tx.get("data") or "0x")
        key = (tx.get("to"), data[:10], len(data))
        hit = self._gas_cache.get(key)
        if not fresh and hit is not None and time.monotonic() - hit[0] < GAS_CACHE_TTL:
            return hit[1]
        with self._guard_for(key):
            hit2 = self._gas_cache.get(key)
            if not fresh and hit2 is not None and time.monotonic() - hit2[0] < GAS_CACHE_TTL:
                return hit2[1]
            if fresh and hit2 is not None and hit2 is not hit:
                return hit2[1]  # another caller re-estimated meanwhile
            gas = self._estimate(tx)
            if hit2 is not None and fresh:
                gas = max(gas, hit2[1])
            self._gas_cache[key] = (time.monotonic(), gas)
            return gas

    def _guard_for(self, key: tuple[str | None, str, int]) -> threading.Lock:
        lock = self._gas_locks.get(key)
        if lock is None:
            lock = self._gas_locks.setdefault(key, threading.Lock())
        return lock

    def _preflight(self, tx: dict[str, Any], gas: int | None) -> int:
        """Simulate ``tx`` with the gas it will carry (``eth_call``); return that gas.

        A revert raises :class:`ContractReverted` before anything is signed. A call that
        runs out of the cached limit is estimated afresh (state can make a function dearer).
        """
        given = gas is not None
        limit = gas if gas is not None else self._cached_gas(tx)
        for attempt in range(2):
            try:
                self.rpc("eth_call", [{**tx, "gas": hex(limit)}, "latest"])
                return limit
            except _RPCError as exc:
                if given or attempt or not _out_of_gas(exc):
                    raise self._revert_from(exc) from exc
                limit = self._cached_gas(tx, fresh=True)
        return limit  # pragma: no cover - the loop returns or raises

    def _revert_from(self, exc: _RPCError, tx_hash: str | None = None) -> LedgerError:
        data = _revert_data(exc.data)
        if data is None and "revert" not in exc.message.lower():
            return TransactionFailed(f"node error: {exc.message}")
        return decode_revert(data, tx_hash=tx_hash)

    def _explain_failure(self, tx_hash: str, receipt: dict[str, Any], tx: dict[str, Any] | None) -> LedgerError:
        """A mined transaction failed: replay it on the parent block to name the error."""
        if tx is not None:
            parent = hex(int(receipt["blockNumber"], 16) - 1)
            try:
                self.rpc("eth_call", [tx, parent])
            except _RPCError as exc:
                err = self._revert_from(exc, tx_hash=tx_hash)
                if isinstance(err, ContractReverted):
                    return err
        return ContractReverted("TransactionReverted", {}, tx_hash=tx_hash)

    def is_up(self) -> bool:
        try:
            self.block_number()
        except ChainUnavailable:
            return False
        return True


class _ReceiptPoller:
    """One thread per ledger finding the receipts every waiting caller wants.

    Runs only while someone waits. It asks the node for its height every
    :attr:`TICK` seconds (the cheapest request there is), backing off to
    :attr:`MAX_TICK` while nothing moves (slow blocks); only when new blocks
    appear does it read their transaction hashes and fetch the receipts of the
    waiting ones among them (JSON-RPC batches). A hash is also looked up once
    when its waiter arrives, in case it was mined before. So a caller pays about
    one receipt request per transaction instead of one per back-off step, and
    sees its receipt within a tick of the block.
    """

    TICK = 0.005
    MAX_TICK = 0.05  # idle polls back off to this (x1.5 each); a new block or waiter resets to TICK
    SWEEP = 0.5  # seconds between lookups of every waiting hash (a safety net)
    MAX_BATCH = 200

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._pending: dict[str, list[_Slot]] = {}
        self._fresh: set[str] = set()
        self._thread: threading.Thread | None = None
        self._kick = threading.Event()

    def wait(self, tx_hash: str, timeout: float) -> dict[str, Any] | None:
        slot = _Slot()
        with self._lock:
            self._pending.setdefault(tx_hash.lower(), []).append(slot)
            self._fresh.add(tx_hash.lower())
            self._kick.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ledger-receipts", daemon=True)
                self._thread.start()
        if not slot.event.wait(timeout):
            with self._lock:
                slots = self._pending.get(tx_hash.lower(), [])
                if slot in slots:
                    slots.remove(slot)
                if not slots:
                    self._pending.pop(tx_hash.lower(), None)
        return slot.receipt

    def _run(self) -> None:
        last: int | None = None
        swept = time.monotonic()
        tick = self.TICK
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                fresh = [h for h in self._fresh if h in self._pending]
                self._fresh.clear()
            try:
                head = int(self._ledger.rpc("eth_blockNumber"), 16)
                wanted = set(fresh)
                blocks: list[Any] = []
                if last is not None and head > last:
                    numbers = range(max(last + 1, head - self.MAX_BATCH + 1), head + 1)
                    blocks = self._ledger.rpc_batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
                    with self._lock:
                        for block in blocks:
                            for h in (block or {}).get("transactions", []):
                                if str(h).lower() in self._pending:
                                    wanted.add(str(h).lower())
                now = time.monotonic()
                moved = bool(fresh) or last is None or head > last
                tick = self.TICK if moved else min(tick * 1.5, self.MAX_TICK)
                far_behind = last is not None and head - last > self.MAX_BATCH
                if far_behind or any(b is None for b in blocks) or now - swept > self.SWEEP:
                    swept = now  # a block not read, or a while since: look every waiting hash up
                    with self._lock:
                        wanted.update(self._pending)
                last = head
                found = self._fetch(sorted(wanted)[: self.MAX_BATCH]) if wanted else {}
            except (ChainUnavailable, _RPCError) as exc:
                log.debug("receipt poll failed (%s); retrying", exc)
                found = {}
            if found:
                with self._lock:
                    for tx_hash, receipt in found.items():
                        for slot in self._pending.pop(tx_hash, []):
                            slot.receipt = receipt
                            slot.event.set()
            self._kick.wait(tick)  # a new waiter cuts the wait short
            self._kick.clear()

    def _fetch(self, hashes: list[str]) -> dict[str, dict[str, Any]]:
        answers = self._ledger.rpc_batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        return {
            h: r for h, r in zip(hashes, answers, strict=True)
            if isinstance(r, dict) and r.get("blockNumber") is not None
        }


class _Slot:
    __slots__ = ("event", "receipt")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.receipt: dict[str, Any] | None = None


#: The error answers of :meth:`Ledger.rpc` (one class for every reader of the chain).
_RPCError = RpcError


def _result(response: Any) -> Any:
    """The result of a JSON-RPC answer; :class:`_RPCError` for an error answer."""
    if "error" in response:
        err = response["error"]
        raise _RPCError(str(err.get("message", err)), err.get("data"), int(err.get("code", 0)))
    return response["result"]


def _nonce_holder(ask: Callable[[str, list[Any]], Any], sender: str, nonce: int) -> tuple[bool, str | None]:
    """On one node's chain: whether ``nonce`` of ``sender`` is used, and the hash of the transaction
    using it (None when the node keeps no state old enough to say: geth prunes state older than
    128 blocks). The block is found by the account's nonce at past blocks (exponential, then
    binary search back from the head: a few requests for a nonce used lately)."""

    def used_at(block: int) -> bool:
        return int(ask("eth_getTransactionCount", [sender, hex(block)]), 16) > nonce

    hi = int(ask("eth_blockNumber", []), 16)
    if not used_at(hi):
        return False, None
    step = 1  # used at `hi`, unused at `lo` (-1: before genesis)
    try:
        lo = hi - step
        while lo >= 0 and used_at(lo):
            hi, step = lo, step * 2
            lo = hi - step
        lo = max(lo, -1)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if used_at(mid):
                hi = mid
            else:
                lo = mid
    except _RPCError:
        return True, None  # no state that far back
    block = ask("eth_getBlockByNumber", [hex(hi), True]) or {}
    for t in block.get("transactions", []):
        if str(t.get("from", "")).lower() == sender.lower() and _quantity(t["nonce"]) == nonce:
            return True, str(t["hash"])
    return True, None


def _tx_nonce(signed: bytes) -> int:
    """The nonce of a signed legacy (RLP list) or typed transaction."""
    import rlp

    if signed[0] >= 0xC0:  # legacy: [nonce, gasPrice, gas, to, value, data, v, r, s]
        return int.from_bytes(rlp.decode(signed)[0], "big")
    return int.from_bytes(rlp.decode(signed[1:])[1], "big")  # EIP-2718: [chainId, nonce, ...]


def _out_of_gas(exc: _RPCError) -> bool:
    """The node's answer to a simulation that may have exhausted its gas limit (no revert data).

    A bare ``revert`` without data counts too: an external call that ran out of the 63/64
    of the gas it was given fails, and its caller reverts without data (CoGovFund's vote
    scans the registry's committee only once quorum is reached, so one function's gas varies
    by more than the cached estimate's margin). The caller estimates afresh, once; a real
    revert without data is then raised by the estimate.
    """
    msg = exc.message.lower()
    data = _revert_data(exc.data)
    return (data is None or data in ("0x", "0X")) and (
        "out of gas" in msg or "gas required exceeds" in msg or "intrinsic gas" in msg or "revert" in msg
    )


def _revert_data(data: Any) -> Any:
    if data is None:
        return None
    if isinstance(data, str):
        return data if data.startswith("0x") else None
    if isinstance(data, dict):
        # Ganache: {"message":..., "data": {"result": "0x.."}} or {"<hash>": {"return": "0x.."}}
        for key in ("data", "result", "return"):
            v = data.get(key)
            if isinstance(v, str) and v.startswith("0x"):
                return v
            if isinstance(v, dict):
                inner = _revert_data(v)
                if inner is not None:
                    return inner
        for v in data.values():
            if isinstance(v, dict):
                inner = _revert_data(v)
                if inner is not None:
                    return inner
    return revert_data_from_exception(Exception(data))


def _quantity(v: Any) -> int:
    """A JSON-RPC quantity (hex string) or an int, as int."""
    return int(v, 16) if isinstance(v, str) else int(v)


def runtime_keccak(code_hex: str) -> str:
    return "0x" + keccak(hexstr=code_hex).hex()
