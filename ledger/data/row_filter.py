"""Row filters: which rows of a dataset a grant covers, stated in the request and bound by hash.

A filter document is a conjunction of equality and membership tests on fields of the
dataset's Table Schema::

    {"all": [{"field": "district", "op": "eq", "value": "幸福里"},
             {"field": "age", "op": "in", "value": [70, 71]}]}

Its normal form (what :func:`row_filter_hash` hashes with ``canonical_hash`` into the
request's ``rowFilterHash``) depends on the document alone: each test as
``{"field", "op", "value"}``, an ``in`` list de-duplicated and sorted, the tests sorted,
an integral float written as an integer. Values are JSON values of the field's type:
an ``integer`` field takes JSON integers, ``number`` JSON numbers, ``boolean`` true or
false; every other type (``string``, ``date``, ...) takes a string that the field's
casting accepts (``"2026-01-31"`` for a date).

A row passes when every test holds on the row's cell *after the schema's casting*
(``frictionless``'s cell readers): the CSV cell ``"070"`` of an integer field is 70 and
matches ``{"op": "eq", "value": 70}``. A missing cell matches nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.abi import canonical_json
from ledger.data.contract import canonical_hash
from ledger.data.table_schema import cell_readers, field_names
from ledger.errors import IntegrityError, ValidationFailed

OPS: tuple[str, ...] = ("eq", "in")
MAX_TESTS = 32
MAX_VALUES = 1000
_WHAT = "row filter"


def _scalar(value: Any, where: str) -> str | int | float | bool:
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationFailed(_WHAT, f"{where}: not a finite number")
        return int(value) if value.is_integer() else value
    raise ValidationFailed(_WHAT, f"{where}: a value is a string, a number or true/false, not {value!r}")


def _order(value: Any) -> str:
    return canonical_hash(value).hex()  # any total order of JSON values will do; this one is stable


def normalise(doc: Any) -> dict[str, Any]:
    """The document's normal form (ValidationFailed naming what is wrong with its shape)."""
    if not isinstance(doc, Mapping) or set(doc) != {"all"}:
        raise ValidationFailed(_WHAT, 'a row filter is {"all": [tests]}')
    tests = doc["all"]
    if not isinstance(tests, list) or not tests:
        raise ValidationFailed(_WHAT, '"all" is a non-empty list of tests (no filter: no document)')
    if len(tests) > MAX_TESTS:
        raise ValidationFailed(_WHAT, f"at most {MAX_TESTS} tests")
    out: dict[str, dict[str, Any]] = {}
    for n, test in enumerate(tests, 1):
        if not isinstance(test, Mapping) or set(test) != {"field", "op", "value"}:
            raise ValidationFailed(_WHAT, f'test {n} is {{"field", "op", "value"}}')
        field, op, value = test["field"], test["op"], test["value"]
        if not isinstance(field, str) or not field:
            raise ValidationFailed(_WHAT, f"test {n}: the field is a field name")
        if op not in OPS:
            raise ValidationFailed(_WHAT, f"test {n}: unknown op {op!r} (one of {', '.join(OPS)})")
        if op == "in":
            if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
                raise ValidationFailed(_WHAT, f"test {n}: an in test's value is a list of 1..{MAX_VALUES} values")
            unique = {_order(v): v for v in (_scalar(v, f"test {n}") for v in value)}
            norm: Any = [unique[k] for k in sorted(unique)]
        else:
            norm = _scalar(value, f"test {n}")
        item = {"field": field, "op": op, "value": norm}
        out[_order(item)] = item
    return {"all": [out[k] for k in sorted(out)]}


def row_filter_hash(doc: Any) -> bytes:
    """The request's ``rowFilterHash``: ``canonical_hash`` of the normalised document."""
    return canonical_hash(normalise(doc))


def document_text(doc: Any) -> str:
    """The normalised document as the text kept in the document store (kind ``row_filter``): its
    canonical JSON, whose keccak256 is :func:`row_filter_hash`."""
    return canonical_json(normalise(doc))


def from_text(text: str, expected_hash: bytes, schema: Mapping[str, Any]) -> RowFilter:
    """The stored filter document ``text`` that a grant binds by ``expected_hash``, over a dataset
    of ``schema``: IntegrityError if the text is not that document."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise IntegrityError(f"the row filter document of 0x{expected_hash.hex()} is not JSON") from exc
    if canonical_hash(doc) != expected_hash:
        raise IntegrityError(f"the stored row filter document does not hash to 0x{expected_hash.hex()}")
    return parse(doc, schema)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


@dataclass(frozen=True)
class Test:
    field: str
    op: str
    values: frozenset[Any]  # the cast values a cell may take
    read: Callable[[Any], tuple[Any, Any]]


@dataclass(frozen=True)
class RowFilter:
    """A filter document checked against a table schema, ready to apply."""

    document: dict[str, Any]  # the normal form
    tests: tuple[Test, ...]

    @property
    def hash(self) -> bytes:
        return canonical_hash(self.document)

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether a row (field name -> raw cell) passes every test."""
        return all(_holds(t, row.get(t.field)) for t in self.tests)

    def matcher(self, header: Sequence[str]) -> Callable[[Sequence[Any]], bool]:
        """A test of rows given as cell lists in ``header``'s order (CSV records); the casting of
        each distinct cell is done once."""
        index = {name: i for i, name in enumerate(header)}
        checks: list[tuple[int, Test, dict[Any, bool]]] = []
        for t in self.tests:
            if t.field not in index:
                return lambda _cells: False  # the file lacks the field: nothing passes
            checks.append((index[t.field], t, {}))

        def test(cells: Sequence[Any]) -> bool:
            for i, t, seen in checks:
                cell = cells[i] if i < len(cells) else None
                ok = seen.get(cell)
                if ok is None:
                    ok = seen[cell] = _holds(t, cell)
                if not ok:
                    return False
            return True

        return test


def _holds(test: Test, cell: Any) -> bool:
    if cell is None:
        return False
    value, problems = test.read(cell)
    return problems is None and value is not None and value in test.values


def parse(doc: Any, schema: Mapping[str, Any]) -> RowFilter:
    """The filter ``doc`` over a dataset of ``schema``; ValidationFailed naming an unknown field,
    a bad op or a value of the wrong type."""
    norm = normalise(doc)
    known = set(field_names(schema))
    types = {str(f["name"]): str(f.get("type", "any")) for f in schema.get("fields", [])}
    readers = cell_readers(schema)
    tests = []
    for item in norm["all"]:
        field = item["field"]
        if field not in known:
            raise ValidationFailed(_WHAT, f"unknown field {field!r} (not in the dataset's schema)")
        values = item["value"] if item["op"] == "in" else [item["value"]]
        ftype = types[field]
        cast = set()
        for v in values:
            wanted = _JSON_TYPES.get(ftype, (str,))
            value, problems = readers[field](v)
            wrong = not isinstance(v, wanted) or (isinstance(v, bool) and bool not in wanted)
            if wrong or problems is not None or value is None:
                raise ValidationFailed(_WHAT, f"value {v!r} is not of field {field!r}'s type {ftype}")
            cast.add(value)
        tests.append(Test(field, item["op"], frozenset(cast), readers[field]))
    return RowFilter(norm, tuple(tests))


def apply(rows: Iterable[Mapping[str, Any]], flt: RowFilter) -> Iterator[Mapping[str, Any]]:
    """The rows (field name -> raw cell) that pass ``flt``."""
    return (row for row in rows if flt.matches(row))


__all__ = [
    "MAX_TESTS",
    "MAX_VALUES",
    "OPS",
    "RowFilter",
    "Test",
    "apply",
    "document_text",
    "from_text",
    "normalise",
    "parse",
    "row_filter_hash",
]
