"""Which chain was audited: the head it stands on, checkpoints published elsewhere, and what
the other nodes say.

A stale node (behind) or a node on a fork passes every other rule: the chain it serves is
consistent with itself. So the report names the hash of the head block it audited (a
reader compares it with a hash published elsewhere, e.g. on the portal), and:

* ``--expect-block N:HASH`` (:class:`Checkpoint`): the node must hold block N with that
  hash. Another hash, or a chain shorter than N, is a violation (``chain.checkpoint-mismatch``).
* Several RPC URLs: every node's height is read, then every node's block hash at the lowest
  common height, and at the audited head where the node has it; nodes that disagree are a
  violation (``chain.nodes-disagree``). With ``confirmations`` above 1 the comparison is that
  many blocks deep less one (on Clique an out-of-turn block at the tip can still be replaced
  by its in-turn sibling: a tip that differs for a moment is not a fork). A node that does
  not answer is listed in the report with its error, not a finding: the audit's reads fail
  over past it, as they always did.

A handful of requests per node, whatever the chain's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.abi import quantity
from ledger.audit.collect import Collector
from ledger.audit.findings import NodeHead
from ledger.audit.reads import Reads
from ledger.errors import ChainUnavailable, RpcError, ValidationFailed, redact
from ledger.logs import header, headers

_CHECKPOINT = re.compile(r"^([0-9]+):(0x[0-9a-fA-F]{64})$")


@dataclass(frozen=True)
class Checkpoint:
    """A block the audited chain must hold: ``N:0x<64 hex>``."""

    number: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        m = _CHECKPOINT.match(text.strip())
        if m is None:
            raise ValidationFailed("expect_block", f"{text!r} is not N:0x<64 hex digits>")
        return cls(int(m.group(1)), m.group(2).lower())

    def __str__(self) -> str:
        return f"{self.number}:{self.hash}"


def block_hash(reads: Reads, number: int) -> str | None:
    """The node's hash of block ``number``; None when its chain is shorter."""
    got = header(reads, number)
    return got.hash if got else None


def check_checkpoints(reads: Reads, checkpoints: list[Checkpoint], node_head: int, out: Collector) -> None:
    if not checkpoints:
        return
    found = headers(reads, [c.number for c in checkpoints])
    for cp in checkpoints:
        top = found.get(cp.number)
        got = top.hash if top else None
        out.expect(
            "chain.checkpoint-mismatch",
            got == cp.hash,
            f"the chain has no block {cp.number} (its head is {node_head}); the checkpoint {cp} is not on it"
            if got is None
            else f"block {cp.number} is {got} on this chain, the checkpoint says {cp.hash}",
            block=cp.number,
            expected=cp.hash,
            got=got,
            node_head=node_head,
        )


def compare_nodes(
    reads: Reads, urls: list[str], head: int, head_hash: str, out: Collector, confirmations: int = 1
) -> list[NodeHead]:
    """Every node's hash at the lowest common height (less ``confirmations - 1``), and at the
    audited ``head`` where that is not above it."""
    urls = list(dict.fromkeys(urls))
    if len(urls) < 2:
        return []
    heights: dict[str, int] = {}
    errors: dict[str, str] = {}
    nodes_at = {url: reads.at(url) for url in urls}
    for url in urls:
        try:
            heights[url] = quantity(nodes_at[url].rpc("eth_blockNumber"))
        except (ChainUnavailable, RpcError) as exc:
            errors[url] = str(exc)
    lowest = min(heights.values(), default=None)
    common = None if lowest is None else max(0, lowest - max(0, confirmations - 1))
    at_common: dict[str, str | None] = {}
    at_head: dict[str, str | None] = {}
    for url in heights:
        assert common is not None
        asks = [common] + ([head] if head < common else [])
        try:
            answers = headers(nodes_at[url], asks)
        except (ChainUnavailable, RpcError) as exc:
            errors[url] = str(exc)
            continue
        got = [h.hash if h else None for h in (answers[n] for n in asks)]
        at_common[url] = got[0]
        at_head[url] = got[1] if len(got) > 1 else got[0] if head == common else None
    nodes = [
        NodeHead(
            url=redact(url),
            head_block=heights.get(url),
            common_block=common,
            common_hash=at_common.get(url),
            audited_head_hash=at_head.get(url),
            error=redact(errors[url]) if url in errors else None,
        )
        for url in urls
    ]
    compared = [n for n in nodes if n.error is None]
    if len(compared) < 2:
        return nodes
    hashes = {n.url: n.common_hash for n in compared}
    out.expect(
        "chain.nodes-disagree",
        len(set(hashes.values())) == 1,
        f"the nodes disagree at block {common}, the lowest height they all have"
        + (f" less {confirmations - 1} confirmation(s)" if confirmations > 1 else "")
        + ": "
        + ", ".join(f"{u} has {h}" for u, h in hashes.items()),
        block=common,
        hashes=hashes,
        heights={n.url: n.head_block for n in compared},
    )
    if common is not None and head < common:  # below the common height, the audited head is a second question
        heads = {n.url: n.audited_head_hash for n in compared}
        out.expect(
            "chain.nodes-disagree",
            all(h == head_hash for h in heads.values()),
            f"the nodes disagree about the audited head, block {head} ({head_hash} here): "
            + ", ".join(f"{u} has {h}" for u, h in heads.items()),
            block=head,
            audited_head_hash=head_hash,
            hashes=heads,
        )
    return nodes
