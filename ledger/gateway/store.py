"""The gateway's encrypted dataset store, and dataset parsing.

Stored content is bound to the member that uploaded it and to the dataset
versions it was uploaded for, so that a dataset can only ever be served from
content its own owner uploaded for it (never from another member's upload that
happens to have the registered content hash: issue 14 item 1). Files under
``<store>/blobs/m<uploader member id>/``, named by the keccak256 of the
plaintext (the ``contentHash`` registered on chain, so an auditor can match
files to the chain):

* ``<keccak-hex>.enc`` — ``nonce ‖ AES-256-GCM(ciphertext+tag)`` of the content;
* ``<keccak-hex>.json`` — metadata: the wrapped data key, ``uploader_id``,
  ``content_keccak256``, ``content_sha256``, ``size``, ``format``, ``fields``,
  ``rows``. The metadata (all but the wrapped key) is the associated data of both
  encryptions, so an edited metadata file, or a blob moved into another member's
  folder, fails authentication;
* ``<keccak-hex>.d<dataset id>v<version>`` — the binding of the content to one
  dataset version, written once the registration or version update naming it is
  mined: the HMAC-SHA256 (key derived from the master key) of the binding record.

Every file is written to a temporary name, fsynced and renamed into place.
Blobs of the earlier layout (``blobs/<keccak-hex>.enc``, no uploader) are never
served; the owner uploads (or adopts) the content again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eth_utils import keccak

from ledger.errors import IntegrityError, NotFound, ValidationFailed
from ledger.gateway.crypto import Sealed, b64d, b64e, binding_mac, decrypt_at_rest, encrypt_at_rest, verify_binding_mac

Format = Literal["csv", "jsonl"]
FORMATS: tuple[str, ...] = ("csv", "jsonl")
MAX_FIELDS = 200


@dataclass(frozen=True)
class Parsed:
    format: Format
    fields: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class StoredMeta:
    content_keccak256: str  # 0x-hex: the on-chain contentHash
    content_sha256: str
    size: int
    format: Format
    fields: tuple[str, ...]
    rows: int
    stored_at: int
    uploader_id: int = 0  # the member whose account uploaded it (0: hashes only, nothing stored)

    @property
    def content_hash(self) -> bytes:
        return bytes.fromhex(self.content_keccak256[2:])

    def aad(self) -> bytes:
        doc = {
            "v": 2,
            "uploader_id": self.uploader_id,
            "content_keccak256": self.content_keccak256,
            "content_sha256": self.content_sha256,
            "size": self.size,
            "format": self.format,
            "fields": list(self.fields),
            "rows": self.rows,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def schema(self) -> dict[str, object]:
        """The schema document whose canonical hash is the on-chain schemaHash."""
        return {"format": self.format, "fields": list(self.fields)}


# ------------------------------------------------------------------ parsing


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("file", "a dataset must be UTF-8 text") from exc


def detect_format(filename: str | None, data: bytes) -> Format:
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    return "jsonl" if data.lstrip()[:1] == b"{" else "csv"


def parse(data: bytes, fmt: Format) -> Parsed:
    """Field names and row count of a CSV (header row) or JSON-lines dataset."""
    if not data.strip():
        raise ValidationFailed("file", "the dataset is empty")
    text = _text(data)
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            raise ValidationFailed("file", "a CSV dataset needs a header row") from exc
        fields = [h.strip() for h in header]
        rows = 0
        try:
            for rec in reader:
                if rec:
                    rows += 1
        except csv.Error as exc:
            raise ValidationFailed("file", f"malformed CSV: {exc}") from exc
    elif fmt == "jsonl":
        fields = []
        seen: set[str] = set()
        rows = 0
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise ValidationFailed("file", f"line {n} is not JSON") from exc
            if not isinstance(obj, dict):
                raise ValidationFailed("file", f"line {n} is not a JSON object")
            for k in obj:
                if k not in seen:
                    seen.add(k)
                    fields.append(k)
            rows += 1
    else:
        raise ValidationFailed("format", f"one of {', '.join(FORMATS)}")
    if not fields or any(not f or "," in f for f in fields):
        raise ValidationFailed("file", "field names must be non-empty and contain no comma")
    if len(set(fields)) != len(fields):
        raise ValidationFailed("file", "duplicate field names")
    if len(fields) > MAX_FIELDS:
        raise ValidationFailed("file", f"at most {MAX_FIELDS} fields")
    return Parsed(fmt, tuple(fields), rows)


def project(
    data: bytes, fmt: Format, all_fields: tuple[str, ...], fields: list[str], rows: int | None = None
) -> tuple[bytes, int]:
    """The dataset restricted to ``fields`` (schema order); the exact file when all are asked."""
    unknown = [f for f in fields if f not in all_fields]
    if unknown:
        raise ValidationFailed("fields", f"not in the dataset's schema: {', '.join(unknown)}")
    if set(fields) == set(all_fields):
        return data, rows if rows is not None else parse(data, fmt).rows
    keep = [f for f in all_fields if f in set(fields)]
    text = _text(data)
    out = io.StringIO()
    rows = 0
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        reader.fieldnames = [h.strip() for h in (reader.fieldnames or [])]
        writer = csv.DictWriter(out, fieldnames=keep, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for rec in reader:
            writer.writerow(rec)
            rows += 1
    else:
        for line in text.splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            out.write(json.dumps({k: obj[k] for k in keep if k in obj}, ensure_ascii=False) + "\n")
            rows += 1
    return out.getvalue().encode("utf-8"), rows


# ------------------------------------------------------------------ the store


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class GatewayStore:
    """Encrypted datasets under ``directory``, keyed by (uploading member, content keccak256)."""

    def __init__(self, directory: Path, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValidationFailed("master key", "must be 32 bytes")
        self.directory = directory
        self.blobs = directory / "blobs"
        self._master = master_key

    def __repr__(self) -> str:  # never show the key
        return f"GatewayStore({str(self.directory)!r})"

    def _folder(self, uploader_id: int) -> Path:
        if uploader_id < 1:
            raise ValidationFailed("uploader", "content is stored for a member (id >= 1)")
        return self.blobs / f"m{uploader_id}"

    def _paths(self, uploader_id: int, content_hash: bytes) -> tuple[Path, Path]:
        h = content_hash.hex()
        folder = self._folder(uploader_id)
        return folder / f"{h}.enc", folder / f"{h}.json"

    def put(self, data: bytes, fmt: Format, uploader_id: int) -> StoredMeta:
        """Encrypt and store ``data`` as uploaded by member ``uploader_id``; returns its metadata
        (idempotent for the same bytes and member). Nothing is served from it before :meth:`bind`."""
        parsed = parse(data, fmt)
        meta = StoredMeta(
            content_keccak256="0x" + keccak(data).hex(),
            content_sha256="0x" + hashlib.sha256(data).hexdigest(),
            size=len(data),
            format=fmt,
            fields=parsed.fields,
            rows=parsed.rows,
            stored_at=int(time.time()),
            uploader_id=uploader_id,
        )
        enc_path, meta_path = self._paths(uploader_id, meta.content_hash)
        if enc_path.exists() and meta_path.exists():
            try:
                existing = self.meta(uploader_id, meta.content_hash)
                self.read(uploader_id, meta.content_hash)
                return existing
            except IntegrityError:
                pass  # damaged copy: write a fresh one
        enc_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        sealed = encrypt_at_rest(self._master, data, meta.aad())
        doc = {
            "v": 2,
            "cipher": "AES-256-GCM",
            "key_wrap": "AES-256-GCM",
            "wrapped_key": b64e(sealed.wrapped_key),
            "uploader_id": meta.uploader_id,
            "content_keccak256": meta.content_keccak256,
            "content_sha256": meta.content_sha256,
            "size": meta.size,
            "format": meta.format,
            "fields": list(meta.fields),
            "rows": meta.rows,
            "stored_at": meta.stored_at,
        }
        atomic_write(enc_path, sealed.blob)
        atomic_write(meta_path, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
        return meta

    def has(self, uploader_id: int, content_hash: bytes) -> bool:
        enc_path, meta_path = self._paths(uploader_id, content_hash)
        return enc_path.exists() and meta_path.exists()

    def uploaders(self, content_hash: bytes) -> list[int]:
        """The members holding an upload of ``content_hash`` in this store."""
        found = []
        for p in self.blobs.glob(f"m*/{content_hash.hex()}.json"):
            with contextlib.suppress(ValueError):
                found.append(int(p.parent.name[1:]))
        return sorted(found)

    # ------------------------------------------------------------ bindings

    def _binding(self, uploader_id: int, content_hash: bytes, dataset_id: int, version: int) -> tuple[Path, bytes]:
        record = {
            "v": 1,
            "uploader_id": uploader_id,
            "content_keccak256": "0x" + content_hash.hex(),
            "dataset_id": dataset_id,
            "version": version,
        }
        message = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("ascii")
        path = self._folder(uploader_id) / f"{content_hash.hex()}.d{dataset_id}v{version}"
        return path, message

    def bind(self, uploader_id: int, content_hash: bytes, dataset_id: int, version: int) -> None:
        """Record that member ``uploader_id`` uploaded this content for ``dataset_id`` at ``version``
        (call once the registration or version update is mined: the receipt names both)."""
        if not self.has(uploader_id, content_hash):
            raise NotFound("stored dataset content", f"0x{content_hash.hex()} of member {uploader_id}")
        path, message = self._binding(uploader_id, content_hash, dataset_id, version)
        atomic_write(path, binding_mac(self._master, message).hex().encode("ascii"))

    def is_bound(self, uploader_id: int, content_hash: bytes, dataset_id: int, version: int) -> bool:
        """True if the binding exists (IntegrityError if it was tampered with)."""
        path, message = self._binding(uploader_id, content_hash, dataset_id, version)
        try:
            tag = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"binding file {path.name} is unreadable") from exc
        verify_binding_mac(self._master, message, tag)
        return True

    # ------------------------------------------------------------ reads

    def _doc(self, uploader_id: int, content_hash: bytes) -> dict[str, object]:
        _, meta_path = self._paths(uploader_id, content_hash)
        try:
            doc = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFound("stored dataset content", f"0x{content_hash.hex()} of member {uploader_id}") from exc
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"metadata file {meta_path.name} is unreadable") from exc
        if not isinstance(doc, dict):
            raise IntegrityError(f"metadata file {meta_path.name} is not an object")
        return doc

    def meta(self, uploader_id: int, content_hash: bytes) -> StoredMeta:
        doc = self._doc(uploader_id, content_hash)
        try:
            meta = StoredMeta(
                content_keccak256=str(doc["content_keccak256"]),
                content_sha256=str(doc["content_sha256"]),
                size=int(doc["size"]),  # type: ignore[call-overload]
                format=str(doc["format"]),  # type: ignore[arg-type]
                fields=tuple(str(f) for f in doc["fields"]),  # type: ignore[attr-defined]
                rows=int(doc["rows"]),  # type: ignore[call-overload]
                stored_at=int(doc.get("stored_at", 0)),  # type: ignore[call-overload]
                uploader_id=int(doc["uploader_id"]),  # type: ignore[call-overload]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError("stored dataset metadata is malformed") from exc
        if meta.content_hash != content_hash:
            raise IntegrityError("stored dataset metadata names another content hash than its file name")
        if meta.uploader_id != uploader_id:
            raise IntegrityError(
                f"stored dataset metadata names member {meta.uploader_id} as uploader, in member {uploader_id}'s folder"
            )
        return meta

    def read(self, uploader_id: int, content_hash: bytes) -> bytes:
        """Decrypt and verify member ``uploader_id``'s upload; IntegrityError on tampering or a
        content-hash mismatch. Serving reads through :meth:`read_bound`."""
        meta = self.meta(uploader_id, content_hash)
        doc = self._doc(uploader_id, content_hash)
        enc_path, _ = self._paths(uploader_id, content_hash)
        try:
            blob = enc_path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("stored dataset content", f"0x{content_hash.hex()} of member {uploader_id}") from exc
        wrapped = b64d(str(doc.get("wrapped_key", "")), "wrapped data key")
        data = decrypt_at_rest(self._master, Sealed(blob, wrapped), meta.aad())
        if keccak(data) != content_hash:
            raise IntegrityError("decrypted dataset does not match its content hash")
        return data

    def read_bound(self, uploader_id: int, content_hash: bytes, dataset_id: int, version: int) -> bytes:
        """The content member ``uploader_id`` uploaded for ``dataset_id`` at ``version``; IntegrityError
        if it uploaded this content for no such dataset version (or on any tampering)."""
        if not self.is_bound(uploader_id, content_hash, dataset_id, version):
            raise IntegrityError(
                f"content 0x{content_hash.hex()} was not uploaded by member {uploader_id} "
                f"for dataset {dataset_id} version {version}"
            )
        return self.read(uploader_id, content_hash)
