"""What DataSharing's records are, as its views answer them: the enums with the contract's values
and the frozen dataclasses the wrapper's reads return (and the reducer's views build)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Classification(IntEnum):
    PUBLIC, INTERNAL, SENSITIVE, SECRET = range(4)


class RequestState(IntEnum):
    PENDING, PARTIALLY_APPROVED, GRANTED, DENIED, WITHDRAWN, EXPIRED = range(6)


class GrantState(IntEnum):
    ACTIVE, EXPIRED, REVOKED, FROZEN = range(4)


class RefusalReason(IntEnum):
    NO_GRANT, GRANT_EXPIRED, GRANT_REVOKED, GRANT_FROZEN, NOT_GRANTEE, OUT_OF_SCOPE, OTHER, LIMIT_REACHED = range(8)


@dataclass(frozen=True)
class Terms:
    """What a request asks for (``IDataSharing.Terms``): the purpose (a code of the published
    vocabulary, :mod:`ledger.data.purposes`, and the hash of its statement), the fields (a mask
    over the schema's field positions, :mod:`ledger.data.scopes`), the row filter's hash (None:
    every row), the grant's lifetime in seconds, the maximum number of accesses (0: no limit)
    and the no-onward-sharing flag the requester acknowledges by signing the request."""

    purpose_code: int
    purpose_hash: bytes
    field_mask: int
    duration: int
    row_filter_hash: bytes | None = None
    max_accesses: int = 0
    no_onward_sharing: bool = False

    def as_tuple(self) -> tuple[int, bytes, int, bytes, int, int, bool]:
        """The ABI tuple, in the struct's order."""
        return (
            self.purpose_code,
            self.purpose_hash,
            self.field_mask,
            self.row_filter_hash or bytes(32),
            self.duration,
            self.max_accesses,
            self.no_onward_sharing,
        )


@dataclass(frozen=True)
class Dataset:
    id: int
    owner_id: int
    title: str
    classification: Classification
    metadata_hash: bytes
    schema_hash: bytes
    content_hash: bytes
    field_count: int
    version: int
    registered_at: int
    updated_at: int
    refusals: int


@dataclass(frozen=True)
class AccessRequest:
    id: int
    dataset_id: int
    requester_id: int
    purpose_code: int
    purpose_hash: bytes
    field_mask: int
    row_filter_hash: bytes | None  # None: every row
    max_accesses: int  # 0: no limit
    no_onward_sharing: bool
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
    state: RequestState


@dataclass(frozen=True)
class Grant:
    id: int
    request_id: int
    dataset_id: int
    grantee_id: int
    field_mask: int  # as narrowed
    row_filter_hash: bytes | None  # None: every row
    schema_hash: bytes  # the dataset's schema when granted
    max_accesses: int  # 0: no limit (as narrowed)
    no_onward_sharing: bool
    granted_at: int
    expires_at: int
    revoked_at: int
    frozen: bool
    accesses: int
    state: GrantState


@dataclass(frozen=True)
class Renewal:
    """A Sensitive/Secret grant's renewal waiting for a DataGovernance approval."""

    grant_id: int
    extension: int
    requested_by: str
    requested_at: int


@dataclass(frozen=True)
class Batch:
    id: int
    merkle_root: bytes
    anchorer_id: int
    count: int
    from_time: int
    to_time: int
    anchored_at: int
