"""Rule 6, the operator's index: every row against the auditor's own fetch of the chain, up to
the audited head.

Rows are matched on their natural key ``(tx_hash, log_index)``, the hash compared in lower
case so that a row spelled another way still meets its event. Up to the index's recorded
last block ``L`` (or the audited head, if lower):

* a row the chain lacks was added, and so was a second row of one key (the same
  transaction hash in upper case, say: the portal would count it twice);
* a chain event without a row was dropped;
* a row whose block, hashes, time, contract, address, event or arguments differ from the
  chain's, in content or in spelling (hashes and addresses are stored lower-case), was altered;
* rows or kept block hashes above ``L``: the last block was moved back over what had been
  indexed (the indexer writes rows, hashes and last block in one transaction, and rolls all
  three back together on a reorg), so the events missing above it were dropped too.

Otherwise, events missing above ``L`` are lag, not tampering: one ``index.lag`` finding
says how many blocks and events the index has not caught up with (a warning when events
are missing, info when only blocks are). Rows above the audited head are outside the audit.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.abi import canonical_json
from ledger.audit.collect import Collector
from ledger.audit.findings import Severity
from ledger.events import Event, canonical_args
from ledger.index.rows import EventRow

FIELDS = (
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "tx_index",
    "contract",
    "address",
    "event",
    "args_json",
)


def _expected(e: Event) -> dict[str, object]:
    return {
        "block_number": e.block_number,
        "block_hash": e.block_hash,
        "block_time": e.block_time,
        "tx_hash": e.tx_hash,
        "tx_index": e.tx_index,
        "contract": e.contract,
        "address": e.address.lower(),
        "event": e.name,
        "args_json": canonical_json(canonical_args(e)),
    }


def compare_index(
    rows: Sequence[EventRow],
    events: Sequence[Event],
    last_block: int | None,
    kept_blocks: Sequence[int],
    head: int,
    out: Collector,
    start_block: int = 0,
) -> dict[str, int | None]:
    """Compare the index's ``rows`` (up to ``head``) with the chain's ``events`` (up to ``head``).

    Args:
        last_block: the index's recorded last indexed block (None: nothing indexed).
        kept_blocks: the numbers of the block hashes the index keeps for reorg detection.
        start_block: where the index starts (the deployment's first block).
    """
    chain = {e.key: e for e in events if e.block_number <= head}
    indexed = start_block - 1 if last_block is None else last_block
    seen: dict[tuple[str, int], int] = {}
    above = 0  # rows above the recorded last block
    for row in sorted(rows, key=lambda r: (r.block_number, r.log_index, r.id)):
        if row.block_number > head:
            continue
        key = (row.tx_hash.lower(), row.log_index)
        rec = {"row": {f: getattr(row, f) for f in ("id", *FIELDS, "log_index")}}
        where = {"block": row.block_number, "tx_hash": row.tx_hash, "contract": row.contract}
        first = seen.get(key)
        if first is not None:
            out.expect(
                "index.row-added",
                False,
                f"index row {row.id} ({row.contract}.{row.event}) repeats row {first}: one event "
                f"(transaction {key[0]}, log {row.log_index}) indexed twice",
                **where,
                **rec,
                repeats=first,
            )
            continue
        seen[key] = row.id
        above += row.block_number > indexed
        e = chain.get(key)
        if not out.expect(
            "index.row-added",
            e is not None,
            f"index row {row.id} ({row.contract}.{row.event}) is not an event on the chain",
            **where,
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

    kept_above = [n for n in kept_blocks if n > indexed]
    rewound = bool(above or kept_above)
    out.expect(
        "index.last-block-rewound",
        not rewound,
        f"the index's last block is {last_block}, yet it holds "
        + " and ".join(
            x
            for x in (
                f"{above} row(s) above it" if above else "",
                f"hashes of blocks up to {max(kept_above)}" if kept_above else "",
            )
            if x
        )
        + ": its last block was moved back over indexed blocks",
        last_block=last_block,
        rows_above=above,
        kept_blocks_above=kept_above[:20],
    )
    limit = head if rewound else min(indexed, head)
    for key, e in chain.items():
        if e.block_number > limit:
            continue
        out.expect(
            "index.row-dropped",
            key in seen,
            f"the index lacks {e.contract}.{e.name} of block {e.block_number}",
            event=e,
        )

    behind = [e for e in chain.values() if e.block_number > limit and e.key not in seen]
    if limit < head:
        out.check("index.lag")
        out.add(
            "index.lag",
            f"the index is {head - limit} block(s) behind the audited head {head} (its last block is "
            f"{last_block}): {len(behind)} event(s) of blocks {limit + 1}..{head} are not in it yet",
            severity=Severity.WARNING if behind else Severity.INFO,
            last_block=last_block,
            head=head,
            blocks_behind=head - limit,
            events_behind=len(behind),
        )
    return {
        "rows": len(seen),
        "chain_events": sum(1 for e in chain.values() if e.block_number <= limit),
        "last_block": last_block,
        "blocks_behind": head - limit,
        "events_behind": len(behind),
    }
