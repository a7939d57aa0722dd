"""Deploy and admit: the one bootstrap of a deployment that tests, benchmarks and the demo share.

:func:`deploy_and_admit` funds the accounts from the development chain, deploys the suite
(or verifies the deployment the manifest names: it is idempotent, like ``cogov deploy``),
and admits the members not in the registry yet through the council. :func:`deploy_standard`
is the deployment every integration test and benchmark counts on: the keys of
:data:`KEY_LABELS`, the council ``c1``-``c3``, the members of :data:`STANDARD_MEMBERS`
with the ids of :data:`MEMBER_IDS`. The demo's scenario (``cogov.demo``) bootstraps through
:func:`deploy_and_admit` with its own council and members.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.chain import ChainConfig, Ganache
from ledger.client import Ledger
from ledger.deploy import CouncilSeat, DeployParams, deploy
from ledger.devchain import fund
from ledger.keys import Keystore, Signer
from ledger.manifest import Manifest
from ledger.membership import ChangeKind, MemberKind, Registry, Role
from ledger.process import free_port

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

#: A member to admit: (organisation name, kind, roles).
MemberSpec = tuple[str, MemberKind, Sequence[Role]]

# ----------------------------------------------------------------- chains

_started: list[Ganache] = []


@atexit.register
def _stop_all() -> None:
    for g in _started:
        with contextlib.suppress(Exception):
            g.stop(timeout=5)


def start_ganache(directory: Path, **overrides: Any) -> Ganache:
    """A fresh Ganache on a free loopback port, its database in ``directory/chain``; stopped at
    exit at the latest (the caller stops it sooner)."""
    g = Ganache(ChainConfig.load(port=free_port(), db_path=directory / "chain", **overrides))
    _started.append(g)
    g.start()
    return g


# ----------------------------------------------------------------- the bootstrap


def open_signers(keystore: Keystore, labels: Iterable[str], password: str) -> dict[str, Signer]:
    """A signer per label, its key created (encrypted with ``password``) when missing."""
    existing = {k.label for k in keystore.list()}
    signers = {}
    for label in labels:
        if label not in existing:
            keystore.create(label, password)
        signers[label] = keystore.signer(label, password)
    return signers


def admit_members(
    ledger: Ledger,
    council: Mapping[str, MemberSpec],
    members: Mapping[str, MemberSpec],
    signers: Mapping[str, Signer],
    say: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Admit each of ``members`` not in the registry yet (the council's first seats enact it);
    return every label's member id, the council's included."""
    reg = Registry(ledger)
    seats = [signers[label] for label in council]
    ids = {}
    for label in council:
        m = reg.member_of(signers[label].address)
        assert m is not None, f"council seat {label} missing from the deployment"
        ids[label] = m.id
    for label, (name, kind, roles) in members.items():
        m = reg.member_of(signers[label].address)
        if m is None:
            if say is not None:
                say(f"admitting {name}")
            ids[label] = reg.admit(seats, name, kind, list(roles), signers[label].address)
        else:
            ids[label] = m.id
    return ids


@dataclass
class Bootstrapped:
    """What :func:`deploy_and_admit` leaves: a ledger on the deployment, and who is who."""

    ledger: Ledger
    signers: dict[str, Signer]
    member_ids: dict[str, int]
    #: The contracts this run deployed (none when the manifest's deployment was complete).
    deployed: list[str] = field(default_factory=list)


def deploy_and_admit(
    rpc_urls: str | Sequence[str],
    signers: Mapping[str, Signer],
    manifest_path: Path,
    council: Mapping[str, MemberSpec],
    members: Mapping[str, MemberSpec],
    *,
    deployer: str = "deployer",
    fund_accounts: bool = True,
    confirmations: int = 1,
    say: Callable[[str], None] | None = None,
    threshold: int = 2,
    **params: Any,
) -> Bootstrapped:
    """Fund every signer from the development chain (unless ``fund_accounts`` is false: a chain
    that funded them at genesis), deploy the suite with ``council`` seated (``params``: the
    other :class:`~ledger.deploy.DeployParams`) or verify the deployment ``manifest_path``
    names, and admit the ``members`` that are not in the registry yet."""
    led = Ledger(rpc_urls, confirmations=confirmations)
    if fund_accounts:
        for s in signers.values():
            fund(led, s.address)
    seats = [
        CouncilSeat(name=name, kind=kind, roles=list(roles), account=signers[label].address)
        for label, (name, kind, roles) in council.items()
    ]
    result = deploy(
        led, signers[deployer], DeployParams(council=seats, threshold=threshold, **params), manifest_path, say
    )
    led = Ledger(rpc_urls, Manifest.load(manifest_path), confirmations=confirmations)
    ids = admit_members(led, council, members, signers, say)
    return Bootstrapped(led, dict(signers), ids, list(result.deployed))


# ----------------------------------------------------------------- the standard deployment

#: Every key of the standard deployment: the deployer, the council (c1 街道办, c2 民政局,
#: c3 区数据局), the members, and two accounts that are no member (governance, outsider).
#: For the cases, dept_a and dept_b are departments to name, subdistrict raises, district takes
#: escalations, channel records satisfaction.
KEY_LABELS = ["deployer", "c1", "c2", "c3", "dept_a", "dept_b", "governance", "treasurer",
              "committee_a", "committee_b", "committee_c", "auditor", "resident", "enterprise", "outsider",
              "subdistrict", "district", "channel"]
STANDARD_COUNCIL: dict[str, MemberSpec] = {
    "c1": ("街道办", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "c2": ("民政局", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "c3": ("区数据局", MemberKind.DEPARTMENT, [Role.DATA_GOVERNANCE]),
}
#: label -> (name, kind, roles): the members every integration test can rely on.
STANDARD_MEMBERS: dict[str, MemberSpec] = {
    "dept_a": ("卫健委", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "dept_b": ("城管", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "treasurer": ("财政局", MemberKind.DEPARTMENT, [Role.TREASURER]),
    "committee_a": ("共治委员会-甲", MemberKind.RESIDENT_GROUP, [Role.FUND_COMMITTEE]),
    "committee_b": ("共治委员会-乙", MemberKind.ENTERPRISE, [Role.FUND_COMMITTEE]),
    "committee_c": ("共治委员会-丙", MemberKind.DEPARTMENT, [Role.FUND_COMMITTEE]),
    "auditor": ("审计局", MemberKind.AUDITOR, [Role.AUDITOR]),
    "resident": ("幸福里居民", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR]),
    "enterprise": ("绿城物业", MemberKind.ENTERPRISE, [Role.CONTRIBUTOR]),
    # Added last for the cases, so that the members above keep their ids.
    "subdistrict": ("幸福里街道", MemberKind.DEPARTMENT, [Role.SUB_DISTRICT]),
    "district": ("区城市运行中心", MemberKind.DEPARTMENT, [Role.DISTRICT]),
    "channel": ("12345热线", MemberKind.DEPARTMENT, [Role.CHANNEL]),
}
MEMBER_IDS = {"c1": 1, "c2": 2, "c3": 3, **{label: 4 + i for i, label in enumerate(STANDARD_MEMBERS)}}


@dataclass
class Deployment:
    """A deployed suite on a Ganache, with keys for every label of :data:`KEY_LABELS`."""

    ganache: Ganache
    keystore: Keystore
    manifest_path: Path
    signers: dict[str, Signer]
    root: Path

    def ledger(self, **kw: Any) -> Ledger:
        return Ledger(self.ganache.config.url, Manifest.load(self.manifest_path), **kw)

    @property
    def council(self) -> list[Signer]:
        return [self.signers[label] for label in STANDARD_COUNCIL]


def deploy_standard(ganache: Ganache, root: Path, password: str, **params: Any) -> Deployment:
    """On ``ganache``: a key per label in ``root/keys``, the suite deployed (manifest
    ``root/deployment.json``; threshold 2, fund quorum 2, time lock 1 h unless ``params``
    say otherwise), the standard members admitted with the ids of :data:`MEMBER_IDS`."""
    keystore = Keystore(root / "keys")
    signers = open_signers(keystore, KEY_LABELS, password)
    done = deploy_and_admit(
        ganache.config.url, signers, root / "deployment.json", STANDARD_COUNCIL, STANDARD_MEMBERS,
        **{"fund_timelock": 3600, **params},
    )
    assert done.member_ids == MEMBER_IDS, done.member_ids
    return Deployment(ganache, keystore, root / "deployment.json", signers, root)


def register_data_key(d: Deployment, label: str) -> X25519PrivateKey:
    """A fresh X25519 key for member ``label``, registered by a council SetDataKey proposal."""
    from ledger.gateway import generate_keypair

    priv, pub = generate_keypair()
    Registry(d.ledger()).enact(d.council, ChangeKind.SET_DATA_KEY, MEMBER_IDS[label], pub)
    return priv
