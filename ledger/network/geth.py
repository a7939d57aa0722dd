"""Running one geth Clique node: its command line, recognising its process, waiting on it.

Signing blocks. A Clique signer seals each block with its key, inside the node
process, so the node must hold its signer key unlocked: geth's ``--unlock`` with
``--password <file>``. That is the one unlocked account, the node's own signer,
on a node whose RPC listens on loopback only (``--allow-insecure-unlock`` is
needed because HTTP-RPC is on; the ``personal`` API is not exposed). Ledger
transactions are never signed by a node: they are signed locally from the
ledger's keystores. Passwords are never logged or passed on a command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ledger.errors import ChainUnavailable, NetworkError
from ledger.network.nodes import NodeSpec

#: The JSON-RPC namespaces a node serves on loopback: ledger (eth, net, web3),
#: operations (admin for peers, clique for signer votes, txpool, miner for tests).
HTTP_APIS = "eth,net,web3,clique,admin,txpool,miner"


def geth_command(geth: Path, spec: NodeSpec, node_dir: Path, chain_id: int, verbosity: int) -> list[str]:
    """The command line of a sealing, archive-mode node on loopback."""
    d = node_dir
    return [
        str(geth),
        "--datadir", str(d),
        "--config", str(d / "config.toml"),
        "--networkid", str(chain_id),
        "--syncmode", "full",
        # Archive: the auditor reads contract state at past blocks (eth_call at block N).
        # A pruning node keeps only the last 128 blocks' state, and after a crash
        # (kill -9) not even those it had not flushed ("missing trie node").
        "--gcmode", "archive",
        "--nodiscover",
        "--nat", "none",
        "--netrestrict", "127.0.0.0/8",
        "--port", str(spec.p2p_port),
        "--http",
        "--http.addr", "127.0.0.1",
        "--http.port", str(spec.http_port),
        "--http.api", HTTP_APIS,
        "--authrpc.addr", "127.0.0.1",
        "--authrpc.port", str(spec.authrpc_port),
        "--ipcdisable",
        "--cache", "128",
        "--mine",
        "--miner.etherbase", spec.signer,
        "--miner.gasprice", "1",
        "--miner.recommit", "1s",
        "--unlock", spec.signer,
        "--password", str(d / "password"),
        "--allow-insecure-unlock",
        "--verbosity", str(verbosity),
    ]  # fmt: skip


def is_geth(pid: int) -> bool:
    """Whether process ``pid`` is a geth (so a stale pid file never names someone else's process)."""
    try:
        return "geth" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # not Linux: trust the pid file


def wait_until(cond: Callable[[], bool], timeout: float, message: str) -> None:
    """Poll ``cond`` (a node not answering counts as not yet) until true, else NetworkError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except ChainUnavailable:
            pass
        if time.monotonic() > deadline:
            raise NetworkError(message)
        time.sleep(0.2)
