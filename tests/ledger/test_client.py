"""The ledger core against a real Ganache: concurrency, reverts, receipts, pre-flight, status."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eth_account import Account

from ledger.client import ContractCall, Ledger, Pending
from ledger.devchain import fund
from ledger.errors import ChainUnavailable, ContractReverted, TransactionFailed
from ledger.keys import Signer
from ledger.membership import ChangeKind, ProposalState, Registry
from ledger.tx.nonces import tx_nonce
from tests.conftest import Deployment
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache


def test_20_threads_send_concurrently_without_nonce_collisions(deployment: Deployment) -> None:
    led = deployment.ledger()
    reg = Registry(led)
    signer = deployment.signers["c1"]
    start_nonce = int(led.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16)

    def one(i: int) -> tuple[int, str]:
        pid, receipt = reg.propose(signer, ChangeKind.SET_THRESHOLD, 1 + i % 3)
        return pid, receipt.tx_hash

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(40)))
    hashes = {h for _, h in results}
    pids = {p for p, _ in results}
    assert len(hashes) == 40 and len(pids) == 40  # every tx mined once, each its own proposal
    end_nonce = int(led.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16)
    assert end_nonce - start_nonce == 40
    nonces = sorted(int(led.rpc("eth_getTransactionByHash", [h])["nonce"], 16) for h in hashes)
    assert nonces == list(range(start_nonce, start_nonce + 40))
    # And the chain agrees: each proposal exists with its creator.
    for pid in list(pids)[:5]:
        assert reg.proposal(pid).proposer == signer.address


def test_revert_is_decoded_to_the_custom_error(deployment: Deployment) -> None:
    led = deployment.ledger()
    reg = Registry(led)
    outsider = deployment.signers["outsider"]
    height = led.block_number()
    with pytest.raises(ContractReverted) as info:
        reg.propose(outsider, ChangeKind.SET_THRESHOLD, 1)
    assert info.value.error_name == "RegistryNotCouncil"
    assert info.value.error_args == {"account": outsider.address}
    assert str(info.value) == f"Account {outsider.address} is not on the council. (RegistryNotCouncil)"  # in words
    assert led.block_number() == height  # refused before anything was sent


def test_revert_of_a_view_is_decoded(deployment: Deployment) -> None:
    reg = Registry(deployment.ledger())
    with pytest.raises(ContractReverted) as info:
        reg.member(10_000)
    assert info.value.error_name == "RegistryUnknownMember"
    assert info.value.error_args == {"memberId": 10_000}


def test_receipt_carries_decoded_events(deployment: Deployment) -> None:
    reg = Registry(deployment.ledger())
    pid, receipt = reg.propose(deployment.signers["c2"], ChangeKind.SET_THRESHOLD, 2)
    created = receipt.event("ProposalCreated")
    assert created.contract == "MembershipRegistry"
    assert created.args["proposalId"] == pid
    assert created.args["proposer"] == deployment.signers["c2"].address
    assert receipt.events_named("ProposalApproved")[0].args["memberId"] == 2
    assert reg.proposal(pid).state == ProposalState.PENDING


def test_unreachable_chain_is_chain_unavailable() -> None:
    from ledger.client import Ledger
    from ledger.process import free_port

    led = Ledger(f"http://127.0.0.1:{free_port()}", request_timeout=1)
    with pytest.raises(ChainUnavailable):
        led.block_number()
    assert not led.is_up()


def test_failover_to_the_next_node(deployment: Deployment) -> None:
    from ledger.client import Ledger
    from ledger.process import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    led = Ledger([dead, deployment.ganache.config.url], request_timeout=1)
    assert led.block_number() >= 1
    assert led.url == deployment.ganache.config.url


def test_requests_keep_one_connection_per_thread_and_reconnect_when_the_node_closed_it(
    deployment: Deployment,
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    led = Ledger(deployment.ganache.config.url)
    node = led.rpc_client.provider._quick[0]
    head = led.block_number()
    kept = node._local.conn.sock
    assert led.block_number() == head and node._local.conn.sock is kept  # the same connection again
    kept.close()  # the connection closed under it (a node restart, an idle timeout)
    assert led.block_number() == head and node._local.conn.sock is not kept  # a new one, no error
    seen: list[str | None] = []

    class Node(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"jsonrpc":"2.0","id":1,"result":"0x7"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Node) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        creds = Ledger(f"http://us%40er:se%3Acret@127.0.0.1:{server.server_address[1]}/")
        assert creds.block_number() == 7
        server.shutdown()
    assert seen == ["Basic dXNAZXI6c2U6Y3JldA=="]  # base64 of "us@er:se:cret": sent as basic auth


def _calls(led: Ledger, method: str) -> list[int]:
    """Count ``method`` requests made through ``led.rpc_client`` (a list so the closure can append)."""
    seen: list[int] = []
    real = led.rpc_client.request

    def counting(m: str, params: Any = None) -> Any:
        if m == method:
            seen.append(1)
        return real(m, params)

    led.rpc_client.request = counting  # type: ignore[method-assign]
    return seen


def test_preflight_simulates_with_cached_gas_and_estimates_once(deployment: Deployment) -> None:
    led = deployment.ledger()
    reg = Registry(led)
    estimates = _calls(led, "eth_estimateGas")
    for i in range(3):
        reg.propose(deployment.signers["c1"], ChangeKind.SET_THRESHOLD, 1 + i % 2)
    assert len(estimates) == 1  # one estimate per (contract, function, calldata size)
    calls = _calls(led, "eth_call")
    reg.propose(deployment.signers["c1"], ChangeKind.SET_THRESHOLD, 2)
    assert len(calls) >= 1  # ... and a simulation before every signature


def test_preflight_reestimates_when_the_cached_gas_runs_out(deployment: Deployment) -> None:
    led = deployment.ledger()
    reg = Registry(led)
    reg.propose(deployment.signers["c1"], ChangeKind.SET_THRESHOLD, 2)  # fills the cache
    assert led.tx.gas._cache
    for key, (at, _gas) in list(led.tx.gas._cache.items()):
        led.tx.gas._cache[key] = (at, 30_000)  # far too little: the simulation runs out of gas
    pid, receipt = reg.propose(deployment.signers["c1"], ChangeKind.SET_THRESHOLD, 2)
    assert receipt.status == 1 and pid > 0
    assert all(gas > 30_000 for _, gas in led.tx.gas._cache.values())


def test_without_preflight_a_revert_is_mined_and_named_the_same(deployment: Deployment) -> None:
    led = deployment.ledger(preflight=False)
    reg = Registry(led)
    outsider = deployment.signers["outsider"]
    reg.propose(deployment.signers["c1"], ChangeKind.SET_THRESHOLD, 2)  # caches the gas of propose
    height = led.block_number()
    with pytest.raises(ContractReverted) as info:
        reg.propose(outsider, ChangeKind.SET_THRESHOLD, 1)
    assert info.value.error_name == "RegistryNotCouncil"
    assert info.value.error_args == {"account": outsider.address}
    assert info.value.tx_hash is not None and led.block_number() > height  # mined, then named
    st = led.status(info.value.tx_hash)
    assert st.state == "failed" and isinstance(st.error, ContractReverted)
    assert st.error.error_name == "RegistryNotCouncil" and st.error.error_args == info.value.error_args


class _Seen(list[str]):
    """A journal that notes the hashes it is given."""

    def record(self, pending: Pending) -> None:
        self.append(pending.tx_hash)


def test_send_returns_once_sent_and_status_follows(deployment: Deployment) -> None:
    led = deployment.ledger()
    reg = Registry(led)
    seen = _Seen()
    led.rpc("miner_stop")
    try:
        sent = led.send(deployment.signers["c2"], led.prepare("MembershipRegistry", "propose",
                                                              *_threshold_change(reg, 2)), seen)
        assert seen == [sent.tx_hash]
        assert led.status(sent.tx_hash).state == "pending"
    finally:
        led.rpc("miner_start")
    led.wait(sent.tx_hash)
    st = led.status(sent.tx_hash)
    assert st.state == "confirmed" and st.confirmations >= 1 and st.block_number is not None
    assert [e.name for e in st.events][:1] == ["ProposalCreated"]
    assert led.status("0x" + "00" * 32).state == "unknown"
    # A write through a wrapper waits as always.
    _, receipt = reg.propose(deployment.signers["c2"], ChangeKind.SET_THRESHOLD, 2)
    assert receipt.block_number > 0


def test_check_chain_is_reused_until_max_age_or_a_connection_error(deployment: Deployment) -> None:
    led = deployment.ledger()
    genesis = _calls(led, "eth_getBlockByNumber")
    led.check_chain(max_age=60)
    led.check_chain(max_age=60)
    assert len(genesis) == 1
    led.check_chain()  # no max_age: always asks
    assert len(genesis) == 2
    led.rpc_client.failures += 1  # what rpc() counts when no node answered
    led.check_chain(max_age=60)
    assert len(genesis) == 3


def _threshold_change(reg: Registry, n: int) -> tuple[Any, ...]:
    from ledger.membership import encode_change

    return (int(ChangeKind.SET_THRESHOLD), encode_change(ChangeKind.SET_THRESHOLD, n))


def test_a_nonce_the_node_never_got_is_sent_again_as_the_same_bytes(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.tx.pipeline as lc

    monkeypatch.setattr(lc, "RESEND_AFTER", 0.5)
    led = deployment.ledger()
    sender, to = deployment.signers["outsider"], deployment.signers["enterprise"].address
    real_send = led.tx._send_raw
    lost: list[str] = []

    def lose_first(signed: bytes, tx_hash: str) -> None:
        if not lost:
            lost.append(tx_hash)  # "sent", but the node never got it
            return
        real_send(signed, tx_hash)

    led.tx._send_raw = lose_first  # type: ignore[method-assign]
    first = led.send(sender, ContractCall(to, "0x", value=1))
    assert lost == [first.tx_hash] and led.rpc("eth_getTransactionByHash", [first.tx_hash]) is None
    second = led.transact(sender, ContractCall(to, "0x", value=2))  # queued behind the gap until it is filled
    assert second.status == 1
    got = led.receipt(first.tx_hash)
    assert got is not None and got.block_number < second.block_number  # the same first tx, mined first


def test_views_fixed_at_deployment_are_asked_once(deployment: Deployment) -> None:
    led = deployment.ledger()
    calls = _calls(led, "eth_call")
    token = led.call("CoGovFund", "token")
    assert led.call("CoGovFund", "token") == token
    assert led.call("CoGovFund", "quorum") == led.call("CoGovFund", "quorum")
    assert len(calls) == 2  # token once, quorum once
    led.call("CoGovFund", "contributionCount")
    led.call("CoGovFund", "contributionCount")
    assert len(calls) == 4  # state: asked every time
    assert led.contract("CommunityCredit", token) is led.contract("CommunityCredit", token)


def test_a_nonce_made_stale_by_another_process_is_read_again_and_signed_anew(deployment: Deployment) -> None:
    sender, to = deployment.signers["outsider"], deployment.signers["enterprise"].address
    mine, other = deployment.ledger(), deployment.ledger()  # two processes sharing one account
    mine.transact(sender, ContractCall(to, "0x", value=1))  # `mine` now counts this account's nonces itself
    other.transact(sender, ContractCall(to, "0x", value=1))
    other.transact(sender, ContractCall(to, "0x", value=1))
    receipt = mine.transact(sender, ContractCall(to, "0x", value=1))  # its next nonce was taken meanwhile
    assert receipt.status == 1


_SINK = "0x000000000000000000000000000000000000dEaD"


def test_a_transaction_ganache_holds_unmined_while_mining_is_mined_by_a_nudge(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Ganache 7.9.2 now and then keeps an accepted transaction in its pool while it says it mines
    (every later nonce of the account then waits): the ledger asks it to mine a block, signs nothing
    again, and the write completes. Here the node's miner is stopped and a proxy says it mines."""
    import ledger.tx.pipeline as client_module

    monkeypatch.setattr(client_module, "RESEND_AFTER", 0.5)
    node = deployment.ledger()
    signer = deployment.signers["outsider"]
    before = int(node.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16)
    with RpcProxy(deployment.ganache.config.url, answers={"eth_mining": True}) as proxy:
        led = Ledger(proxy.url, receipt_timeout=30)
        node.rpc("miner_stop")
        try:
            with caplog.at_level("WARNING", logger="ledger.tx.pipeline"):
                receipt = led.transact(signer, ContractCall(_SINK, "0x", value=1))
        finally:
            node.rpc("miner_start")
    assert receipt.status == 1
    assert any("asking it to mine a block" in r.getMessage() for r in caplog.records)
    assert [c for c, _ in proxy.calls].count("eth_sendRawTransaction") == 1  # signed and sent once
    assert int(node.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16) == before + 1


def _fresh_signer(deployment: Deployment, label: str) -> Signer:
    """A new account, funded: what Ganache strands stays in its pool for the session, away from
    the accounts other tests use."""
    signer = Signer(label, Account.create())
    fund(deployment.ledger(), signer.address)
    return signer


#: Init code that writes 300 storage slots: a contract creation Ganache takes a few hundred ms to mine.
_SLOW_INIT = "0x61012c" + "5b808055600190038060035700"


def test_an_account_sends_its_next_write_to_ganache_only_once_the_last_is_mined(deployment: Deployment) -> None:
    """Ganache 7.9.2 (strict instamine) files a transaction that arrives while the account's
    previous one is being mined (taken from its pending heap, its block not yet saved) in its
    future queue and never promotes it: that nonce and every later one of the account wait for
    good, and ``evm_mine`` does not move them (9 of 30 pairs sent back to back were stranded on a
    quiet machine; a council write in CI). So the account's next send waits for the last one's
    block: written back to back without a pre-flight, a slow write then a transfer, alternately,
    each reaches the node (seen at a proxy) once every earlier nonce of the account is mined; the
    transfer arrived while the slow write was being mined, before."""
    signer = _fresh_signer(deployment, "back-to-back")
    node = deployment.ledger()
    arrivals: list[tuple[int, int]] = []  # (the nonce sent, the account's mined count as it arrived)

    def at_arrival() -> None:  # before the proxy passes it on
        raw = next(p[0] for m, p in reversed(proxy.calls) if m == "eth_sendRawTransaction")
        count = int(node.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16)
        arrivals.append((tx_nonce(bytes.fromhex(raw[2:])), count))

    slow, transfer = ContractCall(None, _SLOW_INIT, gas=7_000_000), ContractCall(_SINK, "0x", value=1, gas=21_000)
    with RpcProxy(deployment.ganache.config.url, on_send=at_arrival) as proxy:
        led = Ledger(proxy.url, preflight=False, receipt_timeout=20)
        sent = [led.send(signer, slow if i % 2 == 0 else transfer) for i in range(6)]
        receipts = [p.wait() for p in sent]
    assert all(r.status == 1 for r in receipts)
    assert arrivals == [(n, n) for n in range(6)], arrivals
    assert signer.address.lower() not in {a.lower() for a in node.rpc("txpool_content")["queued"]}


@pytest.mark.parametrize("stranded", [1, 2])
def test_a_write_ganache_stranded_in_its_future_queue_is_sent_again_and_mined(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, stranded: int
) -> None:
    """Another process's writes (the CLI with the service's key) can still meet the strand (about one
    pair in three sent back to back by hand, on a quiet machine). The stranded state is made here on
    purpose: transactions ahead of the account (filed in the future queue), then the account's nonce
    moved up to the first (``evm_setAccountNonce``) without the pool draining its queue; ``evm_mine``
    does not move them. Waiting on each sends its same bytes again once it sits in the future queue
    at the account's next nonce, and it is mined: one hash, the nonce used once. Two: the copy of the
    first left in the queue keeps the queue from draining, and the second is sent again in its turn."""
    import ledger.tx.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "RESEND_AFTER", 0.5)
    led = deployment.ledger(receipt_timeout=20)
    signer, chain_id = _fresh_signer(deployment, "stranded"), int(led.rpc("eth_chainId"), 16)

    def count() -> int:
        return int(led.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16)

    nonce = count() + 1
    raws = [signer.sign_transaction({"chainId": chain_id, "nonce": n, "gas": 21_000, "gasPrice": 10**10,
                                     "to": _SINK, "data": "0x", "value": 1}) for n in range(nonce, nonce + stranded)]
    hashes = [led.rpc("eth_sendRawTransaction", ["0x" + raw.hex()]) for raw in raws]
    assert led.rpc("evm_setAccountNonce", [signer.address, hex(nonce)]) is True
    led.rpc("evm_mine", [])
    queued = {a.lower(): txs for a, txs in led.rpc("txpool_content")["queued"].items()}[signer.address.lower()]
    assert [queued[str(nonce + i)]["hash"] for i in range(stranded)] == hashes
    assert count() == nonce  # stranded: the first at the next nonce, queued, not mined
    call = ContractCall(_SINK, "0x", value=1, gas=21_000)
    with caplog.at_level("WARNING", logger="ledger.tx.pipeline"):
        receipts = [Pending(h, raw, signer.address, nonce + i, call, led.tx).wait()
                    for i, (h, raw) in enumerate(zip(hashes, raws, strict=True))]
    assert [(r.status, r.tx_hash) for r in receipts] == [(1, h) for h in hashes]
    assert sum("stranded" in r.getMessage() for r in caplog.records) == stranded
    assert count() == nonce + stranded


def test_a_stopped_ganache_miner_is_left_alone(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node whose miner was stopped on purpose (eth_mining false) keeps its blocks: no nudge."""
    import ledger.tx.pipeline as client_module

    monkeypatch.setattr(client_module, "RESEND_AFTER", 0.3)
    led = deployment.ledger(receipt_timeout=1.5)
    mines = _calls(led, "evm_mine")
    led.rpc("miner_stop")
    try:
        height = led.block_number()
        with pytest.raises(TransactionFailed):
            led.transact(deployment.signers["outsider"], ContractCall(_SINK, "0x", value=1))
        assert mines == [] and led.block_number() == height
    finally:
        led.rpc("miner_start")


def test_a_wait_on_a_transaction_the_node_still_lists_whose_nonce_is_used_ends_superseded(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction the node still lists (Ganache keeps such entries: one it refused as "can't be
    replaced, mining has already started", one left in its future queue) while its nonce is used on
    chain can never be mined. The wait's check says so at once (NonceSuperseded, holder unknown here)
    instead of waiting to its end, so the request holding it (and its Idempotency-Key) is freed and
    signs anew: a contribution of the 4-worker test waited 120 s on such a one while its retries got
    409 for 90 s (fresh-clone CI, 2026-12-06)."""
    import ledger.tx.pipeline as pipeline_module
    from ledger.errors import NonceSuperseded

    monkeypatch.setattr(pipeline_module, "RESEND_AFTER", 0.5)
    led = deployment.ledger(receipt_timeout=20)
    signer, chain_id = _fresh_signer(deployment, "superseded"), int(led.rpc("eth_chainId"), 16)

    def count() -> int:
        return int(led.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16)

    nonce = count() + 1  # ahead of the account: filed in the future queue
    raw = signer.sign_transaction({"chainId": chain_id, "nonce": nonce, "gas": 21_000, "gasPrice": 10**10,
                                   "to": _SINK, "data": "0x", "value": 1})
    tx_hash = led.rpc("eth_sendRawTransaction", ["0x" + raw.hex()])
    assert led.rpc("evm_setAccountNonce", [signer.address, hex(nonce + 1)]) is True  # its nonce used, not by it
    led.rpc("evm_mine", [])
    assert count() == nonce + 1 and led.rpc("eth_getTransactionByHash", [tx_hash]) is not None  # still listed
    began = time.monotonic()
    with pytest.raises(NonceSuperseded) as exc:
        Pending(tx_hash, raw, signer.address, nonce, ContractCall(_SINK, "0x", value=1, gas=21_000), led.tx).wait()
    assert time.monotonic() - began < 10 and exc.value.nonce == nonce and exc.value.holder is None
    with pytest.raises(NonceSuperseded):  # known only by its bytes, as the idempotency store resumes it
        led.wait_signed(raw, timeout=20)


def test_the_call_a_signed_transaction_makes_is_read_from_its_bytes() -> None:
    from ledger.tx.nonces import call_of

    account = Account.create()
    legacy = account.sign_transaction({"chainId": 1337, "nonce": 3, "gas": 50_000, "gasPrice": 1, "to": _SINK,
                                       "data": "0xabcd", "value": 5}).raw_transaction
    typed = account.sign_transaction({"chainId": 1337, "nonce": 4, "gas": 50_000, "maxFeePerGas": 2,
                                      "maxPriorityFeePerGas": 1, "to": _SINK, "data": "0x01", "value": 0,
                                      "type": 2}).raw_transaction
    creation = account.sign_transaction({"chainId": 1337, "nonce": 5, "gas": 90_000, "gasPrice": 1, "to": b"",
                                         "data": "0x6000", "value": 0}).raw_transaction
    assert call_of(legacy) == {"from": account.address, "to": _SINK.lower(), "data": "0xabcd", "value": "0x5"}
    assert call_of(typed) == {"from": account.address, "to": _SINK.lower(), "data": "0x01", "value": "0x0"}
    assert call_of(creation) == {"from": account.address, "data": "0x6000", "value": "0x0"}
