"""Datasets, access requests, grants, the access log and sealed data."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, computed_field

from api.schemas.common import FROM_RECORD, Hash, Page, PositiveUint64, TxInfo, name_of
from ledger.data.purposes import MAX_PURPOSE_CODE, purpose_name

ClassificationName = Literal["public", "internal", "sensitive", "secret"]
RequestStateName = Literal["pending", "partially_approved", "granted", "denied", "withdrawn", "expired"]
GrantStateName = Literal["active", "expired", "revoked", "frozen"]
RefusalName = Literal[
    "no_grant", "grant_expired", "grant_revoked", "grant_frozen", "not_grantee", "out_of_scope", "other",
    "limit_reached",
]
FieldName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^,]+$")]
MAX_DURATION = 3 * 365 * 24 * 3600
MAX_ACCESSES = 2**32 - 1


def _mask_hex(v: object) -> object:
    return hex(v) if isinstance(v, int) else v


#: A field mask (bit i = field i of the dataset's table schema) as ``0x`` hex: up to 256 bits.
Mask = Annotated[str, BeforeValidator(_mask_hex)]
OptionalHash = Annotated[str | None, BeforeValidator(lambda v: "0x" + v.hex() if isinstance(v, bytes) else v)]


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
    table_schema: dict[str, Any] | None = Field(
        None, description="The Frictionless Table Schema of schema_hash; a field's index is its bit in a field mask."
    )
    rows: int | None = None
    size: int | None = None


class DatasetList(Page[DatasetPublic]):
    """A page of datasets."""


class DatasetWrite(BaseModel):
    tx: TxInfo
    dataset: DatasetPublic


class AccessRequestCreate(BaseModel):
    dataset_id: PositiveUint64
    purpose_code: Annotated[
        int,
        Field(ge=1, le=MAX_PURPOSE_CODE, description="From the published purpose vocabulary (docs/data-sharing.md)."),
    ]
    purpose: Annotated[
        str,
        Field(min_length=1, max_length=2000,
              description="Purpose statement; stored off chain once requested, a salted commitment on chain."),
    ]
    fields: list[FieldName] | None = Field(
        None, max_length=256, description="Fields the grant will cover; omitted: every field of the dataset."
    )
    duration: Annotated[int, Field(ge=1, le=MAX_DURATION, description="Grant lifetime in seconds.")]
    max_accesses: Annotated[int, Field(ge=0, le=MAX_ACCESSES, description="Most accesses; 0: no limit.")] = 0
    no_onward_sharing: bool = Field(
        False, description="The requester acknowledges, by signing the request, not to pass the data on."
    )
    row_filter: dict[str, Any] | None = Field(
        None,
        description='Rows the grant covers, e.g. {"all": [{"field": "district", "op": "eq", "value": "幸福里"}]}; '
        "stored off chain, bound by its canonical hash (row_filter_hash). Omitted: every row.",
    )
    table_schema: dict[str, Any] | None = Field(
        None,
        description="The dataset's Frictionless Table Schema (the owner's GET /datasets/{id} shows it), checked "
        "against its on-chain schema_hash; needed only where this service holds no copy of the dataset.",
    )


class _Terms(BaseModel):
    """The usage terms a request and a grant show."""

    model_config = FROM_RECORD

    field_mask: Mask = Field(description="Bit i: field i of the dataset's table schema.")
    row_filter_hash: OptionalHash = Field(description="canonical_hash of the row filter document; null: every row.")
    max_accesses: int = Field(description="0: no limit.")
    no_onward_sharing: bool
    fields: list[str] | None = Field(
        None, description="The fields of field_mask by name (None when this gateway holds no copy of the schema)."
    )


class AccessRequestPublic(_Terms):
    id: int
    dataset_id: int
    requester_id: int
    purpose_code: int
    purpose_hash: Hash
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def purpose_name(self) -> str:
        """The purpose code's name in the published vocabulary."""
        return purpose_name(self.purpose_code)


class AccessRequestList(Page[AccessRequestPublic]):
    """A page of access requests."""


class GrantPublic(_Terms):
    id: int
    request_id: int
    dataset_id: int
    grantee_id: int
    schema_hash: Hash = Field(description="The dataset's table schema when granted: field_mask's positions.")
    granted_at: int
    expires_at: int = Field(description="The end date (unix seconds), as renewed or narrowed.")
    revoked_at: int
    frozen: bool
    accesses: int = Field(description="Accesses recorded on chain (synchronous mode).")
    state: GrantStateOf
    purpose_code: int | None = Field(None, description="Its request's.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def purpose_name(self) -> str | None:
        return None if self.purpose_code is None else purpose_name(self.purpose_code)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining_accesses(self) -> int | None:
        """Accesses left of max_accesses after those recorded on chain; null: no limit."""
        return None if not self.max_accesses else max(0, self.max_accesses - self.accesses)


class PurposePublic(BaseModel):
    """A code of the published purpose vocabulary."""

    code: int
    zh: str
    en: str


class NarrowBody(BaseModel):
    """New terms for a grant, each no wider than now (omitted: unchanged); at least one narrower."""

    fields: list[FieldName] | None = Field(None, max_length=256, description="A subset of the grant's fields.")
    max_accesses: Annotated[int | None, Field(ge=1, le=MAX_ACCESSES)] = None
    expires_at: Annotated[int | None, Field(ge=1, le=2**48 - 1, description="An earlier end date.")] = None


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
