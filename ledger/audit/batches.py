"""Rule 4, Merkle batches: an off-chain batch file against the root anchored on chain.

A batch file is what ``cogov data log --batch-out`` writes and ``cogov data prove``
reads: ``{"batch_id": N, "records": [{grant_id, query_hash, row_count, timestamp}]}``
(without ``batch_id``, a name ``batch-<N>.json`` or ``<N>.json`` gives it). Its
Merkle root (``ledger/merkle.py``, the leaf of ``IDataSharing.accessLeaf``) must be
the anchored root, its record count the anchored count, and each record's time
inside the anchored window.

A batch is its anchoring member's (the contract records ``anchorerId``, the member
of the account that anchored it; it sees only the root): every record must be an
access under a grant on one of that member's own datasets
(``data.batch-foreign-grant``), and that grant must have been Active at the
record's time — granted, not expired by the expiry it had then (renewals count
from when they happened), not revoked, neither it nor its grantee frozen
(``data.access-outside-grant``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ledger.audit.collect import Collector
from ledger.audit.replay.data import DataReplay
from ledger.data import GrantState
from ledger.merkle import MerkleTree, batch_records

_NAME = re.compile(r"^(?:batch-)?([0-9]+)$")
_STATES = ["active", "expired", "revoked", "frozen"]


def batch_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return out


def check_batches(paths: list[Path], data: DataReplay, out: Collector) -> int:
    checked = 0
    for f in batch_files(paths):
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            records = batch_records(doc)
            m = _NAME.match(f.stem)
            bid = int(doc.get("batch_id") or (m.group(1) if m else 0))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            out.expect("data.batch-root-mismatch", False, f"{f.name} is not a batch file ({exc})", file=str(f))
            continue
        b = data.batches.get(bid)
        if not out.expect(
            "data.batch-root-mismatch",
            b is not None and bool(records),
            f"{f.name}: no anchored batch {bid} (or no records)",
            file=str(f),
            batch=bid,
        ):
            continue
        assert b is not None
        checked += 1
        root = "0x" + MerkleTree.of_records(records).root.hex()
        times = [r.timestamp for r in records]
        out.expect(
            "data.batch-root-mismatch",
            root == b.root.lower()
            and len(records) == b.count
            and b.from_time <= min(times)
            and max(times) <= b.to_time,
            f"batch {bid}: the file {f.name} gives root {root} over {len(records)} records; "
            f"anchored {b.root} over {b.count} in [{b.from_time}, {b.to_time}]",
            event=b.event, file=str(f), batch=bid, file_root=root, anchored_root=b.root, file_count=len(records),
            anchored_count=b.count,
        )
        for i, r in enumerate(records):
            g = data.grants.get(r.grant_id)
            d = data.datasets.get(g.dataset_id) if g is not None else None
            out.expect(
                "data.batch-foreign-grant",
                d is not None and d.owner_id == b.anchorer_id,
                f"batch {bid} record {i}: grant {r.grant_id} is not on a dataset of the anchoring member "
                f"{data.reg.name(b.anchorer_id)}"
                + ("" if d is None else f" (dataset {d.id} belongs to {data.reg.name(d.owner_id)})"),
                event=b.event, file=str(f), batch=bid, record=i, grant=r.grant_id, anchorer=b.anchorer_id,
                dataset_owner=None if d is None else d.owner_id,
            )
            state = None if g is None else data.state_at(g, r.timestamp)
            out.expect(
                "data.access-outside-grant",
                state == GrantState.ACTIVE,
                f"batch {bid} record {i}: grant {r.grant_id} was "
                f"{'unknown' if g is None else 'not granted yet' if state is None else _STATES[state]} "
                f"at {r.timestamp}",
                event=b.event, file=str(f), batch=bid, record=i, grant=r.grant_id, timestamp=r.timestamp,
            )
    return checked
