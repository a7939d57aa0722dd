"""What a fetch serves of a dataset: a subset of its fields (in schema order) and the rows
passing a row filter.

Fast paths, for the gateway serving 1 MB datasets at a file server's pace:

* every field and no filter: the stored bytes as they are (nothing parsed, nothing
  written; the row count is the stored metadata's);
* otherwise the file is parsed once per content hash (:class:`Projector` keeps the parsed
  tables, bounded by their files' total size) and each distinct answer (content, fields,
  filter) is kept too, bounded by its bytes: a grantee fetching the same subset again gets
  the bytes written the first time.

A CSV answer is written with the ``csv`` module (header row, ``\\n`` line ends, minimal
quoting); a JSON-lines answer has one object per line with the kept keys in schema order.
The row count returned is the number of rows served.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ledger.data.row_filter import RowFilter, from_text
from ledger.data.table_schema import Format, read_jsonl, schema_hash, text_of
from ledger.errors import IntegrityError, ValidationFailed

V = TypeVar("V")


@dataclass(frozen=True)
class Table:
    """A dataset file parsed: its header and its records (CSV: cell lists; JSON lines: objects)."""

    format: Format
    header: tuple[str, ...]
    records: list[list[str]]  # CSV
    objects: list[dict[str, Any]]  # JSON lines

    @classmethod
    def read(cls, data: bytes, fmt: Format) -> Table:
        if fmt == "jsonl":
            jl = read_jsonl(data)
            return cls(fmt, jl.keys, [], jl.objects)
        reader = csv.reader(io.StringIO(text_of(data)))
        try:
            header = tuple(next(reader))
            records = [rec for rec in reader if rec]
        except (StopIteration, csv.Error) as exc:
            raise ValidationFailed("file", f"not a CSV file with a header row: {exc}") from exc
        return cls(fmt, header, records, [])


def _keep(all_fields: Sequence[str], fields: Sequence[str] | None) -> tuple[str, ...] | None:
    """The fields to serve in schema order, or None for all of them."""
    if fields is None:
        return None
    unknown = [f for f in fields if f not in all_fields]
    if unknown:
        raise ValidationFailed("fields", f"not in the dataset's schema: {', '.join(unknown)}")
    if not fields:
        raise ValidationFailed("fields", "at least one field")
    wanted = set(fields)
    return None if wanted == set(all_fields) else tuple(f for f in all_fields if f in wanted)


def project_table(table: Table, keep: Sequence[str], row_filter: RowFilter | None) -> tuple[bytes, int]:
    """The rows of ``table`` passing ``row_filter``, restricted to ``keep``."""
    out = io.StringIO()
    rows = 0
    if table.format == "csv":
        index = {name: i for i, name in enumerate(table.header)}
        cols = [index[f] for f in keep]
        passes = row_filter.matcher(table.header) if row_filter is not None else None
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(keep)
        width = len(table.header)
        for rec in table.records:
            if passes is not None and not passes(rec):
                continue
            if len(rec) < width:
                rec = [*rec, *([""] * (width - len(rec)))]
            writer.writerow([rec[i] for i in cols])
            rows += 1
    else:
        for obj in table.objects:
            if row_filter is not None and not row_filter.matches(obj):
                continue
            out.write(json.dumps({k: obj[k] for k in keep if k in obj}, ensure_ascii=False) + "\n")
            rows += 1
    return out.getvalue().encode("utf-8"), rows


class Projector:
    """Projections, with the parsed tables and the answers kept per content hash.

    Args:
        table_bytes: most bytes of files whose parsed tables are kept (least recently used
            dropped first; a parsed CSV takes about 8 times its file's size in memory: the
            default keeps about 64 MB).
        answer_bytes: most bytes of answers kept.
    """

    def __init__(self, table_bytes: int = 8 << 20, answer_bytes: int = 32 << 20, filters: int = 1024) -> None:
        self._tables: Lru[Table] = Lru(table_bytes)
        self._answers: Lru[tuple[bytes, int]] = Lru(answer_bytes)
        self._filters: Lru[RowFilter] = Lru(filters)

    def row_filter(
        self,
        filter_hash: bytes | None,
        schema: Mapping[str, Any],
        text_of: Callable[[bytes], str | None],
    ) -> RowFilter | None:
        """The row filter a grant binds by ``filter_hash`` (None: no filter) over a dataset of
        ``schema``, its document looked up with ``text_of`` (the document store); IntegrityError
        if it is missing or is not that document (nothing can be served under the grant). Parsed
        filters are kept per (filter, schema): parsing one takes about a millisecond."""
        if filter_hash is None:
            return None
        key = (filter_hash, schema_hash(schema))
        flt = self._filters.get(key)
        if flt is None:
            text = text_of(filter_hash)
            if text is None:
                raise IntegrityError(f"the row filter document 0x{filter_hash.hex()} is not held here")
            flt = from_text(text, filter_hash, schema)
            self._filters.put(key, flt, 1)
        return flt

    def project(
        self,
        content_hash: bytes,
        data: bytes,
        fmt: Format,
        all_fields: Sequence[str],
        fields: Sequence[str] | None,
        rows: int,
        row_filter: RowFilter | None = None,
    ) -> tuple[bytes, int]:
        """``data`` (whose keccak256 is ``content_hash``: the caller has checked it, what is kept
        is found by that hash) restricted to ``fields`` (None: all) and to the rows passing
        ``row_filter``; the exact bytes, and ``rows``, when nothing is cut."""
        keep = _keep(all_fields, fields)
        if keep is None and row_filter is None:
            return data, rows
        keep = keep or tuple(all_fields)
        key = (content_hash, fmt, keep, row_filter.hash if row_filter is not None else b"")
        answer = self._answers.get(key)
        if answer is None:
            table = self._tables.get((content_hash, fmt))
            if table is None:
                table = Table.read(data, fmt)
                self._tables.put((content_hash, fmt), table, len(data))
            answer = project_table(table, keep, row_filter)
            self._answers.put(key, answer, len(answer[0]))
        return answer


class Lru(Generic[V]):
    """A thread-safe least-recently-used map bounded by the total of its entries' weights."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[object, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: object) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: object, value: V, weight: int) -> None:
        if weight > self.capacity:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._items[key] = (value, weight)
            self._weight += weight
            while self._weight > self.capacity:
                _, (_, w) = self._items.popitem(last=False)
                self._weight -= w
