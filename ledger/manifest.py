"""The deployment manifest: which code runs where, on which chain.

Written by ``cogov deploy``, read by everything else. It records the chain id
and genesis hash (so a client never talks to the wrong chain), each
contract's address, deploy transaction and block, the keccak of its runtime
code, and the compiler version and settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.errors import ConfigError, NotDeployed


class ContractDeployment(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    tx_hash: str
    block_number: int
    runtime_keccak: str
    constructor_args: list[Any] = Field(default_factory=list)


class CompilerInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    settings: dict[str, Any]


class Manifest(BaseModel):
    """A deployment of the whole contract suite on one chain."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    chain_id: int
    genesis_hash: str
    deployer: str
    compiler: CompilerInfo
    contracts: dict[str, ContractDeployment] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError as exc:
            raise NotDeployed(f"{name} is not in the deployment manifest: run `cogov deploy`") from exc

    @property
    def start_block(self) -> int:
        """The first block holding our contracts (indexers and auditors start here)."""
        return min((c.block_number for c in self.contracts.values()), default=0)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        if not path.is_file():
            raise NotDeployed(f"no deployment manifest at {path}: run `cogov deploy`")
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise ConfigError(f"deployment manifest {path} is invalid: {exc.errors()[0]['msg']}") from exc

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old or the new manifest, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(
            json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n", "utf-8"
        )
        os.replace(tmp, path)
