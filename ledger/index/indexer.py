"""The indexer: chain logs of our contracts → rows in the index database.

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
import queue
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from web3 import Web3
from web3.exceptions import ProviderConnectionError, Web3RPCError
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint

from ledger import artifacts
from ledger.errors import (
    ChainMismatch,
    ChainUnavailable,
    ConfigError,
    IndexUnavailable,
    LedgerError,
    ValidationFailed,
)
from ledger.index import schema
from ledger.index.codec import (
    ContractSpec,
    EventSpec,
    canonical_json,
    checksum,
    decode_log_hex,
    normalize_value,
)
from ledger.index.rows import EventRow, IndexHealth, SyncProgress, SyncResult
from ledger.index.store import Store

log = logging.getLogger("ledger.index")

ContractsArg = Mapping[str, str] | Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]
Order = Literal["asc", "desc"]
AnyOf = Sequence[tuple[str, Mapping[str, Any] | None]]
ProgressFn = Callable[[SyncProgress], None]

_ARG_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_MAX_LIMIT = 10_000
_HEADER_BATCH = 200
_FIRST_RANGE = 4  # blocks in a sync's first eth_getLogs; the next ranges adapt
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


@dataclass(frozen=True, slots=True)
class _Header:
    number: int
    hash: str
    parent_hash: str | None
    time: int


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One range as fetched from the chain, before decoding."""

    frm: int
    to: int
    end: _Header | None  # the range's last block, None if the node does not have it (yet)
    logs: list[Any]
    headers: Mapping[int, _Header | None]  # blocks whose logs carry no blockTimestamp


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text, 16) if text[:2] in ("0x", "0X") else int(text)


def _hexstr(value: Any) -> str:
    if isinstance(value, str):
        return value.lower() if value[:2] in ("0x", "0X") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


class Indexer:
    """Indexes the events of a set of contracts into a SQL database.

    Args:
        w3: a connected Web3.
        contracts: name → address (ABI from ``ledger.artifacts.abi(name)``), or
            name → ``(address, abi)``.
        db_url: a SQLite file path, or an SQLAlchemy URL (``postgresql+psycopg://…``).
        confirmations: index only up to ``head - confirmations``.
        batch_blocks: the most blocks per ``eth_getLogs`` call and per DB transaction
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
        w3: Web3,
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
        self.w3 = w3
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

    def _url(self) -> str:
        provider = self.w3.provider
        return str(getattr(provider, "endpoint_uri", None) or type(provider).__name__)

    def _rpc(self, method: str, params: Sequence[Any]) -> Any:
        try:
            return self.w3.manager.request_blocking(RPCEndpoint(method), list(params))
        except Web3RPCError:
            raise
        except (OSError, TimeoutError, ProviderConnectionError) as exc:
            raise ChainUnavailable(self._url(), f"{method}: {exc}") from exc

    def _raw(self, method: str, params: Sequence[Any]) -> Any:
        """A bulk read straight to the provider, without middleware or result formatting.

        web3's formatting of 100,000 logs costs more than fetching them; the indexer
        reads the plain JSON itself (hex strings) and tolerates formatted values too.
        """
        provider = self.w3.provider
        if not isinstance(provider, JSONBaseProvider):  # e.g. eth-tester: needs its middleware
            return self._rpc(method, params)
        try:
            response = provider.make_request(RPCEndpoint(method), list(params))
        except (OSError, TimeoutError, ProviderConnectionError) as exc:
            raise ChainUnavailable(self._url(), f"{method}: {exc}") from exc
        if "error" in response and response["error"] is not None:
            raise Web3RPCError(str(response["error"]), rpc_response=response)
        return response.get("result")

    def head(self) -> int:
        """The chain's current block number."""
        return _int(self._rpc("eth_blockNumber", []))

    def _header(self, number: int) -> _Header | None:
        raw = self._rpc("eth_getBlockByNumber", [hex(number), False])
        return self._to_header(raw)

    @staticmethod
    def _to_header(raw: Any) -> _Header | None:
        if not raw:
            return None
        parent = raw.get("parentHash")
        return _Header(
            number=_int(raw["number"]),
            hash=_hexstr(raw["hash"]),
            parent_hash=_hexstr(parent) if parent is not None else None,
            time=_int(raw["timestamp"]),
        )

    def _headers(self, numbers: Sequence[int]) -> dict[int, _Header | None]:
        """Headers of several blocks: raw JSON-RPC batches where the provider has them."""
        out: dict[int, _Header | None] = {}
        todo = list(numbers)
        provider = self.w3.provider
        if len(todo) > 1 and isinstance(provider, JSONBaseProvider):
            try:
                for i in range(0, len(todo), _HEADER_BATCH):
                    chunk = todo[i : i + _HEADER_BATCH]
                    answers = provider.make_batch_request(
                        [(RPCEndpoint("eth_getBlockByNumber"), [hex(n), False]) for n in chunk]
                    )
                    if not isinstance(answers, list) or len(answers) != len(chunk):
                        raise Web3RPCError(f"bad batch answer: {str(answers)[:200]}")
                    for answer in answers:  # answers may come in any order
                        if answer.get("error") is not None:
                            raise Web3RPCError(str(answer["error"]))
                        header = self._to_header(answer.get("result"))
                        if header is not None:
                            out[header.number] = header
                return {n: out.get(n) for n in todo}
            except (OSError, TimeoutError, ProviderConnectionError) as exc:
                raise ChainUnavailable(self._url(), f"batch eth_getBlockByNumber: {exc}") from exc
            except (Web3RPCError, NotImplementedError) as exc:
                log.debug("batch header request failed (%s); asking one by one", exc)
                out.clear()
        for n in todo:
            try:
                out[n] = self._header(n)
            except Web3RPCError:
                out[n] = None
        return out

    def _chain_hash(self, number: int) -> str | None:
        try:
            header = self._header(number)
        except Web3RPCError:
            return None
        return header.hash if header else None

    def _chain_identity(self) -> tuple[int, str]:
        chain_id = _int(self._rpc("eth_chainId", []))
        genesis = self._header(0)
        if genesis is None:
            raise ChainUnavailable(self._url(), "no genesis block")
        return chain_id, genesis.hash

    def _get_logs(self, frm: int, to: int) -> list[Any]:
        """Logs of all our addresses in ``[frm, to]``: one call, halved when the node refuses."""
        params = {"fromBlock": hex(frm), "toBlock": hex(to), "address": self._addresses}
        try:
            result = self._raw("eth_getLogs", [params])
        except Web3RPCError as exc:
            if frm == to:
                raise ChainUnavailable(self._url(), f"eth_getLogs {frm}: {exc}") from exc
            mid = (frm + to) // 2
            log.info("eth_getLogs %d-%d refused (%s); splitting", frm, to, exc)
            return self._get_logs(frm, mid) + self._get_logs(mid + 1, to)
        return list(result or [])

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
        ranges = self._fetch_ahead(nxt, target)
        try:
            for fetched in ranges:
                count = self._write_range(fetched, last)
                if count is None:  # the chain moved under us: stop, the next sync resumes
                    complete = False
                    break
                first = fetched.frm if first is None else first
                written += count
                batches += 1
                last = fetched.to
                if progress is not None:
                    progress(
                        SyncProgress(
                            from_block=first, to_block=fetched.to, target=target, events=written
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

    def _fetch_ahead(self, nxt: int, target: int) -> Generator[_Fetched, None, None]:
        """Ranges ``[nxt, target]`` fetched by a thread up to ``_PREFETCH`` ranges ahead.

        The caller decodes and writes one range while the next ones are being
        fetched (the node works and the socket waits without the GIL). Range sizes
        adapt: the first is ``min(batch_blocks, _FIRST_RANGE)`` blocks, the next
        aim at ``batch_events`` logs (at most ×4 the last, at most ``batch_blocks``).
        Closing the generator (the caller stopped or failed) stops the thread and
        waits for it, so no fetch outlives the sync.
        """
        if nxt > target:
            return
        out: queue.Queue[_Fetched | BaseException | None] = queue.Queue(maxsize=_PREFETCH)
        stop = threading.Event()

        def put(item: _Fetched | BaseException | None) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            size = min(self.batch_blocks, _FIRST_RANGE)
            frm = nxt
            try:
                while frm <= target and not stop.is_set():
                    to = min(frm + size - 1, target)
                    fetched = self._fetch_range(frm, to)
                    if not put(fetched):
                        return
                    want = size * self.batch_events // max(len(fetched.logs), 1)
                    size = max(1, min(want, size * 4, self.batch_blocks))
                    frm = to + 1
                put(None)
            except BaseException as exc:  # handed to the caller, raised there
                put(exc)

        thread = threading.Thread(target=fetch, name="index-fetch", daemon=True)
        thread.start()
        try:
            while True:
                item = out.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join()

    def _fetch_range(self, frm: int, to: int) -> _Fetched:
        """The chain side of one range: its last header, its logs, the headers it needs."""
        end = self._header(to)  # before the logs: a reorg after this is caught next sync
        if end is None:
            return _Fetched(frm, to, None, [], {})
        raw_logs = self._get_logs(frm, to)
        need = {
            _int(lg["blockNumber"])
            for lg in raw_logs
            if lg.get("blockTimestamp") is None and not lg.get("removed")
        }
        need.discard(to)
        headers = self._headers(sorted(need)) if need else {}
        return _Fetched(frm, to, end, raw_logs, headers)

    def _write_range(self, f: _Fetched, expected_last: int | None) -> int | None:
        """Decode and write one fetched range in one transaction with its new last block;
        None (nothing written) if the chain changed meanwhile."""
        frm, to, end = f.frm, f.to, f.end
        if end is None:
            return None
        headers: dict[int, _Header] = {to: end}
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
            block_hash = _hexstr(lg["blockHash"])
            known = blocks.get(raw_number)
            if known is None or known[1] != block_hash:
                number = _int(raw_number)
                if hashes.setdefault(number, block_hash) != block_hash:
                    return None  # two versions of one block in one answer
                stamp = lg.get("blockTimestamp")
                if stamp is not None:
                    time_ = _int(stamp)
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
                topics = [_hexstr(t) for t in topics]
            if not isinstance(data, str):
                data = _hexstr(data)
            name, args_json, ok = decode_log_hex(spec, topics, data)
            tx_hash = _hexstr(lg["transactionHash"])
            if not ok:
                log.warning("undecodable log %s of %s at block %d", tx_hash, spec.name, known[0])
            rows.append(
                (
                    known[0],
                    block_hash,
                    known[2],
                    tx_hash,
                    _int(lg["transactionIndex"]),
                    _int(lg["logIndex"]),
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
            where.append(e.tx_hash == _hexstr(tx_hash))
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
    ) -> list[EventRow]:
        """Indexed events matching every given filter, in chain order.

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
    ) -> Iterator[EventRow]:
        """Every matching indexed event in chain order, fetched in pages by key
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
        event = spec.by_name(row.event) if spec else None
        if event is None:
            return dict(row.args)
        return event.to_python(row.args)

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


__all__ = ["IndexChainMismatch", "Indexer", "checksum"]
