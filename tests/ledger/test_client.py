"""The ledger core against a real Ganache: concurrency, reverts, receipts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.errors import ChainUnavailable, ContractReverted
from ledger.membership import Registry
from ledger.roles import ChangeKind, ProposalState
from tests.conftest import Deployment

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
    assert "RegistryNotCouncil(account=" in str(info.value)
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
    from ledger.chain import free_port
    from ledger.client import Ledger

    led = Ledger(f"http://127.0.0.1:{free_port()}", request_timeout=1)
    with pytest.raises(ChainUnavailable):
        led.block_number()
    assert not led.is_up()


def test_failover_to_the_next_node(deployment: Deployment) -> None:
    from ledger.chain import free_port
    from ledger.client import Ledger

    dead = f"http://127.0.0.1:{free_port()}"
    led = Ledger([dead, deployment.ganache.config.url], request_timeout=1)
    assert led.block_number() >= 1
    assert led.url == deployment.ganache.config.url
