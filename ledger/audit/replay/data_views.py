"""What DataSharing's own views must answer, given the replayed state (one batched round)."""

from __future__ import annotations

from ledger.audit.replay.base import ZERO_ADDRESS, Checks
from ledger.data import DataState


def data_checks(contract: str, s: DataState, head_time: int) -> Checks:
    c = Checks(contract)
    c.expect("datasetCount", [], len(s.datasets), "datasetCount")
    c.expect("requestCount", [], len(s.requests), "requestCount")
    c.expect("grantCount", [], len(s.grants), "grantCount")
    c.expect("batchCount", [], len(s.batches), "batchCount")
    c.expect("requestTtl", [], s.ttl, "requestTtl")
    for d in s.datasets.values():
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
    for r in s.requests.values():
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
                "state": r.state(head_time),
            },
            f"request {r.id}",
        )
    for g in s.grants.values():
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
                "state": s.grant_state(g, head_time),
            },
            f"grant {g.id}",
        )
    for g in s.grants.values():
        if s.sensitive(g) or g.id in s.renewals:
            p = s.renewals.get(g.id)
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
    for b in s.batches.values():
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
    for mid, frozen in s.member_frozen.items():
        c.expect("isMemberFrozen", [mid], frozen, f"member {mid} frozen flag")
    return c
