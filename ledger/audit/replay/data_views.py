"""What DataSharing's own views must answer, given the replayed state (one batched round)."""

from __future__ import annotations

from ledger.abi.records import view_struct
from ledger.audit.replay.base import ZERO_ADDRESS, Checks
from ledger.data import AccessRequest, Batch, Dataset, DataState, Grant

_ZERO32 = "0x" + "00" * 32


def data_checks(contract: str, s: DataState, head_time: int) -> Checks:
    c = Checks(contract)
    c.expect("datasetCount", [], len(s.datasets), "datasetCount")
    c.expect("requestCount", [], len(s.requests), "requestCount")
    c.expect("grantCount", [], len(s.grants), "grantCount")
    c.expect("batchCount", [], len(s.batches), "batchCount")
    c.expect("requestTtl", [], s.ttl, "requestTtl")
    for d in s.datasets.values():
        c.expect("getDataset", [d.id], view_struct(Dataset, d), f"dataset {d.id}")
    for r in s.requests.values():
        c.expect(
            "getRequest",
            [r.id],
            view_struct(AccessRequest, r, row_filter_hash=r.row_filter_hash or _ZERO32, state=r.state(head_time)),
            f"request {r.id}",
        )
    for g in s.grants.values():
        c.expect(
            "getGrant",
            [g.id],
            view_struct(Grant, g, row_filter_hash=g.row_filter_hash or _ZERO32, state=s.grant_state(g, head_time)),
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
        c.expect("getBatch", [b.id], view_struct(Batch, b, merkle_root=b.root), f"batch {b.id}")
    for mid, frozen in s.member_frozen.items():
        c.expect("isMemberFrozen", [mid], frozen, f"member {mid} frozen flag")
    return c
