"""A dataset's table schema: a Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/).

The schema says which fields a dataset has, in the file's order (a field's position
is its index in ``fields``: bit *i* of a grant's field mask is field *i*), and each
field's type. Its :func:`schema_hash` (``canonical_hash`` of the normalised
descriptor) is the dataset's on-chain ``schemaHash``; ``len(fields)`` its
``fieldCount``.

It is either given by the uploader or inferred from the file with ``frictionless``
(types from the first rows; if a later row does not fit, from every row), and the
file is validated against it with ``frictionless``: a row that does not match is
refused with :class:`~ledger.errors.ValidationFailed` naming the row, the field and
the problem. CSV is read as UTF-8 with a comma delimiter and a header row (never
sniffed); JSON lines are read here (one object per line, keys = field names) and
validated as keyed rows.

``frictionless`` is imported on first use (about 0.15 s), not when the library is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ledger.data.contract import canonical_hash
from ledger.errors import ValidationFailed

if TYPE_CHECKING:
    from frictionless import Report, Resource, Schema

Format = Literal["csv", "jsonl"]
FORMATS: tuple[str, ...] = ("csv", "jsonl")
#: Most fields a dataset may have (a field mask is a uint256).
MAX_FIELDS = 200
#: Rows the fast inference looks at before the whole file is needed.
SAMPLE_ROWS = 1000

TableSchema = dict[str, Any]
#: A cell reader: a raw cell (CSV text or a JSON value) -> (typed value or None, problems or None).
CellReader = Callable[[Any], tuple[Any, dict[str, str] | None]]


@dataclass(frozen=True)
class JsonLines:
    """A JSON-lines file read as objects, with the line number of each."""

    objects: list[dict[str, Any]]
    lines: list[int]
    keys: tuple[str, ...]  # every key, in first-seen order


def text_of(data: bytes) -> str:
    """The file as UTF-8 text (a leading byte-order mark dropped)."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("file", "a dataset must be UTF-8 text") from exc


def read_jsonl(data: bytes) -> JsonLines:
    """Every non-blank line of a JSON-lines file as an object (ValidationFailed naming a bad line)."""
    objects: list[dict[str, Any]] = []
    lines: list[int] = []
    keys: dict[str, None] = {}
    for n, line in enumerate(text_of(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ValidationFailed("file", f"line {n} is not JSON") from exc
        if not isinstance(obj, dict):
            raise ValidationFailed("file", f"line {n} is not a JSON object")
        keys.update(dict.fromkeys(obj))
        objects.append(obj)
        lines.append(n)
    if not objects:
        raise ValidationFailed("file", "the dataset is empty")
    return JsonLines(objects, lines, tuple(keys))


# ------------------------------------------------------------------ the schema document


def _schema(doc: Mapping[str, Any]) -> Schema:
    from frictionless import FrictionlessException, Schema

    try:
        return Schema.from_descriptor(dict(doc))
    except FrictionlessException as exc:
        raise ValidationFailed("schema", f"not a Frictionless Table Schema: {exc.error.note}") from exc


def normalise(doc: Mapping[str, Any]) -> TableSchema:
    """The schema as ``frictionless`` writes it back (a field without a type is a ``string``
    field, a one-field ``primaryKey`` a list): what is hashed.

    ValidationFailed unless it is a valid Table Schema whose field names are non-empty,
    unique, free of commas and surrounding spaces, and at most :data:`MAX_FIELDS`; with no
    ``foreignKeys`` (other resources) and no ``fieldsMatch`` but ``exact`` (the header is the
    fields, in order: a field's position is its bit in a field mask)."""
    if not isinstance(doc, Mapping):
        raise ValidationFailed("schema", "a Table Schema is a JSON object")
    if "foreignKeys" in doc:
        raise ValidationFailed("schema", "foreignKeys name other resources: a dataset is validated on its own")
    if doc.get("fieldsMatch", "exact") != "exact":
        raise ValidationFailed("schema", "the file's header must be the schema's fields in order (fieldsMatch exact)")
    fields = doc.get("fields")
    if not isinstance(fields, list) or not all(isinstance(f, Mapping) for f in fields):
        raise ValidationFailed("schema", '"fields" is a list of field descriptors')
    names = [str(f.get("name", "")) for f in fields]
    if not names:
        raise ValidationFailed("schema", "a table schema needs at least one field")
    bad = [n for n in names if not n or n != n.strip() or "," in n]
    if bad:
        raise ValidationFailed("schema", f"names must be non-empty, with no comma nor surrounding spaces: {bad!r}")
    if len(set(names)) != len(names):
        raise ValidationFailed("schema", "duplicate field names")
    if len(names) > MAX_FIELDS:
        raise ValidationFailed("schema", f"at most {MAX_FIELDS} fields")
    out: TableSchema = _schema(doc).to_descriptor()
    return out


def load_schema(text: str | bytes) -> TableSchema:
    """A Table Schema given as JSON text (a ``--schema`` file, an upload's ``schema`` part), normalised."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed("schema", "a Table Schema is a JSON document") from exc
    return normalise(doc)


def field_names(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields' names in schema order (a field's index is its bit in a field mask)."""
    return tuple(str(f["name"]) for f in schema.get("fields", []))


def schema_hash(schema: Mapping[str, Any]) -> bytes:
    """The on-chain ``schemaHash``: ``canonical_hash`` of the (normalised) schema."""
    return canonical_hash(schema)


def cell_readers(schema: Mapping[str, Any]) -> dict[str, CellReader]:
    """Each field's ``frictionless`` cell reader: a raw cell to its typed value (the schema's casting)."""
    return {f.name: f.create_cell_reader() for f in _schema(schema).fields}


# ------------------------------------------------------------------ inference and validation


def _resource(data: bytes | JsonLines, schema: Schema | None, sample: int = SAMPLE_ROWS) -> Resource:
    from frictionless import Detector, Resource, formats

    detector = Detector(sample_size=sample, field_confidence=1.0)
    extra: dict[str, Any] = {"schema": schema} if schema is not None else {}
    if isinstance(data, JsonLines):
        # As a header row and cell rows: a key missing from an object is a missing cell (keyed
        # rows would take the first object's keys as the header).
        header = list(field_names(schema.to_descriptor())) if schema is not None else list(data.keys)
        rows: list[list[Any]] = [header, *([obj.get(k) for k in header] for obj in data.objects)]
        return Resource(data=rows, detector=detector, **extra)
    return Resource(
        data=data,
        format="csv",
        encoding="utf-8-sig",
        control=formats.CsvControl(delimiter=","),
        detector=detector,
        **extra,
    )


def _source(data: bytes, fmt: Format) -> bytes | JsonLines:
    if fmt not in FORMATS:
        raise ValidationFailed("format", f"one of {', '.join(FORMATS)}")
    if not data.strip():
        raise ValidationFailed("file", "the dataset is empty")
    if fmt == "jsonl":
        return read_jsonl(data)
    text_of(data)  # UTF-8 or refused
    return data


def infer(data: bytes, fmt: Format) -> TableSchema:
    """A Table Schema for the file: field names in the file's order, types inferred by
    ``frictionless`` from the first :data:`SAMPLE_ROWS` rows, or from every row if a
    later row does not fit them."""
    return validate(data, fmt)[0]


def _infer(source: bytes | JsonLines) -> tuple[TableSchema, str | None, int]:
    """The inferred schema, and the file checked against it (:func:`_check`'s answer)."""
    from frictionless import FrictionlessException

    if isinstance(source, JsonLines):
        normalise({"fields": [{"name": k} for k in source.keys]})  # the names, before any typing
    try:
        resource = _resource(source, None)
        resource.infer()
        schema = normalise(resource.schema.to_descriptor())
        error, rows = _check(source, schema)
        if error is not None:  # a row past the sample does not fit: types from every row
            resource = _resource(source, None, sample=10**9)
            resource.infer()
            schema = normalise(resource.schema.to_descriptor())
            error, rows = _check(source, schema)
    except FrictionlessException as exc:
        raise ValidationFailed("file", exc.error.message) from exc
    return schema, error, rows


def validate(data: bytes, fmt: Format, schema: Mapping[str, Any] | None = None) -> tuple[TableSchema, int]:
    """The file's schema (``schema`` normalised, or inferred when None) and its row count.

    ValidationFailed naming the first row and field that does not match (a header that is
    not the schema's fields in its order, a cell of the wrong type, a blank row, a JSON
    key outside the schema)."""
    source = _source(data, fmt)
    if schema is None:
        table, error, rows = _infer(source)
    else:
        table = normalise(schema)
        error, rows = _check(source, table)
    if error is not None:
        raise ValidationFailed("file", error)
    return table, rows


def _check(source: bytes | JsonLines, schema: Mapping[str, Any]) -> tuple[str | None, int]:
    """The first way the file fails ``schema`` as a sentence (None if it matches), and its rows."""
    from frictionless import FrictionlessException

    if isinstance(source, JsonLines):
        known = set(field_names(schema))  # frictionless ignores keys of keyed rows outside the schema
        for obj, line in zip(source.objects, source.lines, strict=True):
            extra = [k for k in obj if k not in known]
            if extra:
                return f"line {line}: field(s) {', '.join(extra)} not in the schema", 0
    try:
        report = _resource(source, _schema(schema)).validate(limit_errors=1)
    except FrictionlessException as exc:
        return exc.error.message, 0
    if not report.valid:
        return _describe(report, source.lines if isinstance(source, JsonLines) else None), 0
    rows = len(source.objects) if isinstance(source, JsonLines) else int(report.tasks[0].stats.get("rows") or 0)
    return None, rows


def _describe(report: Report, lines: list[int] | None) -> str:
    errors = [e for task in report.tasks for e in task.errors] or list(report.errors)
    if not errors:
        return "the file does not match its schema"
    e = errors[0]
    row = getattr(e, "row_number", None)
    field = getattr(e, "field_name", None)
    where = []
    if row is not None:
        if lines is not None and 2 <= row < len(lines) + 2:
            where.append(f"line {lines[row - 2]}")
        else:
            where.append(f"row {row} (the header is row 1)")
    if field:
        where.append(f"field {field!r}")
    what = e.title.lower()
    if hasattr(e, "label"):  # a header that is not the schema's
        what += f": the file has {e.label!r}" if e.label else ": missing from the file"
    elif hasattr(e, "cell"):
        what += f": {e.cell!r}"
    note = str(getattr(e, "note", "") or "")
    if note:
        what += f" ({note})"
    return f"{', '.join(where)}: {what}" if where else what


__all__ = [
    "FORMATS",
    "MAX_FIELDS",
    "CellReader",
    "Format",
    "JsonLines",
    "TableSchema",
    "cell_readers",
    "field_names",
    "infer",
    "load_schema",
    "normalise",
    "read_jsonl",
    "schema_hash",
    "text_of",
    "validate",
]
