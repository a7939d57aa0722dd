"""Shared fixtures: real Ganache processes on free ports, keys, a deployed suite.

Every process a test starts is stopped by that test (fixture finalizers and an
atexit guard), and nothing here touches the demo's chain or `.cogov/`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Cheap scrypt for test keystores; a known test password (never a real secret).
os.environ.setdefault("COGOV_KEYSTORE_SCRYPT_N", "1024")
os.environ["COGOV_KEYSTORE_PASSWORD"] = "test-password-not-secret"
TEST_PASSWORD = os.environ["COGOV_KEYSTORE_PASSWORD"]

from ledger import artifacts  # noqa: E402
from ledger.chain import ChainConfig, Ganache, free_port  # noqa: E402
from ledger.client import Ledger  # noqa: E402
from ledger.keys import Keystore, Signer  # noqa: E402

# The test-only contracts (contracts/test/) compile to tests/artifacts/, never shipped.
artifacts.add_folder(Path(__file__).resolve().parent / "artifacts")

_started: list[Ganache] = []


@atexit.register
def _stop_all() -> None:
    for g in _started:
        with contextlib.suppress(Exception):
            g.stop(timeout=5)


def start_ganache(directory: Path, **overrides: object) -> Ganache:
    cfg = ChainConfig.load(port=free_port(), db_path=directory / "chain", **overrides)  # type: ignore[arg-type]
    g = Ganache(cfg)
    _started.append(g)
    g.start()
    return g


@pytest.fixture
def ganache_factory(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    """Start fresh Ganache processes for one test; all are stopped afterwards."""
    mine: list[Ganache] = []

    def make(name: str = "g", **overrides: object) -> Ganache:
        g = start_ganache(tmp_path / name, **overrides)
        mine.append(g)
        return g

    yield make
    for g in mine:
        g.stop(timeout=10)


@pytest.fixture(scope="session")
def ganache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ganache]:
    """One Ganache for the session (tests that need a private one use ganache_factory)."""
    g = start_ganache(tmp_path_factory.mktemp("ganache"))
    yield g
    g.stop(timeout=10)


@dataclass
class Deployment:
    """A deployed suite on the session Ganache, with keys for every demo role."""

    ganache: Ganache
    keystore: Keystore
    manifest_path: Path
    signers: dict[str, Signer]
    root: Path

    def ledger(self, **kw: object) -> Ledger:
        from ledger.manifest import Manifest

        m = Manifest.load(self.manifest_path)
        led = Ledger(self.ganache.config.url, m, **kw)  # type: ignore[arg-type]
        for name, dep in m.contracts.items():
            led.register(name, dep.address)
        return led

    @property
    def council(self) -> list[Signer]:
        return [self.signers["c1"], self.signers["c2"], self.signers["c3"]]


KEY_LABELS = ["deployer", "c1", "c2", "c3", "dept_a", "dept_b", "governance", "treasurer",
              "committee_a", "committee_b", "committee_c", "auditor", "resident", "enterprise", "outsider"]


@pytest.fixture(scope="session")
def deployment(ganache: Ganache, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    from ledger.deploy import CouncilSeat, DeployParams, deploy
    from ledger.devchain import fund

    root = tmp_path_factory.mktemp("deployment")
    ks = Keystore(root / "keys")
    signers = {}
    led = Ledger(ganache.config.url)
    for label in KEY_LABELS:
        ks.create(label, TEST_PASSWORD)
        signers[label] = ks.signer(label, TEST_PASSWORD)
        fund(led, signers[label].address)
    params = DeployParams(
        council=[
            CouncilSeat(name="街道办", account=signers["c1"].address, roles=["department"]),  # type: ignore[list-item]
            CouncilSeat(name="民政局", account=signers["c2"].address, roles=["department"]),  # type: ignore[list-item]
            CouncilSeat(name="区数据局", account=signers["c3"].address, roles=["data_governance"]),  # type: ignore[list-item]
        ],
        threshold=2,
        fund_timelock=3600,
    )
    deploy(led, signers["deployer"], params, root / "deployment.json")
    d = Deployment(ganache, ks, root / "deployment.json", signers, root)
    admit_standard_members(d)
    return d


# label -> (name, kind, roles): the members every integration test can rely on.
STANDARD_MEMBERS = {
    "dept_a": ("卫健委", "DEPARTMENT", ["DEPARTMENT"]),
    "dept_b": ("城管", "DEPARTMENT", ["DEPARTMENT"]),
    "treasurer": ("财政局", "DEPARTMENT", ["TREASURER"]),
    "committee_a": ("共治委员会-甲", "RESIDENT_GROUP", ["FUND_COMMITTEE"]),
    "committee_b": ("共治委员会-乙", "ENTERPRISE", ["FUND_COMMITTEE"]),
    "committee_c": ("共治委员会-丙", "DEPARTMENT", ["FUND_COMMITTEE"]),
    "auditor": ("审计局", "AUDITOR", ["AUDITOR"]),
    "resident": ("幸福里居民", "RESIDENT_GROUP", ["CONTRIBUTOR"]),
    "enterprise": ("绿城物业", "ENTERPRISE", ["CONTRIBUTOR"]),
}
# The council seats: c1 街道办 (department), c2 民政局 (department), c3 区数据局 (data governance).
MEMBER_IDS = {"c1": 1, "c2": 2, "c3": 3, **{label: 4 + i for i, label in enumerate(STANDARD_MEMBERS)}}


def admit_standard_members(d: Deployment) -> None:
    from ledger.membership import Registry
    from ledger.roles import MemberKind, Role

    reg = Registry(d.ledger())
    for label, (name, kind, roles) in STANDARD_MEMBERS.items():
        mid = reg.admit(d.council, name, MemberKind[kind], [Role[r] for r in roles], d.signers[label].address)
        assert mid == MEMBER_IDS[label], (label, mid)


# ----------------------------------------------------------------- secrets scan
# Every secret the suite uses is registered here; tests/reliability/test_secrets_scan.py
# (moved to the very end of the run) scans every log the suite wrote for any of them.
SECRETS: set[str] = {TEST_PASSWORD}
LOG_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "logs"
SCAN_TEST = "tests/reliability/test_secrets_scan.py::test_no_secret_in_any_log"


def register_secret(value: str) -> None:
    if value:
        SECRETS.add(value)


def pytest_configure(config: pytest.Config) -> None:
    """A root DEBUG log of the whole run, and a hook registering every key and API key used."""
    import logging

    from api.apikeys import ApiKeyStore

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "suite.log"
    if log.exists() and log.stat().st_size > 200 * 2**20:
        log.replace(log.with_suffix(".log.1"))
    # appended, never truncated: concurrent runs in one tree must not erase each other's records
    handler = logging.FileHandler(log, mode="a", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)

    signer, create = Keystore.signer, ApiKeyStore.create

    def _signer(self: Keystore, label: str, password: str) -> Signer:
        s = signer(self, label, password)
        register_secret(s.account.key.hex())
        return s

    def _create(self: ApiKeyStore, *a: object, **kw: object) -> tuple[str, object]:
        token, rec = create(self, *a, **kw)  # type: ignore[arg-type]
        register_secret(token.split("_", 2)[-1])
        return token, rec

    Keystore.signer = _signer  # type: ignore[method-assign]
    ApiKeyStore.create = _create  # type: ignore[method-assign, assignment]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [i for i in items if i.nodeid.endswith(SCAN_TEST.split("/")[-1]) and "reliability" in i.nodeid]
    for i in last:
        items.remove(i)
    items.extend(last)
