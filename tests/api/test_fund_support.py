"""Helpers shared by the fund tests (collected by pytest, holds no tests).

The fund tests that move chain time use their own ``CoGovFund`` (a short time lock) deployed
on the session chain next to the session suite (same registry, same CommunityCredit), with a
manifest of their own: the session fund's state and the session chain's clock stay as other
tests expect them (time moves by seconds, not by the session fund's hour).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ledger.abi import hex_text
from ledger.client import Ledger
from ledger.events import Event
from ledger.fund import Credit, Fund
from ledger.fund.docs import DocStore, doc_hash
from ledger.keys import Signer
from ledger.manifest import ContractDeployment, Manifest
from tests.conftest import Deployment


def private_fund_manifest(
    deployment: Deployment, directory: Path, *, quorum: int = 2, timelock: int = 5, voting_period: int = 7 * 24 * 3600
) -> Path:
    """A manifest like the session's, whose CoGovFund is a fresh one (``quorum``, ``timelock``, ``voting_period``)."""
    m = deployment.ledger().manifest
    assert m is not None
    reg, credit = m.address("MembershipRegistry"), m.address("CommunityCredit")
    return private_manifest(deployment, directory, "CoGovFund", [reg, credit, quorum, timelock, voting_period])


def private_manifest(deployment: Deployment, directory: Path, contract: str, args: list[Any]) -> Path:
    """A manifest like the session's in ``directory``, whose ``contract`` is a fresh one deployed
    on the session chain with the constructor ``args``."""
    led = deployment.ledger()
    m = led.manifest
    assert m is not None
    r = led.deploy(deployment.signers["deployer"], contract, *args)
    assert r.contract_address is not None
    code = led.rpc("eth_getCode", [r.contract_address, "latest"])
    from ledger.client import runtime_keccak

    contracts = dict(m.contracts)
    contracts[contract] = ContractDeployment(
        address=r.contract_address, tx_hash=r.tx_hash, block_number=r.block_number,
        runtime_keccak=runtime_keccak(code), constructor_args=args,
    )
    path = directory / "deployment.json"
    m.model_copy(update={"contracts": contracts}).save(path)
    return path


def ledger_for(deployment: Deployment, manifest_path: Path) -> Ledger:
    m = Manifest.load(manifest_path)
    led = Ledger(deployment.ganache.config.url, m)
    for name, dep in m.contracts.items():
        led.register(name, dep.address)
    return led


_minted = {"n": 0}


def mint(led: Ledger, treasurer: Signer, to: str, amount: int) -> None:
    """Mint ``amount`` credits to ``to`` against a fresh (unique) deposit reference."""
    _minted["n"] += 1
    import secrets

    Credit(led).mint(treasurer, to, amount, doc_hash(f"test deposit {secrets.token_hex(8)} #{_minted['n']}"))


def credit_resident(deployment: Deployment, amount: int) -> tuple[Fund, int]:
    """Mint ``amount`` credits to the resident; the fund, and its contribution count before."""
    led = deployment.ledger()
    mint(led, deployment.signers["treasurer"], deployment.signers["resident"].address, amount)
    fund = Fund(led)
    return fund, fund.contribution_count()


def contributions_with_memo(deployment: Deployment, service_db_url: str, memo: str) -> list[Event]:
    """The ``ContributionReceived`` events (from the chain's logs) whose memo commitment is one the
    service keeps for ``memo``: memos are salted, so their text alone no longer finds them."""
    from ledger.fund.report import events_from_chain

    hashes = set(DocStore.open(service_db_url).hashes_of("memo", memo))
    return [e for e in events_from_chain(deployment.ledger(), ["ContributionReceived"])
            if hex_text(e.args["memoHash"]) in hashes]


def move_time(led: Ledger, seconds: int) -> None:
    """Move the development chain's clock forward and mine a block at the new time."""
    led.rpc("evm_increaseTime", [seconds])
    led.rpc("evm_mine", [])


def in_one_block(led: Ledger, senders: Iterable[str], *writes: Callable[[], object]) -> None:
    """Run ``writes`` (each blocking until its answer) in threads while the node mines nothing, until
    every one of ``senders`` has a transaction in its pool; then mine them together, and return
    once every write has its answer. Each write's pre-flight sees the others' not yet mined."""
    wanted = {s.lower() for s in senders}
    led.rpc("miner_stop", [])
    try:
        threads = [threading.Thread(target=write) for write in writes]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while not wanted <= {a.lower() for a in led.rpc("txpool_content", [])["pending"]}:
            assert time.monotonic() < deadline, "the writes never reached the node's pool"
            time.sleep(0.05)
    finally:
        led.rpc("miner_start", [])
    for t in threads:
        t.join(120)
