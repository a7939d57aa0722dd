"""Transactions answered before their receipt (``Prefer: respond-async``) and their status."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

TxState = Literal["pending", "mined", "confirmed", "failed"]


class TxAccepted(BaseModel):
    """The answer 202: the write is signed and sent; follow ``status_url`` for its outcome."""

    tx_hash: str = Field(examples=["0x" + "ab" * 32])
    status: Literal["pending"] = "pending"
    status_url: str = Field(description="GET it (any API key) until `status` is `confirmed` or `failed`.",
                            examples=["/api/v1/tx/0x" + "ab" * 32])


class EventPublic(BaseModel):
    contract: str
    name: str
    args: dict[str, Any]
    log_index: int


class TxProblem(BaseModel):
    """The problem+json (RFC 9457) the synchronous request would have answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    error: str | None = None
    args: dict[str, Any] | None = None


class TxStatusPublic(BaseModel):
    tx_hash: str
    status: TxState = Field(description=(
        "`pending`: sent, not in a block; `mined`: in a block, fewer confirmations than the "
        "service waits for; `confirmed`: at the configured depth; `failed`: mined and reverted."))
    block_number: int | None = None
    block_hash: str | None = None
    confirmations: int = Field(0, description="Blocks on top of and including the transaction's block.")
    required_confirmations: int = Field(description="The service's confirmation depth (COGOV_CONFIRMATIONS).")
    confirmed: bool = Field(description="True once `confirmations` reached `required_confirmations` (and not failed).")
    gas_used: int | None = None
    events: list[EventPublic] = Field(default_factory=list, description="Decoded events of our contracts.")
    problem: TxProblem | None = Field(None, description="Why it failed: the decoded custom error.")
