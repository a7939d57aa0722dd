"""What the gateway answers: an upload, a sealed answer, a served fetch, and the query hash it records."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from ledger.client import TxReceipt
from ledger.data import canonical_hash, normalize_fields
from ledger.gateway.crypto import b64e, seal_apart
from ledger.gateway.store import StoredMeta


@dataclass(frozen=True)
class Upload:
    dataset_id: int
    receipt: TxReceipt
    meta: StoredMeta
    metadata_doc: dict[str, Any]


@dataclass
class SealedAnswer:
    """A sealed answer (``crypto.seal_apart``): its envelope without the ciphertext, the ciphertext,
    and the envelope's whole JSON, made once when asked (:meth:`json`)."""

    envelope: dict[str, Any]
    ciphertext: bytes
    rows: int
    payload_hash: str
    _json: bytes | None = None

    @classmethod
    def of(cls, data_key: bytes, payload: bytes, header: dict[str, Any]) -> SealedAnswer:
        envelope, ct = seal_apart(data_key, payload, header)
        return cls(envelope, ct, int(header["rows"]), str(header["payload_keccak256"]))

    def json(self) -> bytes:
        """The envelope as :func:`~ledger.gateway.crypto.seal` makes it, JSON-encoded."""
        if self._json is None:
            self._json = json.dumps({**self.envelope, "ciphertext": b64e(self.ciphertext)}).encode()
        return self._json


@dataclass(frozen=True)
class Served:
    dataset_id: int
    grant_id: int
    grantee_id: int
    seq: int
    rows: int
    fields: tuple[str, ...]
    content_hash: str
    payload_hash: str
    sealed: SealedAnswer
    receipt: TxReceipt | None  # synchronous mode: the recordAccess transaction's
    log_receipt: dict[str, Any] | None = None  # log mode: the signed receipt of the access's log entry


def query_hash(dataset_id: int, version: int, fields: list[str]) -> bytes:
    """The queryHash recorded on chain: keccak256 of the canonical JSON of the query."""
    return canonical_hash({"dataset_id": dataset_id, "version": version, "fields": normalize_fields(fields)})


#: Accounts in their checksummed spelling (keccak in Python: a quarter of a millisecond each), kept.
checksummed = functools.lru_cache(maxsize=4096)(to_checksum_address)
