"""One account's concurrent writes are signed and sent in groups (ledger/tx/outbox.py), and the
pre-flight's promise holds on that path: a write the contract refuses is named before anything of
it is signed or sent, and its account's nonce does not move."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account

from ledger.client import ContractCall, Ledger
from ledger.devchain import fund
from ledger.errors import ContractReverted
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.membership import ChangeKind, Registry
from tests.conftest import Deployment
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache

WRITERS = 16
#: What a geth answers to web3_clientVersion: the pipeline then sends a group in one JSON-RPC batch.
GETH = "Geth/v1.13.15-stable/linux-amd64/go1.21.6"


def _nonce(led: Ledger, address: str, block: str) -> int:
    return int(led.rpc("eth_getTransactionCount", [address, block]), 16)


def test_writes_queued_behind_a_send_go_out_together_in_nonce_order(deployment: Deployment) -> None:
    signer = Signer("grouped", Account.create())
    fund(deployment.ledger(), signer.address)
    singles: list[float] = []

    def slow_single_send() -> None:  # a node slow to take one transaction: the other writers queue
        singles.append(time.monotonic())
        time.sleep(0.3)

    url = deployment.ganache.config.url
    with RpcProxy(url, on_send=slow_single_send, answers={"web3_clientVersion": GETH}) as proxy:
        led = Ledger(proxy.url)
        led.transact(signer, ContractCall(signer.address, "0x"))  # warm: chain id, gas price, nonce
        before, start = len(proxy.calls), _nonce(led, signer.address, "latest")
        singles.clear()
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            pendings = list(pool.map(lambda i: led.send(signer, ContractCall(signer.address, "0x", value=i)),
                                     range(WRITERS)))
        receipts = [p.wait() for p in pendings]
        sends = [p for m, p in proxy.calls[before:] if m == "eth_sendRawTransaction"]
    assert all(r.status == 1 for r in receipts) and len({r.tx_hash for r in receipts}) == WRITERS
    assert sorted(p.nonce for p in pendings) == list(range(start, start + WRITERS))  # no gap, none twice
    assert len(sends) == WRITERS  # each signed transaction sent once (a batch's calls counted one by one)
    # One send on its own (the first), the writers queued behind it in one batch: not one round trip each.
    assert len(singles) < WRITERS // 2, len(singles)


def test_a_refused_write_among_concurrent_ones_is_named_and_nothing_of_it_is_sent(deployment: Deployment) -> None:
    council, outsider = deployment.signers["c1"], deployment.signers["outsider"]
    with RpcProxy(deployment.ganache.config.url) as proxy:
        led = Ledger(proxy.url, Manifest.load(deployment.manifest_path))
        reg = Registry(led)
        reg.propose(council, ChangeKind.SET_THRESHOLD, 2)  # warm
        nonces = (_nonce(led, outsider.address, "latest"), _nonce(led, outsider.address, "pending"))
        before = len(proxy.calls)
        refused: list[ContractReverted] = []
        lock = threading.Lock()

        def write(i: int) -> None:
            if i % 2:
                reg.propose(council, ChangeKind.SET_THRESHOLD, 1 + i % 3)
                return
            try:
                reg.propose(outsider, ChangeKind.SET_THRESHOLD, 1)
            except ContractReverted as exc:
                with lock:
                    refused.append(exc)

        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            list(pool.map(write, range(WRITERS)))
        senders = {Account.recover_transaction(p[0]) for m, p in proxy.calls[before:] if m == "eth_sendRawTransaction"}
        assert (_nonce(led, outsider.address, "latest"), _nonce(led, outsider.address, "pending")) == nonces
    assert len(refused) == WRITERS // 2
    assert {e.error_name for e in refused} == {"RegistryNotCouncil"}  # named, from the pre-flight
    assert senders == {council.address}  # nothing of the outsider's left the process
