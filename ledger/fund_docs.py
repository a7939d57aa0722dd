"""The fund's off-chain document store: the texts behind the hashes the chain records.

The chain stores only hashes (a project's ``titleHash``, a milestone's ``descriptionHash``,
a contribution's ``memoHash``, a payout's ``invoiceHash``, a credit's ``depositRef``); the
texts live here, in one JSON file, so that the API, the CLI, the portal and the auditor
can show and verify them. The hash of a text is keccak256 of its UTF-8 bytes
(:func:`doc_hash`); an invoice file is hashed by its exact bytes (:func:`file_hash`).

The file (``fund-docs.json`` next to the deployment manifest by default)::

    {"version": 1,
     "documents": {"0x<keccak256>": {"kind": "title", "text": "停车难综合治理"}, ...}}

Writes are idempotent (a text already stored is left alone), atomic (write a temporary
file, then rename) and serialised across threads and processes (an exclusive ``flock``
on a lock file), so the API and the CLI can add documents at the same time. Anyone can
check an entry: ``keccak256(text.encode("utf-8")) == hash``; :meth:`DocStore.get`
refuses an entry that fails the check.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_utils import keccak

from ledger.errors import ConfigError, IntegrityError, ValidationFailed

DocKind = Literal["title", "milestone", "memo", "invoice", "deposit", "redemption"]
KINDS: tuple[str, ...] = ("title", "milestone", "memo", "invoice", "deposit", "redemption")
FILENAME = "fund-docs.json"
ZERO_HASH = b"\x00" * 32
MAX_TEXT = 20_000

_thread_lock = threading.Lock()


def doc_hash(text: str) -> bytes:
    """keccak256 of the UTF-8 bytes of ``text`` (what the chain records)."""
    return keccak(text.encode("utf-8"))


def file_hash(data: bytes) -> bytes:
    """keccak256 of a file's exact bytes (an invoice or receipt scan)."""
    return keccak(data)


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def parse_hash(value: str) -> bytes:
    """A ``0x`` + 64 hex digits string as 32 bytes."""
    s = value[2:] if value.startswith("0x") else value
    try:
        raw = bytes.fromhex(s)
    except ValueError as exc:
        raise ValidationFailed("hash", "not hex") from exc
    if len(raw) != 32:
        raise ValidationFailed("hash", "expected 32 bytes (0x + 64 hex digits)")
    return raw


@dataclass(frozen=True)
class Document:
    hash: str
    kind: str
    text: str


def default_path(manifest_path: Path) -> Path:
    """The store next to the deployment manifest (``.cogov/fund-docs.json`` in development)."""
    return manifest_path.parent / FILENAME


class DocStore:
    """Texts by keccak256 hash, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # ---------------------------------------------------------------- reads

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read the fund document store {self.path}: {exc.strerror}") from exc
        try:
            doc = json.loads(raw)
            docs = doc["documents"]
            if not isinstance(docs, dict):
                raise TypeError("documents is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the fund document store {self.path} is not valid: {exc}") from exc
        return docs

    def get(self, h: bytes | str) -> Document | None:
        """The document with hash ``h``, or None. Raises IntegrityError if the stored text does not hash to ``h``."""
        key = hex32(h) if isinstance(h, bytes) else hex32(parse_hash(h))
        entry = self._load().get(key)
        if entry is None:
            return None
        text = str(entry.get("text", ""))
        if hex32(doc_hash(text)) != key:
            raise IntegrityError(f"fund document {key} in {self.path} does not match its hash")
        return Document(key, str(entry.get("kind", "")), text)

    def text(self, h: bytes | str) -> str | None:
        """The text behind ``h`` (None if unknown, or for the zero hash)."""
        if (isinstance(h, bytes) and h == ZERO_HASH) or (isinstance(h, str) and int(h, 16) == 0):
            return None
        d = self.get(h)
        return d.text if d else None

    def texts(self) -> dict[str, str]:
        """Every stored text by hash (unchecked: for bulk display; use :meth:`get` to verify one)."""
        return {k: str(v.get("text", "")) for k, v in self._load().items()}

    def documents(self, kind: str | None = None) -> Iterator[Document]:
        for k, v in sorted(self._load().items()):
            if kind is None or v.get("kind") == kind:
                yield Document(k, str(v.get("kind", "")), str(v.get("text", "")))

    # ---------------------------------------------------------------- writes

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_suffix(self.path.suffix + ".lock")
        with _thread_lock, open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def put(self, kind: DocKind, text: str) -> bytes:
        """Store ``text`` (if new) and return its hash. Idempotent."""
        if kind not in KINDS:
            raise ValidationFailed("kind", f"one of {', '.join(KINDS)}")
        if not text.strip():
            raise ValidationFailed(kind, "must not be empty")
        if len(text) > MAX_TEXT:
            raise ValidationFailed(kind, f"at most {MAX_TEXT} characters")
        h = doc_hash(text)
        key = hex32(h)
        with self._exclusive():
            docs = self._load()
            if key in docs:
                return h
            docs[key] = {"kind": kind, "text": text}
            tmp = self.path.with_suffix(self.path.suffix + f".{os.getpid()}.tmp")
            tmp.write_text(
                json.dumps({"version": 1, "documents": docs}, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                encoding="utf-8",
            )
            os.replace(tmp, self.path)
        return h
