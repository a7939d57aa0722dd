"""Table schemas, row filters and projection in the gateway store (issue 17 items 1-3)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from eth_utils import keccak

from ledger.data import canonical_hash
from ledger.data import row_filter as rf
from ledger.data import table_schema as ts
from ledger.errors import Conflict, IntegrityError, ValidationFailed
from ledger.gateway import GatewayStore, crypto, describe
from ledger.gateway.projection import Projector
from tests.api.test_data_support import synthetic_csv

CSV = "id,name,age,district\n1,测试甲,81,幸福里\n2,测试乙,077,西区\n3,测试丙,90,幸福里\n".encode()
SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "name", "type": "string"},
        {"name": "age", "type": "integer"},
        {"name": "district", "type": "string"},
    ]
}
SCHEMA_FIELDS = ts.field_names(SCHEMA)
JSONL = b'{"bin":"B-1","fill":0.4}\n\n{"bin":"B-2","fill":0.9,"alarm":true}\n'
ONE_MB = synthetic_csv(20_000)  # about 1.1 MB


@pytest.fixture()
def store(tmp_path: Path) -> GatewayStore:
    return GatewayStore(tmp_path, os.urandom(32))


# ------------------------------------------------------------------ table schemas


def test_schema_inferred_in_file_order_with_types() -> None:
    meta = describe(CSV, "csv")
    assert meta.table_schema == SCHEMA and meta.rows == 3
    assert meta.fields == ("id", "name", "age", "district") and meta.field_count == 4
    assert meta.schema_hash == canonical_hash(SCHEMA)
    # JSON lines: keys in first-seen order; a key missing from a line is a missing cell
    jl = describe(JSONL, "jsonl")
    assert jl.fields == ("bin", "fill", "alarm") and jl.rows == 2
    assert [f["type"] for f in jl.table_schema["fields"]] == ["string", "number", "boolean"]


def test_inference_looks_past_the_sample_when_a_later_row_does_not_fit() -> None:
    rows = "\n".join(f"{i},{i}" for i in range(ts.SAMPLE_ROWS + 10))
    data = f"id,code\n{rows}\n{ts.SAMPLE_ROWS + 10},A-7\n".encode()
    types = [f["type"] for f in ts.infer(data, "csv")["fields"]]
    assert types == ["integer", "string"]


def test_given_schema_validates_and_a_bad_row_is_refused_naming_row_and_field() -> None:
    assert describe(CSV, "csv", SCHEMA).rows == 3
    bad = CSV.replace(b"077", b"seventy-seven")
    with pytest.raises(ValidationFailed, match=r"row 3 \(the header is row 1\), field 'age': type error: 'seventy-sev"):
        describe(bad, "csv", SCHEMA)
    with pytest.raises(ValidationFailed, match="field 'district': incorrect label: the file has 'area'"):
        describe(CSV.replace(b"district", b"area"), "csv", SCHEMA)
    keyed = {**SCHEMA, "primaryKey": "district"}
    with pytest.raises(ValidationFailed, match=r"row 4 \(the header is row 1\): primarykey error"):
        describe(CSV, "csv", keyed)  # 幸福里 twice
    with pytest.raises(ValidationFailed, match=r"row 3 .*blank row"):
        describe(CSV.replace(b"\n2,", b"\n\n2,"), "csv", SCHEMA)
    jl_schema = {"fields": [{"name": "bin"}, {"name": "fill", "type": "number"}, {"name": "alarm", "type": "boolean"}]}
    with pytest.raises(ValidationFailed, match="line 3, field 'fill': type error: 'full'"):
        describe(JSONL.replace(b"0.9", b'"full"'), "jsonl", jl_schema)
    with pytest.raises(ValidationFailed, match=r"line 3: field\(s\) colour not in the schema"):
        describe(JSONL.replace(b'"alarm"', b'"colour"'), "jsonl", jl_schema)


@pytest.mark.parametrize(
    ("schema", "match"),
    [
        ({"fields": [{"name": "a", "type": "wat"}]}, 'field type "wat" is not supported'),
        ({"fields": []}, "at least one field"),
        ({"fields": [{"name": "a"}, {"name": "a"}]}, "duplicate field names"),
        ({"fields": [{"name": "a,b"}]}, "no comma"),
        ([], "a Table Schema is a JSON object"),
        ({"fields": [{"name": "a"}], "fieldsMatch": "subset"}, "fieldsMatch exact"),
        ({"fields": [{"name": "a"}], "foreignKeys": [{"fields": "a", "reference": {"resource": "x", "fields": "a"}}]},
         "foreignKeys name other resources"),
    ],
)
def test_bad_schemas_refused(schema: object, match: str) -> None:
    with pytest.raises(ValidationFailed, match=match):
        ts.normalise(schema)  # type: ignore[arg-type]


def test_bad_files_refused() -> None:
    bad = ((b"", "csv"), (b"  \n", "jsonl"), (b"[1]\n", "jsonl"), (b"{nope\n", "jsonl"), (b"\xff\xfe", "csv"))
    for data, fmt in bad:
        with pytest.raises(ValidationFailed):
            describe(data, fmt)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="duplicate"):
        describe(b"a,a\n1,2\n", "csv")
    with pytest.raises(ValidationFailed, match="JSON document"):
        ts.load_schema("{")


def test_schema_hash_stable_across_key_order() -> None:
    reordered = json.loads(json.dumps({"fields": [dict(reversed(list(f.items()))) for f in SCHEMA["fields"]]}))
    assert list(reordered["fields"][0]) == ["type", "name"]
    assert ts.schema_hash(ts.load_schema(json.dumps(reordered))) == ts.schema_hash(SCHEMA) == canonical_hash(SCHEMA)
    swapped = {"fields": [SCHEMA["fields"][1], SCHEMA["fields"][0], *SCHEMA["fields"][2:]]}
    assert ts.schema_hash(swapped) != ts.schema_hash(SCHEMA)  # field order is the mask's bit order


def test_store_keeps_the_schema_authenticated(store: GatewayStore, tmp_path: Path) -> None:
    meta = store.put(CSV, "csv", 7, SCHEMA)
    assert store.meta(7, meta.content_hash) == meta and store.put(CSV, "csv", 7) == meta  # idempotent
    other = {"fields": [{**f, "type": "string"} for f in SCHEMA["fields"]]}
    with pytest.raises(Conflict, match="another table schema"):
        store.put(CSV, "csv", 7, other)
    js = tmp_path / "blobs" / "m7" / f"{meta.content_hash.hex()}.json"
    doc = json.loads(js.read_text())
    doc["schema"] = other  # an edited schema: the encryption's associated data differs
    js.write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="tampered"):
        store.read(7, meta.content_hash)
    del doc["schema"]  # the earlier layout (a field list, no schema) is never served
    doc["fields"] = list(meta.fields)
    js.write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="malformed"):
        store.meta(7, meta.content_hash)


# ------------------------------------------------------------------ row filters


FILTER = {
    "all": [{"field": "district", "op": "eq", "value": "幸福里"}, {"field": "age", "op": "in", "value": [77, 90]}]
}


def test_filter_hash_is_of_the_normal_form() -> None:
    same = {
        "all": [
            {"value": [90, 77.0, 90], "op": "in", "field": "age"},
            {"op": "eq", "value": "幸福里", "field": "district"},
        ]
    }
    assert rf.row_filter_hash(same) == rf.row_filter_hash(FILTER) == canonical_hash(rf.normalise(FILTER))
    assert rf.parse(same, SCHEMA).hash == rf.row_filter_hash(FILTER)
    assert rf.row_filter_hash({"all": [FILTER["all"][0]]}) != rf.row_filter_hash(FILTER)


def test_a_stored_filter_document_must_be_the_one_the_grant_binds(store: GatewayStore) -> None:
    text, h = rf.document_text(FILTER), rf.row_filter_hash(FILTER)
    assert rf.from_text(text, h, SCHEMA).document == rf.normalise(FILTER)
    with pytest.raises(IntegrityError, match="does not hash to"):
        rf.from_text(text.replace("90", "91"), h, SCHEMA)
    with pytest.raises(IntegrityError, match="is not JSON"):
        rf.from_text(text[:-1], h, SCHEMA)
    # the store finds it by hash (in the document store), once per (filter, schema)
    meta = describe(CSV, "csv", SCHEMA)
    looked: list[bytes] = []
    texts = {h: text}.get

    def text_of(key: bytes) -> str | None:
        looked.append(key)
        return texts(key)

    assert store.row_filter(None, meta, text_of) is None and not looked  # no filter: nothing looked up
    flt = store.row_filter(h, meta, text_of)
    assert flt is not None and store.row_filter(h, meta, text_of) is flt and looked == [h]
    with pytest.raises(IntegrityError, match="is not held here"):
        store.row_filter(b"\x01" * 32, meta, text_of)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"all": [{"field": "ward", "op": "eq", "value": 1}]}, "unknown field 'ward'"),
        ({"all": [{"field": "age", "op": "gt", "value": 1}]}, "unknown op 'gt'"),
        ({"all": [{"field": "age", "op": "eq", "value": "77"}]}, "value '77' is not of field 'age''s type integer"),
        ({"all": [{"field": "age", "op": "eq", "value": True}]}, "value True is not of field 'age'"),
        ({"all": [{"field": "district", "op": "in", "value": [1]}]}, "value 1 is not of field 'district'"),
        ({"all": [{"field": "age", "op": "in", "value": []}]}, "list of 1..1000 values"),
        ({"all": [{"field": "age", "op": "eq", "value": None}]}, "a value is a string, a number or true/false"),
        ({"all": []}, "non-empty list"),
        ({"any": []}, 'a row filter is {"all"'),
    ],
)
def test_bad_filters_refused_naming_what(doc: object, match: str) -> None:
    with pytest.raises(ValidationFailed, match=match):
        rf.parse(doc, SCHEMA)


def test_filter_compares_after_the_schemas_casting() -> None:
    flt = rf.parse(FILTER, SCHEMA)
    rows = [{"district": "幸福里", "age": "077"}, {"district": "幸福里", "age": "78"}, {"district": "西区", "age": "9"}]
    assert list(rf.apply(rows, flt)) == rows[:1]  # the CSV cell "077" of an integer field is 77
    as_text = rf.parse({"all": [{"field": "age", "op": "eq", "value": "077"}]}, {"fields": [{"name": "age"}]})
    assert list(rf.apply(rows, as_text)) == rows[:1]  # a string field compares as text
    on_day = {"all": [{"field": "on", "op": "eq", "value": "2026-01-05"}]}
    dated = rf.parse(on_day, {"fields": [{"name": "on", "type": "date"}]})
    assert dated.matches({"on": "2026-01-05"}) and not dated.matches({"on": "2026-01-06"}) and not dated.matches({})


# ------------------------------------------------------------------ projection


def test_subset_projection_in_schema_order(store: GatewayStore) -> None:
    meta = store.put(CSV, "csv", 7)
    out, rows = store.project(meta, CSV, ["district", "age"])
    assert rows == 3 and out.decode() == "age,district\n81,幸福里\n077,西区\n90,幸福里\n"
    out, rows = store.project(meta, CSV, ["name"], rf.parse(FILTER, meta.table_schema))
    assert (out, rows) == ("name\n测试丙\n".encode(), 1)  # 幸福里 and 77 or 90: the third row only
    with pytest.raises(ValidationFailed, match="not in the dataset's schema: ward"):
        store.project(meta, CSV, ["ward"])
    jl = store.put(JSONL, "jsonl", 7)
    out, rows = store.project(jl, JSONL, ["alarm", "bin"])
    assert rows == 2 and out == b'{"bin": "B-1"}\n{"bin": "B-2", "alarm": true}\n'
    flt = rf.parse({"all": [{"field": "alarm", "op": "eq", "value": True}]}, jl.table_schema)
    assert store.project(jl, JSONL, None, flt) == (b'{"bin": "B-2", "fill": 0.9, "alarm": true}\n', 1)


def test_one_megabyte_fast_path_serves_the_stored_bytes(store: GatewayStore) -> None:
    meta = store.put(ONE_MB, "csv", 7)
    assert len(ONE_MB) > 1 << 20 and meta.rows == 20_000
    assert [f["type"] for f in meta.table_schema["fields"]] == ["string", "string", "integer", "string", "boolean"]
    out, rows = store.project(meta, ONE_MB, list(reversed(meta.fields)))
    assert out is ONE_MB and rows == meta.rows  # every field, no filter: nothing parsed, nothing copied
    uncached = Projector(table_bytes=0, answer_bytes=0)
    assert uncached.project(meta.content_hash, ONE_MB, "csv", meta.fields, None, meta.rows)[0] is ONE_MB
    # a subset is parsed once per content hash; the same answer again is the one kept
    subset = store.project(meta, ONE_MB, ["district", "age"])
    assert store.project(meta, ONE_MB, ["age", "district"])[0] is subset[0] and subset[1] == meta.rows
    flt = rf.parse({"all": [{"field": "age", "op": "in", "value": [70, 71]}]}, meta.table_schema)
    out, rows = store.project(meta, ONE_MB, ["district", "age"], flt)
    assert rows == 2 * 800 and len(out.splitlines()) == rows + 1  # ages 70 + i % 25: 800 rows each
    assert {line.split(b",")[0] for line in out.splitlines()[1:]} == {b"70", b"71"}



def test_kept_tables_and_answers_are_bounded_by_bytes() -> None:
    other = CSV.replace(b"81", b"82")
    p = Projector(table_bytes=len(CSV), answer_bytes=64)
    h1, h2 = b"\x01" * 32, b"\x02" * 32
    first = p.project(h1, CSV, "csv", SCHEMA_FIELDS, ["age"], 3)
    assert p.project(h1, CSV, "csv", SCHEMA_FIELDS, ["age"], 3)[0] is first[0]  # kept
    p.project(h2, other, "csv", SCHEMA_FIELDS, ["name", "age"], 3)  # room for one table only
    assert p.project(h1, CSV, "csv", SCHEMA_FIELDS, ["age"], 3)[0] is first[0]  # the answer outlives its table
    big = p.project(h1, CSV, "csv", SCHEMA_FIELDS, ["id", "name", "district"], 3)
    assert len(big[0]) > 64 and p.project(h1, CSV, "csv", SCHEMA_FIELDS, ["id", "name", "district"], 3)[0] is not big[0]


def test_the_plaintext_hash_is_checked_once_per_ciphertext(
    store: GatewayStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ciphertext that authenticates but holds other bytes than its content hash (only the master
    key's holder can make one) is refused; a ciphertext already checked is not hashed again."""
    meta = store.put(CSV, "csv", 7)
    hashed: list[int] = []

    def counting_keccak(data: bytes) -> bytes:
        hashed.append(len(data))
        return keccak(data)

    monkeypatch.setattr("ledger.gateway.store.keccak", counting_keccak)
    assert store.read(7, meta.content_hash) == CSV and store.read(7, meta.content_hash) == CSV
    assert hashed == [len(CSV)]
    master = store._master  # the test stands in for a holder of the master key
    forged = crypto.encrypt_at_rest(master, CSV.replace(b"81", b"18"), meta.aad())
    js = tmp_path / "blobs" / "m7" / f"{meta.content_hash.hex()}.json"
    doc = json.loads(js.read_text())
    doc["wrapped_key"] = crypto.b64e(forged.wrapped_key)
    js.write_text(json.dumps(doc))
    (tmp_path / "blobs" / "m7" / f"{meta.content_hash.hex()}.enc").write_bytes(forged.blob)
    with pytest.raises(IntegrityError, match="does not match its content hash"):
        store.read(7, meta.content_hash)
