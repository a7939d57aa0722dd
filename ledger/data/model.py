"""Data sharing as a pure fold of DataSharing's events: datasets, requests, grants, renewals,
accesses and refusals, and the state of a request or a grant at any time.

:class:`DataState` is the reducer: :meth:`DataState.apply` takes the contract's events in
chain order (block, log index); ``DataState(events)`` folds a sequence. It mirrors the
contract's own rules for derived state (``IDataSharing.requestState`` / ``grantState``):

* a request is Granted once a grant names it, Denied or Withdrawn once closed, Expired once
  its deadline passed unanswered, Partially approved after one approval, else Pending;
* a grant is Revoked once revoked, else Expired once its (possibly renewed or narrowed)
  expiry passed, else Frozen while it or its grantee member is frozen, else Active.

Each grant keeps its history (first terms, renewals, narrowings, freezes) and each member its
freezes, so :meth:`DataState.grant_state_at` and :meth:`DataState.terms_at` tell a grant's
state and terms at any past time as well. The event
index, the API's lists and the auditor (which adds its rule checks on top and compares with
the contract's views) all read through this one fold. Events naming a record the fold does
not know are skipped here; the auditor reports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from ledger.abi import checksum, hex_text
from ledger.abi.records import field_names, record_from
from ledger.data.purposes import purpose_name
from ledger.data.records import (
    AccessRequest,
    Classification,
    Dataset,
    Grant,
    GrantState,
    Renewal,
    RequestState,
)
from ledger.events import Event

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass
class DatasetRecord:
    """A dataset as its events built it (hashes as ``0x`` hex text)."""

    id: int
    owner_id: int
    title: str
    classification: Classification
    metadata_hash: str
    schema_hash: str
    content_hash: str
    registered_at: int
    updated_at: int
    field_count: int = 0
    version: int = 1
    refusals: int = 0
    versions: list[tuple[int, str, Event]] = field(default_factory=list)  # (version, content hash, event)

    @property
    def sensitive(self) -> bool:
        """Sensitive or Secret: grants and renewals need data governance too."""
        return self.classification >= Classification.SENSITIVE


@dataclass
class RequestRecord:
    id: int
    dataset_id: int
    requester_id: int
    purpose_code: int
    purpose_hash: str
    field_mask: int
    row_filter_hash: str | None  # None: every row
    max_accesses: int  # 0: no limit
    no_onward_sharing: bool
    duration: int
    created_at: int
    expires_at: int
    needs_governance: bool
    event: Event
    owner_approver: str = ZERO_ADDRESS
    owner_approved_at: int = 0
    owner_id: int = 0  # the owner member the approval event names
    governance_approver: str = ZERO_ADDRESS
    governance_approver_id: int = 0
    governance_approved_at: int = 0
    closed_at: int = 0
    denied: bool = False
    deny_reason: int = 0
    grant_id: int = 0

    def state(self, now: int) -> RequestState:
        """``requestState`` at time ``now``."""
        if self.grant_id:
            return RequestState.GRANTED
        if self.closed_at:
            return RequestState.DENIED if self.denied else RequestState.WITHDRAWN
        if now >= self.expires_at:
            return RequestState.EXPIRED
        if self.owner_approver != ZERO_ADDRESS or self.governance_approver != ZERO_ADDRESS:
            return RequestState.PARTIALLY_APPROVED
        return RequestState.PENDING

    @property
    def purpose_name(self) -> str:
        return purpose_name(self.purpose_code)


@dataclass(frozen=True)
class GrantTerms:
    """The narrowable terms of a grant at some time."""

    field_mask: int
    max_accesses: int  # 0: no limit
    expires_at: int


@dataclass
class GrantRecord:
    id: int
    request_id: int
    dataset_id: int
    grantee_id: int
    field_mask: int  # as narrowed so far
    row_filter_hash: str | None  # None: every row
    schema_hash: str
    max_accesses: int  # 0: no limit; as narrowed so far
    no_onward_sharing: bool
    granted_at: int
    expires_at: int
    revoked_at: int = 0
    frozen: bool = False
    accesses: int = 0
    first_terms: GrantTerms = GrantTerms(0, 0, 0)
    # (time, new expiry) of each renewal or narrowing, (time, terms) of each narrowing and
    # (time, frozen) of each change of the grant's own flag
    expiries: list[tuple[int, int]] = field(default_factory=list)
    narrowings: list[tuple[int, GrantTerms]] = field(default_factory=list)
    freezes: list[tuple[int, bool]] = field(default_factory=list)

    def remaining(self, used: int | None = None) -> int | None:
        """Accesses left after ``used`` (default: those recorded on chain); None: no limit."""
        if not self.max_accesses:
            return None
        return max(0, self.max_accesses - (self.accesses if used is None else used))


@dataclass
class PendingRenewal:
    """A Sensitive/Secret grant's renewal waiting for data governance."""

    extension: int
    requested_by: str
    requested_at: int
    event: Event


@dataclass
class BatchRecord:
    id: int
    root: str
    anchorer_id: int
    count: int
    from_time: int
    to_time: int
    anchored_at: int
    event: Event


V = TypeVar("V")


def _view(cls: type[V], record: object, **values: object) -> V:
    """A view record ``cls`` of the fold's ``record``: its fields by name (hashes from ``0x`` hex
    text to bytes), ``values`` where the view's value is derived."""
    for name in field_names(cls):
        if name.endswith("_hash") and name not in values:
            values[name] = bytes.fromhex(getattr(record, name)[2:])
    return record_from(cls, record, **values)


def _account(address: str) -> str | None:
    """An EIP-55 address, None for the zero address (as the wrapper reads it)."""
    return None if address.lower() == ZERO_ADDRESS else checksum(address)


def _optional_bytes(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text[2:])


def _optional_hash(value: object) -> str | None:
    """``0x`` hex text of a bytes32 where zero means none (the row filter hash), None for zero."""
    text = hex_text(value)
    return None if int(text, 16) == 0 else text


def _last(changes: list[tuple[int, bool]], t: int) -> bool:
    """The flag as of time ``t``: the last change at or before it (False before any)."""
    flag = False
    for at, value in changes:
        if at <= t:
            flag = value
    return flag


class DataState:
    """DataSharing's state folded from its events (:meth:`apply` one at a time, in chain order)."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        """The state after ``events`` (chain order; none: the empty state)."""
        self.datasets: dict[int, DatasetRecord] = {}
        self.requests: dict[int, RequestRecord] = {}
        self.grants: dict[int, GrantRecord] = {}
        self.batches: dict[int, BatchRecord] = {}
        self.member_frozen: dict[int, bool] = {}
        self.member_freezes: dict[int, list[tuple[int, bool]]] = {}  # member -> (time, frozen) changes
        self.content_owner: dict[str, int] = {}  # content hash -> the member that registered it first
        self.renewals: dict[int, PendingRenewal] = {}  # grant -> its pending renewal
        self.approved_renewals: dict[int, int] = {}  # grant -> the extension data governance approved last
        self.ttl = 0
        for e in events:
            self.apply(e)

    # ------------------------------------------------------------------ derived state

    def dataset_of(self, g: GrantRecord) -> DatasetRecord | None:
        return self.datasets.get(g.dataset_id)

    def sensitive(self, g: GrantRecord) -> bool:
        d = self.datasets.get(g.dataset_id)
        return d is not None and d.sensitive

    def grant_state(self, g: GrantRecord, now: int) -> GrantState:
        """``grantState`` at ``now`` from the grant's current record (the events applied so far)."""
        if g.revoked_at:
            return GrantState.REVOKED
        if now >= g.expires_at:
            return GrantState.EXPIRED
        if g.frozen or self.member_frozen.get(g.grantee_id, False):
            return GrantState.FROZEN
        return GrantState.ACTIVE

    def grant_state_at(self, g: GrantRecord, t: int) -> GrantState | None:
        """The grant's state at time ``t`` from its history (None: not granted yet). A change in
        the same second as ``t`` counts as before it."""
        if t < g.granted_at:
            return None
        if g.revoked_at and g.revoked_at <= t:
            return GrantState.REVOKED
        expires = g.first_terms.expires_at
        for at, new in g.expiries:
            if at <= t:
                expires = new
        if t >= expires:
            return GrantState.EXPIRED
        frozen = _last(g.freezes, t) or _last(self.member_freezes.get(g.grantee_id, []), t)
        return GrantState.FROZEN if frozen else GrantState.ACTIVE

    def terms_at(self, g: GrantRecord, t: int) -> GrantTerms:
        """The grant's fields, limit and expiry at time ``t`` (narrowings and renewals at or
        before ``t`` applied; before the grant: its first terms)."""
        mask, limit = g.first_terms.field_mask, g.first_terms.max_accesses
        for at, terms in g.narrowings:
            if at <= t:
                mask, limit = terms.field_mask, terms.max_accesses
        expires = g.first_terms.expires_at
        for at, new in g.expiries:
            if at <= t:
                expires = new
        return GrantTerms(mask, limit, expires)

    # ------------------------------------------------------------------ views (as the contract answers them)

    def dataset_view(self, d: DatasetRecord) -> Dataset:
        """``getDataset``'s answer."""
        return _view(Dataset, d)

    def request_view(self, r: RequestRecord, now: int) -> AccessRequest:
        """``getRequest``'s answer at time ``now``."""
        return _view(
            AccessRequest,
            r,
            row_filter_hash=_optional_bytes(r.row_filter_hash),
            owner_approver=_account(r.owner_approver),
            governance_approver=_account(r.governance_approver),
            state=r.state(now),
        )

    def grant_view(self, g: GrantRecord, now: int) -> Grant:
        """``getGrant``'s answer at time ``now``."""
        return _view(Grant, g, row_filter_hash=_optional_bytes(g.row_filter_hash), state=self.grant_state(g, now))

    def renewal_view(self, grant_id: int) -> Renewal | None:
        """``getRenewal``'s answer (None: no renewal waits)."""
        p = self.renewals.get(grant_id)
        if p is None:
            return None
        return Renewal(grant_id, p.extension, checksum(p.requested_by), p.requested_at)

    # ------------------------------------------------------------------ the fold

    def apply(self, e: Event) -> None:
        """Fold one DataSharing event into the state."""
        step = _STEPS.get(e.name)
        if step is not None:
            step(self, e)

    def _dataset_registered(self, e: Event) -> None:
        a = e.args
        did = int(a["datasetId"])
        d = DatasetRecord(
            did,
            int(a["ownerId"]),
            str(a["title"]),
            Classification(int(a["classification"])),
            hex_text(a["metadataHash"]),
            hex_text(a["schemaHash"]),
            hex_text(a["contentHash"]),
            e.block_time,
            e.block_time,
            field_count=int(a["fieldCount"]),
        )
        d.versions.append((1, d.content_hash, e))
        self.datasets[did] = d
        self.content_owner.setdefault(d.content_hash, d.owner_id)

    def _version_updated(self, e: Event) -> None:
        d = self.datasets.get(int(e.args["datasetId"]))
        if d is None:
            return
        d.version = int(e.args["version"])
        d.content_hash = hex_text(e.args["newContentHash"])
        d.updated_at = e.block_time
        d.versions.append((d.version, d.content_hash, e))
        self.content_owner.setdefault(d.content_hash, d.owner_id)

    def _access_requested(self, e: Event) -> None:
        a = e.args
        rid = int(a["requestId"])
        d = self.datasets.get(int(a["datasetId"]))
        self.requests[rid] = RequestRecord(
            id=rid,
            dataset_id=int(a["datasetId"]),
            requester_id=int(a["requesterId"]),
            purpose_code=int(a["purposeCode"]),
            purpose_hash=hex_text(a["purposeHash"]),
            field_mask=int(a["fieldMask"]),
            row_filter_hash=_optional_hash(a["rowFilterHash"]),
            max_accesses=int(a["maxAccesses"]),
            no_onward_sharing=bool(a["noOnwardSharing"]),
            duration=int(a["duration"]),
            created_at=e.block_time,
            expires_at=int(a["expiresAt"]),
            needs_governance=d is not None and d.sensitive,
            event=e,
        )

    def _approved_by_owner(self, e: Event) -> None:
        r = self.requests.get(int(e.args["requestId"]))
        if r is not None:
            r.owner_approver, r.owner_approved_at = str(e.args["approver"]), e.block_time
            r.owner_id = int(e.args["ownerId"])

    def _approved_by_governance(self, e: Event) -> None:
        r = self.requests.get(int(e.args["requestId"]))
        if r is not None:
            r.governance_approver, r.governance_approved_at = str(e.args["approver"]), e.block_time
            r.governance_approver_id = int(e.args["governanceId"])

    def _closed(self, e: Event) -> None:
        r = self.requests.get(int(e.args["requestId"]))
        if r is not None:
            r.closed_at = e.block_time
            r.denied = e.name == "RequestDenied"
            if r.denied:
                r.deny_reason = int(e.args["reasonCode"])

    def _grant_created(self, e: Event) -> None:
        a = e.args
        gid = int(a["grantId"])
        mask, limit, expires = int(a["fieldMask"]), int(a["maxAccesses"]), int(a["expiresAt"])
        self.grants[gid] = GrantRecord(
            id=gid,
            request_id=int(a["requestId"]),
            dataset_id=int(a["datasetId"]),
            grantee_id=int(a["granteeId"]),
            field_mask=mask,
            row_filter_hash=_optional_hash(a["rowFilterHash"]),
            schema_hash=hex_text(a["schemaHash"]),
            max_accesses=limit,
            no_onward_sharing=bool(a["noOnwardSharing"]),
            granted_at=e.block_time,
            expires_at=expires,
            first_terms=GrantTerms(mask, limit, expires),
        )
        r = self.requests.get(int(a["requestId"]))
        if r is not None and int(a["datasetId"]) in self.datasets:
            r.grant_id = gid

    def _renewal_requested(self, e: Event) -> None:
        gid = int(e.args["grantId"])
        if gid in self.grants:
            self.renewals[gid] = PendingRenewal(int(e.args["extension"]), str(e.args["account"]), e.block_time, e)

    def _renewal_approved(self, e: Event) -> None:
        gid = int(e.args["grantId"])
        if gid in self.grants:
            self.renewals.pop(gid, None)
            self.approved_renewals[gid] = int(e.args["extension"])

    def _renewed(self, e: Event) -> None:
        g = self.grants.get(int(e.args["grantId"]))
        if g is not None:
            g.expires_at = int(e.args["newExpiresAt"])
            g.expiries.append((e.block_time, g.expires_at))

    def _narrowed(self, e: Event) -> None:
        g = self.grants.get(int(e.args["grantId"]))
        if g is not None:
            terms = GrantTerms(int(e.args["fieldMask"]), int(e.args["maxAccesses"]), int(e.args["expiresAt"]))
            g.field_mask, g.max_accesses, g.expires_at = terms.field_mask, terms.max_accesses, terms.expires_at
            g.narrowings.append((e.block_time, terms))
            g.expiries.append((e.block_time, terms.expires_at))

    def _revoked(self, e: Event) -> None:
        g = self.grants.get(int(e.args["grantId"]))
        if g is not None:
            g.revoked_at = e.block_time

    def _grant_frozen(self, e: Event) -> None:
        g = self.grants.get(int(e.args["grantId"]))
        if g is not None:
            g.frozen = e.name == "GrantFrozen"
            g.freezes.append((e.block_time, g.frozen))

    def _member_frozen(self, e: Event) -> None:
        mid, frozen = int(e.args["memberId"]), e.name == "MemberFrozen"
        self.member_frozen[mid] = frozen
        self.member_freezes.setdefault(mid, []).append((e.block_time, frozen))

    def _ttl_changed(self, e: Event) -> None:
        self.ttl = int(e.args["newTtl"])

    def _access_recorded(self, e: Event) -> None:
        g = self.grants.get(int(e.args["grantId"]))
        if g is not None:
            g.accesses += 1

    def _access_refused(self, e: Event) -> None:
        d = self.datasets.get(int(e.args["datasetId"]))
        if d is not None:
            d.refusals += int(e.args.get("attempts", 1))

    def _batch_anchored(self, e: Event) -> None:
        a = e.args
        bid = int(a["batchId"])
        self.batches[bid] = BatchRecord(
            bid,
            hex_text(a["merkleRoot"]),
            int(a["anchorerId"]),
            int(a["count"]),
            int(a["fromTime"]),
            int(a["toTime"]),
            e.block_time,
            e,
        )


_STEPS = {
    "DatasetRegistered": DataState._dataset_registered,
    "DatasetVersionUpdated": DataState._version_updated,
    "AccessRequested": DataState._access_requested,
    "RequestApprovedByOwner": DataState._approved_by_owner,
    "RequestApprovedByGovernance": DataState._approved_by_governance,
    "RequestDenied": DataState._closed,
    "RequestWithdrawn": DataState._closed,
    "GrantCreated": DataState._grant_created,
    "GrantRenewalRequested": DataState._renewal_requested,
    "GrantRenewalApproved": DataState._renewal_approved,
    "GrantRenewed": DataState._renewed,
    "GrantNarrowed": DataState._narrowed,
    "GrantRevoked": DataState._revoked,
    "GrantFrozen": DataState._grant_frozen,
    "GrantUnfrozen": DataState._grant_frozen,
    "MemberFrozen": DataState._member_frozen,
    "MemberUnfrozen": DataState._member_frozen,
    "RequestTtlChanged": DataState._ttl_changed,
    "AccessRecorded": DataState._access_recorded,
    "AccessRefused": DataState._access_refused,
    "AccessBatchAnchored": DataState._batch_anchored,
}
