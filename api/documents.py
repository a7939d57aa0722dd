"""The service's side of the off-chain texts (:mod:`ledger.fund.docs`): who writes, who reads.

* A write stores its texts under the caller's API key (:func:`writer`), within the
  key's quota (``COGOV_DOC_QUOTA_COUNT`` / ``COGOV_DOC_QUOTA_BYTES``).
* A read by hash (:func:`read`: ``GET /api/v1/fund/documents/{hash}``, an access
  request's purpose) serves a text only once a chain record carries its hash, and only
  to a caller the table of :mod:`ledger.doc_access` names; anyone else gets the same
  404 as for a hash the service holds no text for.
* Lists show the texts their records carry to callers allowed to read them
  (:func:`readable_texts`); the others see the hash alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from ledger.doc_access import Party, PartyIds, Reader, may_read, needs_parties, record_parties
from ledger.errors import IntegrityError, NotFound
from ledger.fund.docs import LEGACY, ON_CHAIN, PENDING, PUBLIC_KINDS, STORED, DocStore, Document, Quota, record_of
from ledger.membership import Registry

if TYPE_CHECKING:
    from api.deps import Caller
    from api.schemas.fund import DocumentPublic
    from api.state import ServiceState

ZERO = b"\x00" * 32
Parties = Mapping[Party, PartyIds] | Callable[[], Mapping[Party, PartyIds]]


def writer(state: ServiceState, caller: Caller) -> DocStore:
    """The document store as the caller writes it: under its API key, within the key's quota."""
    s = state.settings
    docs: DocStore = state.docs
    return docs.for_scope(caller.key.key_id, Quota(s.doc_quota_count, s.doc_quota_bytes))


def reader_of(state: ServiceState, account: str) -> Reader:
    """The reader an API key's account is: its member (roles on chain), or nobody."""
    return Reader.of(Registry(state.ledger).member_of(account))


def read(state: ServiceState, caller: Caller, h: str) -> Document:
    """The text of hash ``h``, if a chain record carries it and the caller may read it; else 404."""
    docs: DocStore = state.docs
    d = docs.get(h)
    if d is not None and d.state == PENDING and d.tx_hash:
        docs.settle(state.ledger, [d.tx_hash])  # a 202 write mined since, or a crash before its receipt
        d = docs.get(h)
    if d is not None and d.state == LEGACY:
        record = _record_from_index(state, d)
        if record is not None:
            docs.resolve(d.hash, record)
            d = docs.get(h)
    if d is None or d.state != STORED or d.record is None:
        raise NotFound("document", h)
    if not d.verifies():
        raise IntegrityError(f"stored document {d.hash} does not match its hash")
    if d.kind not in PUBLIC_KINDS:
        reader = reader_of(state, caller.account)
        if not _allowed(state, d.kind, reader, lambda: record_parties(state.ledger, d.kind, d.record or {})):
            raise NotFound("document", h)  # the same answer as for a text the service does not hold
    return d


def document_public(d: Document) -> DocumentPublic:
    from api.schemas.fund import DocumentPublic

    return DocumentPublic(hash=d.hash, kind=d.kind, text=d.text, salt=d.salt)


def _record_from_index(state: ServiceState, d: Document) -> dict[str, object] | None:
    """The record of an imported text: the indexed event carrying its hash, if any."""
    from api.services.index import index_for

    spec = ON_CHAIN[d.kind]
    idx = index_for(state)
    if spec.contract not in idx.contracts:
        return None
    rows = idx.events(spec.contract, spec.event, args={spec.hash_arg: d.hash}, limit=1)
    return record_of(d.kind, rows[0].args) if rows else None


def _allowed(state: ServiceState, kind: str, reader: Reader, parties: Parties) -> bool:
    if may_read(kind, reader):  # by role (no chain read for the record's parties)
        return True
    if reader.member_id is None or not needs_parties(kind):
        return False
    return may_read(kind, reader, parties() if callable(parties) else parties)


def readable_texts(
    state: ServiceState, account: str, wanted: Iterable[tuple[str, bytes | str, Parties]]
) -> dict[str, str]:
    """The texts of ``wanted`` — ``(kind, on-chain hash, the record's parties)`` — that the caller
    with ``account`` may read, by lowercase ``0x`` hash (one query for all)."""
    reader: Reader | None = None
    hashes: list[str] = []
    for kind, h, parties in wanted:
        key = h.lower() if isinstance(h, str) else "0x" + h.hex()
        if int(key, 16) == 0:
            continue
        if kind not in PUBLIC_KINDS:
            reader = reader or reader_of(state, account)
            if not _allowed(state, kind, reader, parties):
                continue
        hashes.append(key)
    docs: DocStore = state.docs
    return docs.texts(hashes)


__all__ = ["document_public", "read", "readable_texts", "reader_of", "writer"]
