"""Datasets, access requests, grants, the access log and sealed data."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.schemas.common import FROM_RECORD, Hash, Page, PositiveUint64, TxInfo, name_of

ClassificationName = Literal["public", "internal", "sensitive", "secret"]
RequestStateName = Literal["pending", "partially_approved", "granted", "denied", "withdrawn", "expired"]
GrantStateName = Literal["active", "expired", "revoked", "frozen"]
RefusalName = Literal[
    "no_grant", "grant_expired", "grant_revoked", "grant_frozen", "not_grantee", "out_of_scope", "other"
]
FieldName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^,]+$")]
MAX_DURATION = 3 * 365 * 24 * 3600


#: Fields read from the ledger's records (``Model.model_validate(record, from_attributes=True)``).
Classified = Annotated[ClassificationName, BeforeValidator(name_of)]
RequestStateOf = Annotated[RequestStateName, BeforeValidator(name_of)]
GrantStateOf = Annotated[GrantStateName, BeforeValidator(name_of)]


class DatasetPublic(BaseModel):
    model_config = FROM_RECORD

    id: int
    owner_id: int
    title: str
    classification: Classified
    metadata_hash: Hash
    schema_hash: Hash
    content_hash: Hash = Field(description="keccak256 of the current version's exact file bytes.")
    version: int
    registered_at: int
    updated_at: int
    refusals: int
    format: str | None = Field(None, description="From this gateway's store (None if it holds no copy).")
    fields: list[str] | None = None
    rows: int | None = None
    size: int | None = None


class DatasetList(Page[DatasetPublic]):
    """A page of datasets."""


class DatasetWrite(BaseModel):
    tx: TxInfo
    dataset: DatasetPublic


class AccessRequestCreate(BaseModel):
    dataset_id: PositiveUint64
    purpose_code: Annotated[int, Field(ge=0, le=65535, description="From the city's purpose code list.")]
    purpose: Annotated[
        str,
        Field(min_length=1, max_length=2000,
              description="Purpose statement; stored off chain once requested, a salted commitment on chain."),
    ]
    fields: list[FieldName] | None = Field(
        None, max_length=200, description="Fields the grant will cover; omitted: every field of the dataset."
    )
    duration: Annotated[int, Field(ge=1, le=MAX_DURATION, description="Grant lifetime in seconds.")]


class AccessRequestPublic(BaseModel):
    model_config = FROM_RECORD

    id: int
    dataset_id: int
    requester_id: int
    purpose_code: int
    purpose_hash: Hash
    scope_hash: Hash
    duration: int
    created_at: int
    expires_at: int
    needs_governance: bool
    owner_approver: str | None
    owner_approved_at: int
    governance_approver: str | None
    governance_approver_id: int
    governance_approved_at: int
    closed_at: int
    deny_reason: int
    grant_id: int
    state: RequestStateOf


class AccessRequestList(Page[AccessRequestPublic]):
    """A page of access requests."""


class GrantPublic(BaseModel):
    model_config = FROM_RECORD

    id: int
    request_id: int
    dataset_id: int
    grantee_id: int
    scope_hash: Hash
    granted_at: int
    expires_at: int
    revoked_at: int
    frozen: bool
    accesses: int
    state: GrantStateOf


class AccessRequestWrite(BaseModel):
    tx: TxInfo
    request: AccessRequestPublic
    grant: GrantPublic | None = None


class DenyBody(BaseModel):
    reason_code: Annotated[int, Field(ge=0, le=65535)] = 0


class GrantList(Page[GrantPublic]):
    """A page of grants."""


class RenewalPublic(BaseModel):
    """A Sensitive/Secret grant's renewal waiting for a data-governance approval."""

    model_config = FROM_RECORD

    extension: int = Field(description="Seconds it adds to the expiry once approved.")
    requested_by: str = Field(description="The owner's account that asked for it.")
    requested_at: int


class GrantWrite(BaseModel):
    tx: TxInfo
    grant: GrantPublic
    renewal: RenewalPublic | None = Field(
        default=None,
        description="Renewals only: the renewal still waiting for data governance (none: nothing pending).",
    )


class RenewBody(BaseModel):
    extension: Annotated[int, Field(ge=1, le=MAX_DURATION, description="Seconds added to the expiry.")]


class AccessLogEntry(BaseModel):
    kind: Literal["access", "refusal"]
    dataset_id: int
    grant_id: int
    member_id: int = Field(description="The grantee (access) or the requester (refusal; 0: not a member).")
    seq: int
    query_hash: str
    rows: int | None = None
    reason: RefusalName | None = None
    block_number: int
    block_time: int
    tx_hash: str


class AccessLogList(Page[AccessLogEntry]):
    """A page of the access log."""


class Envelope(BaseModel):
    alg: str
    header: dict[str, Any] = Field(description="Authenticated (AES-GCM associated data), not encrypted.")
    epk: str = Field(description="Ephemeral X25519 public key, base64.")
    nonce: str
    ciphertext: str


class LogReceipt(BaseModel):
    """The gateway's signed promise that an access is entry ``index`` of member ``log``'s transparency log
    and will be in a checkpoint anchored on chain within ``mmd`` seconds of ``time``
    (``cogov data verify-receipt`` checks it against the chain)."""

    model_config = ConfigDict(extra="allow")

    log: int = Field(description="The log: the dataset owner's member id.")
    index: int = Field(description="The entry's leaf index.")
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ entry), RFC 9162.")
    entry: str = Field(description="The entry: canonical JSON (its UTF-8 bytes are the leaf).")
    time: int
    mmd: int = Field(description="Maximum merge delay, seconds.")
    chain_id: int
    checkpoints: str = Field(description="The AccessCheckpoints contract's address.")
    signer: str = Field(description="The account of the log's member that signed (EIP-712).")
    signature: str


class SealedData(BaseModel):
    dataset_id: int
    grant_id: int
    grantee_id: int
    seq: int = Field(description="The access's number under the grant (on chain and in the log).")
    rows: int
    fields: list[str]
    content_hash: str
    payload_hash: str = Field(description="keccak256 of the plaintext inside the envelope.")
    envelope: Envelope
    tx: TxInfo | None = Field(
        default=None,
        description="The recordAccess transaction (datasets recorded on chain at once: Secret by default).",
    )
    receipt: LogReceipt | None = Field(
        default=None, description="The access log's signed receipt (datasets recorded in the transparency log)."
    )
