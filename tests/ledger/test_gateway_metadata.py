"""The catalog fields of a dataset's metadata document (ledger/gateway/metadata.py): validation,
defaults, documents written before the fields existed, and documents that do not hash to their name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.data import Classification, canonical_hash
from ledger.errors import ValidationFailed
from ledger.gateway.metadata import (
    Contact,
    catalog_fields,
    load_metadata,
    read_catalog_fields,
    save_metadata,
    split_list,
)


def test_defaults_follow_the_classification() -> None:
    assert catalog_fields(Classification.PUBLIC).license == "cc-by-4.0"
    for cls in (Classification.INTERNAL, Classification.SENSITIVE, Classification.SECRET):
        f = catalog_fields(cls)
        assert (f.license, f.language, f.keywords, f.themes, f.contact) == ("restricted", "zh", (), (), None)


def test_values_are_normalised() -> None:
    f = catalog_fields(Classification.INTERNAL, keywords="养老，独居、 上门探访; 养老", themes=["soci", "HEAL,soci"],
                       contact_name=" 民政局 ", contact_email="a@b.example", license="CC-BY-4.0", language="EN")
    assert f.keywords == ("养老", "独居", "上门探访") and f.themes == ("SOCI", "HEAL")
    assert f.contact == Contact("民政局", "a@b.example") and f.license == "cc-by-4.0" and f.language == "en"
    assert f.document()["contact"] == {"name": "民政局", "email": "a@b.example"}
    assert split_list(None) == [] and split_list(" , ,") == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"themes": "SOCI,HEALTH"}, "themes"),
    ({"keywords": ",".join(f"k{i}" for i in range(21))}, "keywords"),
    ({"keywords": "x" * 65}, "keywords"),
    ({"contact_name": "数据科"}, "contact_email"),
    ({"contact_phone": "010-1"}, "contact_name"),
    ({"contact_name": "x", "contact_email": "x@y"}, "contact_email"),
    ({"contact_name": "x", "contact_phone": "call me"}, "contact_phone"),
    ({"license": "ftp://example.org/l"}, "license"),
    ({"license": "https://example.org/a b"}, "license"),
    ({"license": "https://example.org/<script>"}, "license"),
    ({"license": "mit"}, "license"),
    ({"language": "fr"}, "language"),
])
def test_bad_values_are_refused_naming_the_field(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        catalog_fields(Classification.PUBLIC, **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def test_a_document_from_before_the_catalog_fields_reads_as_the_defaults() -> None:
    old = {"title": "t", "description": "d", "format": "csv", "fields": ["a"], "content_sha256": "0x00"}
    assert read_catalog_fields(old, Classification.PUBLIC) == catalog_fields(Classification.PUBLIC)
    bad = {**old, "themes": ["NOPE"], "keywords": ["ok"]}  # not ours: nothing of it trusted
    assert read_catalog_fields(bad, Classification.SECRET) == catalog_fields(Classification.SECRET)


def test_a_document_is_read_only_under_its_own_hash(tmp_path: Path) -> None:
    doc = {"title": "t", **catalog_fields(Classification.PUBLIC, themes="ENVI").document()}
    h = save_metadata(tmp_path, doc)
    assert h == canonical_hash(doc) and load_metadata(tmp_path, h) == doc
    assert save_metadata(tmp_path, doc) == h  # written once
    path = tmp_path / "metadata" / f"{h.hex()}.json"
    path.write_text(json.dumps({**doc, "title": "edited"}))
    assert load_metadata(tmp_path, h) is None  # edited: ignored
    path.write_text("{not json")
    assert load_metadata(tmp_path, h) is None
    assert load_metadata(tmp_path, b"\x01" * 32) is None  # never written
