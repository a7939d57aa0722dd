"""The gateway's encrypted dataset store: what is stored, validated against its table schema.

Stored content is bound to the member that uploaded it and to the dataset
versions it was uploaded for, so that a dataset can only ever be served from
content its own owner uploaded for it (never from another member's upload that
happens to have the registered content hash: issue 14 item 1). Files under
``<store>/blobs/m<uploader member id>/``, named by the keccak256 of the
plaintext (the ``contentHash`` registered on chain, so an auditor can match
files to the chain):

* ``<keccak-hex>.enc`` — ``nonce ‖ AES-256-GCM(ciphertext+tag)`` of the content;
* ``<keccak-hex>.json`` — metadata: the wrapped data key, ``uploader_id``,
  ``content_keccak256``, ``content_sha256``, ``size``, ``format``, ``schema`` (the
  Frictionless Table Schema the content was validated against when stored:
  :mod:`ledger.data.table_schema`), ``rows``. The metadata (all but the wrapped key) is the associated data of both
  encryptions, so an edited metadata file, or a blob moved into another member's
  folder, fails authentication;
* ``<keccak-hex>.d<dataset id>v<version>`` — the binding of the content to one
  dataset version, written once the registration or version update naming it is
  mined: the HMAC-SHA256 (key derived from the master key) of the binding record.

Every file is written to a temporary name, fsynced and renamed into place.
Blobs of the earlier layouts (``blobs/<keccak-hex>.enc``, no uploader; metadata ``v`` 2,
a field list and no table schema) are never served; the owner uploads (or adopts) the
content again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from eth_utils import keccak

from ledger.data.row_filter import RowFilter
from ledger.data.table_schema import FORMATS as FORMATS
from ledger.data.table_schema import Format as Format
from ledger.data.table_schema import TableSchema, field_names, schema_hash
from ledger.data.table_schema import normalise as normalise_schema
from ledger.data.table_schema import validate as validate_table
from ledger.errors import Conflict, IntegrityError, NotFound, ValidationFailed
from ledger.gateway.crypto import Sealed, b64d, b64e, binding_mac, decrypt_at_rest, encrypt_at_rest, verify_binding_mac
from ledger.gateway.projection import Lru, Projector


@dataclass(frozen=True)
class StoredMeta:
    content_keccak256: str  # 0x-hex: the on-chain contentHash
    content_sha256: str
    size: int
    format: Format
    table_schema: TableSchema  # the Frictionless Table Schema the content was validated against
    rows: int
    stored_at: int
    uploader_id: int = 0  # the member whose account uploaded it (0: hashes only, nothing stored)

    @property
    def content_hash(self) -> bytes:
        return bytes.fromhex(self.content_keccak256[2:])

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields in schema order (bit i of a field mask is field i)."""
        return field_names(self.table_schema)

    @property
    def field_count(self) -> int:
        """The on-chain ``fieldCount``."""
        return len(self.fields)

    @property
    def schema_hash(self) -> bytes:
        """The on-chain ``schemaHash``."""
        return schema_hash(self.table_schema)

    def aad(self) -> bytes:
        doc = {
            "v": 3,
            "uploader_id": self.uploader_id,
            "content_keccak256": self.content_keccak256,
            "content_sha256": self.content_sha256,
            "size": self.size,
            "format": self.format,
            "schema": self.table_schema,
            "rows": self.rows,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def schema(self) -> TableSchema:
        """The schema document whose canonical hash is the on-chain schemaHash."""
        return self.table_schema


# ------------------------------------------------------------------ reading a file


def detect_format(filename: str | None, data: bytes) -> Format:
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    return "jsonl" if data.lstrip()[:1] == b"{" else "csv"


def describe(data: bytes, fmt: Format, schema: Mapping[str, Any] | None = None, uploader_id: int = 0) -> StoredMeta:
    """The metadata of a dataset file: validated against ``schema`` (inferred when None, see
    :mod:`ledger.data.table_schema`), with its hashes, size and row count."""
    table, rows = validate_table(data, fmt, schema)
    return StoredMeta(
        content_keccak256="0x" + keccak(data).hex(),
        content_sha256="0x" + hashlib.sha256(data).hexdigest(),
        size=len(data),
        format=fmt,
        table_schema=table,
        rows=rows,
        stored_at=int(time.time()),
        uploader_id=uploader_id,
    )


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


_T = TypeVar("_T")

#: A file whose status changed less than this long ago is not kept verified: a write within the
#: same clock tick as the check could leave its size and change times as they were (git's "racily
#: clean" files).
SETTLED_NS = 2_000_000_000

Signature = tuple[int, int, int, int]


def file_signature(path: Path) -> Signature | None:
    """What changes whenever a file's bytes may have: its inode, size, modification and status-change
    times (the last is set by the kernel on any write or rename, and cannot be set back by a caller).
    None: no such file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class GatewayStore:
    """Encrypted datasets under ``directory``, keyed by (uploading member, content keccak256).

    A read verified from its files (decrypted, authenticated, its hash checked; a binding's MAC) is
    kept, up to ``kept_bytes``, and answered again while the files' signatures
    (:func:`file_signature`) are unchanged: a fetch then asks the file system for three ``stat``s
    instead of opening, reading, parsing and decrypting five files. Any write to a file, tampering
    included, changes its signature, so the next read verifies it again (and alarms)."""

    def __init__(self, directory: Path, master_key: bytes, kept_bytes: int = 64 << 20) -> None:
        if len(master_key) != 32:
            raise ValidationFailed("master key", "must be 32 bytes")
        self.directory = directory
        self.blobs = directory / "blobs"
        self._master = master_key
        self.projector = Projector()
        self._checked: set[tuple[int, bytes, bytes, bytes]] = set()  # ciphertexts whose plaintext hash was checked
        self._kept: Lru[tuple[tuple[Signature, ...], Any]] = Lru(kept_bytes)  # verified reads, by their files

    def _kept_read(
        self, key: object, paths: Sequence[Path], weight: Callable[[Any], int], read: Callable[[], _T]
    ) -> _T:
        """``read()`` (which verifies ``paths``), or its kept answer while no file of ``paths`` changed
        since that answer was read. The signatures are taken before reading: a file changed while it
        was read shows as changed at the next call."""
        signatures = tuple(file_signature(p) for p in paths)
        hit = self._kept.get(key)
        if hit is not None and hit[0] == signatures:
            return cast(_T, hit[1])
        value = read()
        now = time.time_ns()
        if all(sig is not None and now - sig[3] > SETTLED_NS for sig in signatures):
            self._kept.put(key, (cast(tuple[Signature, ...], signatures), value), weight(value))
        return value

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

    def put(self, data: bytes, fmt: Format, uploader_id: int, schema: Mapping[str, Any] | None = None) -> StoredMeta:
        """Validate ``data`` against ``schema`` (inferred when None), encrypt and store it as
        uploaded by member ``uploader_id``; returns its metadata. Idempotent for the same bytes
        and member (the copy already stored is returned, with the schema it was stored with;
        Conflict if another schema is given for it). Nothing is served from it before :meth:`bind`."""
        self._folder(uploader_id)
        content_hash = keccak(data)
        if self.has(uploader_id, content_hash):
            try:
                existing = self.meta(uploader_id, content_hash)
                self.read(uploader_id, content_hash)
            except IntegrityError:
                pass  # damaged copy: write a fresh one
            else:
                if schema is not None and normalise_schema(schema) != existing.table_schema:
                    raise Conflict(
                        f"member {uploader_id} already stored this content (0x{content_hash.hex()}) "
                        "with another table schema"
                    )
                return existing
        meta = describe(data, fmt, schema, uploader_id)
        enc_path, meta_path = self._paths(uploader_id, meta.content_hash)
        enc_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        sealed = encrypt_at_rest(self._master, data, meta.aad())
        doc = {
            "v": 3,
            "cipher": "AES-256-GCM",
            "key_wrap": "AES-256-GCM",
            "wrapped_key": b64e(sealed.wrapped_key),
            "uploader_id": meta.uploader_id,
            "content_keccak256": meta.content_keccak256,
            "content_sha256": meta.content_sha256,
            "size": meta.size,
            "format": meta.format,
            "schema": meta.table_schema,
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
        return self._kept_read(("bound", path), (path,), lambda _: 64, lambda: self._check_binding(path, message))

    def _check_binding(self, path: Path, message: bytes) -> bool:
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
        _, meta_path = self._paths(uploader_id, content_hash)
        return self._kept_read(
            ("meta", meta_path), (meta_path,), lambda m: 1024 + 64 * len(m.fields),
            lambda: self._meta(self._doc(uploader_id, content_hash), uploader_id, content_hash),
        )

    @staticmethod
    def _meta(doc: Mapping[str, object], uploader_id: int, content_hash: bytes) -> StoredMeta:
        try:
            meta = StoredMeta(
                content_keccak256=str(doc["content_keccak256"]),
                content_sha256=str(doc["content_sha256"]),
                size=int(doc["size"]),  # type: ignore[call-overload]
                format=str(doc["format"]),  # type: ignore[arg-type]
                table_schema=_schema_of(doc),
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
        content-hash mismatch. Serving reads through :meth:`read_bound`.

        The keccak256 of the plaintext is checked once per ciphertext: the authenticated
        decryption of a ciphertext already checked (same data key, same tag) gives the same
        bytes, and a 1 MB keccak256 costs several milliseconds of each fetch."""
        enc_path, meta_path = self._paths(uploader_id, content_hash)
        return self._kept_read(
            ("read", enc_path), (enc_path, meta_path), len, lambda: self._read(uploader_id, content_hash)
        )

    def _read(self, uploader_id: int, content_hash: bytes) -> bytes:
        doc = self._doc(uploader_id, content_hash)
        meta = self._meta(doc, uploader_id, content_hash)
        enc_path, _ = self._paths(uploader_id, content_hash)
        try:
            blob = enc_path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("stored dataset content", f"0x{content_hash.hex()} of member {uploader_id}") from exc
        wrapped = b64d(str(doc.get("wrapped_key", "")), "wrapped data key")
        data = decrypt_at_rest(self._master, Sealed(blob, wrapped), meta.aad())
        checked = (uploader_id, content_hash, wrapped, blob[-16:])  # the data key and the GCM tag
        if checked not in self._checked:
            if keccak(data) != content_hash:
                raise IntegrityError("decrypted dataset does not match its content hash")
            if len(self._checked) >= 10_000:
                self._checked.clear()
            self._checked.add(checked)
        return data

    def project(
        self,
        meta: StoredMeta,
        content: bytes,
        fields: Sequence[str] | None = None,
        row_filter: RowFilter | None = None,
    ) -> tuple[bytes, int]:
        """What a fetch of ``fields`` (None: all; served in schema order) and of the rows passing
        ``row_filter`` serves of ``content`` (read with :meth:`read_bound`; ``meta`` its metadata),
        and the number of rows served. The stored bytes as they are when nothing is cut; parsed
        tables and answers kept per content hash (:mod:`ledger.gateway.projection`)."""
        return self.projector.project(
            meta.content_hash, content, meta.format, meta.fields, fields, meta.rows, row_filter
        )

    def row_filter(
        self, filter_hash: bytes | None, meta: StoredMeta, text_of: Callable[[bytes], str | None]
    ) -> RowFilter | None:
        """The row filter bound by ``filter_hash`` (a grant's ``rowFilterHash``; None: none) over
        ``meta``'s table schema, its document read with ``text_of`` (the document store, where the
        request's filter was kept: kind ``row_filter``); IntegrityError if it is not there or is
        not that document."""
        return self.projector.row_filter(filter_hash, meta.table_schema, text_of)

    def read_bound(self, uploader_id: int, content_hash: bytes, dataset_id: int, version: int) -> bytes:
        """The content member ``uploader_id`` uploaded for ``dataset_id`` at ``version``; IntegrityError
        if it uploaded this content for no such dataset version (or on any tampering)."""
        if not self.is_bound(uploader_id, content_hash, dataset_id, version):
            raise IntegrityError(
                f"content 0x{content_hash.hex()} was not uploaded by member {uploader_id} "
                f"for dataset {dataset_id} version {version}"
            )
        return self.read(uploader_id, content_hash)


def _schema_of(doc: Mapping[str, object]) -> TableSchema:
    """The table schema of a stored metadata document (an earlier layout's has none: malformed)."""
    schema = doc["schema"]
    if not isinstance(schema, dict):
        raise TypeError("the stored table schema is not an object")
    return schema
