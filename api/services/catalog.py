"""The DCAT-AP 3 catalog of the datasets a caller may see, built with rdflib (``docs/catalog.md``).

Which datasets: an anonymous caller sees the Public ones; an API key sees what
``GET /api/v1/datasets`` shows it, read through the same service (:func:`visible_datasets`).
What of them: the chain's record (from the event index, through the data reducer), its owner's
name (the registry's indexed events) and its metadata document (the catalog fields, kept by the
gateway under the on-chain ``metadataHash``, read only if it hashes to it). Never contents: no
rows, no purposes, no grants, no keys.

The serialised catalog is kept per index version, caller class (anonymous or keyed), base URL and
format (:func:`catalog_answer`), with a strong ETag over its bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from api.apikeys import ApiKey
from api.params import LIMIT_MAX
from api.schemas.data import DatasetPublic
from api.services import data as data_svc
from api.services.index import cached, index_for
from api.services.membership import list_members
from api.services.names import Members
from api.state import ServiceState
from ledger.data import Classification
from ledger.errors import NotDeployed
from ledger.gateway.metadata import LANGUAGES, THEMES, CatalogFields, load_metadata, read_catalog_fields

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
EU = "http://publications.europa.eu/resource/authority/"
THEME = Namespace(EU + "data-theme/")
ACCESS_RIGHT = Namespace(EU + "access-right/")
LANGUAGE = Namespace(EU + "language/")
FILE_TYPE = Namespace(EU + "file-type/")
LICENCE = Namespace(EU + "licence/")
IANA = Namespace("https://www.iana.org/assignments/media-types/")
FRICTIONLESS_TABLE_SCHEMA = URIRef("https://specs.frictionlessdata.io/table-schema/")

#: Prefixes of both serialisations (the JSON-LD context is inline: nothing is fetched to read it).
PREFIXES = {"dcat": DCAT, "dct": DCT, "foaf": FOAF, "vcard": VCARD, "adms": ADMS, "spdx": SPDX, "skos": SKOS,
            "xsd": Namespace(str(XSD))}
#: The EU access-right of each classification.
ACCESS_RIGHTS = {
    Classification.PUBLIC: "PUBLIC",
    Classification.INTERNAL: "RESTRICTED",
    Classification.SENSITIVE: "NON_PUBLIC",
    Classification.SECRET: "NON_PUBLIC",
}
#: File formats: the EU file-type code and the IANA media type (none registered for JSON lines).
FORMATS: dict[str, tuple[str, str | None]] = {"csv": ("CSV", "text/csv"), "jsonl": ("JSON", None)}
#: Named licences (``ledger/gateway/metadata.py``); ``restricted`` is the catalog's own.
NAMED_LICENCES = {"cc-by-4.0": LICENCE.CC_BY_4_0, "cc0-1.0": LICENCE.CC0}
RESTRICTED_LICENCE = "/api/v1/catalog#licence-restricted"
MEDIA_TYPES = {"jsonld": "application/ld+json", "ttl": "text/turtle"}


@dataclass(frozen=True)
class Entry:
    """One dataset as the catalog shows it."""

    dataset: DatasetPublic
    owner: str
    description: str
    catalog: CatalogFields
    format: str | None
    content_sha256: str | None


def visible_datasets(state: ServiceState, key: ApiKey | None) -> list[DatasetPublic]:
    """The datasets ``key``'s caller may see (None: anonymous, the Public ones), oldest first:
    those ``GET /api/v1/datasets`` lists for it, through the same service."""
    wanted = Classification.PUBLIC if key is None else None
    seen: dict[int, DatasetPublic] = {}  # by id: a dataset registered between two pages shifts them by one
    offset = 0
    while True:
        page = data_svc.list_datasets(state, None, None, wanted, None, None, offset, LIMIT_MAX)
        seen.update((d.id, d) for d in page.data)
        offset += len(page.data)
        if not page.data or offset >= page.count:
            return [seen[i] for i in sorted(seen)]


def entries(state: ServiceState, key: ApiKey | None) -> list[Entry]:
    """The visible datasets with their owners' names and their metadata documents' catalog fields."""
    members = Members.cached(index_for(state))
    store_dir = state.settings.gateway_store_dir
    out = []
    for d in visible_datasets(state, key):
        cls = Classification[d.classification.upper()]
        doc: dict[str, Any] = load_metadata(store_dir, bytes.fromhex(d.metadata_hash[2:])) or {}
        out.append(Entry(
            dataset=d,
            owner=members.name(d.owner_id) or f"#{d.owner_id}",
            description=str(doc.get("description") or ""),
            catalog=read_catalog_fields(doc, cls),
            format=str(doc["format"]) if doc.get("format") else None,
            # the document is the registration's (a new version keeps the metadataHash): its file
            # digest is the current content's only for version 1
            content_sha256=str(doc["content_sha256"]) if doc.get("content_sha256") and d.version == 1 else None,
        ))
    return out


def _time(ts: int) -> Literal:
    return Literal(dt.datetime.fromtimestamp(ts, tz=dt.UTC), datatype=XSD.dateTime)


class _Builder:
    """The catalog's graph, one dataset at a time."""

    def __init__(self, state: ServiceState, base: str) -> None:
        self.g = Graph()
        for prefix, ns in PREFIXES.items():
            self.g.bind(prefix, ns)
        self.base = base
        if state.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        self.manifest = state.manifest
        self.catalog = URIRef(f"{base}/api/v1/catalog")

    def add(self, s: Node, p: URIRef, o: Node) -> None:
        self.g.add((s, p, o))

    def term(self, s: Node, p: URIRef, o: URIRef, cls: URIRef) -> None:
        """``s p o`` with ``o``'s class said too (a term of a vocabulary: DCAT-AP 3's range shapes
        check it without loading the vocabulary)."""
        self.add(s, p, o)
        self.add(o, RDF.type, cls)

    def agent(self, member_id: int, name: str) -> URIRef:
        a = URIRef(f"{self.base}/api/v1/members/{member_id}")
        self.add(a, RDF.type, FOAF.Agent)
        self.add(a, FOAF.name, Literal(name))
        return a

    def licence(self, name: str) -> URIRef:
        if name == "restricted":
            uri = URIRef(self.base + RESTRICTED_LICENCE)
            self.add(uri, DCT.title, Literal("受限使用：仅凭链上授权", lang="zh"))
            self.add(uri, DCT.title, Literal("Restricted: use only under an on-chain grant", lang="en"))
            self.add(uri, DCT.description, Literal(
                "Data of this dataset may be obtained and used only through this ledger's gateway under an "
                "active grant of its DataSharing contract, within the grant's fields, row filter, purpose, "
                "number of uses and duration; not to be passed on to anyone else.", lang="en"))
        else:
            uri = NAMED_LICENCES.get(name, URIRef(name))
        self.add(uri, RDF.type, DCT.LicenseDocument)
        return uri

    def identifier(self, ds: URIRef, what: str, value: str) -> None:
        node = BNode()
        self.add(ds, ADMS.identifier, node)
        self.add(node, RDF.type, ADMS.Identifier)
        self.add(node, SKOS.notation, Literal(f"{what}:keccak256:{value}"))
        self.add(node, ADMS.schemaAgency, Literal(
            f"CoGov Ledger DataSharing {self.manifest.address('DataSharing')} on chain {self.manifest.chain_id}"))

    def dataset(self, e: Entry) -> URIRef:
        d, c = e.dataset, e.catalog
        lang = c.language
        ds = URIRef(f"{self.base}/api/v1/datasets/{d.id}")
        add = self.add
        add(self.catalog, DCAT.dataset, ds)
        add(ds, RDF.type, DCAT.Dataset)
        add(ds, DCT.title, Literal(d.title, lang=lang))
        add(ds, DCT.description, Literal(e.description or d.title, lang=lang))
        add(ds, DCT.identifier, Literal(
            f"eip155:{self.manifest.chain_id}:{self.manifest.address('DataSharing')}/datasets/{d.id}"))
        add(ds, DCT.publisher, self.agent(d.owner_id, e.owner))
        contact = URIRef(f"{ds}#contact")
        add(ds, DCAT.contactPoint, contact)
        add(contact, RDF.type, VCARD.Kind)
        add(contact, VCARD.fn, Literal(c.contact.name if c.contact else e.owner))
        if c.contact and c.contact.email:
            add(contact, VCARD.hasEmail, URIRef("mailto:" + c.contact.email))
        if c.contact and c.contact.phone:
            add(contact, VCARD.hasTelephone, URIRef("tel:" + c.contact.phone.replace(" ", "")))
        for word in c.keywords:
            add(ds, DCAT.keyword, Literal(word, lang=lang))
        for code in c.themes:
            self.term(ds, DCAT.theme, THEME[code], SKOS.Concept)
            add(THEME[code], SKOS.prefLabel, Literal(THEMES[code], lang="en"))
        cls = Classification[d.classification.upper()]
        self.term(ds, DCT.accessRights, ACCESS_RIGHT[ACCESS_RIGHTS[cls]], DCT.RightsStatement)
        self.term(ds, DCT.language, LANGUAGE[LANGUAGES[lang]], DCT.LinguisticSystem)
        add(ds, DCT.issued, _time(d.registered_at))
        add(ds, DCT.modified, _time(d.updated_at))
        add(ds, DCAT.version, Literal(str(d.version)))
        self.identifier(ds, "content", d.content_hash)
        self.identifier(ds, "schema", d.schema_hash)
        self.identifier(ds, "metadata", d.metadata_hash)
        schema = URIRef(f"urn:cogov:table-schema:keccak256:{d.schema_hash}")
        add(ds, DCT.conformsTo, schema)
        add(schema, RDF.type, DCT.Standard)
        add(schema, DCT.title, Literal("Frictionless Table Schema", lang="en"))
        add(schema, DCT.conformsTo, FRICTIONLESS_TABLE_SCHEMA)
        self.distribution(ds, e, cls)
        return ds

    def distribution(self, ds: URIRef, e: Entry, cls: Classification) -> None:
        add = self.add
        dist = URIRef(f"{ds}#distribution")
        add(ds, DCAT.distribution, dist)
        add(dist, RDF.type, DCAT.Distribution)
        add(dist, DCAT.accessURL, URIRef(f"{ds}/data"))
        add(dist, DCT.description, Literal(
            "Served by the owner's gateway under an on-chain grant, sealed to the grantee's registered "
            "X25519 key; every access and refusal is logged.", lang="en"))
        add(dist, DCT.license, self.licence(e.catalog.license))
        self.term(dist, DCT.accessRights, ACCESS_RIGHT[ACCESS_RIGHTS[cls]], DCT.RightsStatement)
        file_type, media = FORMATS.get(e.format or "", (None, None))
        if file_type:
            self.term(dist, DCT["format"], FILE_TYPE[file_type], DCT.MediaTypeOrExtent)  # DCT.format: str.format
        if media:
            self.term(dist, DCAT.mediaType, IANA[media], DCT.MediaType)
        if e.content_sha256:
            checksum = BNode()
            add(dist, SPDX.checksum, checksum)
            add(checksum, RDF.type, SPDX.Checksum)
            self.term(checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)
            add(checksum, SPDX.checksumValue, Literal(e.content_sha256.removeprefix("0x"), datatype=XSD.hexBinary))

    def catalog_node(self, publisher: tuple[int, str] | None, shown: list[Entry]) -> None:
        c, add = self.catalog, self.add
        add(c, RDF.type, DCAT.Catalog)
        add(c, DCT.title, Literal("CoGov Ledger 数据目录", lang="zh"))
        add(c, DCT.title, Literal("CoGov Ledger data catalog", lang="en"))
        add(c, DCT.description, Literal("各部门在链上登记、凭链上授权共享的数据集。", lang="zh"))
        add(c, DCT.description, Literal(
            "Datasets the city's departments registered on the ledger and share under on-chain grants.", lang="en"))
        if publisher is not None:
            add(c, DCT.publisher, self.agent(*publisher))
        else:
            agent = URIRef(f"{self.base}/")
            add(agent, RDF.type, FOAF.Agent)
            add(agent, FOAF.name, Literal(f"CoGov Ledger deployment on chain {self.manifest.chain_id}"))
            add(c, DCT.publisher, agent)
        self.term(c, FOAF.homepage, URIRef(f"{self.base}/data-sharing"), FOAF.Document)
        self.term(c, DCAT.themeTaxonomy, URIRef(EU + "data-theme"), SKOS.ConceptScheme)
        add(URIRef(EU + "data-theme"), DCT.title, Literal("Data theme", lang="en"))
        for code in ("ZHO", "ENG"):
            self.term(c, DCT.language, LANGUAGE[code], DCT.LinguisticSystem)
        if shown:
            add(c, DCT.issued, _time(min(e.dataset.registered_at for e in shown)))
            add(c, DCT.modified, _time(max(e.dataset.updated_at for e in shown)))


def catalog_graph(state: ServiceState, key: ApiKey | None, base: str) -> Graph:
    """The caller's catalog as an RDF graph; ``base``: the service's public base URL (no ``/`` at the end)."""
    shown = entries(state, key)
    governance = list_members(state, "data_governance", True, 0, 1).data
    b = _Builder(state, base)
    b.catalog_node((governance[0].id, governance[0].name) if governance else None, shown)
    for e in shown:
        b.dataset(e)
    return b.g


def serialise(g: Graph, fmt: str) -> bytes:
    """``g`` as Turtle (``ttl``) or compacted JSON-LD (``jsonld``) with an inline context."""
    if fmt == "ttl":
        return g.serialize(format="turtle", encoding="utf-8")
    context = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
    return g.serialize(format="json-ld", context=context, indent=2, ensure_ascii=False, encoding="utf-8")


def catalog_answer(state: ServiceState, key: ApiKey | None, base: str, fmt: str) -> tuple[bytes, str]:
    """The serialised catalog and its ETag, kept per index version, caller class, base URL and format."""

    def build() -> tuple[bytes, str]:
        body = serialise(catalog_graph(state, key, base), fmt)
        return body, '"' + hashlib.sha256(body).hexdigest()[:40] + '"'

    # Keyed by "anonymous or not" only: the dataset list shows every key the same datasets. Should it
    # ever depend on the caller's member, :func:`visible_datasets` takes the caller and so must this key.
    answer: tuple[bytes, str] = cached(state, ("dcat-catalog", key is None, base, fmt), build)
    return answer
