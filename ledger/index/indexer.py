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
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ledger import artifacts
from ledger.abi import (
    ContractSpec,
    EventSpec,
    canonical_json,
    checksum,
    decode_log_hex,
    hex_text,
    normalize_value,
    quantity,
)
from ledger.errors import (
    ChainMismatch,
    ChainUnavailable,
    ConfigError,
    IndexUnavailable,
    LedgerError,
    RpcError,
    ValidationFailed,
)
from ledger.events import Event
from ledger.index import schema
from ledger.index.rows import EventRow, IndexHealth, SyncProgress, SyncResult
from ledger.index.store import Store
from ledger.logs import Header, LogRange, LogScanner, Node, header

log = logging.getLogger("ledger.index")

ContractsArg = Mapping[str, str] | Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]
Order = Literal["asc", "desc"]
AnyOf = Sequence[tuple[str, Mapping[str, Any] | None]]
ProgressFn = Callable[[SyncProgress], None]

_ARG_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_MAX_LIMIT = 10_000
_FIRST_RANGE = 4  # blocks in a sync's first range of logs; the next ranges adapt
_PREFETCH = 2  # fetched ranges waiting to be written


class IndexChainMismatch(ChainMismatch):
    """The index database was built from another chain (or another deployment)."""

    def __init__(self, what: str, indexed: Any, connected: Any, db: str) -> None:
        LedgerError.__init__(
            self,
            f"event index {db} belongs to another chain: its {what} is {indexed}, "
            f"the connected chain's is {connected}; rebuild() the index to switch",
            what=what,
            expected=str(indexed),
            actual=str(connected),
        )


class Indexer:
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
        self._store = Store(db_url)
        try:
            with self._store.guard("open"):
                if not self._store.exists():
                    self._store.create()
                else:
                    with self._store.engine.begin() as conn:
                        schema.create(conn)
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

    @property
    def db(self) -> str:
        """The database, for messages (password hidden)."""
        return self._store.display

    @property
    def contracts(self) -> dict[str, str]:
        """Indexed contracts: name → checksummed address."""
        return {name: s.address for name, s in self._specs.items()}

    def close(self) -> None:
        """Release database connections."""
        self._store.dispose()

    # -- chain access ----------------------------------------------------------

    def head(self) -> int:
        """The chain's current block number."""
        return quantity(self.node.rpc("eth_blockNumber"))

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

    def _read_meta(self, conn: sa.Connection) -> dict[str, str]:
        rows = conn.execute(sa.select(schema.meta.c.key, schema.meta.c.value)).all()
        return {str(k): str(v) for k, v in rows}

    def _set_meta(self, conn: sa.Connection, values: Mapping[str, str]) -> None:
        keys = list(values)
        conn.execute(sa.delete(schema.meta).where(schema.meta.c.key.in_(keys)))
        conn.execute(sa.insert(schema.meta), [{"key": k, "value": values[k]} for k in keys])

    def _check_meta(self, meta: Mapping[str, str]) -> None:
        """Refuse a database written for another schema, contract set or start block."""
        version = meta.get("schema_version")
        if version is not None and version != schema.SCHEMA_VERSION:
            raise IndexUnavailable(
                f"event index {self.db} has schema {version}, this code needs "
                f"{schema.SCHEMA_VERSION}; rebuild() it"
            )
        stored = meta.get("contracts_hash")
        if stored is not None and stored != self._contracts_hash:
            try:
                built = {n: c["address"] for n, c in json.loads(meta["contracts"]).items()}
            except (KeyError, TypeError, ValueError):
                built = {}
            raise IndexUnavailable(
                f"event index {self.db} was built for other contracts ({built or 'unknown'}, "
                f"not {self.contracts}) or other ABIs; rebuild() it",
                indexed=built,
            )
        start = meta.get("start_block")
        if start is not None and int(start) != self.start_block:
            raise IndexUnavailable(
                f"event index {self.db} starts at block {start}, not {self.start_block}; "
                "rebuild() it"
            )

    def _check_chain(self, meta: Mapping[str, str], chain_id: int, genesis: str) -> None:
        if "chain_id" in meta and int(meta["chain_id"]) != chain_id:
            raise IndexChainMismatch("chain id", meta["chain_id"], chain_id, self.db)
        if "genesis_hash" in meta and meta["genesis_hash"] != genesis:
            raise IndexChainMismatch("genesis hash", meta["genesis_hash"], genesis, self.db)

    def _require_db(self, action: str) -> None:
        if not self._store.exists():
            raise IndexUnavailable(
                f"event index {self.db} unavailable ({action}): the database file is "
                "missing or empty; rebuild() it"
            )

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
            from_block=first,
            last_block=last,
            head=head,
            target=target,
            events=written,
            batches=batches,
            reorg_ancestor=ancestor,
            removed_events=removed,
            complete=complete,
            elapsed=time.monotonic() - started,
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
        rows: list[tuple[Any, ...]] = []
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
                _insert_events(conn, rows)
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
            try:
                log.warning("rebuilding event index %s from block %d", self.db, self.start_block)
                with self._store.guard("rebuild"):
                    self._store.reset()
                return self._sync(progress, None)
            finally:
                self._rebuilding = False

    def follow(
        self,
        stop_event: threading.Event,
        poll_interval: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        """Sync until ``stop_event`` is set: the body of the API's background thread.

        Failures are logged, never raised: an unreachable chain is retried with
        exponential backoff up to ``max_backoff``; a lost database shows in
        :meth:`health` until :meth:`rebuild` repairs it.
        """
        delay = poll_interval
        while not stop_event.is_set():
            try:
                self.sync()
                delay = poll_interval
            except ChainUnavailable as exc:
                delay = min(max(delay, poll_interval) * 2, max_backoff)
                log.warning("%s; retrying in %.1fs", exc, delay)
            except LedgerError as exc:
                delay = min(max(delay, poll_interval) * 2, max_backoff)
                log.error("event index sync failed: %s; retrying in %.1fs", exc, delay)
            except Exception:  # a bug must not kill the API's thread silently
                delay = min(max(delay, poll_interval) * 2, max_backoff)
                log.exception("event index sync crashed; retrying in %.1fs", delay)
            stop_event.wait(delay)

    # -- reads ------------------------------------------------------------------

    def last_block(self) -> int | None:
        """The last indexed block, None when nothing is indexed yet."""
        self._require_db("last_block")
        with self._store.guard("last_block"), self._store.engine.connect() as conn:
            value = conn.execute(
                sa.select(schema.meta.c.value).where(schema.meta.c.key == "last_block")
            ).scalar_one_or_none()
        return int(value) if value is not None else None

    def version(self) -> tuple[int, str] | None:
        """``(last indexed block, its hash)``: changes whenever the index's content does
        (new blocks, or a reorg rolled back and re-indexed to the same height). One
        small query; None when nothing is indexed. For caches of answers read from it."""
        self._require_db("version")
        b = schema.blocks.c
        query = (
            sa.select(schema.meta.c.value, b.hash)
            .select_from(schema.meta)
            .outerjoin(schema.blocks, b.number == sa.cast(schema.meta.c.value, sa.BigInteger))
            .where(schema.meta.c.key == "last_block")
        )
        with self._store.guard("version"), self._store.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return int(row[0]), str(row[1] or "")

    def kept_blocks(self) -> dict[int, str]:
        """Block number → hash of the blocks kept for reorg detection (see :mod:`.schema`).
        The indexer never keeps one above its last indexed block."""
        self._require_db("kept_blocks")
        b = schema.blocks.c
        with self._store.guard("kept_blocks"), self._store.engine.connect() as conn:
            return {int(n): str(h) for n, h in conn.execute(sa.select(b.number, b.hash).order_by(b.number))}

    def lag(self) -> int:
        """Blocks between the chain head and the last indexed block (asks the node)."""
        last = self.last_block()
        return self.head() - (last if last is not None else self.start_block - 1)

    def meta(self) -> dict[str, str]:
        """The stored meta values (chain id, genesis hash, contracts, last block …)."""
        self._require_db("meta")
        with self._store.guard("meta"), self._store.engine.connect() as conn:
            return self._read_meta(conn)

    def count(self) -> int:
        """All indexed events."""
        return self.count_events()

    def _filters(
        self,
        contract: str | None,
        event: str | None,
        args: Mapping[str, Any] | None,
        from_block: int | None,
        to_block: int | None,
        tx_hash: str | None,
        any_of: AnyOf | None = None,
        from_time: int | None = None,
        to_time: int | None = None,
    ) -> list[sa.ColumnElement[bool]]:
        e = schema.events.c
        where: list[sa.ColumnElement[bool]] = []
        if from_time is not None:
            where.append(e.block_time >= from_time)
        if to_time is not None:
            where.append(e.block_time <= to_time)
        branches_carry_contract = any_of is not None and any(alt_args for _, alt_args in any_of)
        if contract is not None and not branches_carry_contract:
            where.append(e.contract == contract)
        if event is not None:
            where.append(e.event == event)
        if from_block is not None:
            where.append(e.block_number >= from_block)
        if to_block is not None:
            where.append(e.block_number <= to_block)
        if tx_hash is not None:
            where.append(e.tx_hash == hex_text(tx_hash))
        if args:
            spec = self._event_spec(contract, event)
            for name, value in args.items():
                where.append(self._arg_equals(spec, name, value))
        if any_of is not None:
            if not any_of:
                raise ValidationFailed("any_of", "give at least one (event, args) pair")
            if not any(alt_args for _, alt_args in any_of):  # SQLite plans IN far better than OR
                where.append(e.event.in_([alt_event for alt_event, _ in any_of]))
                return where
            alternatives = []
            for alt_event, alt_args in any_of:
                spec = self._event_spec(contract, alt_event)
                # the contract inside each branch too: SQLite then reads each branch from the
                # (contract, event, argument) index instead of filtering every row of the contract
                terms = [e.contract == contract] if contract is not None else []
                terms.append(e.event == alt_event)
                terms += [self._arg_equals(spec, n, v) for n, v in (alt_args or {}).items()]
                alternatives.append(sa.and_(*terms))
            where.append(sa.or_(*alternatives))
        return where

    def _event_spec(self, contract: str | None, event: str | None) -> EventSpec | None:
        if event is None:
            return None
        candidates = (
            [self._specs[contract]] if contract in self._specs else list(self._specs.values())
        )
        for c in candidates:
            spec = c.by_name(event)
            if spec is not None:
                return spec
        return None

    def _arg_equals(self, spec: EventSpec | None, name: str, value: Any) -> sa.ColumnElement[bool]:
        if not _ARG_NAME.match(name):
            raise ValidationFailed(f"args.{name}", "not an argument name")
        if isinstance(value, list | tuple | dict):
            raise ValidationFailed(f"args.{name}", "only scalar values can be compared")
        try:
            wanted = normalize_value(spec.input(name) if spec else None, value)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"args.{name}", str(exc)) from exc
        column = schema.events.c.args
        dialect = self._store.dialect
        if dialect == "sqlite":  # json_extract gives SQL text for strings, 1/0 for booleans
            # the path as a literal (the name is checked above), so that the expression
            # indexes of schema.ARG_INDEXES can serve the comparison
            extracted: sa.ColumnElement[Any] = sa.func.json_extract(
                column, sa.literal_column(schema.json_path_sql(name))
            )
            sql_value: Any = (1 if wanted else 0) if isinstance(wanted, bool) else wanted
            condition: sa.ColumnElement[bool] = extracted == sql_value
            return condition
        if dialect == "postgresql":  # ->> gives text, 'true'/'false' for booleans
            text: sa.ColumnElement[Any] = sa.cast(column, postgresql.JSONB)[name].astext
            pg_value: Any = ("true" if wanted else "false") if isinstance(wanted, bool) else wanted
            pg_condition: sa.ColumnElement[bool] = text == pg_value
            return pg_condition
        raise ConfigError(f"argument filters need SQLite or PostgreSQL, not {dialect}")

    def events(
        self,
        contract: str | None = None,
        event: str | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        tx_hash: str | None = None,
        any_of: AnyOf | None = None,
        from_time: int | None = None,
        to_time: int | None = None,
        limit: int = 100,
        offset: int = 0,
        order: Order = "asc",
    ) -> list[Event]:
        """The indexed events matching every given filter (see :meth:`rows`)."""
        return [
            self.event_of(r)
            for r in self.rows(
                contract,
                event,
                args=args,
                from_block=from_block,
                to_block=to_block,
                tx_hash=tx_hash,
                any_of=any_of,
                from_time=from_time,
                to_time=to_time,
                limit=limit,
                offset=offset,
                order=order,
            )
        ]

    def rows(
        self,
        contract: str | None = None,
        event: str | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        tx_hash: str | None = None,
        any_of: AnyOf | None = None,
        from_time: int | None = None,
        to_time: int | None = None,
        limit: int = 100,
        offset: int = 0,
        order: Order = "asc",
    ) -> list[EventRow]:
        """Indexed rows, as stored (canonical JSON arguments), matching every given filter, in
        chain order. Readers want :meth:`events`; this is for checking what is stored.

        Args:
            contract: contract name (as given to the indexer).
            event: event name.
            args: argument name → value, compared for equality after the same
                canonicalisation as stored (ints, bytes, addresses in any case).
            from_block, to_block: inclusive block range.
            tx_hash: only the events of one transaction.
            any_of: ``[(event, args), ...]``: rows matching any one pair (with the
                other filters), e.g. two events filtered on differently named arguments.
            from_time, to_time: inclusive bounds on the block's Unix time.
            limit: 1..10000; offset: rows to skip; order: ``"asc"`` or ``"desc"``.
        """
        if not 1 <= limit <= _MAX_LIMIT:
            raise ValidationFailed("limit", f"must be between 1 and {_MAX_LIMIT}")
        if offset < 0:
            raise ValidationFailed("offset", "must be >= 0")
        if order not in ("asc", "desc"):
            raise ValidationFailed("order", "must be 'asc' or 'desc'")
        e = schema.events.c
        keys = [e.block_number, e.log_index]
        query = (
            sa.select(schema.events)
            .where(*self._filters(
                    contract, event, args, from_block, to_block, tx_hash, any_of, from_time, to_time
                ))
            .order_by(*(k.desc() for k in keys) if order == "desc" else keys)
            .limit(limit)
            .offset(offset)
        )
        self._require_db("events")
        with self._store.guard("events"), self._store.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]

    def count_events(
        self,
        contract: str | None = None,
        event: str | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        tx_hash: str | None = None,
        any_of: AnyOf | None = None,
        from_time: int | None = None,
        to_time: int | None = None,
    ) -> int:
        """How many events :meth:`events` would return without limit and offset."""
        query = (
            sa.select(sa.func.count())
            .select_from(schema.events)
            .where(*self._filters(
                    contract, event, args, from_block, to_block, tx_hash, any_of, from_time, to_time
                ))
        )
        self._require_db("count")
        with self._store.guard("count"), self._store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def iter_events(
        self,
        page: int = 5000,
        contract: str | None = None,
        event: str | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> Iterator[Event]:
        """Every matching indexed event in chain order (see :meth:`iter_rows`)."""
        for r in self.iter_rows(page, contract, event, args=args, from_block=from_block, to_block=to_block):
            yield self.event_of(r)

    def iter_rows(
        self,
        page: int = 5000,
        contract: str | None = None,
        event: str | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> Iterator[EventRow]:
        """Every matching indexed row in chain order, fetched in pages by key
        (``(block_number, log_index)`` after the last row seen, never an OFFSET)."""
        e = schema.events.c
        where = self._filters(contract, event, args, from_block, to_block, None)
        after = (-1, -1)
        while True:
            query = (
                sa.select(schema.events)
                .where(sa.tuple_(e.block_number, e.log_index) > sa.tuple_(*after), *where)
                .order_by(e.block_number, e.log_index)
                .limit(page)
            )
            self._require_db("iter_events")
            with self._store.guard("iter_events"), self._store.engine.connect() as conn:
                rows = [_row(r) for r in conn.execute(query).mappings()]
            yield from rows
            if len(rows) < page:
                return
            after = (rows[-1].block_number, rows[-1].log_index)

    def decode_args(self, row: EventRow) -> dict[str, Any]:
        """A row's arguments as Python values (``int``, ``bytes``, ``str``, ``bool`` …)."""
        spec = self._specs.get(row.contract)
        return spec.to_python(row.event, row.args) if spec is not None else dict(row.args)

    def event_of(self, row: EventRow) -> Event:
        """The :class:`~ledger.events.Event` a stored row holds."""
        return Event(
            contract=row.contract,
            name=row.event,
            args=self.decode_args(row),
            block_number=row.block_number,
            block_hash=row.block_hash,
            tx_hash=row.tx_hash,
            log_index=row.log_index,
            time=row.block_time,
            address=checksum(row.address),
            tx_index=row.tx_index,
        )

    def health(self, *, deep: bool = False) -> IndexHealth:
        """Whether the database is readable and consistent; never raises.

        Checks that the file exists (SQLite), the tables are there, ``meta`` matches
        this indexer's schema, contracts and start block, events end at the last
        indexed block and its hash is kept. ``deep`` adds SQLite's ``quick_check``.
        """
        if self._rebuilding:
            return IndexHealth(False, "rebuilding", None, None, None, rebuilding=True)
        try:
            self._require_db("health")
            with self._store.guard("health"), self._store.engine.connect() as conn:
                present = set(sa.inspect(conn).get_table_names())
                missing = [t for t in schema.TABLES if t not in present]
                if missing:
                    raise IndexUnavailable(f"event index {self.db} lacks tables {missing}")
                if deep and self._store.dialect == "sqlite":
                    verdict = conn.exec_driver_sql("PRAGMA quick_check").scalar()
                    if verdict != "ok":
                        raise IndexUnavailable(f"event index {self.db} is corrupt: {verdict}")
                meta = self._read_meta(conn)
                self._check_meta(meta)
                events = int(
                    conn.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar_one()
                )
                top = conn.execute(sa.select(sa.func.max(schema.events.c.block_number))).scalar()
                last = int(meta["last_block"]) if "last_block" in meta else None
                chain_id = int(meta["chain_id"]) if "chain_id" in meta else None
                if last is not None:
                    kept = conn.execute(
                        sa.select(schema.blocks.c.hash).where(schema.blocks.c.number == last)
                    ).scalar_one_or_none()
                    if kept is None:
                        raise IndexUnavailable(
                            f"event index {self.db}: no hash kept for block {last}"
                        )
                if top is not None and (last is None or int(top) > last):
                    raise IndexUnavailable(
                        f"event index {self.db}: events beyond the last indexed block {last}"
                    )
            return IndexHealth(True, None, last, events, chain_id)
        except IndexUnavailable as exc:
            return IndexHealth(False, exc.message, None, None, None)
        except (ValueError, KeyError) as exc:  # unparsable meta
            return IndexHealth(False, f"event index {self.db}: bad meta ({exc})", None, None, None)


_EVENT_COLUMNS = (
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "tx_index",
    "log_index",
    "contract",
    "address",
    "event",
    "args",
)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _chain_order(row: tuple[Any, ...]) -> tuple[int, int]:
    return (row[0], row[5])


def _insert_events(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    """One executemany of plain tuples (the driver's own bulk path, no per-row SQLAlchemy
    parameter processing); SQLAlchemy's insert for drivers of another paramstyle."""
    mark = _PLACEHOLDERS.get(str(conn.dialect.paramstyle))
    if mark is None:
        conn.execute(sa.insert(schema.events), [dict(zip(_EVENT_COLUMNS, r, strict=True)) for r in rows])
        return
    conn.exec_driver_sql(
        f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_EVENT_COLUMNS))})",
        rows,
    )


def _row(r: sa.RowMapping) -> EventRow:
    return EventRow(
        id=int(r["id"]),
        block_number=int(r["block_number"]),
        block_hash=str(r["block_hash"]),
        block_time=int(r["block_time"]),
        tx_hash=str(r["tx_hash"]),
        tx_index=int(r["tx_index"]),
        log_index=int(r["log_index"]),
        contract=str(r["contract"]),
        address=str(r["address"]),
        event=str(r["event"]),
        args=json.loads(r["args"]),
        args_json=str(r["args"]),
    )


__all__ = ["IndexChainMismatch", "Indexer"]
