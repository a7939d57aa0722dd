"""The indexer: chain logs of our contracts (through :class:`~ledger.logs.LogScanner`) → rows
in the index database; reads give events (:class:`~ledger.events.Event`).

Reads (``events``, ``count_events``, ``health`` …) only touch the database, so
the API can serve them while the chain is down. Writes happen in :meth:`sync`
(and :meth:`rebuild`), one database transaction per batch of blocks, together
with the new last indexed block: a crash never leaves half a batch, and the
next sync resumes after the last complete one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ledger import artifacts
from ledger.abi import (
    ContractSpec,
    canonical_json,
    decode_log_hex,
    hex_text,
    quantity,
)
from ledger.errors import (
    ChainUnavailable,
    ConfigError,
    IndexChainMismatch,
    IndexUnavailable,
    RpcError,
    ValidationFailed,
)
from ledger.index import schema
from ledger.index.reads import IndexReads
from ledger.index.rows import SyncProgress, SyncResult
from ledger.index.store import EventValues, Store, insert_events
from ledger.logs import Header, LogRange, LogScanner, Node, header

log = logging.getLogger("ledger.index")

ContractsArg = Mapping[str, str] | Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]
ProgressFn = Callable[[SyncProgress], None]

_FIRST_RANGE = 4  # blocks in a sync's first range of logs; the next ranges adapt
_PREFETCH = 2  # fetched ranges waiting to be written


class Indexer(IndexReads):
    """Indexes the events of a set of contracts into a SQL database.

    Args:
        node: the chain (a :class:`~ledger.client.Ledger`, or any :class:`~ledger.logs.Node`).
        contracts: name → address (ABI from ``ledger.artifacts.abi(name)``), or
            name → ``(address, abi)``.
        db_url: a SQLite file path, or an SQLAlchemy URL (``postgresql+psycopg://…``).
        confirmations: index only up to ``head - confirmations``.
        batch_blocks: the most blocks per request for logs and per DB transaction
            (a range: written in one transaction with the new last indexed block).
        batch_events: the number of logs a range aims at. A sync's first range is
            ``min(batch_blocks, 4)`` blocks; each next one is sized from the log
            density seen so far (at most 4 times the last, at most ``batch_blocks``),
            and fetched while the previous one is decoded and written.
        start_block: the first block to index (the deployment block, say).
        keep_blocks: how many recent block numbers keep their hash for reorg detection.
        upgrade: migrate an existing database to head (ledger/index/migrations/); False (the
            service in production) refuses one behind head: SchemaBehind, naming `cogov db upgrade`.
    """

    def __init__(
        self,
        node: Node,
        contracts: ContractsArg,
        db_url: str | os.PathLike[str],
        *,
        confirmations: int = 0,
        batch_blocks: int = 2000,
        batch_events: int = 5000,
        start_block: int = 0,
        keep_blocks: int = 256,
        upgrade: bool = True,
    ) -> None:
        if confirmations < 0:
            raise ValidationFailed("confirmations", "must be >= 0")
        if batch_blocks < 1:
            raise ValidationFailed("batch_blocks", "must be >= 1")
        if batch_events < 1:
            raise ValidationFailed("batch_events", "must be >= 1")
        if start_block < 0:
            raise ValidationFailed("start_block", "must be >= 0")
        if keep_blocks < 1:
            raise ValidationFailed("keep_blocks", "must be >= 1")
        self.node = node
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.batch_events = batch_events
        self.start_block = start_block
        self.keep_blocks = keep_blocks
        self._specs = self._load_specs(contracts)
        self._by_address = {s.address.lower(): s for s in self._specs.values()}
        self._stored_address = {s.name: s.address.lower() for s in self._specs.values()}
        self._addresses = sorted(s.address for s in self._specs.values())
        fingerprint = {name: s.fingerprint() for name, s in sorted(self._specs.items())}
        self._contracts_json = canonical_json(fingerprint)
        self._contracts_hash = "0x" + hashlib.sha256(self._contracts_json.encode()).hexdigest()
        self._lock = threading.RLock()
        self._rebuilding = False
        self._identified = False
        self._store = Store(db_url)
        try:
            with self._store.guard("open"):
                if not self._store.exists():
                    self._store.create()
                else:
                    schema.INDEX.prepare(self._store.engine, upgrade=upgrade, db=self._store.display)
        except IndexUnavailable as exc:  # reported by health(); rebuild() repairs
            log.error("%s", exc)

    # -- configuration ----------------------------------------------------------

    @staticmethod
    def _load_specs(contracts: ContractsArg) -> dict[str, ContractSpec]:
        specs: dict[str, ContractSpec] = {}
        seen: dict[str, str] = {}
        for name, value in contracts.items():
            if isinstance(value, str):
                address, abi = value, artifacts.abi(name)
            else:
                address, abi = value[0], [dict(item) for item in value[1]]
            try:
                spec = ContractSpec.from_abi(name, address, abi)
            except ValueError as exc:
                raise ConfigError(f"bad address for {name}: {address!r}") from exc
            if spec.address.lower() in seen:
                raise ConfigError(
                    f"{name} and {seen[spec.address.lower()]} share the address {spec.address}"
                )
            seen[spec.address.lower()] = name
            specs[name] = spec
        return specs

    # -- chain access ----------------------------------------------------------

    def head(self) -> int:
        """The chain's current block number."""
        return quantity(self.node.rpc("eth_blockNumber"))

    def head_mark(self) -> tuple[int, str] | None:
        """The chain head's number and hash (one RPC): a hash commits to every block below it, so
        an unchanged one means no new block, no reorg and the same chain (None: no block)."""
        top = header(self.node)
        return None if top is None else (top.number, top.hash)

    def store_mark(self) -> tuple[object, ...]:
        """What changes when the database does under this process: the SQLite file's
        :meth:`~ledger.index.store.Store.signature` (deleted, replaced, truncated, written in place)
        and the transactions this process committed to it. No query, no connection."""
        return (self._store.signature(), self._store.commits)

    def _chain_hash(self, number: int) -> str | None:
        try:
            got = header(self.node, number)
        except RpcError:
            return None
        return got.hash if got else None

    def _chain_identity(self) -> tuple[int, str]:
        chain_id = quantity(self.node.rpc("eth_chainId"))
        genesis = header(self.node, 0)
        if genesis is None:
            raise ChainUnavailable("the node", "no genesis block")
        return chain_id, genesis.hash

    def _scanner(self) -> LogScanner:
        """Ranges of at most ``batch_blocks`` blocks aiming at ``batch_events`` logs, from
        ``min(batch_blocks, 4)`` blocks, growing at most fourfold, two fetched ahead."""
        return LogScanner(
            self.node,
            self._addresses,
            first=_FIRST_RANGE,
            max_blocks=self.batch_blocks,
            target=self.batch_events,
            grow=4,
            prefetch=_PREFETCH,
        )

    # -- database state ----------------------------------------------------------

    def _set_meta(self, conn: sa.Connection, values: Mapping[str, str]) -> None:
        keys = list(values)
        conn.execute(sa.delete(schema.meta).where(schema.meta.c.key.in_(keys)))
        conn.execute(sa.insert(schema.meta), [{"key": k, "value": values[k]} for k in keys])

    def _check_chain(self, meta: Mapping[str, str], chain_id: int, genesis: str) -> None:
        if "chain_id" in meta and int(meta["chain_id"]) != chain_id:
            raise IndexChainMismatch("chain id", meta["chain_id"], chain_id, self.db)
        if "genesis_hash" in meta and meta["genesis_hash"] != genesis:
            raise IndexChainMismatch("genesis hash", meta["genesis_hash"], genesis, self.db)

    # -- sync -------------------------------------------------------------------

    def sync(
        self, progress: ProgressFn | None = None, *, to_block: int | None = None
    ) -> SyncResult:
        """Index from the last indexed block + 1 up to ``head - confirmations``.

        Args:
            progress: called after every written batch.
            to_block: stop at this block if it is below the target.

        Raises:
            ChainUnavailable: the node does not answer (nothing half-written).
            IndexChainMismatch: the database belongs to another chain.
            IndexUnavailable: the database is missing, corrupt or for other contracts.
        """
        with self._lock:
            return self._sync(progress, to_block)

    def _sync(self, progress: ProgressFn | None, to_block: int | None) -> SyncResult:
        started = time.monotonic()
        self._require_db("sync")
        chain_id, genesis = self._chain_identity()
        with self._store.guard("sync"), self._store.engine.begin() as conn:
            meta = self._read_meta(conn)
            self._check_meta(meta)
            self._check_chain(meta, chain_id, genesis)
            if "chain_id" not in meta:
                self._set_meta(
                    conn,
                    {
                        "schema_version": schema.SCHEMA_VERSION,
                        "chain_id": str(chain_id),
                        "genesis_hash": genesis,
                        "contracts": self._contracts_json,
                        "contracts_hash": self._contracts_hash,
                        "start_block": str(self.start_block),
                    },
                )
        self._identified = True  # (an emptied database is synced from the start: what health() refuses)
        last = int(meta["last_block"]) if "last_block" in meta else None
        head = self.head()
        target = head - self.confirmations
        if to_block is not None:
            target = min(target, to_block)

        ancestor, removed = (None, 0)
        if last is not None:
            ancestor, removed = self._handle_reorg(last)
            if ancestor is not None:
                last = ancestor if ancestor >= self.start_block else None

        first: int | None = None
        written = 0
        batches = 0
        complete = True
        nxt = self.start_block if last is None else last + 1
        ranges = self._scanner().ranges(nxt, target)
        try:
            for fetched in ranges:
                count = self._write_range(fetched, last)
                if count is None:  # the chain moved under us: stop, the next sync resumes
                    complete = False
                    break
                first = fetched.first if first is None else first
                written += count
                batches += 1
                last = fetched.last
                if progress is not None:
                    progress(
                        SyncProgress(
                            from_block=first, to_block=fetched.last, target=target, events=written
                        )
                    )
        finally:
            ranges.close()  # stops and joins the fetching thread now, not when collected
        result = SyncResult(
            from_block=first, last_block=last, head=head, target=target, events=written, batches=batches,
            reorg_ancestor=ancestor, removed_events=removed, complete=complete, elapsed=time.monotonic() - started,
        )
        if batches:
            log.info(
                "indexed blocks %s-%s: %d events in %d batches (%.2fs)",
                first,
                last,
                written,
                batches,
                result.elapsed,
            )
        return result

    def _handle_reorg(self, last: int) -> tuple[int | None, int]:
        """If the last indexed block left the chain, roll back to the common ancestor.

        Returns ``(ancestor, removed events)``, ancestor None when there was no reorg.
        """
        with self._store.guard("read blocks"), self._store.engine.connect() as conn:
            stored = conn.execute(
                sa.select(schema.blocks.c.number, schema.blocks.c.hash).order_by(
                    schema.blocks.c.number.desc()
                )
            ).all()
        if stored and int(stored[0][0]) == last and self._chain_hash(last) == stored[0][1]:
            return None, 0
        ancestor = self.start_block - 1
        for number, block_hash in stored:
            if self._chain_hash(int(number)) == block_hash:
                ancestor = int(number)
                break
        else:
            if stored:
                log.warning("no stored block is still on the chain: re-indexing everything")
        log.warning("reorg: block %d is no longer on the chain; rolling back to %d", last, ancestor)
        with self._store.guard("roll back"), self._store.engine.begin() as conn:
            removed = conn.execute(
                sa.delete(schema.events).where(schema.events.c.block_number > ancestor)
            ).rowcount
            conn.execute(sa.delete(schema.blocks).where(schema.blocks.c.number > ancestor))
            if ancestor >= self.start_block:
                self._set_meta(conn, {"last_block": str(ancestor)})
            else:
                conn.execute(sa.delete(schema.meta).where(schema.meta.c.key == "last_block"))
        return ancestor, int(removed or 0)

    def _write_range(self, f: LogRange, expected_last: int | None) -> int | None:
        """Decode and write one fetched range in one transaction with its new last block;
        None (nothing written) if the chain changed meanwhile."""
        frm, to, end = f.first, f.last, f.end
        if end is None:
            return None
        headers: dict[int, Header] = {to: end}
        blocks: dict[Any, tuple[int, str, int]] = {}  # raw blockNumber -> (number, hash, time)
        hashes: dict[int, str] = {}
        rows: list[EventValues] = []
        by_address = self._by_address
        for lg in f.logs:
            if lg.get("removed"):
                continue
            spec = by_address.get(str(lg["address"]).lower())
            if spec is None:  # a node that ignores the address filter
                continue
            raw_number = lg["blockNumber"]
            block_hash = hex_text(lg["blockHash"])
            known = blocks.get(raw_number)
            if known is None or known[1] != block_hash:
                number = quantity(raw_number)
                if hashes.setdefault(number, block_hash) != block_hash:
                    return None  # two versions of one block in one answer
                stamp = lg.get("blockTimestamp")
                if stamp is not None:
                    time_ = quantity(stamp)
                else:
                    header = headers.get(number) or f.headers.get(number)
                    if header is None or header.hash != block_hash:
                        log.info("block %d changed while indexing; will retry", number)
                        return None
                    headers[number] = header
                    time_ = header.time
                known = blocks[raw_number] = (number, block_hash, time_)
            topics = lg["topics"]
            data = lg["data"]
            if topics and not isinstance(topics[0], str):  # formatted by web3 (eth-tester)
                topics = [hex_text(t) for t in topics]
            if not isinstance(data, str):
                data = hex_text(data)
            name, args_json, ok = decode_log_hex(spec, topics, data)
            tx_hash = hex_text(lg["transactionHash"])
            if not ok:
                log.warning("undecodable log %s of %s at block %d", tx_hash, spec.name, known[0])
            rows.append(
                (
                    known[0],
                    block_hash,
                    known[2],
                    tx_hash,
                    quantity(lg["transactionIndex"]),
                    quantity(lg["logIndex"]),
                    spec.name,
                    self._stored_address[spec.name],
                    name,
                    args_json,
                )
            )
        if to in hashes and hashes[to] != end.hash:
            return None
        rows.sort(key=_chain_order)

        times = {number: t for number, _, t in blocks.values()}
        block_rows = [
            {"number": h.number, "hash": h.hash, "parent_hash": h.parent_hash, "time": h.time}
            for h in headers.values()
        ]
        for number, block_hash in hashes.items():  # blocks known only from their logs
            if number not in headers:
                block_rows.append(
                    {"number": number, "hash": block_hash, "parent_hash": None, "time": times[number]}
                )
        with self._store.guard("write batch"), self._store.engine.begin() as conn:
            current = conn.execute(
                sa.select(schema.meta.c.value).where(schema.meta.c.key == "last_block")
            ).scalar_one_or_none()
            if (int(current) if current is not None else None) != expected_last:
                raise IndexUnavailable(
                    f"event index {self.db} was written by someone else meanwhile "
                    f"(last block {current}, expected {expected_last})"
                )
            if rows:
                insert_events(conn, rows)
            conn.execute(sa.delete(schema.blocks).where(schema.blocks.c.number >= frm))
            conn.execute(sa.insert(schema.blocks), block_rows)
            conn.execute(
                sa.delete(schema.blocks).where(schema.blocks.c.number <= to - self.keep_blocks)
            )
            self._set_meta(conn, {"last_block": str(to)})
        return len(rows)

    def rebuild(self, progress: ProgressFn | None = None) -> SyncResult:
        """Drop everything (a lost or corrupt SQLite file too) and index from ``start_block``."""
        with self._lock:
            self._rebuilding = True
            self._identified = False  # the database is made new here
            try:
                log.warning("rebuilding event index %s from block %d", self.db, self.start_block)
                with self._store.guard("rebuild"):
                    self._store.reset()
                return self._sync(progress, None)
            finally:
                self._rebuilding = False

    # -- chain reads --------------------------------------------------------------

    def lag(self) -> int:
        """Blocks between the chain head and the last indexed block (asks the node)."""
        last = self.last_block()
        return self.head() - (last if last is not None else self.start_block - 1)


def _chain_order(row: EventValues) -> tuple[int, int]:
    return (row[0], row[5])


__all__ = ["Indexer"]
