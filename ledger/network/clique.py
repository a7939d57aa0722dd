"""A local permissioned network of geth Clique signer nodes: create, start, stop, inspect.

Layout under ``data_dir`` (``.cogov/network`` by default)::

    network.json        what was created: chain id, genesis hash, each node's
                        ports, signer address and enode id (the state file)
    genesis.json        Clique genesis: signers in extraData, London, alloc
    node1/keystore/     the node's signer key, an encrypted Web3 Secret Storage file
    node1/password      its password (random, mode 0600; see below)
    node1/geth/nodekey  the p2p identity (geth's own plaintext format)
    node1/config.toml   static peers
    node1/node.pid      pid of the running geth
    node1/geth.log      geth's output

The pieces: :mod:`ledger.network.nodes` (what ``create`` writes: keys, genesis,
data directories), :mod:`ledger.network.geth` (a node's command line and why its
signer key is unlocked); this module drives them (processes, peering, status).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address

from ledger.chain import block_at, head_at, rpc
from ledger.errors import ChainUnavailable, NetworkError
from ledger.keys import Keystore, Signer
from ledger.network.config import NetworkConfig
from ledger.network.geth import geth_command, is_geth, wait_until
from ledger.network.install import ensure_geth
from ledger.network.nodes import (
    SIGNER_LABEL,
    NodeLive,
    NodeSpec,
    NodeStatus,
    clique_genesis,
    create_node_keys,
    init_datadir,
    write_static_peers,
)
from ledger.process import free_port, pid_alive, port_open, signal_group, wait_gone

__all__ = ["CliqueNetwork", "NodeSpec", "NodeStatus", "clique_genesis"]

log = logging.getLogger("ledger.network")


class CliqueNetwork:
    """The nodes of one network directory; every method is safe to call again."""

    def __init__(self, config: NetworkConfig, geth: Path | None = None) -> None:
        self.config = config
        self._geth = geth
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # ---------------------------------------------------------------- state

    @property
    def created(self) -> bool:
        return self.config.state_file.is_file()

    def _state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.config.state_file.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise NetworkError(f"no network in {self.config.data_dir}: run `cogov network up`") from exc
        return data

    def _save_state(self, state: dict[str, Any]) -> None:
        tmp = self.config.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        os.replace(tmp, self.config.state_file)

    @property
    def nodes(self) -> list[NodeSpec]:
        return [NodeSpec(**n) for n in self._state()["nodes"]]

    def node(self, which: int | str) -> NodeSpec:
        for n in self.nodes:
            if which in (n.index, n.name):
                return n
        raise NetworkError(f"no node {which!r} in {self.config.data_dir}")

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def chain_id(self) -> int:
        return int(self._state()["chain_id"])

    def node_dir(self, node: NodeSpec) -> Path:
        return self.config.data_dir / node.name

    @property
    def geth(self) -> Path:
        if self._geth is None:
            self._geth = ensure_geth()
        return self._geth

    # ---------------------------------------------------------------- create

    def create(self, fund: Iterable[str] = (), progress: Callable[[str], None] | None = None) -> None:
        """Create keys, genesis and node databases once (a no-op when they exist)."""
        if self.created:
            return
        say = progress or (lambda _m: None)
        c = self.config
        c.data_dir.mkdir(parents=True, exist_ok=True)
        specs = [self._new_node(i, genesis_signer=True) for i in range(1, c.nodes + 1)]
        say(f"created {len(specs)} signer keys")
        genesis = clique_genesis(c, [s.signer for s in specs], fund)
        c.genesis_file.write_text(json.dumps(genesis, indent=2), encoding="utf-8")
        for s in specs:
            self._init_datadir(s)
        self._save_state(
            {"chain_id": c.chain_id, "period": c.period, "nodes": [asdict(s) for s in specs]}
        )
        for s in specs:
            self._write_peers(s, specs)
        say(f"initialised {len(specs)} node databases (chain id {c.chain_id}, period {c.period}s)")

    def _port(self, base: int, index: int) -> int:
        return free_port() if base == 0 else base + index - 1

    def _new_node(self, index: int, *, genesis_signer: bool) -> NodeSpec:
        c = self.config
        keys = create_node_keys(c.data_dir / f"node{index}")
        return NodeSpec(
            name=f"node{index}",
            index=index,
            http_port=self._port(c.http_port, index),
            p2p_port=self._port(c.p2p_port, index),
            authrpc_port=self._port(c.authrpc_port, index),
            signer=keys.signer,
            enode_id=keys.enode_id,
            genesis_signer=genesis_signer,
        )

    def _init_datadir(self, spec: NodeSpec) -> None:
        init_datadir(self.geth, self.node_dir(spec), self.config.genesis_file, spec.name)

    def _write_peers(self, spec: NodeSpec, all_nodes: Sequence[NodeSpec]) -> None:
        write_static_peers(self.node_dir(spec), spec.name, all_nodes)

    def add_node(self) -> NodeSpec:
        """Create one more node (a new key that is not a signer yet), peered with all."""
        state = self._state()
        specs = self.nodes
        spec = self._new_node(max(s.index for s in specs) + 1, genesis_signer=False)
        self._init_datadir(spec)
        specs.append(spec)
        state["nodes"] = [asdict(s) for s in specs]
        self._save_state(state)
        for s in specs:
            self._write_peers(s, specs)
        return spec

    def signer_key(self, which: int | str) -> Signer:
        """A node's signer key, decrypted locally (to fund accounts or to act as a member)."""
        spec = self.node(which)
        d = self.node_dir(spec)
        password = (d / "password").read_text(encoding="utf-8").rstrip("\n")
        return Keystore(d / "keystore").signer(SIGNER_LABEL, password)

    # ---------------------------------------------------------------- processes

    def _pid_file(self, spec: NodeSpec) -> Path:
        return self.node_dir(spec) / "node.pid"

    def pid(self, spec: NodeSpec) -> int | None:
        proc = self._procs.get(spec.name)
        if proc is not None:
            return proc.pid if proc.poll() is None else None
        try:
            pid = int(self._pid_file(spec).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) and is_geth(pid) else None

    def command(self, spec: NodeSpec) -> list[str]:
        return geth_command(self.geth, spec, self.node_dir(spec), self.chain_id, self.config.verbosity)

    def start_node(self, which: int | str, timeout: float = 60.0) -> NodeStatus:
        """Start one node (idempotent) and wait until its JSON-RPC answers."""
        spec = self.node(which)
        if self.pid(spec) is not None:
            return self.node_status(spec)
        if port_open("127.0.0.1", spec.http_port):
            raise NetworkError(f"port {spec.http_port} of {spec.name} is taken by another process")
        d = self.node_dir(spec)
        logf = open(d / "geth.log", "ab")  # noqa: SIM115 - handed to the child process
        try:
            proc = subprocess.Popen(
                self.command(spec),
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # `network down`, not the terminal, stops it
            )
        finally:
            logf.close()
        self._procs[spec.name] = proc
        self._pid_file(spec).write_text(str(proc.pid), encoding="utf-8")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = (d / "geth.log").read_text("utf-8", errors="replace")[-1500:]
                raise NetworkError(f"geth {spec.name} exited with {proc.returncode}: {tail}")
            try:
                if int(rpc(spec.url, "eth_chainId", timeout=1.0), 16) == self.chain_id:
                    return self.node_status(spec)
            except ChainUnavailable:
                pass
            time.sleep(0.1)
        self.stop_node(spec.name)
        raise NetworkError(f"geth {spec.name} did not answer within {timeout:.0f}s")

    def stop_node(self, which: int | str, timeout: float = 20.0) -> bool:
        """SIGTERM (geth flushes its database), SIGKILL after ``timeout``."""
        spec = self.node(which)
        pid = self.pid(spec)
        if pid is None:
            self._pid_file(spec).unlink(missing_ok=True)
            return False
        signal_group(pid, signal.SIGTERM)
        if not self._wait_gone(spec, pid, timeout):
            signal_group(pid, signal.SIGKILL)
            self._wait_gone(spec, pid, 5)
        self._pid_file(spec).unlink(missing_ok=True)
        return True

    def kill_node(self, which: int | str) -> None:
        """``kill -9`` a node, as a crash would."""
        spec = self.node(which)
        pid = self.pid(spec)
        if pid is not None:
            signal_group(pid, signal.SIGKILL)
            self._wait_gone(spec, pid, 5)

    def _wait_gone(self, spec: NodeSpec, pid: int, timeout: float) -> bool:
        return wait_gone(pid, self._procs.get(spec.name), timeout)

    # ---------------------------------------------------------------- network

    def up(
        self,
        fund: Iterable[str] = (),
        timeout: float = 90.0,
        progress: Callable[[str], None] | None = None,
    ) -> list[NodeStatus]:
        """Create if needed, start every node, connect them, wait for peers and new blocks."""
        say = progress or (lambda _m: None)
        self.geth  # noqa: B018 - builds geth first if it is missing
        self.create(fund, progress=say)
        for spec in self.nodes:
            self.start_node(spec.name)
            say(f"{spec.name} answers at {spec.url}")
        self.connect_all()
        self.wait_peered(timeout)
        say("nodes are peered")
        self.wait_blocks(1, timeout)
        say("blocks are being sealed")
        return self.status()

    def down(self) -> int:
        """Stop every node (data kept). Returns how many were running."""
        if not self.created:
            return 0
        return sum(1 for spec in self.nodes if self.stop_node(spec.name))

    def running(self) -> list[NodeSpec]:
        return [s for s in self.nodes if self.pid(s) is not None]

    def connect_all(self) -> None:
        """admin_addPeer every running node to every other (static peers, redialled)."""
        live = self.running()
        for a in live:
            for b in live:
                if a.name != b.name:
                    try:
                        rpc(a.url, "admin_addPeer", [b.enode])
                    except ChainUnavailable as exc:
                        log.warning("%s could not add %s: %s", a.name, b.name, exc)

    def disconnect(self, which: int | str, timeout: float = 15.0) -> None:
        """Partition one node: it and every other node drop each other (admin_removePeer), until
        neither side holds a connection to the other.

        One pass of removals is not always enough: a node whose static entry is dropped a moment
        after the other side disconnected may already be redialling, and a handshake that is
        still running when ``admin_removePeer`` arrives is not a peer yet, so it survives (seen
        with fast back-to-back calls). So the pass is repeated while either side still lists the
        other among its peers.
        """
        spec = self.node(which)
        deadline = time.monotonic() + timeout
        while True:
            others = [o for o in self.running() if o.name != spec.name]
            for other in others:
                for a, b in ((spec, other), (other, spec)):
                    try:
                        rpc(a.url, "admin_removePeer", [b.enode])
                    except ChainUnavailable as exc:
                        log.warning("%s could not drop %s: %s", a.name, b.name, exc)
            time.sleep(0.5)  # let a redial that was under way finish, so the check below sees it
            if not any(self._peered(spec, o) or self._peered(o, spec) for o in others):
                return
            if time.monotonic() > deadline:
                raise NetworkError(f"{spec.name} is still connected to the others after {timeout:.0f}s")
            log.info("%s still connected to another node; dropping again", spec.name)

    def _peered(self, a: NodeSpec, b: NodeSpec) -> bool:
        """Whether node ``a`` has a connection to node ``b`` (by node id)."""
        want = keccak(hexstr=b.enode_id).hex()
        try:
            return any(str(p.get("id", "")).lower().removeprefix("0x") == want for p in rpc(a.url, "admin_peers"))
        except ChainUnavailable:
            return False

    def peer_count(self, spec: NodeSpec) -> int:
        return int(rpc(spec.url, "net_peerCount"), 16)

    def head(self, spec: NodeSpec) -> int:
        return int(rpc(spec.url, "eth_blockNumber"), 16)

    def wait_peered(self, timeout: float = 60.0, nodes: Sequence[NodeSpec] | None = None) -> None:
        """Until every given (default: running) node sees every other running node."""
        live = self.running()
        want = len(live) - 1
        targets = list(nodes) if nodes is not None else live
        wait_until(
            lambda: all(self.peer_count(s) >= want for s in targets),
            timeout,
            f"nodes did not peer ({want} peers each) within {timeout:.0f}s",
        )

    def wait_blocks(self, count: int, timeout: float = 60.0) -> int:
        """Until every running node's head has advanced ``count`` blocks; the new lowest head."""
        live = self.running()
        start = {s.name: self.head(s) for s in live}
        wait_until(
            lambda: all(self.head(s) >= start[s.name] + count for s in live),
            timeout,
            f"the network sealed fewer than {count} blocks within {timeout:.0f}s",
        )
        return min(self.head(s) for s in live)

    def wait_synced(self, which: int | str, timeout: float = 60.0) -> int:
        """Until node ``which`` holds the block the others had when called (same hash)."""
        spec = self.node(which)
        ref = next(s for s in self.running() if s.name != spec.name)
        block = head_at(ref.url)
        target, want = int(block["number"], 16), block["hash"]

        def caught_up() -> bool:
            blk = block_at(spec.url, target)
            return blk is not None and blk["hash"] == want

        wait_until(caught_up, timeout, f"{spec.name} did not reach block {target} within {timeout:.0f}s")
        return target

    def node_status(self, spec: NodeSpec) -> NodeStatus:
        pid = self.pid(spec)
        try:
            head = head_at(spec.url)
            signers = [to_checksum_address(a) for a in rpc(spec.url, "clique_getSigners")]
            live = NodeLive(
                peers=int(rpc(spec.url, "net_peerCount"), 16), head=int(head["number"], 16),
                head_hash=str(head["hash"]), is_signer=spec.signer in signers, mining=bool(rpc(spec.url, "eth_mining")),
            )
            return NodeStatus(spec.name, spec.url, True, pid, spec.signer, live)
        except ChainUnavailable:
            return NodeStatus(spec.name, spec.url, False, pid, signer=spec.signer)

    def status(self) -> list[NodeStatus]:
        return [self.node_status(s) for s in self.nodes] if self.created else []

    def signers(self, which: int | str | None = None) -> list[str]:
        """``clique_getSigners`` at the head of a (default: the first running) node."""
        spec = self.node(which) if which is not None else self.running()[0]
        return sorted(to_checksum_address(a) for a in rpc(spec.url, "clique_getSigners"))

    def destroy(self) -> None:
        """Stop every node and delete the network directory (tests, `network down --wipe`)."""
        if self.created:
            self.down()
        shutil.rmtree(self.config.data_dir, ignore_errors=True)
