"""``cogov besu``: Besu's local permissioning files, generated from the membership registry.

Besu removed on-chain permissioning in 25.6.0, so current Besu reads
``permissions_config.toml`` (accounts-allowlist, nodes-allowlist) instead of
calling the registry's ``transactionAllowed``/``connectionAllowed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cogov import output as out
from cogov.context import env

besu_app = typer.Typer(help="Besu permissioning generated from the membership registry.", no_args_is_help=True)


@besu_app.command("allowlist")
def allowlist(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")] = Path("permissions_config.toml"),
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep the file in step with the registry, block by block.")
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between checks with --watch.")] = 5.0,
    reload: Annotated[
        bool, typer.Option("--reload", help="After each change, ask the node to re-read the file (Besu PERM API).")
    ] = False,
) -> None:
    """Write Besu's permissions_config.toml (accounts-allowlist, nodes-allowlist) from the registry."""
    from ledger.besu import reload_permissions, sync_permissions_config, watch_permissions_config

    e = env()
    led = e.ledger()
    address = e.manifest.address("MembershipRegistry")
    if not watch:
        changed = sync_permissions_config(led.w3, address, output)
        out.ok(f"{output} {'written' if changed else 'already up to date'}")
        return

    def on_change() -> None:
        out.ok(f"{output} updated")
        if reload:
            reload_permissions(led.w3)

    out.say(f"watching the registry at {address}; Ctrl-C to stop")
    try:
        watch_permissions_config(led.w3, address, output, poll_seconds=poll, on_change=on_change)
    except KeyboardInterrupt:
        out.say("stopped")
