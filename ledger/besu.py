"""Besu local permissioning generated from the membership registry.

Besu removed on-chain (smart-contract) permissioning in 25.6.0, so current Besu
nodes cannot call the registry's ``transactionAllowed``/``connectionAllowed``.
Instead each node reads a ``permissions_config.toml`` (``accounts-allowlist``
and ``nodes-allowlist``); this module renders that file from the registry's
state, so the council's proposals stay the only way to change who is inside.

Three layers, kept apart:

- :func:`read_registry_state` reads member records from chain (views only, all
  at one block so the snapshot is consistent);
- :func:`render_permissions_config` is a pure function from member records to
  the file's text (deterministic: sorted, de-duplicated, fixed layout);
- :func:`write_permissions_config` replaces the file atomically.

Address format: accounts are written as lowercase ``0x`` hex, as in Besu's own
documentation examples. Besu parses the entries as addresses, so case does not
change what is allowed; lowercase keeps the file byte-stable and makes sorting
and diffs independent of EIP-55 checksums.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eth_utils import to_checksum_address
from web3.types import BlockIdentifier, RPCEndpoint

from ledger import artifacts
from ledger.errors import TransactionFailed, ValidationFailed

if TYPE_CHECKING:
    from web3 import Web3

_ENODE_ID = re.compile(r"^[0-9a-f]{128}$")
_HOST = re.compile(r"^[0-9A-Za-z.:-]{1,64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

HEADER = (
    "# Besu local permissioning, generated from the CoGov membership registry\n"
    "# by `cogov besu allowlist`. Do not edit: change membership through council\n"
    "# proposals and regenerate.\n"
)


@dataclass(frozen=True)
class NodeRecord:
    """A registered node: the enode id (128 lowercase hex digits, no 0x), host and port."""

    enode_id: str
    ip: str
    port: int

    def __post_init__(self) -> None:
        if not _ENODE_ID.match(self.enode_id):
            raise ValidationFailed("enode_id", "must be 128 lowercase hex digits")
        if not _HOST.match(self.ip):
            raise ValidationFailed("ip", "must be an IP address or host name")
        if not 0 < self.port < 65536:
            raise ValidationFailed("port", "must be between 1 and 65535")

    @property
    def url(self) -> str:
        """The enode URL; IPv6 addresses are bracketed as in ``enode://id@[::1]:30303``."""
        host = self.ip
        try:
            if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
                host = f"[{host}]"
        except ValueError:
            pass  # a host name (Besu's --Xdns-enabled)
        return f"enode://{self.enode_id}@{host}:{self.port}"


@dataclass(frozen=True)
class MemberRecord:
    """What the allowlist needs to know about one member."""

    member_id: int
    name: str
    active: bool
    accounts: tuple[str, ...]
    nodes: tuple[NodeRecord, ...] = ()

    def __post_init__(self) -> None:
        for account in self.accounts:
            if not _ADDRESS.match(account):
                raise ValidationFailed("account", f"{account!r} is not a 0x-prefixed address")


@dataclass(frozen=True)
class Allowlists:
    """The two sorted, de-duplicated lists Besu reads."""

    accounts: tuple[str, ...]
    nodes: tuple[str, ...]


def allowlists(members: Iterable[MemberRecord]) -> Allowlists:
    """Accounts and enode URLs of active members only, sorted and de-duplicated."""
    accounts: set[str] = set()
    nodes: set[str] = set()
    for m in members:
        if not m.active:
            continue
        accounts.update(a.lower() for a in m.accounts)
        nodes.update(n.url for n in m.nodes)
    return Allowlists(tuple(sorted(accounts)), tuple(sorted(nodes)))


def _toml_array(key: str, values: tuple[str, ...]) -> str:
    # Values are validated above (hex, [0-9A-Za-z.:-@/[]]), so no TOML escaping is needed.
    if not values:
        return f"{key} = []\n"
    items = ",\n".join(f'  "{v}"' for v in values)
    return f"{key} = [\n{items}\n]\n"


def render_permissions_config(members: Iterable[MemberRecord]) -> str:
    """The text of Besu's ``permissions_config.toml`` for these members (pure, deterministic)."""
    lists = allowlists(members)
    return (
        HEADER
        + "\n"
        + _toml_array("accounts-allowlist", lists.accounts)
        + "\n"
        + _toml_array("nodes-allowlist", lists.nodes)
    )


def write_permissions_config(path: str | os.PathLike[str], text: str) -> bool:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, fsync,
    ``os.replace``). Returns False, writing nothing, when the file already holds it."""
    target = Path(path)
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def read_registry_state(
    w3: Web3, registry_address: str, block_identifier: BlockIdentifier | None = None
) -> list[MemberRecord]:
    """Every member of the registry (ids 1..memberCount), read through its views.

    All calls are made at one block (the latest when ``block_identifier`` is None),
    so a change landing mid-read cannot produce a mixed snapshot.
    """
    registry = w3.eth.contract(address=to_checksum_address(registry_address), abi=artifacts.abi("MembershipRegistry"))
    block = w3.eth.block_number if block_identifier is None else block_identifier
    fn = registry.functions
    count = int(fn.memberCount().call(block_identifier=block))
    members: list[MemberRecord] = []
    for member_id in range(1, count + 1):
        view = fn.getMember(member_id).call(block_identifier=block)
        # MemberView(id, name, kind, roles, active, dataKey, admittedAt, accounts, nodes)
        _, name, _, _, active, _, _, accounts, node_keys = view
        nodes = []
        for key in node_keys:
            _, enode_id, ip, port = fn.getNode(key).call(block_identifier=block)
            nodes.append(NodeRecord(str(enode_id), str(ip), int(port)))
        members.append(
            MemberRecord(
                member_id=member_id,
                name=str(name),
                active=bool(active),
                accounts=tuple(str(a) for a in accounts),
                nodes=tuple(nodes),
            )
        )
    return members


def sync_permissions_config(w3: Web3, registry_address: str, path: str | os.PathLike[str]) -> bool:
    """Read the registry, render and write the file; True when the file changed.

    After a change, tell running nodes to re-read it with the ``perm_reloadPermissionsFromFile``
    JSON-RPC method (PERM API), or restart them.
    """
    text = render_permissions_config(read_registry_state(w3, registry_address))
    return write_permissions_config(path, text)


def reload_permissions(node_w3: Web3) -> None:
    """Ask a running Besu node to re-read its permissions file (PERM API)."""
    response = node_w3.provider.make_request(RPCEndpoint("perm_reloadPermissionsFromFile"), [])
    if isinstance(response, dict) and response.get("error"):
        raise TransactionFailed(f"perm_reloadPermissionsFromFile failed: {response['error']}")


def watch_permissions_config(
    w3: Web3,
    registry_address: str,
    path: str | os.PathLike[str],
    *,
    poll_seconds: float = 5.0,
    on_change: Callable[[], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Keep ``path`` in step with the registry: sync on every new block, polling.

    ``on_change`` runs after each rewrite (e.g. :func:`reload_permissions` on the local
    node). Returns the number of rewrites when ``should_stop`` says so.
    """
    changes = 0
    last_block: int | None = None
    while not should_stop():
        block = int(w3.eth.block_number)
        if block != last_block:
            text = render_permissions_config(read_registry_state(w3, registry_address, block))
            if write_permissions_config(path, text):
                changes += 1
                if on_change is not None:
                    on_change()
            last_block = block
        else:
            sleep(poll_seconds)
    return changes
