"""Rule 4, Merkle batches: an off-chain batch file against the root anchored on chain.

A batch file is what ``cogov data log --batch-out`` writes and ``cogov data prove``
reads: ``{"batch_id": N, "records": [{grant_id, query_hash, row_count, timestamp}]}``
(without ``batch_id``, a name ``batch-<N>.json`` or ``<N>.json`` gives it). Its
Merkle root (``ledger/merkle.py``, the leaf of ``IDataSharing.accessLeaf``) must be
the anchored root, its record count the anchored count, and each record's time
inside the anchored window and inside its grant's lifetime.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ledger.audit.collect import Collector
from ledger.audit.replay.data import DataReplay
from ledger.merkle import AccessRecord, MerkleTree

_NAME = re.compile(r"^(?:batch-)?([0-9]+)$")


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
            records = [
                AccessRecord(
                    int(r["grant_id"]),
                    bytes.fromhex(str(r["query_hash"]).removeprefix("0x")),
                    int(r["row_count"]),
                    int(r["timestamp"]),
                )
                for r in doc["records"]
            ]
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
            event=b.event,
            file=str(f),
            batch=bid,
            file_root=root,
            anchored_root=b.root,
            file_count=len(records),
            anchored_count=b.count,
        )
        for i, r in enumerate(records):
            g = data.grants.get(r.grant_id)
            ok = (
                g is not None
                and g.granted_at <= r.timestamp < g.expires_at
                and (g.revoked_at == 0 or r.timestamp < g.revoked_at)
            )
            out.expect(
                "data.access-outside-grant",
                ok,
                f"batch {bid} record {i}: grant {r.grant_id} was not active at {r.timestamp}",
                event=b.event,
                file=str(f),
                batch=bid,
                record=i,
                grant=r.grant_id,
                timestamp=r.timestamp,
            )
    return checked
