"""Settings of the local Clique network (``network/clique.yml``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ledger.config import REPO_ROOT, load_yaml_fields
from ledger.errors import ConfigError

DEFAULT_CONFIG = REPO_ROOT / "network" / "clique.yml"


@dataclass(frozen=True)
class NetworkConfig:
    """One network of ``nodes`` geth signer nodes on loopback.

    A port of 0 means "pick free ports when the network is created" (tests).
    Ports, keys and the genesis are fixed at creation and kept in the state file.
    """

    chain_id: int = 2024
    nodes: int = 3
    period: int = 2
    epoch: int = 30000
    block_gas_limit: int = 30_000_000
    host: str = "127.0.0.1"
    http_port: int = 8645
    p2p_port: int = 30403
    authrpc_port: int = 8651
    alloc_ether: int = 1_000_000
    data_dir: Path = REPO_ROOT / ".cogov" / "network"
    verbosity: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= 16:
            raise ConfigError(f"nodes must be between 1 and 16, not {self.nodes}")
        if self.period < 1:
            raise ConfigError("period must be at least 1 second (0 would seal only on demand)")
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"the local network listens on loopback only, not {self.host}")

    @property
    def state_file(self) -> Path:
        return self.data_dir / "network.json"

    @property
    def genesis_file(self) -> Path:
        return self.data_dir / "genesis.json"

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> NetworkConfig:
        raw = load_yaml_fields(path or DEFAULT_CONFIG, "network", cls.__dataclass_fields__, "data_dir")
        cfg = cls(**raw)
        return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
