"""The event index's reads: queries of the database alone (no chain), so the API can serve
them while the chain is down. Readers get events (:class:`~ledger.events.Event`, arguments as
Python values); :meth:`IndexReads.rows` gives the stored form (canonical JSON arguments), for
checking what is stored (the auditor, the index's own tests)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from typing_extensions import Unpack

from ledger.abi import ContractSpec, EventSpec, checksum, hex_text, normalize_value
from ledger.errors import ConfigError, IndexUnavailable, ValidationFailed
from ledger.events import Event
from ledger.index import schema
from ledger.index.rows import EventRow, IndexHealth
from ledger.index.store import Store

Order = Literal["asc", "desc"]
AnyOf = Sequence[tuple[str, Mapping[str, Any] | None]]


class Filters(TypedDict, total=False):
    """The filters of :meth:`IndexReads.rows` (and :meth:`IndexReads.count_events`)."""

    args: Mapping[str, Any] | None
    from_block: int | None
    to_block: int | None
    tx_hash: str | None
    any_of: AnyOf | None
    from_time: int | None
    to_time: int | None


class Query(Filters, total=False):
    """The filters, order and page of :meth:`IndexReads.rows` and :meth:`IndexReads.events`."""

    limit: int
    offset: int
    order: Order

#: Seconds a read of the index's version is reused when no write of this process came between:
#: another process's writes (a follower elsewhere) show this much later at most; the follower
#: polls every ``index_poll_interval`` (0.5 s) anyway.
VERSION_TTL = 0.1

_ARG_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_MAX_LIMIT = 10_000


class IndexReads:
    """What reads the index database: the :class:`~ledger.index.Indexer` is one, and adds the sync."""

    _store: Store
    _specs: dict[str, ContractSpec]
    _contracts_hash: str
    _rebuilding: bool
    #: This process has seen the database name its chain (``meta.chain_id``, written by the first
    #: sync, removed only by a rebuild): a database without it since is an emptied one, not a new one.
    _identified: bool
    start_block: int

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

    def _read_meta(self, conn: sa.Connection) -> dict[str, str]:
        rows = conn.execute(sa.select(schema.meta.c.key, schema.meta.c.value)).all()
        return {str(k): str(v) for k, v in rows}

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

    def _require_identity(self, meta: Mapping[str, str]) -> None:
        """Refuse a database whose rows were emptied (or dropped and made again) under this process:
        over a server database the counterpart of a SQLite file truncated to nothing, which
        :meth:`_require_db` refuses. A new database is not refused: this process never saw it hold
        anything."""
        if "chain_id" in meta:
            self._identified = True
        elif self._identified:
            raise IndexUnavailable(
                f"event index {self.db} was emptied: it no longer names the chain it held; rebuild() it"
            )

    def _require_db(self, action: str) -> None:
        if not self._store.exists():
            raise IndexUnavailable(
                f"event index {self.db} unavailable ({action}): the database file is "
                "missing or empty; rebuild() it"
            )

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
        small query; None when nothing is indexed. For caches of answers read from it.

        Every request of a cached answer asks it, so one reading is reused for
        :data:`VERSION_TTL` seconds unless a transaction of this process's own engine
        (a sync, a rollback, a rebuild) committed since: a write here shows at once."""
        writes = self._store.commits
        memo: tuple[float, int, tuple[int, str] | None] | None = getattr(self, "_version_memo", None)
        now = time.monotonic()
        if memo is not None and memo[1] == writes and now - memo[0] < VERSION_TTL:
            return memo[2]  # (a lost database file shows at the next reading: a stat per request cost 4 %)
        self._require_db("version")
        found = self._read_version()
        if found is None and self._identified:  # nothing indexed: new, or emptied under this process?
            with self._store.guard("version"), self._store.engine.connect() as conn:
                self._require_identity(self._read_meta(conn))
        self._version_memo = (now, writes, found)
        return found

    def _read_version(self) -> tuple[int, str] | None:
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

    def block_time(self, number: int) -> int | None:
        """The Unix time of a kept block (the last indexed one always is), None when not kept."""
        self._require_db("block_time")
        b = schema.blocks.c
        with self._store.guard("block_time"), self._store.engine.connect() as conn:
            value = conn.execute(sa.select(b.time).where(b.number == number)).scalar_one_or_none()
        return int(value) if value is not None else None

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

    def _where(self, contract: str | None, event: str | None, f: Filters) -> list[sa.ColumnElement[bool]]:
        return self._filters(
            contract, event, f.get("args"), f.get("from_block"), f.get("to_block"), f.get("tx_hash"),
            f.get("any_of"), f.get("from_time"), f.get("to_time"),
        )

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
            text: sa.ColumnElement[Any] = sa.cast(_pg_json_text(column), postgresql.JSONB)[name].astext
            pg_value: Any = ("true" if wanted else "false") if isinstance(wanted, bool) else wanted
            if isinstance(pg_value, str):
                pg_value = pg_value.replace("\x00", PG_NUL)
            pg_condition: sa.ColumnElement[bool] = text == pg_value
            return pg_condition
        raise ConfigError(f"argument filters need SQLite or PostgreSQL, not {dialect}")

    def events(self, contract: str | None = None, event: str | None = None, **query: Unpack[Query]) -> list[Event]:
        """The indexed events matching every given filter, in chain order (the filters, order and
        page of :meth:`rows`)."""
        return [self.event_of(r) for r in self.rows(contract, event, **query)]

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

    def count_events(self, contract: str | None = None, event: str | None = None, **filters: Unpack[Filters]) -> int:
        """How many events :meth:`events` would return without limit and offset."""
        query = sa.select(sa.func.count()).select_from(schema.events).where(*self._where(contract, event, filters))
        self._require_db("count")
        with self._store.guard("count"), self._store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def iter_events(
        self, page: int = 5000, contract: str | None = None, event: str | None = None, **filters: Unpack[Filters]
    ) -> Iterator[Event]:
        """Every matching indexed event in chain order (see :meth:`iter_rows`)."""
        return map(self.event_of, self.iter_rows(page, contract, event, **filters))

    def iter_rows(
        self, page: int = 5000, contract: str | None = None, event: str | None = None, **filters: Unpack[Filters]
    ) -> Iterator[EventRow]:
        """Every matching indexed row in chain order (the filters of :meth:`rows`), fetched in
        pages by key (``(block_number, log_index)`` after the last row seen, never an OFFSET)."""
        e = schema.events.c
        where = self._where(contract, event, filters)
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
        return Event(  # the fields in Event's order
            row.contract, row.event, self.decode_args(row), row.block_number, row.block_hash, row.tx_hash,
            row.log_index, row.block_time, checksum(row.address), row.tx_index,
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
                self._require_identity(meta)
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


#: What a NUL character in a stored argument compares as on PostgreSQL, whose text (and so its
#: ``json``/``jsonb``) cannot hold one: U+FFFF, a noncharacter (never in interchanged text).
PG_NUL = "\uffff"
#: A ``\u0000`` escape in JSON text: a backslash preceded by an even number of backslashes.
_PG_NUL_ESCAPE = r"(?<=(?:^|[^\\])(?:\\\\)*)\\u0000"


def _pg_json_text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    r"""The stored arguments as PostgreSQL can parse them. Canonical JSON keeps a NUL of an on-chain
    string (a member's name, a dataset's title) as ``\u0000``, which PostgreSQL refuses to convert
    (``->>`` on such a row fails the whole query: one title could break every filtered list);
    those escapes become :data:`PG_NUL`, only in rows that hold one."""
    escaped = sa.func.regexp_replace(column, sa.literal(_PG_NUL_ESCAPE), sa.literal("\\\\uffff"), "g")
    return sa.case((sa.func.strpos(column, "\\u0000") > 0, escaped), else_=column)


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
