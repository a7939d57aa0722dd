"""A Clique network's nodes as created: their description, keys, genesis and data directories.

Everything here runs once, at ``create`` (or ``add_node``); nothing here starts a process
or speaks JSON-RPC. The layout it writes is described in :mod:`ledger.network.clique`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_keys.datatypes import PrivateKey
from eth_utils import to_checksum_address

from ledger.errors import ConfigError, NetworkError
from ledger.keys import Keystore
from ledger.network.config import NetworkConfig

SIGNER_LABEL = "signer"


@dataclass(frozen=True)
class NodeSpec:
    """One node as created: never changes after ``create``."""

    name: str
    index: int
    http_port: int
    p2p_port: int
    authrpc_port: int
    signer: str
    enode_id: str
    genesis_signer: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def enode(self) -> str:
        return f"enode://{self.enode_id}@127.0.0.1:{self.p2p_port}"


@dataclass(frozen=True)
class NodeLive:
    """What a running node answers about itself."""

    peers: int
    head: int
    head_hash: str
    is_signer: bool  # among the signers at its head
    mining: bool


@dataclass(frozen=True)
class NodeStatus:
    name: str
    url: str
    running: bool
    pid: int | None
    signer: str | None = None
    live: NodeLive | None = None  # None: the node does not answer


@dataclass(frozen=True)
class NodeKeys:
    """What :func:`create_node_keys` wrote: the signer's address and the p2p node id."""

    signer: str
    enode_id: str


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def create_node_keys(node_dir: Path) -> NodeKeys:
    """A node's signer key (encrypted under a random password, mode 0600) and its p2p nodekey."""
    (node_dir / "geth").mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    _write_secret(node_dir / "password", password + "\n")
    info = Keystore(node_dir / "keystore").create(SIGNER_LABEL, password)
    node_key = secrets.token_bytes(32)
    _write_secret(node_dir / "geth" / "nodekey", node_key.hex())
    return NodeKeys(signer=info.address, enode_id=PrivateKey(node_key).public_key.to_hex()[2:])


def init_datadir(geth: Path, node_dir: Path, genesis_file: Path, name: str) -> None:
    """``geth init`` a node's database from the genesis file."""
    res = subprocess.run(
        [str(geth), "init", "--datadir", str(node_dir), str(genesis_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if res.returncode != 0:
        raise NetworkError(f"geth init of {name} failed: {res.stderr.strip()[-800:]}")


def write_static_peers(node_dir: Path, name: str, all_nodes: Sequence[NodeSpec]) -> None:
    """The node's ``config.toml``: every other node as a static peer."""
    peers = [n.enode for n in all_nodes if n.name != name]
    text = "[Node.P2P]\nStaticNodes = [\n" + "".join(f'  "{p}",\n' for p in peers) + "]\n"
    (node_dir / "config.toml").write_text(text, encoding="utf-8")


def clique_genesis(config: NetworkConfig, signers: Sequence[str], fund: Iterable[str] = ()) -> dict[str, Any]:
    """A Clique genesis: every fork up to London at block 0, the signers in extraData."""
    ordered = sorted({to_checksum_address(s) for s in signers}, key=lambda a: a.lower())
    if not ordered:
        raise ConfigError("a Clique network needs at least one signer")
    extra = "0x" + "00" * 32 + "".join(a[2:].lower() for a in ordered) + "00" * 65
    balance = hex(config.alloc_ether * 10**18)
    alloc = {a[2:].lower(): {"balance": balance} for a in [*ordered, *fund]}
    forks = [
        "homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
        "constantinopleBlock", "petersburgBlock", "istanbulBlock", "muirGlacierBlock",
        "berlinBlock", "londonBlock", "arrowGlacierBlock", "grayGlacierBlock",
    ]  # fmt: skip
    return {
        "config": {
            "chainId": config.chain_id,
            **{f: 0 for f in forks},
            "clique": {"period": config.period, "epoch": config.epoch},
        },
        "difficulty": "0x1",
        "gasLimit": hex(config.block_gas_limit),
        "extradata": extra,
        "alloc": alloc,
    }
