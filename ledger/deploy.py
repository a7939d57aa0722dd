"""Deploy the contract suite and write the deployment manifest.

Deployment is resumable and idempotent: the manifest is saved after every
contract, so a crash loses nothing, and running it again against the same
chain deploys only what is missing (usually nothing, and it says so). Against
a chain where the code at a manifest address is not the artifact, it refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from ledger import artifacts
from ledger.cases.types import SATISFACTION_WINDOW, STANDARD_LEVELS
from ledger.client import Ledger, runtime_keccak
from ledger.errors import ChainMismatch, DeploymentMismatch, NotDeployed, ValidationFailed
from ledger.keys import Signer
from ledger.manifest import CompilerInfo, ContractDeployment, Manifest
from ledger.membership import MemberKind, Role, roles_mask
from ledger.verify import code_matches


class CouncilSeat(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: MemberKind = MemberKind.DEPARTMENT
    roles: list[Role] = Field(default_factory=list)
    account: str

    @field_validator("roles", mode="before")
    @classmethod
    def _role_names(cls, v: object) -> object:
        if isinstance(v, list):
            return [Role[x.upper()] if isinstance(x, str) else x for x in v]
        return v

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_name(cls, v: object) -> object:
        return MemberKind[v.upper()] if isinstance(v, str) else v

    @field_validator("account")
    @classmethod
    def _address(cls, v: str) -> str:
        from eth_utils import is_address, to_checksum_address

        if not is_address(v):
            raise ValueError(f"not an address: {v}")
        return str(to_checksum_address(v))


class DeployParams(BaseModel):
    """Constructor parameters of the suite."""

    council: list[CouncilSeat] = Field(min_length=1)
    threshold: int = Field(ge=1)
    proposal_lifetime: int = Field(default=7 * 24 * 3600, ge=3600, le=365 * 24 * 3600)
    request_ttl: int = Field(default=14 * 24 * 3600, ge=60)
    fund_quorum: int = Field(default=2, ge=1)
    fund_timelock: int = Field(default=2 * 24 * 3600, ge=0)
    #: Seconds a fund motion is open for votes; undecided by then, it is decided at its deadline.
    fund_voting_period: int = Field(default=7 * 24 * 3600, ge=1, le=365 * 24 * 3600)
    #: The fund's settlement token: CommunityCredit (deployed here) unless an ERC-20 address is given.
    fund_token: str | None = None
    credit_name: str = "Community Credit"
    credit_symbol: str = "CCR"
    #: Seconds after a case's closing during which its channel may record satisfaction.
    case_satisfaction_window: int = Field(default=SATISFACTION_WINDOW, ge=3600, le=365 * 24 * 3600)
    #: The cases' initial service levels: (category, seconds to acknowledge, seconds to resolve);
    #: the council changes them afterwards.
    case_levels: list[tuple[int, int, int]] = Field(default_factory=lambda: [lv.spec() for lv in STANDARD_LEVELS])


@dataclass(frozen=True)
class Step:
    name: str
    args: Callable[[DeployParams, dict[str, str]], list[Any]]


def _registry_args(p: DeployParams, _addr: dict[str, str]) -> list[Any]:
    seats = [
        (s.name, int(s.kind), roles_mask(s.roles), s.account) for s in p.council
    ]
    return [seats, p.threshold, p.proposal_lifetime]


def _data_args(p: DeployParams, addr: dict[str, str]) -> list[Any]:
    return [addr["MembershipRegistry"], p.request_ttl]


def _credit_args(p: DeployParams, addr: dict[str, str]) -> list[Any]:
    return [addr["MembershipRegistry"], p.credit_name, p.credit_symbol]


def _fund_args(p: DeployParams, addr: dict[str, str]) -> list[Any]:
    token = p.fund_token or addr["CommunityCredit"]
    return [addr["MembershipRegistry"], token, p.fund_quorum, p.fund_timelock, p.fund_voting_period]


def _cases_args(p: DeployParams, addr: dict[str, str]) -> list[Any]:
    return [addr["MembershipRegistry"], p.case_satisfaction_window, [list(lv) for lv in p.case_levels]]


def _checkpoints_args(_p: DeployParams, addr: dict[str, str]) -> list[Any]:
    return [addr["MembershipRegistry"]]


SUITE: list[Step] = [
    Step("MembershipRegistry", _registry_args),
    Step("DataSharing", _data_args),
    Step("CommunityCredit", _credit_args),
    Step("CoGovFund", _fund_args),
    Step("CaseDesk", _cases_args),
    Step("AccessCheckpoints", _checkpoints_args),
]


@dataclass(frozen=True)
class DeployResult:
    manifest: Manifest
    deployed: list[str]
    unchanged: list[str]


def deploy(
    ledger: Ledger,
    signer: Signer,
    params: DeployParams,
    manifest_path: Path,
    progress: Callable[[str], None] | None = None,
    suite: list[Step] | None = None,
) -> DeployResult:
    """Deploy what is missing from the manifest; verify what is there."""
    say = progress or (lambda _m: None)
    suite = SUITE if suite is None else suite
    if params.threshold > len(params.council):
        raise ValidationFailed("threshold", f"{params.threshold} exceeds the council of {len(params.council)}")
    manifest: Manifest | None = None
    try:
        manifest = Manifest.load(manifest_path)
    except NotDeployed:
        manifest = None
    if manifest is not None:
        ledger.manifest = manifest
        try:
            ledger.check_chain()
        except ChainMismatch as exc:
            raise ChainMismatch(
                exc.context["what"] + f" (manifest {manifest_path} belongs to another chain; "
                "move it away to deploy afresh)",
                exc.context["expected"],
                exc.context["actual"],
            ) from exc
        for name, dep in manifest.contracts.items():
            code = ledger.rpc("eth_getCode", [dep.address, "latest"])
            if code in (None, "0x"):
                raise DeploymentMismatch(name, dep.address, "no code at the manifest address")
            if runtime_keccak(code) != dep.runtime_keccak or not code_matches(code, artifacts.load(name)):
                raise DeploymentMismatch(name, dep.address, "code on chain differs from the committed artifact")
    else:
        first = artifacts.load(suite[0].name)
        manifest = Manifest(
            chain_id=ledger.chain_id,
            genesis_hash=ledger.genesis_hash,
            deployer=signer.address,
            compiler=CompilerInfo(
                version=first["compiler"]["version"], settings=first["compiler"]["settings"]
            ),
            parameters=params.model_dump(mode="json"),
        )
    addresses = {n: d.address for n, d in manifest.contracts.items()}
    deployed, unchanged = [], []
    for step in suite:
        if step.name in manifest.contracts:
            unchanged.append(step.name)
            continue
        say(f"deploying {step.name}")
        args = step.args(params, addresses)
        receipt = ledger.deploy(signer, step.name, *args)
        assert receipt.contract_address is not None
        code = ledger.rpc("eth_getCode", [receipt.contract_address, "latest"])
        dep = ContractDeployment(
            address=receipt.contract_address,
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            runtime_keccak=runtime_keccak(code),
            constructor_args=_jsonable(args),
        )
        contracts = dict(manifest.contracts)
        contracts[step.name] = dep
        manifest = manifest.model_copy(update={"contracts": contracts})
        manifest.save(manifest_path)  # after every contract: nothing lost on a crash
        addresses[step.name] = dep.address
        deployed.append(step.name)
    ledger.manifest = manifest
    return DeployResult(manifest, deployed, unchanged)


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v
