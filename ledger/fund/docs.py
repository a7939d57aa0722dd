"""The off-chain texts behind on-chain hashes, in the service database.

The chain records only a hash of each short text: a project's ``titleHash``, a milestone's
``descriptionHash``, a contribution's ``memoHash``, a payout's ``invoiceHash``, a credit's
``depositRef`` / ``redemptionRef`` and an access request's ``purposeHash``. The texts live
here, one row per hash in the ``documents`` table of the service database
(``service_db_url``: SQLite or PostgreSQL, SQLAlchemy Core), so that a read is one row.

What goes on chain, per kind (:func:`DocStore.draft`):

============  ============================================  ===========================
kind          on chain                                      why
============  ============================================  ===========================
title,        ``keccak256(utf8(text))``                     public by design: anyone can
milestone                                                   check the portal's text
memo,         ``keccak256(salt ‖ utf8(text))``, a random    not public: the hash alone
invoice,      32-byte salt (:mod:`ledger.commitment`)       must not confirm a guess
purpose
deposit,      ``keccak256(salt ‖ utf8(text))``, salt =      not public, *and* the token
redemption    HMAC-SHA256(reference key, kind ‖ 0 ‖ text)   refuses a reference used
                                                            twice: the same bank slip must
                                                            give the same commitment
============  ============================================  ===========================

The reference key is derived (HKDF-SHA256) from the gateway master key, the deployment's
one off-chain secret: without it a reference cannot be confirmed by guessing; with it the
service, the CLI and the demo commit to a bank reference alike. The opening of a salted
text is ``{"salt", "text"}`` (:class:`ledger.commitment.Opening`), which is what the
auditor checks against the chain.

A text is stored only once the chain accepted its write. The write path: the text is
*drafted* (validated, committed to), written as ``pending`` with its transaction's hash by
the write's journal (:meth:`DocStore.journal`: after signing, before the transaction
leaves the process, so a crash cannot lose the text of a mined write),
and ``stored`` once a successful receipt names its hash (:meth:`DocStore.accept`) — the
writer's own receipt, or one seen later (:meth:`DocStore.settle`: at start-up, and when a
pending text is asked for; a ``Prefer: respond-async`` write is answered before its
receipt). A write the pre-flight refuses never reaches the journal; a mined revert discards
its pending texts. Acceptance records the on-chain record the text belongs to (receipt
id, payout, request …): who may read a text is decided from it (:mod:`ledger.doc_access`).

Quotas: each row carries the scope that wrote it (an API key id, ``cli``, ``import``);
:class:`Quota` bounds the rows and bytes of one scope (checked when a text is written).

Migration: :meth:`DocStore.import_legacy` imports the JSON file of older versions
(``fund-docs.json`` next to the manifest: unsalted texts), renames it ``*.imported`` and
never writes it again. Imported texts are served only once a chain record names their
hash (:meth:`DocStore.resolve`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ledger.abi import hex_of
from ledger.commitment import Opening
from ledger.errors import ContractReverted, QuotaExceeded, TextsTooLarge, TooManyTexts, ValidationFailed
from ledger.fund.texts import (
    EXPORT_FOLDERS,
    KINDS,
    ON_CHAIN,
    PUBLIC_KINDS,
    REFERENCE_KINDS,
    ZERO_HASH,
    DocKind,
    Document,
    Draft,
    Quota,
    doc_hash,
    file_hash,
    parse_hash,
    record_of,
    records_in,
    reference_key,
)

if TYPE_CHECKING:
    from ledger.client import ContractCall, Ledger, Pending, TxReceipt
    from ledger.config import Settings
    from ledger.keys import Signer

log = logging.getLogger("ledger.fund.docs")

LEGACY_FILENAME = "fund-docs.json"
MAX_TEXT = 20_000
_CHUNK = 500  # hashes per IN (...) query

PENDING, STORED, LEGACY = "pending", "stored", "legacy"


def _key(h: bytes | str) -> str:
    return hex_of(h) if isinstance(h, bytes) else hex_of(parse_hash(h))


metadata = sa.MetaData()

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("hash", sa.String(66), primary_key=True),  # 0x + 64 lowercase hex: what the chain holds
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("salt", sa.String(66), nullable=True),  # None: a public text (keccak256 of the text)
    sa.Column("state", sa.String(8), nullable=False),  # pending | stored | legacy
    sa.Column("tx_hash", sa.String(66), nullable=True),
    sa.Column("record", sa.Text, nullable=True),  # JSON: the ids of the on-chain record (ON_CHAIN)
    sa.Column("scope", sa.String(64), nullable=False),  # who wrote it: an API key id, cli, import
    sa.Column("size", sa.Integer, nullable=False),  # UTF-8 bytes of the text
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_documents_scope", "scope"),
    sa.Index("ix_documents_state_tx", "state", "tx_hash"),
)


def _document(row: sa.RowMapping) -> Document:
    return Document(
        hash=str(row["hash"]),
        kind=str(row["kind"]),
        text=str(row["text"]),
        salt=row["salt"],
        state=str(row["state"]),
        tx_hash=row["tx_hash"],
        record=json.loads(row["record"]) if row["record"] else None,
    )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class DocStore:
    """The ``documents`` table: texts by on-chain hash, written by one scope under its quota.

    Args:
        engine: The service database.
        reference_key: Returns the key of the references' keyed salts (asked for only
            when a deposit or redemption reference is drafted).
        scope: Who writes through this store (an API key id; ``cli``).
        quota: The scope's quota (None: none).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        reference_key: Callable[[], bytes] | None = None,
        scope: str = "cli",
        quota: Quota | None = None,
    ) -> None:
        self.engine = engine
        self._reference_key = reference_key
        self.scope = scope
        self.quota = quota
        metadata.create_all(engine)

    @classmethod
    def open(cls, url: str, **kwargs: Any) -> DocStore:
        """A store over the database at ``url`` (a SQLite file's folder is created)."""
        backend = sa.engine.make_url(url)
        if backend.get_backend_name() == "sqlite" and backend.database and backend.database != ":memory:":
            Path(backend.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return cls(sa.create_engine(url), **kwargs)

    def for_scope(self, scope: str, quota: Quota | None = None) -> DocStore:
        """The same store, written by ``scope`` under ``quota``."""
        store = DocStore.__new__(DocStore)
        store.engine, store._reference_key, store.scope, store.quota = self.engine, self._reference_key, scope, quota
        return store

    # ---------------------------------------------------------------- writing

    def draft(self, kind: DocKind, text: str) -> Draft:
        """Validate ``text`` and commit to it as ``kind`` (nothing is stored yet)."""
        if kind not in KINDS:
            raise ValidationFailed("kind", f"one of {', '.join(KINDS)}")
        if not text.strip():
            raise ValidationFailed(kind, "must not be empty")
        if len(text) > MAX_TEXT:
            raise ValidationFailed(kind, f"at most {MAX_TEXT} characters")
        if "\x00" in text:  # PostgreSQL's text cannot hold it: refused alike on every database
            raise ValidationFailed(kind, "must not contain NUL characters")
        if kind in PUBLIC_KINDS:
            return Draft(kind, text, None)
        if kind in REFERENCE_KINDS:
            if self._reference_key is None:
                raise ValidationFailed(kind, "this store has no reference key (the gateway master key)")
            msg = kind.encode() + b"\x00" + text.encode("utf-8")
            return Draft(kind, text, hmac.new(self._reference_key(), msg, hashlib.sha256).digest())
        return Draft(kind, text, Opening.new(text).salt)

    def journal(self, drafts: Sequence[Draft | None]) -> TextJournal:
        """The journal of the write carrying ``drafts`` (``ledger.send(signer, call, journal)``): its
        texts are written pending under its hash once it is signed, before it leaves. The quota is
        checked now too, so a refusal comes before anything is sent (an approval, say). The
        caller accepts the receipt (:meth:`accept`) once it has it."""
        todo = [d for d in drafts if d is not None]
        if todo and self.quota is not None:
            with self.engine.connect() as conn:
                self._check_quota(conn, self._new(conn, todo))
        return TextJournal(self, todo)

    def transact(self, ledger: Ledger, signer: Signer, call: ContractCall, drafts: Sequence[Draft | None]) -> TxReceipt:
        """Send ``call`` carrying ``drafts`` (:meth:`journal`) and wait for its receipt; a mined
        revert discards the texts. The caller accepts the receipt (:meth:`accept`)."""
        texts = self.journal(drafts)
        return texts.wait(ledger.send(signer, call, texts))

    def _pending(self, drafts: Sequence[Draft], tx_hash: str) -> None:
        now = time.time()
        for attempt in range(2):
            try:
                with self.engine.begin() as conn:
                    existing = self._existing(conn, drafts)
                    new = [d for d in drafts if d.hash_hex not in existing]
                    self._check_quota(conn, new)  # again, in the writing transaction
                    for d in new:
                        conn.execute(documents.insert().values(
                            hash=d.hash_hex, kind=d.kind, text=d.text,
                            salt=None if d.salt is None else hex_of(d.salt), state=PENDING,
                            tx_hash=tx_hash.lower(), scope=self.scope, size=d.size, created_at=now))
                    again = [k for k, state in existing.items() if state == PENDING]
                    if again:  # the same text in another write still in flight (a public title): follow this one
                        conn.execute(documents.update().where(documents.c.hash.in_(again))
                                     .values(tx_hash=tx_hash.lower()))
                return
            except sa.exc.IntegrityError:
                if attempt:
                    raise
                # another process inserted the same hash at the same moment: look again

    @staticmethod
    def _existing(conn: sa.Connection, drafts: Sequence[Draft]) -> dict[str, str]:
        """hash -> state of the rows ``drafts`` already have."""
        query = sa.select(documents.c.hash, documents.c.state).where(documents.c.hash.in_([d.hash_hex for d in drafts]))
        return {str(r.hash): str(r.state) for r in conn.execute(query)}

    def _new(self, conn: sa.Connection, drafts: Sequence[Draft]) -> list[Draft]:
        existing = self._existing(conn, drafts)
        return [d for d in drafts if d.hash_hex not in existing]

    def _check_quota(self, conn: sa.Connection, new: Sequence[Draft]) -> None:
        q = self.quota
        if q is None or not new or (not q.count and not q.bytes):
            return
        used_count, used_bytes = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(documents.c.size), 0))
            .where(documents.c.scope == self.scope)
        ).one()
        adding = sum(d.size for d in new)
        if q.count and int(used_count) + len(new) > q.count:
            raise TooManyTexts(q.count, int(used_count), len(new))
        if q.bytes and int(used_bytes) + adding > q.bytes:
            raise TextsTooLarge(q.bytes, int(used_bytes), adding)

    def accept(self, receipt: TxReceipt) -> int:
        """A successful receipt: the texts whose hashes its events carry are stored, with their
        record. Returns how many rows changed (0 when there is nothing, or all were stored)."""
        if receipt.status != 1:
            return self.discard(receipt.tx_hash)
        found = records_in(receipt.events)
        n = 0
        with self.engine.begin() as conn:
            for kind, h, record in found:
                n += conn.execute(
                    documents.update()
                    .where(documents.c.hash == h, documents.c.kind == kind, documents.c.state != STORED)
                    .values(state=STORED, record=json.dumps(record, sort_keys=True), tx_hash=receipt.tx_hash.lower())
                ).rowcount
        return n

    def discard(self, tx_hash: str) -> int:
        """Forget the pending texts of a transaction that reverted."""
        with self.engine.begin() as conn:
            return int(conn.execute(
                documents.delete().where(documents.c.state == PENDING, documents.c.tx_hash == tx_hash.lower())
            ).rowcount)

    def settle(self, ledger: Ledger, tx_hashes: Collection[str] | None = None) -> int:
        """Pending texts whose transaction has a receipt by now: stored (success) or discarded
        (revert). ``tx_hashes``: only these transactions. Returns how many transactions settled."""
        query = sa.select(documents.c.tx_hash).where(documents.c.state == PENDING).distinct()
        if tx_hashes is not None:
            query = query.where(documents.c.tx_hash.in_([t.lower() for t in tx_hashes]))
        with self.engine.connect() as conn:
            pending = [str(r[0]) for r in conn.execute(query) if r[0]]
        settled = 0
        for tx in pending:
            receipt = ledger.receipt(tx)
            if receipt is None:
                continue  # not mined (yet): the idempotency store re-sends what it signed
            self.accept(receipt)
            settled += 1
        return settled

    def resolve(self, h: str, record: Mapping[str, Any]) -> None:
        """An imported text whose hash a chain record carries: stored, with that record."""
        with self.engine.begin() as conn:
            conn.execute(documents.update().where(documents.c.hash == _key(h), documents.c.state == LEGACY)
                         .values(state=STORED, record=json.dumps(dict(record), sort_keys=True)))

    # ---------------------------------------------------------------- reading

    def get(self, h: bytes | str) -> Document | None:
        """The row of hash ``h`` in whatever state (one row by primary key), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(documents).where(documents.c.hash == _key(h))).mappings().first()
        return _document(row) if row is not None else None

    def texts(self, hashes: Iterable[bytes | str], kinds: Collection[str] | None = None) -> dict[str, str]:
        """The texts of ``hashes`` (lowercase ``0x`` keys) that verify against their hash.

        For hashes read from the chain (a list, a page): a text whose hash (with its salt)
        the chain holds is that record's text, whatever its state here.
        """
        keys = sorted({_key(h) for h in hashes if (h if isinstance(h, bytes) else parse_hash(h)) != ZERO_HASH})
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(keys):
                query = sa.select(documents).where(documents.c.hash.in_(chunk))
                if kinds is not None:
                    query = query.where(documents.c.kind.in_(list(kinds)))
                for row in conn.execute(query).mappings():
                    d = _document(row)
                    if d.verifies():
                        out[d.hash] = d.text
                    else:
                        log.warning("document %s does not match its hash; not shown", d.hash)
        return out

    def text(self, h: bytes | str) -> str | None:
        """The text of one on-chain hash (None if unknown, or for the zero hash)."""
        return self.texts([h]).get(_key(h))

    def hashes_of(self, kind: str, text: str) -> list[str]:
        """The hashes (any state) under which ``text`` is kept as ``kind``: for operators and
        tests looking a write up by its text (a scan: texts are not indexed)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(documents.c.hash).where(documents.c.kind == kind, documents.c.text == text))
            return sorted(str(r[0]) for r in rows)

    def usage(self, scope: str | None = None) -> tuple[int, int]:
        """(rows, UTF-8 bytes) stored by ``scope`` (this store's by default)."""
        with self.engine.connect() as conn:
            n, size = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(documents.c.size), 0))
                .where(documents.c.scope == (scope or self.scope))
            ).one()
        return int(n), int(size)

    # ---------------------------------------------------------------- export

    def export(self, folder: Path) -> int:
        """Write every stored text into ``folder`` in the auditor's layout (``cogov audit verify
        --documents``): ``receipts/<receiptId>``, ``invoices/<payoutId>``, ``projects/<projectId>``,
        ``milestones/<projectId>-<index>``, ``purposes/<requestId>``, ``deposits/`` and
        ``redemptions/`` by hash. A salted text is written as its opening (``.json``,
        :meth:`ledger.commitment.Opening.to_json`), a public one as its UTF-8 text (``.txt``).
        Returns how many files were written."""
        n = 0
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(documents).where(documents.c.state == STORED).order_by(documents.c.hash))
            for row in rows.mappings():
                d = _document(row)
                sub, names = EXPORT_FOLDERS[d.kind]
                stem = "-".join(str((d.record or {})[a]) for a in names) if names and d.record else d.hash
                opening = d.opening
                path = folder / sub / (f"{stem}.json" if opening else f"{stem}.txt")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(opening.to_json() if opening else d.text.encode("utf-8"))
                n += 1
        return n

    # ---------------------------------------------------------------- migration

    def import_legacy(self, path: Path) -> int:
        """Import the JSON store of older versions (if ``path`` exists), then rename it
        ``<name>.imported``. Entries whose text does not hash to their key are left out.
        Returns how many texts were imported."""
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0
        except OSError as exc:
            log.warning("cannot read the old document store %s: %s", path, exc.strerror)
            return 0
        try:
            entries = json.loads(raw)["documents"]
            if not isinstance(entries, dict):
                raise TypeError("documents is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("the old document store %s is not valid (%s); not imported", path, exc)
            return 0
        rows: dict[str, dict[str, Any]] = {}
        skipped = 0
        now = time.time()
        for key, entry in entries.items():
            text = entry.get("text") if isinstance(entry, dict) else None
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if not isinstance(text, str) or kind not in KINDS or hex_of(doc_hash(text)) != str(key).lower():
                skipped += 1
                continue
            rows[str(key).lower()] = {"hash": str(key).lower(), "kind": kind, "text": text, "salt": None,
                                      "state": LEGACY, "scope": "import", "size": len(text.encode("utf-8")),
                                      "created_at": now}
        with self.engine.begin() as conn:
            for chunk in _chunks(sorted(rows)):
                have = {str(r[0]) for r in conn.execute(sa.select(documents.c.hash).where(documents.c.hash.in_(chunk)))}
                new = [rows[k] for k in chunk if k not in have]
                if new:
                    conn.execute(documents.insert(), new)
        with contextlib.suppress(FileNotFoundError):  # another process imported it at the same time
            os.replace(path, path.with_name(path.name + ".imported"))
        log.info("imported %d texts from %s (%d left out: not matching their hash)", len(rows), path, skipped)
        return len(rows)


class TextJournal:
    """The texts of one write, kept ``pending`` under its transaction's hash before it is sent
    (a :class:`~ledger.tx.Journal`); a mined revert discards them."""

    def __init__(self, store: DocStore, drafts: Sequence[Draft]) -> None:
        self.store = store
        self.drafts = list(drafts)

    def record(self, pending: Pending) -> None:
        if self.drafts:
            self.store._pending(self.drafts, pending.tx_hash)

    def reverted(self, exc: ContractReverted) -> None:
        """The write reverted: a mined one's pending texts are discarded (a refused one has none)."""
        if exc.tx_hash and self.drafts:
            self.store.discard(exc.tx_hash)

    def wait(self, pending: Pending) -> TxReceipt:
        """``pending.wait()``, its texts discarded if it was mined and reverted."""
        try:
            return pending.wait()
        except ContractReverted as exc:
            self.reverted(exc)
            raise


def legacy_path(manifest_path: Path) -> Path:
    """Where older versions kept the texts: ``fund-docs.json`` next to the deployment manifest."""
    return manifest_path.parent / LEGACY_FILENAME


def open_store(settings: Settings, engine: sa.Engine | None = None, *, scope: str = "cli") -> DocStore:
    """The deployment's store (``service_db_url``), with the reference key from the gateway master
    key file, the old JSON store next to the manifest imported on first use."""
    from ledger.gateway import load_master_key

    def key() -> bytes:
        return reference_key(load_master_key(settings.gateway_master_key_file, create=settings.env != "production"))

    store = DocStore(engine, reference_key=key, scope=scope) if engine is not None else DocStore.open(
        settings.service_db_url, reference_key=key, scope=scope)
    store.import_legacy(legacy_path(settings.manifest_path))
    return store


__all__ = [
    "KINDS",
    "ON_CHAIN",
    "PUBLIC_KINDS",
    "REFERENCE_KINDS",
    "DocKind",
    "DocStore",
    "Document",
    "Draft",
    "Quota",
    "QuotaExceeded",
    "doc_hash",
    "file_hash",
    "legacy_path",
    "open_store",
    "parse_hash",
    "record_of",
    "records_in",
    "reference_key",
]
