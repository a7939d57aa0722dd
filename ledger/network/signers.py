"""Signer sync: council governance in the membership registry drives Clique signer votes.

Who seals blocks is decided by the council, like everything else about who is
inside. The rule:

    An address is a signer iff it is an account of an **active** member that has
    at least one **registered node**, and it is the signer (etherbase) of one of
    the nodes this sync manages — or it already is a signer.

So a department that runs a node is admitted with (or is given, by ``AddAccount``)
the node's signer address as one of its accounts, and its node is registered
(``AddNode`` with the node's enode id): the sync then votes the signer in on
every managed node. Removing the member (or its node, or that account) makes
the sync vote the signer out. Clique applies a vote once more than half of the
current signers have cast it in blocks they sealed, so the sync proposes on
every node it manages (``clique_propose``) and withdraws proposals that have
taken effect (``clique_discard``).

Node → signer address is learnt from the nodes themselves (``admin_nodeInfo``
for the enode id, ``eth_coinbase`` for the signer): the registry has no field
for it. Signers of nodes the sync does not manage are kept while their member
qualifies, and voted out when it stops qualifying.

Safety: the sync refuses to vote out every signer (an empty registry, or one
read from the wrong chain, must not stop the network).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3

from ledger.besu import MemberRecord, read_registry_state
from ledger.chain import rpc
from ledger.errors import SignerSyncRefused

log = logging.getLogger("ledger.network.signers")


@dataclass(frozen=True)
class ManagedNode:
    """A node the sync may vote on: its RPC URL, enode id and signer address."""

    url: str
    enode_id: str
    signer: str

    @classmethod
    def discover(cls, url: str) -> ManagedNode:
        info = rpc(url, "admin_nodeInfo")
        # The enode URL holds the public key (the registry's enode id); info["id"] is its hash.
        enode_id = str(info["enode"]).removeprefix("enode://").split("@", 1)[0].lower()
        return cls(url, enode_id, to_checksum_address(rpc(url, "eth_coinbase")))


@dataclass(frozen=True)
class NodeVotes:
    url: str
    proposed_in: tuple[str, ...] = ()
    proposed_out: tuple[str, ...] = ()
    discarded: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncReport:
    desired: tuple[str, ...]
    current: tuple[str, ...]
    votes: tuple[NodeVotes, ...] = field(default_factory=tuple)

    @property
    def in_step(self) -> bool:
        return set(self.desired) == set(self.current)


def desired_signers(
    members: Sequence[MemberRecord], nodes: Sequence[ManagedNode], current: Sequence[str]
) -> set[str]:
    """The rule above, as a pure function of registry state, managed nodes and current signers."""
    qualifying: dict[str, MemberRecord] = {}
    for m in members:
        if m.active and m.nodes:
            for a in m.accounts:
                qualifying[to_checksum_address(a)] = m
    desired: set[str] = set()
    for n in nodes:
        member = qualifying.get(n.signer)
        if member is not None and n.enode_id in {r.enode_id for r in member.nodes}:
            desired.add(n.signer)
    desired.update(a for a in map(to_checksum_address, current) if a in qualifying)
    return desired


def sync_signers(w3: Web3, registry_address: str, node_urls: Sequence[str]) -> SyncReport:
    """Read the registry and cast (or withdraw) ``clique_propose`` votes on every node."""
    nodes = [ManagedNode.discover(u) for u in node_urls]
    members = read_registry_state(w3, to_checksum_address(registry_address))
    current = sorted(to_checksum_address(a) for a in rpc(node_urls[0], "clique_getSigners"))
    desired = desired_signers(members, nodes, current)
    if not desired:
        raise SignerSyncRefused(
            "the membership registry names no signer (no active member with a registered node "
            "whose account signs for it); refusing to vote every signer out"
        )
    votes = [_vote(n.url, desired) for n in nodes]
    return SyncReport(tuple(sorted(desired)), tuple(current), tuple(votes))


def _vote(url: str, desired: set[str]) -> NodeVotes:
    current = {to_checksum_address(a) for a in rpc(url, "clique_getSigners")}
    pending: dict[str, Any] = {
        to_checksum_address(a): bool(v) for a, v in (rpc(url, "clique_proposals") or {}).items()
    }
    add = sorted(desired - current)
    drop = sorted(current - desired)
    for a in add:
        if pending.get(a) is not True:
            rpc(url, "clique_propose", [a, True])
    for a in drop:
        if pending.get(a) is not False:
            rpc(url, "clique_propose", [a, False])
    settled = sorted(a for a, v in pending.items() if v == (a in current) and a not in add + drop)
    for a in settled:
        rpc(url, "clique_discard", [a])
    if add or drop:
        log.info("%s: voting in %s, out %s", url, add, drop)
    return NodeVotes(url, tuple(add), tuple(drop), tuple(settled))
