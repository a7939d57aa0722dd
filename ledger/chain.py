"""Start, stop and inspect the local Ganache development chain.

``cogov chain up`` and the tests use :class:`Ganache`. A running chain is
described by a state file (``<db_path>/../chain.json``: pid, host, port, chain
id, data directory) so that ``status`` and ``down`` find it, and so that
``up`` never starts a second copy and never mistakes someone else's server on
the port for ours.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ledger.config import REPO_ROOT, load_yaml_fields
from ledger.errors import ChainUnavailable, ConfigError, PortTaken, RpcError
from ledger.process import pid_alive, port_open, signal_group, wait_gone
from ledger.rpc import RpcClient

log = logging.getLogger("ledger.chain")

GANACHE_CLI = REPO_ROOT / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
DEFAULT_CONFIG = REPO_ROOT / "ganache.yml"


@dataclass(frozen=True)
class ChainConfig:
    """The settings of one Ganache chain (see ``ganache.yml``)."""

    chain_id: int = 1337
    host: str = "127.0.0.1"
    port: int = 8545
    accounts: int = 10
    default_balance_ether: int = 1000
    mnemonic: str = "test test test test test test test test test test test junk"
    block_gas_limit: int = 30_000_000
    hardfork: str = "shanghai"
    db_path: Path = field(default_factory=lambda: REPO_ROOT / ".cogov" / "chain")
    block_time: float = 0.0
    #: "strict": eth_sendRawTransaction returns before mining. Ganache's default
    #: ("eager") deadlocks when gas estimates run while a block is being mined.
    instamine: str = "strict"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.db_path.parent / f"{self.db_path.name}.json"

    @property
    def log_file(self) -> Path:
        return self.db_path.parent / f"{self.db_path.name}.log"

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> ChainConfig:
        raw = load_yaml_fields(path or DEFAULT_CONFIG, "chain", cls.__dataclass_fields__, "db_path")
        cfg = cls(**raw)
        return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class ChainStatus:
    running: bool
    url: str
    pid: int | None = None
    chain_id: int | None = None
    block: int | None = None
    client: str | None = None
    db_path: str | None = None


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    """One JSON-RPC call to ``url`` alone (no retries); raises ChainUnavailable when nothing
    answers or the node answers with an error."""
    return _asking(url, lambda c: c.request(method, params or []), timeout)


def block_at(url: str, number: int | str = "latest", timeout: float = 2.0) -> dict[str, Any] | None:
    """Block ``number`` (or ``"latest"``) of the node at ``url`` alone, transactions as hashes;
    None when the node does not have it. ChainUnavailable as :func:`rpc`."""
    found: dict[str, Any] | None = _asking(url, lambda c: c.block(number), timeout)
    return found


def head_at(url: str, timeout: float = 2.0) -> dict[str, Any]:
    """The latest block of the node at ``url`` alone; ChainUnavailable as :func:`rpc`."""
    head = block_at(url, "latest", timeout)
    if head is None:
        raise ChainUnavailable(url, "no latest block")
    return head


def _asking(url: str, ask: Callable[[RpcClient], Any], timeout: float) -> Any:
    try:
        return ask(probe(url, timeout))
    except RpcError as exc:
        raise ChainUnavailable(url, exc.message) from exc
    except (OSError, ValueError) as exc:  # an HTTP error status, an answer that is no JSON
        raise ChainUnavailable(url, type(exc).__name__) from exc


#: What a probe of a node may meet: nothing answering, an error answer, an HTTP error status
#: (OSError: requests' errors) or an answer that is no JSON (ValueError).
_NO_ANSWER = (ChainUnavailable, RpcError, OSError, ValueError)


@functools.lru_cache(maxsize=64)
def probe(url: str, timeout: float = 2.0) -> RpcClient:
    """A JSON-RPC client of ``url`` alone with a short timeout and no retries (to probe a node)."""
    return RpcClient(url, timeout=timeout, quick_retries=0)


class Ganache:
    """One Ganache process with a persistent database."""

    def __init__(self, config: ChainConfig) -> None:
        self.config = config
        self._proc: subprocess.Popen[bytes] | None = None

    # ---------------------------------------------------------------- state file

    def _read_state(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.config.state_file.read_text("utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def _write_state(self, pid: int) -> None:
        self.config.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.config.state_file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "pid": pid,
                    "host": self.config.host,
                    "port": self.config.port,
                    "chain_id": self.config.chain_id,
                    "db_path": str(self.config.db_path),
                }
            ),
            encoding="utf-8",
        )
        os.replace(tmp, self.config.state_file)

    @property
    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        state = self._read_state()
        if state and pid_alive(int(state["pid"])):
            return int(state["pid"])
        return None

    # ---------------------------------------------------------------- lifecycle

    def status(self) -> ChainStatus:
        url = self.config.url
        pid = self.pid
        node = probe(url)
        try:
            chain_id, block, client = node.chain_id(), node.block_number(), node.client_version()
        except _NO_ANSWER:
            return ChainStatus(False, url, pid=pid, db_path=str(self.config.db_path))
        return ChainStatus(
            pid is not None, url, pid, chain_id, block, client, str(self.config.db_path)
        )

    def is_ours_running(self) -> bool:
        st = self.status()
        return st.running and st.chain_id == self.config.chain_id

    def command(self) -> list[str]:
        node = shutil.which("node")
        if node is None:
            raise ConfigError("Node.js is not installed: Ganache needs it")
        if not GANACHE_CLI.is_file():
            raise ConfigError("Ganache is not installed: run `npm ci` in the repository")
        c = self.config
        cmd = [
            node,
            str(GANACHE_CLI),
            "--server.host", c.host,
            "--server.port", str(c.port),
            "--chain.chainId", str(c.chain_id),
            "--chain.hardfork", c.hardfork,
            "--wallet.totalAccounts", str(c.accounts),
            "--wallet.defaultBalance", str(c.default_balance_ether),
            "--wallet.mnemonic", c.mnemonic,
            "--miner.blockGasLimit", str(c.block_gas_limit),
            "--database.dbPath", str(c.db_path),
            "--logging.quiet",
        ]  # fmt: skip
        if c.block_time:
            cmd += ["--miner.blockTime", str(c.block_time)]
        else:
            cmd += ["--miner.instamine", c.instamine]
        return cmd

    def start(self, timeout: float = 60.0) -> ChainStatus:
        """Start the chain and wait until JSON-RPC answers. Idempotent for our chain."""
        c = self.config
        if self.pid is not None:
            st = self.status()
            if st.running and st.chain_id == c.chain_id:
                return st  # already up: never start a second copy
        if port_open(c.host, c.port):
            who = "an unknown server"
            with contextlib.suppress(*_NO_ANSWER):
                node = probe(c.url)
                who = f"{node.client_version()} (chain id {node.chain_id()})"
            raise PortTaken(c.host, c.port, who)
        c.db_path.mkdir(parents=True, exist_ok=True)
        logf = open(c.log_file, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self._proc = subprocess.Popen(
                self.command(),
                # stdout carries Ganache's banner, which prints its development
                # accounts' private keys: never written anywhere. Errors go to stderr.
                stdout=subprocess.DEVNULL,
                stderr=logf,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # `chain down`, not the terminal, stops it
            )
        finally:
            logf.close()
        self._write_state(self._proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = c.log_file.read_text("utf-8", errors="replace")[-2000:]
                raise ChainUnavailable(c.url, f"Ganache exited with {self._proc.returncode}: {tail}")
            try:
                if probe(c.url, 1.0).chain_id() == c.chain_id:
                    return self.status()
            except _NO_ANSWER:
                pass
            time.sleep(0.1)
        self.stop()
        raise ChainUnavailable(c.url, f"Ganache did not answer within {timeout:.0f}s")

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop gracefully (SIGTERM, then SIGKILL). Returns whether something was stopped."""
        pid = self.pid
        if pid is None:
            self._clear_state()
            return False
        signal_group(pid, signal.SIGTERM)
        if not wait_gone(pid, self._proc, timeout):
            signal_group(pid, signal.SIGKILL)
            wait_gone(pid, self._proc, 5)
        self._clear_state()
        return True

    def kill(self) -> None:
        """``kill -9`` the node, as a crash would (for tests)."""
        pid = self.pid
        if pid is not None:
            signal_group(pid, signal.SIGKILL)
            wait_gone(pid, self._proc, 5)

    def _clear_state(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.config.state_file.unlink()

    def __enter__(self) -> Ganache:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def status_dict(st: ChainStatus) -> dict[str, Any]:
    return asdict(st)
