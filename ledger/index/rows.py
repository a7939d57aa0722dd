"""Typed values the index returns: rows, sync results, health."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EventRow:
    """One indexed event. ``args`` is the canonical JSON object, already parsed
    (integers as decimal strings, bytes as 0x-hex, addresses EIP-55); ``args_json``
    is the exact stored text. Use :meth:`Indexer.decode_args` for Python values."""

    id: int
    block_number: int
    block_hash: str
    block_time: int
    tx_hash: str
    tx_index: int
    log_index: int
    contract: str
    address: str
    event: str
    args: dict[str, Any] = field(hash=False, compare=False)
    args_json: str

    def key(self) -> tuple[str, int]:
        """The natural key ``(tx_hash, log_index)``."""
        return (self.tx_hash, self.log_index)


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Reported to a ``progress`` callback after each written batch."""

    from_block: int
    to_block: int
    target: int
    events: int  # events written so far in this sync


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one :meth:`Indexer.sync` (or ``rebuild``) did."""

    from_block: int | None  # first block indexed by this call (None: nothing new)
    last_block: int | None  # last indexed block afterwards (None: nothing indexed yet)
    head: int  # chain head seen
    target: int  # head - confirmations (what the call aimed for)
    events: int  # events written
    batches: int
    reorg_ancestor: int | None = None  # common ancestor rolled back to, if a reorg was found
    removed_events: int = 0  # events deleted by that rollback
    complete: bool = True  # False when stopped early (a reorg during the sync)
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class IndexHealth:
    """Whether the index can be trusted for reads. ``ok`` False means "degraded"."""

    ok: bool
    reason: str | None
    last_block: int | None
    events: int | None
    chain_id: int | None
    rebuilding: bool = False
