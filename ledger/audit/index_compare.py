"""Rule 6, the operator's index: every row against the auditor's own fetch of the chain.

Rows are matched on their natural key ``(tx_hash, log_index)``. A row the chain
lacks was added, a chain event (up to the index's last block) without a row was
dropped, and a row whose block, hash, time, contract, event or arguments differ
was altered.
"""

from __future__ import annotations

from ledger.audit.collect import Collector
from ledger.audit.events import Event
from ledger.index.rows import EventRow

FIELDS = ("block_number", "block_hash", "block_time", "tx_index", "contract", "address", "event", "args_json")


def _expected(e: Event) -> dict[str, object]:
    return {
        "block_number": e.block,
        "block_hash": e.block_hash,
        "block_time": e.time,
        "tx_index": e.tx_index,
        "contract": e.contract,
        "address": e.address,
        "event": e.name,
        "args_json": e.args_json(),
    }


def compare_index(rows: list[EventRow], events: list[Event], last_block: int | None, out: Collector) -> dict[str, int]:
    chain = {e.key: e for e in events}
    seen: set[tuple[str, int]] = set()
    for row in rows:
        key = (row.tx_hash.lower(), row.log_index)
        seen.add(key)
        e = chain.get(key)
        rec = {"row": {f: getattr(row, f) for f in ("id", *FIELDS, "tx_hash", "log_index")}}
        if not out.expect(
            "index.row-added",
            e is not None,
            f"index row {row.id} ({row.contract}.{row.event}) is not an event on the chain",
            block=row.block_number,
            tx_hash=row.tx_hash,
            contract=row.contract,
            **rec,
        ):
            continue
        assert e is not None
        want = _expected(e)
        diff = {f: {"index": getattr(row, f), "chain": want[f]} for f in FIELDS if getattr(row, f) != want[f]}
        out.expect(
            "index.row-altered",
            not diff,
            f"index row {row.id} ({row.contract}.{row.event}) differs from the chain in {', '.join(diff)}",
            event=e,
            fields=diff,
            **rec,
        )
    limit = last_block if last_block is not None else -1
    for key, e in chain.items():
        if e.block > limit:
            continue
        out.expect(
            "index.row-dropped", key in seen, f"the index lacks {e.contract}.{e.name} of block {e.block}", event=e
        )
    return {"rows": len(rows), "chain_events": sum(1 for e in events if e.block <= limit)}
