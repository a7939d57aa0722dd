"""The HTTP API on the real 3-node geth Clique network (1 s blocks, 3 confirmations).

A write with ``Prefer: respond-async`` is answered 202 long before its block, and
its status URL goes pending → mined → confirmed; the same write without the
preference waits for the confirmations; a write that reverts on chain
(``COGOV_PREFLIGHT=false``) shows as failed with the decoded error.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.apikeys import ApiKeyStore, engine_for
from api.settings import Settings
from ledger.client import Ledger
from ledger.deploy import CouncilSeat, DeployParams, deploy
from ledger.keys import Signer
from ledger.membership import MemberKind, Role
from tests.api.conftest import LiveServer
from tests.network.conftest import PERIOD, Net

pytestmark = [pytest.mark.network, pytest.mark.timeout(300)]

CONFIRMATIONS = 3
ASYNC = {"Prefer": "respond-async"}


class Service:
    def __init__(self, url: str, token: str, treasurer: Signer, deployer: Signer, led: Ledger,
                 settings: Settings) -> None:
        self.url = url
        self.settings = settings
        self.auth = {"Authorization": f"Bearer {token}"}
        self.treasurer = treasurer
        self.deployer = deployer
        self.ledger = led

    def mint(self, http: httpx.Client, ref: str, **headers: str) -> httpx.Response:
        return http.post("/api/v1/fund/credit/mint", headers={**self.auth, **headers},
                         json={"to": self.deployer.address, "amount": 5, "deposit_ref": ref})


def _settings(root: Path, net: Net, manifest: Path, keystore: Path, **kw: Any) -> Settings:
    return Settings(
        env="test", rpc_urls=net.net.urls, manifest_path=manifest, keystore_dir=keystore,
        index_db_url=f"sqlite:///{root / 'index.db'}", service_db_url=f"sqlite:///{root / 'service.db'}",
        gateway_master_key_file=root / "gateway-master.key", gateway_store_dir=root / "gateway",
        confirmations=CONFIRMATIONS, index_follow=True, rate_limit_per_minute=0, **kw,
    )


@pytest.fixture(scope="module")
def service(network: Net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The suite deployed on the network (council seat 1 is also the treasurer) and the API serving it."""
    from tests.conftest import TEST_PASSWORD

    root = tmp_path_factory.mktemp("api-net")
    signers = [network.signer(1), network.signer(2), network.signer(3)]
    params = DeployParams(
        council=[
            CouncilSeat(name="街道办", kind=MemberKind.DEPARTMENT, roles=[Role.DEPARTMENT, Role.TREASURER],
                        account=signers[0].address),
            CouncilSeat(name="民政局", kind=MemberKind.DEPARTMENT, roles=[Role.DEPARTMENT], account=signers[1].address),
            CouncilSeat(name="区数据局", kind=MemberKind.DEPARTMENT, roles=[Role.DATA_GOVERNANCE],
                        account=signers[2].address),
        ],
        threshold=2,
    )
    deployer = network.keys["deployer"]
    result = deploy(Ledger(network.net.urls), deployer, params, root / "deployment.json")
    # The API signs as the treasurer: its key in the service's keystore, under a label.
    from ledger.keys import Keystore

    label = "treasurer"
    Keystore(root / "keys").create(label, TEST_PASSWORD, private_key=bytes(signers[0].account.key))
    settings = _settings(root, network, root / "deployment.json", root / "keys")
    store = ApiKeyStore(engine_for(settings.service_db_url))
    token, _ = store.create("net-treasurer", "treasurer", signers[0].address, label)
    led = Ledger(network.net.urls, result.manifest, confirmations=CONFIRMATIONS)
    with LiveServer(settings) as server:
        yield Service(server.url, token, signers[0], deployer, led, settings)


def test_async_write_is_answered_at_once_and_its_status_goes_pending_mined_confirmed(service: Service) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        _just_after_a_block(service.ledger)  # a whole period before the next one: room to see `pending`
        started = time.monotonic()
        r = service.mint(http, f"NET-{secrets.token_hex(4)}", **ASYNC)
        answered = time.monotonic() - started
        assert r.status_code == 202, r.text
        tx_hash = r.json()["tx_hash"]
        assert r.headers["Location"] == f"/api/v1/tx/{tx_hash}"
        # Answered well within one block: the answer did not wait for the chain.
        assert answered < PERIOD * CONFIRMATIONS, answered
        seen: list[str] = []
        confirmations: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = http.get(r.headers["Location"], headers=service.auth)
            assert st.status_code == 200, st.text
            body = st.json()
            if not seen or seen[-1] != body["status"]:
                seen.append(body["status"])
            confirmations.append(body["confirmations"])
            if body["status"] == "confirmed":
                break
            time.sleep(0.1)
        assert seen[0] == "pending" and seen[-1] == "confirmed", seen
        assert "mined" in seen and seen.index("pending") < seen.index("mined") < seen.index("confirmed"), seen
        assert body["confirmed"] is True and body["required_confirmations"] == CONFIRMATIONS
        assert body["confirmations"] >= CONFIRMATIONS
        assert confirmations == sorted(confirmations)  # never goes back
        assert body["events"] and all(e["contract"] == "CommunityCredit" for e in body["events"])


def test_a_synchronous_write_waits_for_the_confirmations(service: Service) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        started = time.monotonic()
        r = service.mint(http, f"NET-{secrets.token_hex(4)}")
        waited = time.monotonic() - started
        assert r.status_code == 201, r.text
        block = r.json()["tx"]["block_number"]
        # Two more blocks were sealed on top of its block before the answer: at least ~2 periods.
        assert waited >= (CONFIRMATIONS - 1) * PERIOD * 0.9, waited
        assert service.ledger.block_number() >= block + CONFIRMATIONS - 1
        st = http.get(f"/api/v1/tx/{r.json()['tx']['tx_hash']}", headers=service.auth).json()
        assert st["status"] == "confirmed" and st["block_number"] == block


def test_async_retry_returns_the_same_202_and_sends_once(service: Service) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        key = {"Idempotency-Key": f"net-{secrets.token_hex(6)}"}
        ref = f"NET-{secrets.token_hex(4)}"
        first = service.mint(http, ref, **ASYNC, **key)
        again = service.mint(http, ref, **ASYNC, **key)
        assert first.status_code == again.status_code == 202 and again.json() == first.json()
        tx_hash = first.json()["tx_hash"]
        deadline = time.monotonic() + 60
        while http.get(f"/api/v1/tx/{tx_hash}", headers=service.auth).json()["status"] != "confirmed":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        # one mint for the reference: a second one would have reverted with CreditDepositAlreadyRecorded
        recorded = service.ledger.call("CommunityCredit", "depositRecorded", _ref_hash(service, ref))
        assert recorded is True
        block = service.ledger.receipt(tx_hash).block_number  # type: ignore[union-attr]
        txs = service.ledger.rpc("eth_getBlockByNumber", [hex(block), True])["transactions"]
        assert sum(1 for t in txs if t["hash"] == tx_hash) == 1


def _just_after_a_block(led: Ledger) -> None:
    head = led.block_number()
    deadline = time.monotonic() + 10 * PERIOD
    while led.block_number() == head:
        assert time.monotonic() < deadline, "no new block"
        time.sleep(0.01)


def _ref_hash(service: Service, ref: str) -> bytes:
    """The reference's commitment as the service makes it (salted with the deployment's reference key)."""
    from ledger.fund.docs import open_store

    return open_store(service.settings).draft("deposit", ref).hash
