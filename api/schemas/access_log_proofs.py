"""Schemas of the access transparency logs' proofs, tree heads and entries (``/api/v1/access-log/…``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class InclusionProofPublic(BaseModel):
    """RFC 9162 inclusion proof of leaf ``leaf`` in the tree of ``size`` entries (hashes leaf-side first).

    Check it against the root the chain anchored for ``size`` (``AccessCheckpoints.checkpointAt``),
    never against ``root`` alone: ``root`` is this server's word."""

    log: int = Field(description="The log: its member's id.")
    leaf: int
    size: int
    leaf_hash: str
    root: str
    hashes: list[str]


class ConsistencyProofPublic(BaseModel):
    """RFC 9162 consistency proof: the tree of ``first`` entries is a prefix of the tree of ``second``."""

    log: int
    first: int
    second: int
    first_root: str
    second_root: str
    hashes: list[str]


class TreeHead(BaseModel):
    size: int
    root: str


class AnchoredHead(BaseModel):
    size: int
    root: str
    timestamp: int = Field(description="The head's time as the log stated it (Unix s).")
    anchored_at: int = Field(description="The block time of its anchoring (Unix s).")
    cosigners: int = Field(description="Witnesses (data governance members) that cosigned it.")


class LogCheckpoint(BaseModel):
    """The log's latest local tree head and its latest anchored checkpoint (none yet: null)."""

    log: int
    local: TreeHead
    anchored: AnchoredHead | None


class LogEntry(BaseModel):
    index: int
    leaf_hash: str
    entry: str = Field(description="The entry's canonical JSON, exactly the bytes that were hashed.")


class LogEntryList(BaseModel):
    log: int
    start: int
    end: int
    size: int = Field(description="The log's size when read.")
    data: list[LogEntry]
