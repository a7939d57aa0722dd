"""An intent is signed once: a node that takes a transaction and loses its answer never causes a second one.

Through a real JSON-RPC proxy in front of Ganache (``tests/rpc_proxy.py``): the
proxy forwards ``eth_sendRawTransaction`` and loses the answer, the ledger fails
over to the next URL, and the write must still be exactly one transaction, whose
hash is the answer. For every write kind of the wrappers (``write_kinds.py``):

* ``drop``: the node mined it before the answer was lost (the next node knows it);
* ``late``: the next node knew nothing when asked, and the first copy was mined just
  before the same bytes reached it (answered "nonce too low");
* ``hang``: the answer never came (the request timed out).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.client import ContractCall
from ledger.errors import NonceSuperseded, TransactionFailed
from ledger.manifest import Manifest
from ledger.process import free_port
from tests.api.test_fund_support import ledger_for, move_time, private_fund_manifest
from tests.conftest import Deployment
from tests.ledger.write_kinds import KINDS, World, run_once_with_lost_answer
from tests.rpc_proxy import RpcProxy, answer_lost

pytestmark = pytest.mark.ganache


@pytest.fixture(scope="module")
def world(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The session suite with a fund of its own (quorum 2, a 5 s time lock: chain time moves by seconds)."""
    path = private_fund_manifest(deployment, tmp_path_factory.mktemp("exactly-once"), quorum=2, timelock=5)
    led = ledger_for(deployment, path)
    yield World(Manifest.load(path), led, dict(deployment.signers), lambda: move_time(led, 6))


def _past_nonce_zero(w: World, label: str) -> None:
    """Ganache 7 mines a *mined* nonce-0 transaction again when the same bytes are sent again
    (a second copy, same hash: seen here, not on geth); ``late`` sends them again by design, so
    its signers start past nonce 0. (``drop`` and ``hang`` never send them again: the ledger asks first.)"""
    if w.nonce(label) == 0:
        signer = w.signers[label]
        w.ledger.transact(signer, ContractCall(signer.address, "0x"))


@pytest.mark.parametrize("mode", ["drop", "late"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_write_whose_answer_is_lost_is_signed_once(world: World, kind: str, mode: str) -> None:
    k = KINDS[kind]
    act = k.prepare(world)
    _past_nonce_zero(world, k.signer)
    node = world.ledger.url
    with answer_lost(node, node, mode) as (urls, lossy):
        receipt, events, sent = run_once_with_lost_answer(world, k, urls, act)
    assert lossy.hashes == [receipt.tx_hash]  # the answer is the transaction the first node took
    assert receipt.status == 1 and world.ledger.receipt(receipt.tx_hash) is not None  # and it is mined
    assert [e.tx_hash for e in events] == [receipt.tx_hash], events  # one event, from that transaction
    assert sent == 1  # one transaction for the intent


@pytest.mark.parametrize("kind", ["fund.contribute", "fund.payMilestone"])
def test_a_write_whose_answer_times_out_is_signed_once(world: World, kind: str) -> None:
    k = KINDS[kind]
    act = k.prepare(world)
    node = world.ledger.url
    with answer_lost(node, node, "hang") as (urls, lossy):
        receipt, events, sent = run_once_with_lost_answer(world, k, urls, act, request_timeout=1.5)
    assert lossy.hashes == [receipt.tx_hash]
    assert [e.tx_hash for e in events] == [receipt.tx_hash] and sent == 1


def test_sending_a_mined_transaction_again_answers_its_hash(world: World) -> None:
    """Re-sending signed bytes (the idempotency store's retry, its start-up reconcile, a 202's
    status check) is no failure when they were mined meanwhile: "nonce too low" is settled on chain."""
    _past_nonce_zero(world, "c2")
    raw = _signed(world, "c2", world.nonce("c2"))
    tx_hash = world.ledger.rebroadcast(raw)
    world.ledger.wait(tx_hash)
    before = world.nonce("c2")
    assert world.ledger_at([world.ledger.url]).rebroadcast(raw) == tx_hash
    assert world.nonce("c2") == before  # nothing new on chain


def test_only_a_different_transaction_holding_the_nonce_supersedes_a_signed_one(world: World) -> None:
    """The one case in which an intent is signed again: its nonce went to another transaction (another
    process sent from the same account), which the error names. A node that does not answer (first
    URL) cannot veto what the others show."""
    _past_nonce_zero(world, "c3")
    nonce = world.nonce("c3")
    ours = _signed(world, "c3", nonce)  # signed, never sent (a crash between persisting and sending)
    theirs = world.ledger.rebroadcast(_signed(world, "c3", nonce, value=2))  # the other process
    world.ledger.wait(theirs)
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NonceSuperseded) as exc:
        world.ledger_at([dead, world.ledger.url]).rebroadcast(ours)
    assert exc.value.holder == theirs and exc.value.nonce == nonce
    assert exc.value.sender == world.signers["c3"].address


def test_two_intents_of_the_same_call_are_never_one_transaction(world: World) -> None:
    """Two fetches of the same data by the same member (or two identical contributions) are two
    intents with the same call. When the node took the first one and lost it (a restart empties
    its pool) and the first one's wait gave up, the node's count hands its nonce out again: the
    second intent signed there would be the very same bytes, one transaction answered twice (one
    access recorded for two served). It takes the next nonce instead, and both are mined."""
    _past_nonce_zero(world, "auditor")
    signer = world.signers["auditor"]
    call = ContractCall(world.signers["outsider"].address, "0x", value=1)
    start = world.nonce("auditor")
    # The node loses the first send and, at half the first wait, the same bytes sent again by the
    # wait's own check (TxPipeline._wait_resending), so that the wait gives up.
    with RpcProxy(world.ledger.url, mode="forget", times=2) as forgetful:
        led = world.ledger_at([forgetful.url])
        first = led.send(signer, call)
        assert forgetful.hashes == [first.tx_hash]  # answered, never reached the chain
        with pytest.raises(TransactionFailed):
            first.wait(timeout=0.5)  # gave up: the next nonce is read from the node again
        assert forgetful.hashes == [first.tx_hash, first.tx_hash]  # its check sent it again: lost too
        second = led.send(signer, call)
        assert second.tx_hash != first.tx_hash
        assert second.nonce == first.nonce + 1
        # The gap is filled with the first one's same bytes at once: a short wait (the gateway's)
        # that never reaches the re-sending step still sees its receipt.
        assert second.wait(timeout=3).status == 1
        assert first.wait(timeout=3).status == 1
    assert world.nonce("auditor") == start + 2


def _signed(w: World, label: str, nonce: int, value: int = 1) -> bytes:
    led = w.ledger
    return w.signers[label].sign_transaction({
        "chainId": led.chain_id, "nonce": nonce, "gas": 21_000, "gasPrice": led.gas_price(),
        "to": w.signers["outsider"].address, "data": "0x", "value": value,
    })
