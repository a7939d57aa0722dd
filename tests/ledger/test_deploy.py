"""Deployment: idempotent on the same chain, refusing a mismatched one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ledger.client import Ledger
from ledger.deploy import CouncilSeat, DeployParams, deploy
from ledger.devchain import fund
from ledger.errors import ChainMismatch, DeploymentMismatch
from ledger.keys import Keystore
from ledger.manifest import Manifest
from tests.conftest import TEST_PASSWORD, Deployment

pytestmark = pytest.mark.ganache


def _params(d: Deployment) -> DeployParams:
    m = Manifest.load(d.manifest_path)
    return DeployParams.model_validate(m.parameters)


def test_manifest_records_what_runs_where(deployment: Deployment) -> None:
    m = Manifest.load(deployment.manifest_path)
    led = deployment.ledger()
    assert m.chain_id == 1337 == led.chain_id
    assert m.genesis_hash == led.genesis_hash
    assert m.compiler.version.startswith("0.8.28")
    assert m.compiler.settings["evmVersion"] == "paris"
    for name, dep in m.contracts.items():
        code = led.rpc("eth_getCode", [dep.address, "latest"])
        from ledger.client import runtime_keccak

        assert runtime_keccak(code) == dep.runtime_keccak, name
        receipt = led.rpc("eth_getTransactionReceipt", [dep.tx_hash])
        assert int(receipt["blockNumber"], 16) == dep.block_number
    led.check_chain()
    led.verify_code()


def test_deploy_again_changes_nothing(deployment: Deployment) -> None:
    before = deployment.manifest_path.read_text()
    led = Ledger(deployment.ganache.config.url)
    height = led.block_number()
    result = deploy(led, deployment.signers["deployer"], _params(deployment), deployment.manifest_path)
    assert result.deployed == []
    assert sorted(result.unchanged) == sorted(Manifest.load(deployment.manifest_path).contracts)
    assert led.block_number() == height  # nothing sent
    assert deployment.manifest_path.read_text() == before


def test_refuses_when_code_at_a_manifest_address_differs(deployment: Deployment, tmp_path: Path) -> None:
    m = Manifest.load(deployment.manifest_path)
    names = list(m.contracts)
    # Point the registry's entry at a different contract's code (or at an account).
    other = m.contracts[names[1]].address if len(names) > 1 else deployment.signers["outsider"].address
    first = names[0]
    doctored = m.model_copy(
        update={"contracts": {**m.contracts, first: m.contracts[first].model_copy(update={"address": other})}}
    )
    path = tmp_path / "doctored.json"
    doctored.save(path)
    led = Ledger(deployment.ganache.config.url)
    with pytest.raises(DeploymentMismatch, match=first):
        deploy(led, deployment.signers["deployer"], _params(deployment), path)


def test_refuses_a_manifest_of_another_chain(deployment: Deployment, ganache_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = ganache_factory("other")
    path = tmp_path / "deployment.json"
    shutil.copy(deployment.manifest_path, path)
    led = Ledger(other.config.url)
    ks = Keystore(tmp_path / "keys")
    ks.create("d", TEST_PASSWORD)
    signer = ks.signer("d", TEST_PASSWORD)
    fund(led, signer.address)
    with pytest.raises(ChainMismatch, match="genesis hash"):
        deploy(led, signer, _params(deployment), path)
    # The client refuses too.
    led.manifest = Manifest.load(path)
    with pytest.raises(ChainMismatch):
        led.check_chain()


def test_a_fresh_deploy_resumes_after_a_crash(ganache_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    g = ganache_factory()
    led = Ledger(g.config.url)
    ks = Keystore(tmp_path / "keys")
    for label in ("d", "c"):
        ks.create(label, TEST_PASSWORD)
        fund(led, ks.signer(label, TEST_PASSWORD).address)
    params = DeployParams(council=[CouncilSeat(name="c", account=ks.signer("c", TEST_PASSWORD).address)], threshold=1)
    path = tmp_path / "m.json"
    first = deploy(led, ks.signer("d", TEST_PASSWORD), params, path)
    # Simulate a crash after the first contract: drop the later ones from the manifest.
    data = json.loads(path.read_text())
    keep = first.deployed[0]
    data["contracts"] = {keep: data["contracts"][keep]}
    path.write_text(json.dumps(data))
    again = deploy(led, ks.signer("d", TEST_PASSWORD), params, path)
    assert again.unchanged == [keep]
    assert again.deployed == first.deployed[1:]
