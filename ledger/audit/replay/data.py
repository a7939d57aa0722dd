"""DataSharing replayed from its events, with the data rules: accesses inside active grants,
grants after the right approvals (two distinct approvers for Sensitive and Secret data), renewals
of Sensitive and Secret grants only through an independent data-governance approval and never of
a frozen grant, and no dataset naming content another member registered first.

Each grant's history (expiry, revocation, freezes, its grantee's freezes) is kept, so that the
state of a grant at any past time can be told (:meth:`DataReplay.state_at`): the Merkle batch
check (``batches.py``) judges each off-chain record at its own time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ledger.abi import hex_text
from ledger.audit.collect import Collector
from ledger.audit.replay.base import ZERO_ADDRESS, Checks
from ledger.audit.replay.membership import MembershipReplay
from ledger.events import Event
from ledger.membership import Role

SENSITIVE = 2
ACTIVE, EXPIRED, REVOKED, FROZEN = 0, 1, 2, 3


@dataclass
class Dataset:
    id: int
    owner_id: int
    title: str
    classification: int
    metadata_hash: str
    schema_hash: str
    content_hash: str
    registered_at: int
    updated_at: int
    version: int = 1
    refusals: int = 0
    versions: list[tuple[int, str, Event]] = field(default_factory=list)  # (version, content hash, event)


@dataclass
class Request:
    id: int
    dataset_id: int
    requester_id: int
    purpose_code: int
    purpose_hash: str
    scope_hash: str
    duration: int
    created_at: int
    expires_at: int
    needs_governance: bool
    event: Event
    owner_approver: str = ZERO_ADDRESS
    owner_approved_at: int = 0
    owner_approver_id: int = 0
    governance_approver: str = ZERO_ADDRESS
    governance_approver_id: int = 0
    governance_approved_at: int = 0
    closed_at: int = 0
    denied: bool = False
    deny_reason: int = 0
    grant_id: int = 0


@dataclass
class Grant:
    id: int
    request_id: int
    dataset_id: int
    grantee_id: int
    scope_hash: str
    granted_at: int
    expires_at: int
    revoked_at: int = 0
    frozen: bool = False
    accesses: int = 0
    first_expires_at: int = 0
    # (time, new expiry) of each renewal and (time, frozen) of each change of the grant's own flag
    renewals: list[tuple[int, int]] = field(default_factory=list)
    freezes: list[tuple[int, bool]] = field(default_factory=list)


@dataclass
class Renewal:
    """A Sensitive/Secret grant's renewal waiting for data governance."""

    extension: int
    requested_by: str
    requested_at: int
    event: Event


@dataclass
class Batch:
    id: int
    root: str
    anchorer_id: int
    count: int
    from_time: int
    to_time: int
    anchored_at: int
    event: Event


def _last(changes: list[tuple[int, bool]], t: int) -> bool:
    """The flag as of time ``t``: the last change at or before it (False before any)."""
    flag = False
    for at, value in changes:
        if at <= t:
            flag = value
    return flag


class DataReplay:
    contract = "DataSharing"

    def __init__(self, out: Collector, registry: MembershipReplay) -> None:
        self.out = out
        self.reg = registry
        self.datasets: dict[int, Dataset] = {}
        self.requests: dict[int, Request] = {}
        self.grants: dict[int, Grant] = {}
        self.batches: dict[int, Batch] = {}
        self.member_frozen: dict[int, bool] = {}
        self.member_freezes: dict[int, list[tuple[int, bool]]] = {}  # member -> (time, frozen) changes
        self.content_owner: dict[str, int] = {}  # content hash -> the member that registered it first
        self.renewals: dict[int, Renewal] = {}  # grant -> its pending renewal
        self._approved: dict[int, tuple[str, int, bool]] = {}  # grant -> (tx, extension, independent)
        self.ttl = 0
        self.grants_by_member: Counter[int] = Counter()
        self.accesses_by_member: Counter[int] = Counter()
        self.accesses_by_owner: Counter[int] = Counter()

    def grant_state(self, g: Grant, now: int) -> int:
        if g.revoked_at:
            return REVOKED
        if now >= g.expires_at:
            return EXPIRED
        if g.frozen or self.member_frozen.get(g.grantee_id, False):
            return FROZEN
        return ACTIVE

    def state_at(self, g: Grant, t: int) -> int | None:
        """The grant's state at time ``t`` from its history (None: not granted yet). A change in
        the same second as ``t`` counts as before it."""
        if t < g.granted_at:
            return None
        if g.revoked_at and g.revoked_at <= t:
            return REVOKED
        expires = g.first_expires_at
        for at, new in g.renewals:
            if at <= t:
                expires = new
        if t >= expires:
            return EXPIRED
        frozen = _last(g.freezes, t) or _last(self.member_freezes.get(g.grantee_id, []), t)
        return FROZEN if frozen else ACTIVE

    def request_state(self, r: Request, now: int) -> int:
        if r.grant_id:
            return 2
        if r.closed_at:
            return 3 if r.denied else 4
        if now >= r.expires_at:
            return 5
        if r.owner_approver != ZERO_ADDRESS or r.governance_approver != ZERO_ADDRESS:
            return 1
        return 0

    def _seq(self, kind: str, new_id: int, have: dict[int, Any], e: Event) -> None:
        self.out.expect(
            "state.replay-inconsistent", new_id == len(have) + 1, f"{kind} id {new_id} out of sequence", event=e
        )

    def on_event(self, e: Event) -> None:
        a = e.args
        n = e.name
        if n == "DatasetRegistered":
            did = int(e.args["datasetId"])
            self._seq("dataset", did, self.datasets, e)
            new = Dataset(
                did,
                int(a["ownerId"]),
                a["title"],
                int(a["classification"]),
                hex_text(a["metadataHash"]),
                hex_text(a["schemaHash"]),
                hex_text(a["contentHash"]),
                e.block_time,
                e.block_time,
            )
            new.versions.append((1, hex_text(a["contentHash"]), e))
            self.datasets[did] = new
            self._claim(hex_text(a["contentHash"]), new, e)
        elif n == "DatasetVersionUpdated":
            d = self.datasets.get(int(e.args["datasetId"]))
            if self._known(d, e, "dataset"):
                assert d is not None
                d.version = int(a["version"])
                d.content_hash = hex_text(a["newContentHash"])
                d.updated_at = e.block_time
                d.versions.append((d.version, d.content_hash, e))
                self._claim(d.content_hash, d, e)
        elif n == "AccessRequested":
            rid = int(e.args["requestId"])
            self._seq("request", rid, self.requests, e)
            d = self.datasets.get(int(e.args["datasetId"]))
            self.requests[rid] = Request(
                rid,
                int(e.args["datasetId"]),
                int(a["requesterId"]),
                int(a["purposeCode"]),
                hex_text(a["purposeHash"]),
                hex_text(a["scopeHash"]),
                int(a["duration"]),
                e.block_time,
                int(a["expiresAt"]),
                bool(d and d.classification >= SENSITIVE),
                e,
            )
        elif n == "RequestApprovedByOwner":
            r = self.requests.get(int(e.args["requestId"]))
            if self._known(r, e, "request"):
                assert r is not None
                r.owner_approver, r.owner_approved_at = a["approver"], e.block_time
                r.owner_approver_id = self.reg.member_id(a["approver"])
        elif n == "RequestApprovedByGovernance":
            r = self.requests.get(int(e.args["requestId"]))
            if self._known(r, e, "request"):
                assert r is not None
                r.governance_approver, r.governance_approved_at = a["approver"], e.block_time
                r.governance_approver_id = int(a["governanceId"])
                self.out.expect(
                    "data.sensitive-single-approver",
                    self.reg.has_role(a["approver"], Role.DATA_GOVERNANCE),
                    f"request {r.id}: governance approval by {a['approver']}, which lacks the DataGovernance role",
                    event=e,
                    request=r.id,
                )
        elif n in ("RequestDenied", "RequestWithdrawn"):
            r = self.requests.get(int(e.args["requestId"]))
            if self._known(r, e, "request"):
                assert r is not None
                r.closed_at = e.block_time
                r.denied = n == "RequestDenied"
                if r.denied:
                    r.deny_reason = int(a["reasonCode"])
        elif n == "GrantCreated":
            self._grant_created(e)
        elif n == "GrantRenewalRequested":
            self._renewal_requested(e)
        elif n == "GrantRenewalApproved":
            self._renewal_approved(e)
        elif n == "GrantRenewed":
            self._renewed(e)
        elif n == "GrantRevoked":
            g = self.grants.get(int(e.args["grantId"]))
            if self._known(g, e, "grant"):
                assert g is not None
                g.revoked_at = e.block_time
        elif n in ("GrantFrozen", "GrantUnfrozen"):
            g = self.grants.get(int(e.args["grantId"]))
            if self._known(g, e, "grant"):
                assert g is not None
                g.frozen = n == "GrantFrozen"
                g.freezes.append((e.block_time, g.frozen))
        elif n in ("MemberFrozen", "MemberUnfrozen"):
            self.member_frozen[int(e.args["memberId"])] = n == "MemberFrozen"
            self.member_freezes.setdefault(int(e.args["memberId"]), []).append((e.block_time, n == "MemberFrozen"))
        elif n == "RequestTtlChanged":
            self.ttl = int(a["newTtl"])
        elif n == "AccessRecorded":
            self._access(e)
        elif n == "AccessRefused":
            d = self.datasets.get(int(e.args["datasetId"]))
            if self._known(d, e, "dataset"):
                assert d is not None
                d.refusals += int(a.get("attempts", 1))
                self.out.expect(
                    "state.replay-inconsistent",
                    int(a["seq"]) == d.refusals,
                    f"refusal seq {a['seq']} of dataset {d.id}, expected {d.refusals}",
                    event=e,
                )
        elif n == "AccessBatchAnchored":
            bid = int(e.args["batchId"])
            self._seq("batch", bid, self.batches, e)
            self.batches[bid] = Batch(
                bid,
                hex_text(a["merkleRoot"]),
                int(a["anchorerId"]),
                int(a["count"]),
                int(a["fromTime"]),
                int(a["toTime"]),
                e.block_time,
                e,
            )

    def _known(self, rec: Any, e: Event, kind: str) -> bool:
        return self.out.expect("state.replay-inconsistent", rec is not None, f"{e.name} for an unknown {kind}", event=e)

    def _claim(self, content_hash: str, d: Dataset, e: Event) -> None:
        """A content hash belongs to the member that registered it first (issue 14 item 1)."""
        holder = self.content_owner.setdefault(content_hash.lower(), d.owner_id)
        self.out.expect(
            "data.content-aliased",
            holder == d.owner_id,
            f"dataset {d.id} of {self.reg.name(d.owner_id)} names content {content_hash}, "
            f"which {self.reg.name(holder)} registered first",
            event=e,
            dataset=d.id,
            owner=d.owner_id,
            first_owner=holder,
            content_hash=content_hash,
        )

    def _sensitive(self, g: Grant) -> bool:
        d = self.datasets.get(g.dataset_id)
        return d is not None and d.classification >= SENSITIVE

    def _renewal_requested(self, e: Event) -> None:
        a = e.args
        g = self.grants.get(int(e.args["grantId"]))
        if not self._known(g, e, "grant"):
            return
        assert g is not None
        self.out.expect(
            "state.replay-inconsistent",
            self._sensitive(g),
            f"grant {g.id}: a renewal waits for data governance, but its dataset is neither Sensitive nor Secret",
            event=e,
        )
        self._check_renewable(g, e)
        self.renewals[g.id] = Renewal(int(a["extension"]), a["account"], e.block_time, e)

    def _renewal_approved(self, e: Event) -> None:
        """Data governance approved a pending renewal: an independent approver, the asked extension."""
        a = e.args
        g = self.grants.get(int(e.args["grantId"]))
        if not self._known(g, e, "grant"):
            return
        assert g is not None
        pending = self.renewals.pop(g.id, None)
        d = self.datasets.get(g.dataset_id)
        approver, gov_id, extension = a["approver"], int(a["governanceId"]), int(a["extension"])
        independent = (
            pending is not None
            and pending.extension == extension
            and pending.requested_by.lower() != approver.lower()
            and self.reg.has_role(approver, Role.DATA_GOVERNANCE)
            and self.reg.member_id(approver) == gov_id
            and d is not None
            and gov_id not in (0, d.owner_id, g.grantee_id)
        )
        self.out.expect(
            "data.renewal-without-governance",
            independent,
            f"grant {g.id}: renewal approved by {approver} (member {gov_id}), which is not an independent "
            "DataGovernance approval of the extension its owner asked for",
            event=e,
            grant=g.id,
            approver=approver,
            governance_member=gov_id,
            asked=None if pending is None else {"extension": pending.extension, "by": pending.requested_by},
        )
        self._approved[g.id] = (e.tx_hash, extension, independent)

    def _renewed(self, e: Event) -> None:
        a = e.args
        g = self.grants.get(int(e.args["grantId"]))
        if not self._known(g, e, "grant"):
            return
        assert g is not None
        old, new = int(a["oldExpiresAt"]), int(a["newExpiresAt"])
        self._check_renewable(g, e)
        if self._sensitive(g):
            approval = self._approved.pop(g.id, None)
            self.out.expect(
                "data.renewal-without-governance",
                approval is not None and approval[0] == e.tx_hash and approval[1] == new - old,
                f"grant {g.id} on a Sensitive/Secret dataset renewed to {new} without a data-governance approval",
                event=e,
                grant=g.id,
                old_expires_at=old,
                new_expires_at=new,
            )
        self.out.expect(
            "state.replay-inconsistent",
            old == g.expires_at,
            f"grant {g.id} renewed from {old}, the replay has {g.expires_at}",
            event=e,
        )
        g.expires_at = new
        g.renewals.append((e.block_time, new))

    def _check_renewable(self, g: Grant, e: Event) -> None:
        state = self.grant_state(g, e.block_time)
        self.out.expect(
            "data.renewal-not-active",
            state == ACTIVE,
            f"grant {g.id} renewed (or its renewal asked for) while "
            f"{['active', 'expired', 'revoked', 'frozen'][state]}",
            event=e,
            grant=g.id,
            frozen=g.frozen,
            member_frozen=self.member_frozen.get(g.grantee_id, False),
        )

    def _grant_created(self, e: Event) -> None:
        a = e.args
        gid = int(e.args["grantId"])
        self._seq("grant", gid, self.grants, e)
        r = self.requests.get(int(e.args["requestId"]))
        d = self.datasets.get(int(e.args["datasetId"]))
        g = Grant(
            gid,
            int(e.args["requestId"]),
            int(e.args["datasetId"]),
            int(a["granteeId"]),
            hex_text(a["scopeHash"]),
            e.block_time,
            int(a["expiresAt"]),
            first_expires_at=int(a["expiresAt"]),
        )
        self.grants[gid] = g
        self.grants_by_member[g.grantee_id] += 1
        if r is None or d is None:
            self.out.add("data.grant-without-approval", f"grant {gid} refers to an unknown request or dataset", event=e)
            return
        r.grant_id = gid
        ok_owner = r.owner_approver != ZERO_ADDRESS and r.owner_approver_id == d.owner_id
        self.out.expect(
            "data.grant-without-approval",
            ok_owner and r.dataset_id == d.id and r.requester_id == g.grantee_id,
            f"grant {gid} without an approval by the dataset owner's member ({self.reg.name(d.owner_id)})",
            event=e,
            request=r.id,
            owner_approver=r.owner_approver,
            owner_approver_member=r.owner_approver_id,
            dataset_owner=d.owner_id,
        )
        self.out.expect(
            "state.replay-inconsistent",
            g.expires_at == e.block_time + r.duration and hex_text(a["scopeHash"]) == r.scope_hash,
            f"grant {gid}: expiry or scope differs from its request {r.id}",
            event=e,
        )
        if d.classification >= SENSITIVE:
            gov = r.governance_approver
            distinct = gov != ZERO_ADDRESS and gov.lower() != r.owner_approver.lower()
            independent = r.governance_approver_id not in (0, d.owner_id, r.requester_id)
            self.out.expect(
                "data.sensitive-single-approver",
                distinct and independent,
                f"grant {gid} on {'Secret' if d.classification == 3 else 'Sensitive'} dataset {d.id} "
                "without two distinct, independent approvers",
                event=e,
                request=r.id,
                owner_approver=r.owner_approver,
                governance_approver=gov,
                governance_member=r.governance_approver_id,
            )

    def _access(self, e: Event) -> None:
        a = e.args
        gid = int(e.args["grantId"])
        g = self.grants.get(gid)
        if g is None:
            self.out.expect(
                "data.access-outside-grant",
                False,
                f"access recorded under grant {gid}, which does not exist",
                event=e,
                grant=gid,
            )
            return
        state = self.grant_state(g, e.block_time)
        d = self.datasets.get(g.dataset_id)
        self.out.expect(
            "data.access-outside-grant",
            state == ACTIVE
            and int(e.args["datasetId"]) == g.dataset_id
            and int(a["granteeId"]) == g.grantee_id
            and int(a["at"]) == e.block_time,
            f"access #{a['seq']} under grant {gid} while the grant was "
            f"{['active', 'expired', 'revoked', 'frozen'][state]} (or for another dataset/grantee/time)",
            event=e,
            grant={
                "id": g.id,
                "dataset": g.dataset_id,
                "grantee": g.grantee_id,
                "expires_at": g.expires_at,
                "revoked_at": g.revoked_at,
                "frozen": g.frozen,
            },
            block_time=e.block_time,
        )
        g.accesses += 1
        self.out.expect(
            "state.replay-inconsistent",
            int(a["seq"]) == g.accesses,
            f"access seq {a['seq']} of grant {gid}, expected {g.accesses}",
            event=e,
        )
        self.accesses_by_member[g.grantee_id] += 1
        if d is not None:
            self.accesses_by_owner[d.owner_id] += 1

    # ------------------------------------------------------------------ state

    def checks(self, head_time: int) -> Checks:
        c = Checks(self.contract)
        c.expect("datasetCount", [], len(self.datasets), "datasetCount")
        c.expect("requestCount", [], len(self.requests), "requestCount")
        c.expect("grantCount", [], len(self.grants), "grantCount")
        c.expect("batchCount", [], len(self.batches), "batchCount")
        c.expect("requestTtl", [], self.ttl, "requestTtl")
        for d in self.datasets.values():
            c.expect(
                "getDataset",
                [d.id],
                {
                    "id": d.id,
                    "ownerId": d.owner_id,
                    "title": d.title,
                    "classification": d.classification,
                    "metadataHash": d.metadata_hash,
                    "schemaHash": d.schema_hash,
                    "contentHash": d.content_hash,
                    "version": d.version,
                    "registeredAt": d.registered_at,
                    "updatedAt": d.updated_at,
                    "refusals": d.refusals,
                },
                f"dataset {d.id}",
            )
        for r in self.requests.values():
            c.expect(
                "getRequest",
                [r.id],
                {
                    "id": r.id,
                    "datasetId": r.dataset_id,
                    "requesterId": r.requester_id,
                    "purposeCode": r.purpose_code,
                    "purposeHash": r.purpose_hash,
                    "scopeHash": r.scope_hash,
                    "duration": r.duration,
                    "createdAt": r.created_at,
                    "expiresAt": r.expires_at,
                    "needsGovernance": r.needs_governance,
                    "ownerApprover": r.owner_approver,
                    "ownerApprovedAt": r.owner_approved_at,
                    "governanceApprover": r.governance_approver,
                    "governanceApproverId": r.governance_approver_id,
                    "governanceApprovedAt": r.governance_approved_at,
                    "closedAt": r.closed_at,
                    "denyReason": r.deny_reason,
                    "grantId": r.grant_id,
                    "state": self.request_state(r, head_time),
                },
                f"request {r.id}",
            )
        for g in self.grants.values():
            c.expect(
                "getGrant",
                [g.id],
                {
                    "id": g.id,
                    "requestId": g.request_id,
                    "datasetId": g.dataset_id,
                    "granteeId": g.grantee_id,
                    "scopeHash": g.scope_hash,
                    "grantedAt": g.granted_at,
                    "expiresAt": g.expires_at,
                    "revokedAt": g.revoked_at,
                    "frozen": g.frozen,
                    "accesses": g.accesses,
                    "state": self.grant_state(g, head_time),
                },
                f"grant {g.id}",
            )
        for g in self.grants.values():
            if self._sensitive(g) or g.id in self.renewals:
                p = self.renewals.get(g.id)
                c.expect(
                    "getRenewal",
                    [g.id],
                    {
                        "grantId": g.id,
                        "extension": p.extension if p else 0,
                        "requestedBy": p.requested_by if p else ZERO_ADDRESS,
                        "requestedAt": p.requested_at if p else 0,
                    },
                    f"grant {g.id} pending renewal",
                )
        for b in self.batches.values():
            c.expect(
                "getBatch",
                [b.id],
                {
                    "id": b.id,
                    "merkleRoot": b.root,
                    "anchorerId": b.anchorer_id,
                    "count": b.count,
                    "fromTime": b.from_time,
                    "toTime": b.to_time,
                    "anchoredAt": b.anchored_at,
                },
                f"batch {b.id}",
            )
        for mid, frozen in self.member_frozen.items():
            c.expect("isMemberFrozen", [mid], frozen, f"member {mid} frozen flag")
        return c
