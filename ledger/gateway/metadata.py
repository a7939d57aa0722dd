"""A dataset's catalog metadata: the off-chain document whose canonical hash is its ``metadataHash``.

The document (:func:`ledger.gateway.service.metadata_document`) holds the title, the description,
the file's format and fields and its SHA-256, and the catalog fields of DCAT-AP 3
(:class:`CatalogFields`): keywords, themes from the EU data-theme vocabulary, a contact point,
a licence and a language. ``api/services/catalog.py`` publishes them as DCAT-AP; ``docs/catalog.md``
has the mapping.

A licence is an absolute http(s) URI or one of the names of :data:`LICENCES`; without one, the
default of the dataset's classification is written into the document (Public: ``cc-by-4.0``,
the others: ``restricted``, the deployment's restricted licence, which the catalog publishes under
its own base URL). The document therefore always says which licence applies, and does not depend
on the host name the catalog is served under.

Documents are kept as ``<store>/metadata/<metadataHash hex>.json`` (no dataset contents in them,
so in the clear); a document is read back only if it hashes to the hash asked for.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ledger.data import Classification, canonical_hash

if TYPE_CHECKING:
    from ledger.gateway.store import StoredMeta
from ledger.errors import ValidationFailed

log = logging.getLogger("ledger.gateway")

#: The EU data-theme vocabulary (http://publications.europa.eu/resource/authority/data-theme/): code -> label.
THEMES: dict[str, str] = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport",
    "ENER": "Energy",
    "ENVI": "Environment",
    "GOVE": "Government and public sector",
    "HEAL": "Health",
    "INTR": "International issues",
    "JUST": "Justice, legal system and public safety",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TECH": "Science and technology",
    "TRAN": "Transport",
}
#: Languages a dataset's texts may be in: our code -> the EU language authority's code.
LANGUAGES = {"zh": "ZHO", "en": "ENG"}
#: Licences by name: the catalog turns a name into its URI (``restricted``: under the catalog's base URL).
LICENCES = ("cc-by-4.0", "cc0-1.0", "restricted")
MAX_KEYWORDS = 20
MAX_KEYWORD = 64
MAX_URI = 500

_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{2,30}$")
_SEPARATORS = re.compile(r"[,，、;；]")


@dataclass(frozen=True)
class Contact:
    """Who answers questions about a dataset: a name and an email address or a telephone number."""

    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class CatalogFields:
    """The DCAT-AP fields of a dataset's metadata document (the title and description are the
    document's own). Build them with :func:`catalog_fields`, which validates."""

    license: str
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    contact: Contact | None = None
    language: str = "zh"

    def document(self) -> dict[str, Any]:
        """The document's catalog keys."""
        contact = None
        if self.contact is not None:
            contact = {k: v for k, v in vars(self.contact).items() if v is not None}
        return {
            "keywords": list(self.keywords),
            "themes": list(self.themes),
            "contact": contact,
            "license": self.license,
            "language": self.language,
        }


def split_list(value: str | Iterable[str] | None) -> list[str]:
    """Items of a comma-separated text (``,``, ``，``, ``、`` or ``;``) or of a list of such texts,
    stripped, empty ones dropped."""
    if value is None:
        return []
    texts = [value] if isinstance(value, str) else list(value)
    return [p.strip() for t in texts for p in _SEPARATORS.split(t) if p.strip()]


def default_licence(classification: Classification) -> str:
    """The licence of a dataset whose uploader named none: CC BY 4.0 for Public, else ``restricted``."""
    return "cc-by-4.0" if classification == Classification.PUBLIC else "restricted"


def _licence(value: str | None, classification: Classification) -> str:
    if value is None or not value.strip():
        return default_licence(classification)
    value = value.strip()
    if value.lower() in LICENCES:
        return value.lower()
    u = urlparse(value)
    bad = any(c.isspace() or c in '<>"{}|\\^`' for c in value)  # not in an IRI (RFC 3987)
    if u.scheme not in ("http", "https") or not u.netloc or len(value) > MAX_URI or bad:
        raise ValidationFailed(
            "license", f"an absolute http(s) URI of at most {MAX_URI} characters, or one of {', '.join(LICENCES)}"
        )
    return value


def _contact(name: str | None, email: str | None, phone: str | None) -> Contact | None:
    name, email, phone = (v.strip() if v and v.strip() else None for v in (name, email, phone))
    if name is None and email is None and phone is None:
        return None
    if name is None or len(name) > 200:
        raise ValidationFailed("contact_name", "a contact point needs a name of 1 to 200 characters")
    if email is None and phone is None:
        raise ValidationFailed("contact_email", "a contact point needs an email address or a telephone number")
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        raise ValidationFailed("contact_email", f"{email!r} is not an email address")
    if phone is not None and not _PHONE.match(phone):
        raise ValidationFailed("contact_phone", f"{phone!r} is not a telephone number (digits, spaces, + ( ) -)")
    return Contact(name, email, phone)


def catalog_fields(
    classification: Classification,
    *,
    keywords: str | Iterable[str] | None = None,
    themes: str | Iterable[str] | None = None,
    contact_name: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    license: str | None = None,
    language: str | None = None,
) -> CatalogFields:
    """The catalog fields as given by an uploader, validated (:class:`ValidationFailed` naming the
    field), with the defaults: the classification's licence, Chinese (``zh``)."""
    words = list(dict.fromkeys(split_list(keywords)))
    if len(words) > MAX_KEYWORDS or any(len(w) > MAX_KEYWORD for w in words):
        raise ValidationFailed("keywords", f"at most {MAX_KEYWORDS} keywords of at most {MAX_KEYWORD} characters")
    codes = list(dict.fromkeys(t.upper() for t in split_list(themes)))
    unknown = [c for c in codes if c not in THEMES]
    if unknown:
        raise ValidationFailed(
            "themes", f"{', '.join(unknown)} not in the EU data-theme vocabulary ({', '.join(THEMES)})"
        )
    lang = (language or "zh").strip().lower()
    if lang not in LANGUAGES:
        raise ValidationFailed("language", f"one of {', '.join(LANGUAGES)}")
    return CatalogFields(
        license=_licence(license, classification),
        keywords=tuple(words),
        themes=tuple(codes),
        contact=_contact(contact_name, contact_email, contact_phone),
        language=lang,
    )


def read_catalog_fields(doc: Mapping[str, Any], classification: Classification) -> CatalogFields:
    """The catalog fields of a stored document (one written before they existed: the defaults)."""
    contact = doc.get("contact")
    c = contact if isinstance(contact, Mapping) else {}
    try:
        return catalog_fields(
            classification,
            keywords=[str(k) for k in doc.get("keywords") or ()],
            themes=[str(t) for t in doc.get("themes") or ()],
            contact_name=c.get("name"),
            contact_email=c.get("email"),
            contact_phone=c.get("phone"),
            license=doc.get("license"),
            language=doc.get("language"),
        )
    except ValidationFailed as exc:  # a document this code did not write: show what is sound
        log.warning("a dataset's metadata document has an invalid catalog field: %s", exc.message)
        return CatalogFields(license=default_licence(classification))


def metadata_dir(store_dir: Path) -> Path:
    return store_dir / "metadata"


def save_metadata(store_dir: Path, doc: Mapping[str, Any]) -> bytes:
    """Keep ``doc`` under its canonical hash (written once, atomically); the hash."""
    from ledger.gateway.store import atomic_write

    h = canonical_hash(doc)
    d = metadata_dir(store_dir)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = d / f"{h.hex()}.json"
    if not path.exists():
        atomic_write(path, json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    return h


def load_metadata(store_dir: Path, metadata_hash: bytes) -> dict[str, Any] | None:
    """The document kept under ``metadata_hash``, if there is one and it hashes to it (else None,
    and a warning for one that does not)."""
    path = metadata_dir(store_dir) / f"{metadata_hash.hex()}.json"
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("metadata document %s is unreadable", path.name)
        return None
    if not isinstance(doc, dict) or canonical_hash(doc) != metadata_hash:
        log.warning("metadata document %s does not hash to its name: ignored", path.name)
        return None
    return doc


def metadata_document(title: str, description: str, meta: StoredMeta, catalog: CatalogFields) -> dict[str, Any]:
    """The dataset's metadata document, whose canonical hash is its on-chain ``metadataHash``
    (the catalog fields: ``ledger/gateway/metadata.py``)."""
    return {
        "title": title,
        "description": description,
        "format": meta.format,
        "fields": list(meta.fields),
        "content_sha256": meta.content_sha256,
        **catalog.document(),
    }
