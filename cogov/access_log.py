"""``cogov data log`` and ``cogov data prove``: the access log from chain events, and Merkle
proofs of a batch's records against the root anchored on chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import JsonOpt, PasswordFileOpt, read_file

if TYPE_CHECKING:
    from ledger.events import Event

#: Merged into ``cogov data`` (cogov/app.py).
log_app = typer.Typer()


def _events(names: set[str]) -> list[Event]:
    from ledger.events import read_events

    e = env()
    led = e.ledger()
    address = e.manifest.address("DataSharing")
    return read_events(led, {"DataSharing": address}, e.manifest.start_block, led.block_number(), names)


@log_app.command("log")
def log(
    dataset: Annotated[int | None, typer.Option("--dataset")] = None,
    grant: Annotated[int | None, typer.Option("--grant")] = None,
    owner: Annotated[
        int | None, typer.Option("--owner", help="Only the datasets of this member (a batch is one member's).")
    ] = None,
    batch_out: Annotated[
        Path | None, typer.Option("--batch-out", help="Write the served accesses as a batch file for `prove`.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The access log: served accesses and refused attempts, from chain events."""
    from functools import cache

    from ledger.data import RefusalReason

    @cache
    def owner_of(dataset_id: int) -> int:
        return env().data_sharing().dataset(dataset_id).owner_id

    rows: list[dict[str, Any]] = []  # JSON out
    for ev in _events({"AccessRecorded", "AccessRefused"}):
        a = ev.args
        if dataset is not None and int(a["datasetId"]) != dataset:
            continue
        if grant is not None and int(a["grantId"]) != grant:
            continue
        if owner is not None and owner_of(int(a["datasetId"])) != owner:
            continue
        rows.append(
            {
                "kind": "access" if ev.name == "AccessRecorded" else "refusal",
                "dataset_id": int(a["datasetId"]),
                "grant_id": int(a["grantId"]),
                "member_id": int(a.get("granteeId", a.get("requesterId", 0))),
                "seq": int(a["seq"]),
                "query_hash": "0x" + bytes(a["queryHash"]).hex(),
                "rows": int(a["rowCount"]) if "rowCount" in a else None,
                "at": int(a["at"]) if "at" in a else None,
                "reason": RefusalReason(int(a["reason"])).name.lower() if "reason" in a else None,
                "attempts": int(a["attempts"]) if "attempts" in a else None,
                "block": ev.block_number,
                "tx": ev.tx_hash,
            }
        )
    if batch_out is not None:
        from ledger.merkle import AccessRecord, batch_document

        records = [
            AccessRecord(r["grant_id"], bytes.fromhex(r["query_hash"][2:]), r["rows"], r["at"])
            for r in rows
            if r["kind"] == "access"
        ]
        batch_out.write_text(json.dumps(batch_document(records), indent=1) + "\n", encoding="utf-8")
        if not as_json:
            out.ok(f"wrote {len(records)} access records to {batch_out}")
    if as_json:
        out.emit_json(rows)
        return
    out.table(
        ["kind", "dataset", "grant", "member", "seq", "rows/reason", "block"],
        [
            [
                r["kind"],
                r["dataset_id"],
                r["grant_id"],
                r["member_id"],
                r["seq"],
                r["rows"] if r["kind"] == "access" else r["reason"],
                r["block"],
            ]
            for r in rows
        ],
    )


@log_app.command("prove")
def prove(
    batch_file: Annotated[
        Path, typer.Argument(help='JSON {"records": [{grant_id, query_hash, row_count, timestamp}], "batch_id": N}.')
    ],
    index: Annotated[int, typer.Option("--index", help="The record to prove (0-based).")] = 0,
    batch_id: Annotated[
        int | None, typer.Option("--batch-id", help="On-chain batch (default: the file's batch_id).")
    ] = None,
    anchor: Annotated[
        bool, typer.Option("--anchor", help="Anchor the file's Merkle root on chain (needs --key).")
    ] = False,
    key: Annotated[str | None, typer.Option("--key", help="Keystore label (for --anchor).")] = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Build a Merkle proof for one record of a batch file and verify it against the on-chain root."""
    from ledger.errors import ConfigError, IntegrityError, ValidationFailed
    from ledger.merkle import MerkleTree, batch_records, verify

    try:
        doc = json.loads(read_file(batch_file))
        records = batch_records(doc)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{batch_file} is not a batch file") from exc
    tree = MerkleTree.of_records(records)
    ds = env().data_sharing()
    if anchor:
        if not key:
            raise ValidationFailed("key", "--anchor needs --key")
        from ledger.membership import Registry

        signer = env().signer(key, password_file)
        member = Registry(ds.ledger).account_info(signer.address).member_id
        foreign = sorted(
            {r.grant_id for r in records if ds.dataset(ds.grant(r.grant_id).dataset_id).owner_id != member}
        )
        if foreign:
            raise ValidationFailed(
                "batch",
                f"grants {', '.join(map(str, foreign))} are not on datasets of member {member}: a batch holds only "
                "the anchoring member's own accesses (`cogov data log --owner`)",
            )
        times = [r.timestamp for r in records]
        bid, r = ds.anchor_batch(signer, tree.root, len(records), min(times), max(times))
        doc["batch_id"] = bid
        batch_file.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        out.ok(
            f"anchored batch {bid}: root 0x{tree.root.hex()}, {len(records)} records; tx {r.tx_hash}, gas {r.gas_used}"
        )
        return
    bid = batch_id or doc.get("batch_id")
    if not bid:
        raise ValidationFailed("batch-id", "give --batch-id (or anchor the file first)")
    proof = tree.proof(index)
    leaf = tree.leaf(index)
    batch = ds.batch(int(bid))
    local = verify(leaf, proof, batch.merkle_root)
    on_chain = ds.verify_batch_record(int(bid), leaf, proof)
    out.emit_json(
        {
            "batch_id": int(bid),
            "index": index,
            "leaf": "0x" + leaf.hex(),
            "proof": ["0x" + p.hex() for p in proof],
            "root": "0x" + batch.merkle_root.hex(),
            "verified_locally": local,
            "verified_on_chain": on_chain,
        }
    )
    if not (local and on_chain):
        raise IntegrityError(f"record {index} is not in batch {bid}: the file differs from what was anchored")
