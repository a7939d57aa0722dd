"""The DCAT-AP 3 catalog (GET /api/v1/catalog) over a real chain: both serialisations parse with rdflib
and say the same, every mandatory DCAT-AP 3 property of Catalog, Dataset and Distribution and the
recommended ones we fill are there, anonymous callers see only Public datasets and API keys what
/api/v1/datasets shows them, nothing private appears, content negotiation (406), ETag and 304,
no chain call per dataset; the metadata document's catalog fields; the portal's public list."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from api.main import create_app
from api.routers.catalog import negotiate
from api.services.catalog import (
    ACCESS_RIGHT,
    ADMS,
    DCAT,
    DCT,
    FOAF,
    LICENCE,
    SKOS,
    SPDX,
    THEME,
    VCARD,
    visible_datasets,
)
from api.testing import Api, api_for
from cogov.app import app
from ledger.data import DataSharing, canonical_hash
from ledger.gateway.metadata import load_metadata
from ledger.testing import Deployment
from tests.api.test_data_cli import RUNNER, _cli_env, run
from tests.api.test_data_support import unique
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache

JSONLD = "application/ld+json"
TURTLE = "text/turtle"


def _csv(secret: str) -> bytes:
    """A small file whose rows carry ``secret`` (it must never reach the catalog)."""
    tag = secrets.token_hex(3)
    return f"site_id,district,note\nS{tag}1,幸福里,{secret}\nS{tag}2,和平里,ok\n".encode()


def _upload(client: TestClient, api: Api, label: str, title: str, classification: str, content: bytes,
            **form: str) -> dict[str, Any]:
    r = client.post("/api/v1/datasets", headers=api.auth(label),
                    data={"title": title, "classification": classification, **form},
                    files={"file": ("sites.csv", content, "text/csv")})
    assert r.status_code == 201, r.text
    return dict(r.json()["dataset"])


@pytest.fixture(scope="module")
def planted(client: TestClient, api: Api) -> dict[str, Any]:
    """A Public dataset of dept_a with every catalog field, a Sensitive one of c2 with the defaults, an
    access request on it with a purpose text: secrets planted in rows, purpose and title."""
    row_secret = "ROWSECRET" + secrets.token_hex(6)
    purpose = "PURPOSESECRET" + secrets.token_hex(6)
    public = _upload(
        client, api, "dept_a", unique("公共厕所点位"), "public", _csv(row_secret),
        description="全区公共厕所的位置与开放时间（合成）", keywords="公共设施，厕所, 便民",
        themes="regi,SOCI", contact_name="城管数据科", contact_email="data@chengguan.example",
        contact_phone="+86 10 1234 5678",
    )
    sensitive = _upload(client, api, "c2", unique("独居老人名册"), "sensitive", _csv(row_secret))
    r = client.post("/api/v1/access-requests", headers=api.auth("dept_b"),
                    json={"dataset_id": sensitive["id"], "purpose_code": 3, "purpose": purpose, "duration": 3600})
    assert r.status_code == 201, r.text
    return {"public": public, "sensitive": sensitive, "row_secret": row_secret, "purpose": purpose,
            "request_id": r.json()["request"]["id"]}


def _get(client: TestClient, headers: dict[str, str] | None = None, **params: str) -> Any:
    return client.get("/api/v1/catalog", headers=headers or {}, params=params)


def _graph(r: Any) -> Graph:
    assert r.status_code == 200, r.text
    fmt = "json-ld" if r.headers["content-type"].startswith(JSONLD) else "turtle"
    return Graph().parse(data=r.content, format=fmt)


def _ds(g: Graph, dataset_id: int) -> URIRef:
    found = [s for s in g.subjects(RDF.type, DCAT.Dataset) if str(s).endswith(f"/api/v1/datasets/{dataset_id}")]
    assert len(found) == 1, found
    return URIRef(str(found[0]))


def _ids(g: Graph) -> set[int]:
    return {int(str(s).rsplit("/", 1)[1]) for s in g.subjects(RDF.type, DCAT.Dataset)}


def test_both_serialisations_parse_to_the_same_graph_with_the_mandatory_properties(
        client: TestClient, planted: dict[str, Any]) -> None:
    r = _get(client)  # no Accept: JSON-LD
    assert r.headers["content-type"].startswith(JSONLD)
    g = _graph(r)
    ttl = _get(client, {"Accept": TURTLE})
    assert ttl.headers["content-type"].startswith(TURTLE)
    assert isomorphic(g, _graph(ttl))
    assert isomorphic(g, _graph(_get(client, {"Accept": "application/json"})))
    assert json.loads(r.content)["@context"]["dcat"] == str(DCAT)  # inline: nothing to fetch to read it
    # Catalog: dct:title, dct:description, dct:publisher (an Agent with a name), dcat:dataset (mandatory)
    (cat,) = g.subjects(RDF.type, DCAT.Catalog)
    assert {o.language for o in g.objects(cat, DCT.title)} == {"zh", "en"}  # type: ignore[attr-defined]
    assert g.value(cat, DCT.description) is not None
    publisher = g.value(cat, DCT.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g and g.value(publisher, FOAF.name) is not None
    assert g.value(cat, FOAF.homepage) is not None and g.value(cat, DCT.modified) is not None
    ds = _ds(g, planted["public"]["id"])
    assert (cat, DCAT.dataset, ds) in g
    # Dataset: dct:title, dct:description (mandatory) and the recommended ones we fill
    assert g.value(ds, DCT.title) == Literal(planted["public"]["title"], lang="zh")
    assert str(g.value(ds, DCT.description)) == "全区公共厕所的位置与开放时间（合成）"
    owner = g.value(ds, DCT.publisher)
    assert str(owner).endswith(f"/api/v1/members/{planted['public']['owner_id']}")
    assert (owner, RDF.type, FOAF.Agent) in g and g.value(owner, FOAF.name) is not None
    contact = g.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in g and str(g.value(contact, VCARD.fn)) == "城管数据科"
    assert g.value(contact, VCARD.hasEmail) == URIRef("mailto:data@chengguan.example")
    assert g.value(contact, VCARD.hasTelephone) == URIRef("tel:+861012345678")
    assert {str(k) for k in g.objects(ds, DCAT.keyword)} == {"公共设施", "厕所", "便民"}
    assert set(g.objects(ds, DCAT.theme)) == {THEME.REGI, THEME.SOCI}
    assert g.value(ds, DCT.accessRights) == ACCESS_RIGHT.PUBLIC
    assert g.value(ds, DCT.issued).datatype == g.value(ds, DCT.modified).datatype  # type: ignore[union-attr]
    assert str(g.value(ds, DCAT.version)) == "1"
    assert str(g.value(ds, DCT.identifier)).endswith(f"/datasets/{planted['public']['id']}")
    notations = {str(g.value(i, SKOS.notation))
                 for i in g.objects(ds, ADMS.identifier)}
    assert f"content:keccak256:{planted['public']['content_hash']}" in notations
    assert f"schema:keccak256:{planted['public']['schema_hash']}" in notations
    assert g.value(ds, DCT.conformsTo) == URIRef(f"urn:cogov:table-schema:keccak256:{planted['public']['schema_hash']}")
    # Distribution: dcat:accessURL (mandatory) = the gateway's fetch URL; licence, format, checksum
    dist = g.value(ds, DCAT.distribution)
    assert (dist, RDF.type, DCAT.Distribution) in g
    assert str(g.value(dist, DCAT.accessURL)).endswith(f"/api/v1/datasets/{planted['public']['id']}/data")
    assert g.value(dist, DCT.license) == LICENCE.CC_BY_4_0  # the default of a Public dataset
    assert str(g.value(dist, DCAT.mediaType)).endswith("/text/csv")
    assert g.value(g.value(dist, SPDX.checksum), SPDX.algorithm) == SPDX.checksumAlgorithm_sha256


def test_anonymous_sees_public_datasets_only_and_a_key_what_the_dataset_list_shows(
        client: TestClient, api: Api, planted: dict[str, Any]) -> None:
    anonymous = _ids(_graph(_get(client)))
    assert planted["public"]["id"] in anonymous and planted["sensitive"]["id"] not in anonymous
    listed = client.get("/api/v1/datasets", headers=api.auth("dept_b"), params={"limit": 500}).json()
    public = client.get("/api/v1/datasets", headers=api.auth("dept_b"),
                        params={"limit": 500, "classification": "public"}).json()
    assert anonymous == {d["id"] for d in public["data"]}
    for label in ("dept_b", "c2", "auditor"):  # the owner, another department, not a department at all
        g = _graph(_get(client, api.auth(label)))
        assert _ids(g) == {d["id"] for d in listed["data"]}, label
    ds = _ds(g, planted["sensitive"]["id"])
    assert g.value(ds, DCT.accessRights) == ACCESS_RIGHT.NON_PUBLIC
    licence = g.value(g.value(ds, DCAT.distribution), DCT.license)
    assert str(licence) == "http://testserver/api/v1/catalog#licence-restricted"  # the default of the others
    assert (licence, RDF.type, DCT.LicenseDocument) in g and g.value(licence, DCT.description) is not None
    assert g.value(ds, DCAT.contactPoint) is not None and not list(g.objects(ds, DCAT.theme))
    r = _get(client, {"Authorization": "Bearer cgv_not_a_key"})
    assert r.status_code == 401  # a bad key is refused, not taken for an anonymous caller


def test_nothing_private_appears(client: TestClient, api: Api, planted: dict[str, Any]) -> None:
    grants = client.get("/api/v1/grants", headers=api.auth("c2"), params={"limit": 1}).json()["data"]
    for headers in ({}, api.auth("c2"), api.auth("dept_b")):
        for accept in (JSONLD, TURTLE):
            body = _get(client, {**headers, "Accept": accept}).text
            assert planted["row_secret"] not in body and planted["purpose"] not in body
            assert "幸福里" not in body and "和平里" not in body  # row values
            assert not any(token in body for token in api.keys.values())
            assert "/api/v1/grants" not in body and "/access-requests" not in body
            assert not grants or f"grants/{grants[0]['id']}" not in body
    g = _graph(_get(client, api.auth("c2")))
    predicates = {str(p) for p in g.predicates()}
    assert not any("grant" in p.lower() or "purpose" in p.lower() for p in predicates), predicates


def test_content_negotiation(client: TestClient) -> None:
    assert negotiate(None) == negotiate("*/*") == negotiate("application/*") == "jsonld"
    assert negotiate("text/*") == negotiate("text/turtle;q=0.9, application/ld+json;q=0.5") == "ttl"
    assert negotiate("application/json;q=0, text/turtle") == "ttl"
    assert negotiate("application/ld+json;q=0, */*;q=0.1") == "ttl"
    assert negotiate("text/html, image/png") is None and negotiate("text/turtle;q=0") is None
    r = _get(client, {"Accept": "text/html"})
    assert r.status_code == 406 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 406 and "text/turtle" in r.json()["detail"]
    r = _get(client, {"Accept": "text/html"}, format="ttl")  # the query parameter overrides Accept
    assert r.status_code == 200 and r.headers["content-type"].startswith(TURTLE)
    assert _get(client, format="xml").status_code == 422


def test_etag_and_304_and_a_new_public_dataset_changes_it(client: TestClient, api: Api,
                                                        planted: dict[str, Any]) -> None:
    r = _get(client, {"Accept": TURTLE})
    etag = r.headers["etag"]
    assert "Accept" in r.headers["vary"]
    again = _get(client, {"Accept": TURTLE, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
    assert _get(client, {"If-None-Match": etag}).status_code == 200  # JSON-LD has its own ETag
    _upload(client, api, "dept_a", unique("垃圾分类投放点"), "public", _csv("x"))
    r = _get(client, {"Accept": TURTLE, "If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag


def test_the_catalog_makes_no_chain_call_per_dataset_and_takes_its_base_url_from_the_settings(
        deployment: Deployment, tmp_path: Path, api: Api, planted: dict[str, Any]) -> None:
    led = deployment.ledger()
    assert led.manifest is not None
    data_address = led.manifest.address("DataSharing")
    with RpcProxy(deployment.ganache.config.url) as proxy:
        a = api_for(deployment, tmp_path, "catalog", rpc_urls=[proxy.url],
                    gateway_store_dir=api.settings.gateway_store_dir, catalog_base_url="https://data.example.gov.cn/")
        with TestClient(create_app(a.settings), raise_server_exceptions=False) as client:
            before = len(proxy.calls)
            g = _graph(_get(client, a.auth("c2")))
            assert len(_ids(g)) >= 2
            # every URI under COGOV_CATALOG_BASE_URL, whatever host the request named
            assert (URIRef("https://data.example.gov.cn/api/v1/catalog"), RDF.type, DCAT.Catalog) in g
            assert _ds(g, planted["public"]["id"]) == URIRef(
                f"https://data.example.gov.cn/api/v1/datasets/{planted['public']['id']}")
            calls = [p for m, p in proxy.calls[before:] if m == "eth_call" and p[0]["to"] == data_address]
            assert calls == []


def test_metadata_document_holds_the_catalog_fields_under_the_on_chain_hash(api: Api, planted: dict[str, Any]) -> None:
    ds = planted["public"]
    doc = load_metadata(api.settings.gateway_store_dir, bytes.fromhex(ds["metadata_hash"][2:]))
    assert doc is not None and "0x" + canonical_hash(doc).hex() == ds["metadata_hash"]
    assert doc["themes"] == ["REGI", "SOCI"] and doc["keywords"] == ["公共设施", "厕所", "便民"]
    assert doc["contact"] == {"name": "城管数据科", "email": "data@chengguan.example", "phone": "+86 10 1234 5678"}
    assert doc["license"] == "cc-by-4.0" and doc["language"] == "zh"
    doc = load_metadata(api.settings.gateway_store_dir, bytes.fromhex(planted["sensitive"]["metadata_hash"][2:]))
    assert doc is not None and doc["license"] == "restricted" and doc["contact"] is None


@pytest.mark.parametrize(("form", "field"), [  # every rule: tests/ledger/test_gateway_metadata.py
    ({"themes": "SOCI,HEALTH"}, "themes"),
    ({"contact_name": "数据科"}, "contact_email"),
    ({"license": "ftp://example.org/licence"}, "license"),
])
def test_upload_refuses_bad_catalog_fields_before_anything_is_sent(
        client: TestClient, api: Api, deployment: Deployment, form: dict[str, str], field: str) -> None:
    height = deployment.ledger().block_number()
    r = client.post("/api/v1/datasets", headers=api.auth("dept_a"),
                    data={"title": unique("bad"), "classification": "public", **form},
                    files={"file": ("x.csv", _csv("x"), "text/csv")})
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]
    assert deployment.ledger().block_number() == height


def test_portal_lists_public_datasets_with_links_to_the_catalog(client: TestClient, planted: dict[str, Any]) -> None:
    page = client.get("/data-sharing", params={"lang": "en"}).text
    assert planted["public"]["title"] in page and planted["sensitive"]["title"] not in page
    assert "Regions and cities" in page and "Population and society" in page
    assert 'href="/api/v1/catalog?format=ttl"' in page and 'href="/api/v1/catalog?format=jsonld"' in page
    page = client.get("/data-sharing", params={"lang": "zh-CN"}).text
    assert "公开数据集" in page and "区域与城市" in page


def test_portal_figures_count_what_its_public_list_shows(client: TestClient, api: Api, http: httpx.Client,
                                                         deployment: Deployment) -> None:
    """The live server's index is behind the uploads made through another app: the page's figures and
    its public list are read from one state of the index (the list once showed a dataset the figures
    did not count)."""
    title = unique("街巷长名录")
    _upload(client, api, "dept_a", title, "public", _csv("x"), themes="GOVE")
    page = http.get("/data-sharing", params={"lang": "en"}).text
    assert title in page
    assert f">{DataSharing(deployment.ledger()).dataset_count()} datasets" in page


def test_cli_register_and_upload_take_the_catalog_fields(client: TestClient, api: Api, deployment: Deployment,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _cli_env(deployment, api, monkeypatch)
    src = tmp_path / "sites.csv"
    src.write_bytes(_csv("cli"))
    title = unique("CLI 登记的公开数据集")
    out = run("data", "register", str(src), "--key", "dept_a", "--title", title, "--classification", "public",
              "--description", "由命令行登记", "--keywords", "便民、设施", "--themes", "envi",
              "--contact-name", "数据科", "--contact-phone", "010-8000-0009")
    dataset_id = int(out.split("registered dataset ")[1].split()[0])
    g = _graph(_get(client))  # register keeps the metadata document (no content) for the catalog
    ds = _ds(g, dataset_id)
    assert str(g.value(ds, DCT.description)) == "由命令行登记" and g.value(ds, DCAT.theme) == THEME.ENVI
    assert {str(k) for k in g.objects(ds, DCAT.keyword)} == {"便民", "设施"}
    assert g.value(g.value(ds, DCAT.contactPoint), VCARD.hasTelephone) == URIRef("tel:010-8000-0009")
    assert g.value(g.value(ds, DCAT.distribution), DCT.license) == LICENCE.CC_BY_4_0
    height = deployment.ledger().block_number()
    src.write_bytes(_csv("cli2"))
    res = RUNNER.invoke(app, ["data", "upload", str(src), "--key", "dept_a", "--title", unique("x"),
                              "--themes", "SOCI,WEATHER"])
    said = res.output + str(res.exception)
    assert res.exit_code != 0 and "invalid themes" in said and "WEATHER" in said
    res = RUNNER.invoke(app, ["data", "upload", str(src), "--key", "dept_a", "--dataset", str(dataset_id),
                              "--keywords", "新"])  # a new version cannot change the catalog fields
    assert res.exit_code != 0 and "catalog fields" in str(res.exception)
    assert deployment.ledger().block_number() == height


def test_the_catalog_reads_every_page_of_the_dataset_list(client: TestClient, planted: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    state = client.app.state.service  # type: ignore[attr-defined]
    whole = [d.id for d in visible_datasets(state, None)]
    monkeypatch.setattr("api.services.catalog.LIMIT_MAX", 1)  # one dataset a page
    assert [d.id for d in visible_datasets(state, None)] == whole and len(whole) >= 2


def test_a_new_version_shows_its_own_content_hash_and_no_stale_checksum(client: TestClient, api: Api) -> None:
    ds = _upload(client, api, "dept_a", unique("版本"), "public", _csv("v1"))
    g = _graph(_get(client))
    assert g.value(g.value(_ds(g, ds["id"]), DCAT.distribution), SPDX.checksum) is not None
    r = client.put(f"/api/v1/datasets/{ds['id']}/content", headers=api.auth("dept_a"),
                   files={"file": ("sites.csv", _csv("v2"), "text/csv")})
    assert r.status_code == 200, r.text
    g = _graph(_get(client))
    node = _ds(g, ds["id"])
    assert str(g.value(node, DCAT.version)) == "2"
    notations = {str(g.value(i, SKOS.notation)) for i in g.objects(node, ADMS.identifier)}
    assert f"content:keccak256:{r.json()['dataset']['content_hash']}" in notations
    assert g.value(g.value(node, DCAT.distribution), SPDX.checksum) is None  # version 1's digest is not shown
