"""Proofs, tree heads and entries of the gateways' access transparency logs.

The logs live under ``<gateway store dir>/translog/<member id>/`` (the log id is the dataset
owner member's id); they are read with :class:`ledger.translog.LogReader`, beside whatever
gateway appends to them, in this process or another. Proofs and heads are public to any API
key (they reveal hashes only); entries name who accessed what, so only the log's own member
and auditors may read them.
"""

from __future__ import annotations

from pathlib import Path

from api.deps import Caller
from api.schemas.access_log_proofs import (
    AnchoredHead,
    ConsistencyProofPublic,
    InclusionProofPublic,
    LogCheckpoint,
    LogEntry,
    LogEntryList,
    TreeHead,
)
from api.services.index import caller_member
from api.state import ServiceState
from ledger.data.checkpoints import AccessCheckpoints
from ledger.errors import AccessDenied, NotFound, ValidationFailed
from ledger.membership.roles import Role
from ledger.translog import LogReader

#: Most entries one page of ``/entries`` returns.
MAX_ENTRIES = 1000


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def log_directory(state: ServiceState, log_id: int) -> Path:
    return Path(state.settings.gateway_store_dir) / "translog" / str(log_id)


def open_log(state: ServiceState, log_id: int) -> LogReader:
    """The log of member ``log_id`` (404 when this gateway keeps none)."""
    try:
        return LogReader(log_directory(state, log_id))
    except NotFound:
        raise NotFound("access log", log_id) from None


def inclusion(state: ServiceState, log_id: int, leaf: int, size: int) -> InclusionProofPublic:
    with open_log(state, log_id) as log:
        _check_sizes(log.size, ("leaf", leaf), ("size", size))
        if leaf >= size:
            raise ValidationFailed("leaf", f"leaf {leaf} is not in a tree of size {size}")
        return InclusionProofPublic(
            log=log_id, leaf=leaf, size=size, leaf_hash=_hex(log.leaf_hash(leaf)), root=_hex(log.root(size)),
            hashes=[_hex(h) for h in log.inclusion_proof(leaf, size)],
        )


def consistency(state: ServiceState, log_id: int, first: int, second: int) -> ConsistencyProofPublic:
    with open_log(state, log_id) as log:
        _check_sizes(log.size, ("first", first), ("second", second))
        if first > second:
            raise ValidationFailed("first", f"a tree of size {first} cannot precede one of size {second}")
        return ConsistencyProofPublic(
            log=log_id, first=first, second=second, first_root=_hex(log.root(first)),
            second_root=_hex(log.root(second)), hashes=[_hex(h) for h in log.consistency_proof(first, second)],
        )


def checkpoint(state: ServiceState, log_id: int) -> LogCheckpoint:
    with open_log(state, log_id) as log:
        size = log.size
        local = TreeHead(size=size, root=_hex(log.root(size)))
    cp = AccessCheckpoints(state.ledger).latest(log_id)
    anchored = None if not cp.exists else AnchoredHead(
        size=cp.tree_size, root=_hex(cp.root_hash), timestamp=cp.timestamp, anchored_at=cp.anchored_at,
        cosigners=cp.cosigner_count,
    )
    return LogCheckpoint(log=log_id, local=local, anchored=anchored)


def entries(state: ServiceState, caller: Caller, log_id: int, start: int, end: int | None) -> LogEntryList:
    """Entries ``[start, end)`` (at most :data:`MAX_ENTRIES`); the log's own member and auditors only."""
    member = caller_member(state, caller)
    if member.id != log_id and Role.AUDITOR not in member.roles:
        raise AccessDenied(f"member {member.id} may not read the entries of access log {log_id}: only its own "
                           "member and auditors may", log=log_id)
    with open_log(state, log_id) as log:
        size = log.size
        stop = min(size, start + MAX_ENTRIES if end is None else end)
        if end is not None and end - start > MAX_ENTRIES:
            raise ValidationFailed("end", f"at most {MAX_ENTRIES} entries a page")
        if start > stop:
            raise ValidationFailed("start", f"start {start} is past the end {stop} (the log has {size} entries)")
        raw = log.entries(start, stop)
        data = [LogEntry(index=start + i, leaf_hash=_hex(log.leaf_hash(start + i)), entry=e.decode("utf-8"))
                for i, e in enumerate(raw)]
    return LogEntryList(log=log_id, start=start, end=stop, size=size, data=data)


def _check_sizes(tree_size: int, *values: tuple[str, int]) -> None:
    for name, value in values:
        if value > tree_size:
            raise ValidationFailed(name, f"{value} is beyond the log's {tree_size} entries")
