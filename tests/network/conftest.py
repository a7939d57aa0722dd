"""Fixtures for the multi-node geth Clique network (marked ``network``).

geth is built by the project's own install path (:func:`ledger.network.install.ensure_geth`,
the same as ``make geth`` and ``cogov network up``); the tests skip only when
that build cannot succeed on this machine. Every node a test starts is stopped
by a fixture finalizer (and an atexit guard), pass or fail.
"""

from __future__ import annotations

import atexit
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.errors import GethUnavailable
from ledger.keys import Keystore, Signer
from ledger.network.clique import CliqueNetwork
from ledger.network.config import NetworkConfig
from ledger.network.install import ensure_geth
from tests.conftest import TEST_PASSWORD  # also sets the cheap test scrypt cost

PERIOD = 1  # seconds per block in tests (Clique's minimum): real block times, bounded runtime

_networks: list[CliqueNetwork] = []


@atexit.register
def _stop_all() -> None:
    for n in _networks:
        with contextlib.suppress(Exception):
            n.down()


@pytest.fixture(scope="session")
def geth() -> Path:
    try:
        return ensure_geth()
    except GethUnavailable as exc:
        pytest.skip(f"geth v1.13.15 cannot be built on this machine: {exc.message}")


def make_network(geth: Path, directory: Path, nodes: int = 3, fund: list[str] | None = None) -> CliqueNetwork:
    cfg = NetworkConfig.load(
        data_dir=directory, http_port=0, p2p_port=0, authrpc_port=0, period=PERIOD, nodes=nodes,
        verbosity=3,  # info: sealed blocks and chain reorgs in each node's geth.log, to diagnose a failure
    )
    net = CliqueNetwork(cfg, geth=geth)
    _networks.append(net)
    return net


@dataclass
class Net:
    net: CliqueNetwork
    keys: dict[str, Signer]
    started_in: float
    keys_dir: Path  # the keystore holding ``keys`` (password TEST_PASSWORD)

    def signer(self, index: int) -> Signer:
        return self.net.signer_key(index)


LEDGER_KEYS = ["deployer", "dept_a", "dept_b", "auditor", "load1", "load2", "load3", "reorg_a", "reorg_b"]
#: The demo scenario's members (cogov.demo.MEMBERS); its council seats are the
#: nodes' signers and 卫健委 / 城管 are dept_a / dept_b (admitted first by the tests).
DEMO_KEYS = ["caizhengju", "committee-1", "committee-2", "committee-3", "shenjiju",
             "enterprise-1", "enterprise-2", "resident-1", "resident-2", "resident-3",
             "zhujianwei", "quzhongxin", "rexian"]


@pytest.fixture(scope="module")
def network(geth: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """A fresh 3-node network, its accounts funded at genesis; torn down after the module."""
    root = tmp_path_factory.mktemp("clique")
    ks = Keystore(root / "keys")
    keys = {}
    for label in [*LEDGER_KEYS, *DEMO_KEYS]:
        ks.create(label, TEST_PASSWORD)
        keys[label] = ks.signer(label, TEST_PASSWORD)
    net = make_network(geth, root / "net")
    started = time.monotonic()
    try:
        net.up(fund=[k.address for k in keys.values()])
        yield Net(net, keys, time.monotonic() - started, root / "keys")
    finally:
        net.down()
