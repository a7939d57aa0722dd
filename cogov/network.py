"""``cogov network``: a local permissioned network of geth Clique signer nodes."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import JsonOpt

network_app = typer.Typer(
    help="A local multi-node permissioned network (geth v1.13.15, Clique proof-of-authority).",
    no_args_is_help=True,
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Network settings (default: network/clique.yml).")]


def _network(config: Path | None, nodes: int | None = None, period: int | None = None):  # type: ignore[no-untyped-def]
    from ledger.network.clique import CliqueNetwork
    from ledger.network.config import NetworkConfig

    return CliqueNetwork(NetworkConfig.load(config, nodes=nodes, period=period))


@network_app.command("up")
def network_up(
    nodes: Annotated[int | None, typer.Option("--nodes", help="Signer nodes (when creating).")] = None,
    period: Annotated[int | None, typer.Option("--period", help="Seconds per block (when creating).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Build geth if missing, create keys and genesis once, start the nodes, wait for blocks.

    Every key in the ledger keystore when the network is created is funded at genesis.
    """
    net = _network(config, nodes, period)
    if net.created and nodes is not None and nodes != len(net.nodes):
        out.warn(f"the network exists with {len(net.nodes)} nodes; --nodes applies when creating")
    fund = [k.address for k in env().keystore.list()]
    started = time.monotonic()
    with out.progress("starting the network") as bar:
        status = net.up(fund=fund, progress=bar.message)
    out.ok(f"{len(status)} nodes up in {time.monotonic() - started:.1f}s (chain id {net.chain_id})")
    _print(status)
    out.say(f"COGOV_RPC_URLS={','.join(net.urls)}")


@network_app.command("status")
def network_status(
    config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Each node's peers, head block and signer state (exit 3 if no node runs)."""
    net = _network(config)
    status = net.status()
    if as_json:
        out.emit_json([asdict(s) for s in status])
    elif not status:
        out.say(f"no network in {net.config.data_dir}")
    else:
        _print(status)
    if not any(s.running for s in status):
        raise typer.Exit(out.EXIT_CHAIN)


@network_app.command("down")
def network_down(
    config: ConfigOpt = None,
    wipe: Annotated[bool, typer.Option("--wipe", help="Also delete keys, chain data and genesis.")] = False,
) -> None:
    """Stop every node (data kept unless --wipe)."""
    net = _network(config)
    if wipe:
        net.destroy()
        out.ok(f"network stopped and {net.config.data_dir} deleted")
        return
    stopped = net.down()
    out.ok(f"stopped {stopped} nodes; data kept in {net.config.data_dir}") if stopped else out.say(
        "no node was running"
    )


@network_app.command("sync-signers")
def network_sync_signers(config: ConfigOpt = None) -> None:
    """Vote Clique signers in and out on every node to match the membership registry."""
    from ledger.network import poa
    from ledger.network.signers import sync_signers

    net = _network(config)
    e = env()
    led = e.ledger()
    report = sync_signers(poa(led.w3), e.manifest.address("MembershipRegistry"), [n.url for n in net.running()])
    for v in report.votes:
        if v.proposed_in or v.proposed_out:
            out.say(f"{v.url}: voting in {list(v.proposed_in)}, out {list(v.proposed_out)}")
    if report.in_step:
        out.ok(f"signers match the registry: {', '.join(report.desired)}")
    else:
        out.ok("votes cast; Clique applies them once a majority of signers has sealed a block")


def _print(status: list) -> None:  # type: ignore[type-arg]
    rows = [
        [
            s.name,
            s.url,
            "up" if s.running else "down",
            s.pid or "",
            "" if s.live is None else s.live.peers,
            "" if s.live is None else s.live.head,
            s.signer or "",
            "" if s.live is None else ("signer" if s.live.is_signer else "not a signer"),
        ]
        for s in status
    ]
    out.table(["node", "rpc", "state", "pid", "peers", "head", "signer address", "clique"], rows)
