"""Typed wrapper of the DataSharing contract: reads return frozen dataclasses, writes receipts.

Hash conventions (the auditor checks files against them):

* ``content_hash`` of a dataset version: keccak256 of the file's exact bytes;
* ``scope_hash`` of a field list: keccak256 of the UTF-8 bytes of the sorted,
  de-duplicated field names joined by ``","`` (:func:`scope_hash`); "all fields"
  is the dataset schema's full field list;
* ``purpose_hash``: a salted commitment to the purpose statement, keccak256(salt ‖ utf8)
  (:mod:`ledger.commitment`; the opening is kept off chain by :mod:`ledger.fund.docs`);
* ``schema_hash`` / ``metadata_hash``: keccak256 of the canonical JSON of the
  schema / metadata document (:func:`canonical_hash`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from eth_utils import keccak, to_checksum_address

from ledger.abi.records import record_from_view
from ledger.client import ContractCall, TxReceipt
from ledger.data.records import (
    AccessRequest,
    Batch,
    Classification,
    Dataset,
    Grant,
    RefusalReason,
    Renewal,
)
from ledger.errors import ValidationFailed
from ledger.keys import Signer
from ledger.wrapper import ContractWrapper, int_view, sending

NAME = "DataSharing"


# ------------------------------------------------------------------ hashing


def normalize_fields(fields: Iterable[str]) -> list[str]:
    """Sorted, de-duplicated, stripped field names (the canonical scope)."""
    out = sorted({f.strip() for f in fields if f.strip()})
    for f in out:
        if "," in f:
            raise ValidationFailed("fields", f"field name {f!r} contains a comma")
    return out


def scope_hash(fields: Iterable[str]) -> bytes:
    """keccak256(",".join(sorted(set(fields)))) — the canonical scope of a field list."""
    names = normalize_fields(fields)
    if not names:
        raise ValidationFailed("fields", "a scope needs at least one field")
    return keccak(text=",".join(names))


def text_hash(text: str) -> bytes:
    return keccak(text=text)


def canonical_hash(doc: Any) -> bytes:
    """keccak256 of the canonical JSON (sorted keys, no spaces, UTF-8) of ``doc``."""
    return keccak(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def content_hash(data: bytes) -> bytes:
    return keccak(data)


# ------------------------------------------------------------------ wrapper


class DataSharing(ContractWrapper):
    """The DataSharing contract of one deployment."""

    contract = NAME

    # ---------------------------------------------------------------- reads

    def dataset(self, dataset_id: int) -> Dataset:
        return dataset_from_view(self._call("getDataset", dataset_id))

    def request(self, request_id: int) -> AccessRequest:
        return request_from_view(self._call("getRequest", request_id))

    def grant(self, grant_id: int) -> Grant:
        return grant_from_view(self._call("getGrant", grant_id))

    def batch(self, batch_id: int) -> Batch:
        return batch_from_view(self._call("getBatch", batch_id))

    def renewal(self, grant_id: int) -> Renewal | None:
        """The grant's pending renewal, or None."""
        return renewal_from_view(self._call("getRenewal", grant_id))

    def content_owner(self, content_hash: bytes) -> int:
        """The member that registered ``content_hash`` first (0: none)."""
        return int(self._call("contentOwner", content_hash))

    dataset_count = int_view("datasetCount")
    request_count = int_view("requestCount")
    grant_count = int_view("grantCount")
    batch_count = int_view("batchCount")

    def is_access_allowed(self, grant_id: int, account: str) -> bool:
        return bool(self._call("isAccessAllowed", grant_id, to_checksum_address(account)))

    def is_member_frozen(self, member_id: int) -> bool:
        return bool(self._call("isMemberFrozen", member_id))

    request_ttl = int_view("requestTtl")

    def access_leaf(self, grant_id: int, query_hash: bytes, row_count: int, timestamp: int) -> bytes:
        return bytes(self._call("accessLeaf", grant_id, query_hash, row_count, timestamp))

    def verify_batch_record(self, batch_id: int, leaf: bytes, proof: list[bytes]) -> bool:
        return bool(self._call("verifyBatchRecord", batch_id, leaf, proof))

    # ---------------------------------------------------------------- writes
    # Each write the API sends: ``x_call(...)`` prepares it (a ContractCall, to send with a
    # journal: ``ledger.send(signer, call, journal)``), ``x(signer, ...)`` sends it and waits.

    def _tx(self, signer: Signer, fn: str, *args: Any) -> TxReceipt:
        return self.ledger.transact(signer, self._prepare(fn, *args))

    def register(
        self,
        signer: Signer,
        title: str,
        classification: Classification,
        metadata_hash: bytes,
        schema_hash: bytes,
        content_hash: bytes,
    ) -> tuple[int, TxReceipt]:
        r = self._tx(
            signer, "registerDataset", title, int(classification), metadata_hash, schema_hash, content_hash
        )
        return int(r.event("DatasetRegistered").args["datasetId"]), r

    def update_version(self, signer: Signer, dataset_id: int, new_content_hash: bytes) -> TxReceipt:
        return self._tx(signer, "updateDatasetVersion", dataset_id, new_content_hash)

    def request_access_call(
        self, dataset_id: int, purpose_code: int, purpose_hash: bytes, scope: bytes, duration: int
    ) -> ContractCall:
        return self._prepare("requestAccess", dataset_id, purpose_code, purpose_hash, scope, duration)

    def request_access(
        self, signer: Signer, dataset_id: int, purpose_code: int, purpose_hash: bytes, scope: bytes, duration: int
    ) -> tuple[int, TxReceipt]:
        call = self.request_access_call(dataset_id, purpose_code, purpose_hash, scope, duration)
        r = self.ledger.transact(signer, call)
        return int(r.event("AccessRequested").args["requestId"]), r

    def approve_as_owner_call(self, request_id: int) -> ContractCall:
        return self._prepare("approveAsOwner", request_id)

    approve_as_owner = sending(approve_as_owner_call)

    def approve_as_governance_call(self, request_id: int) -> ContractCall:
        return self._prepare("approveAsGovernance", request_id)

    approve_as_governance = sending(approve_as_governance_call)

    def deny_call(self, request_id: int, reason_code: int) -> ContractCall:
        return self._prepare("denyRequest", request_id, reason_code)

    deny = sending(deny_call)

    def withdraw_call(self, request_id: int) -> ContractCall:
        return self._prepare("withdrawRequest", request_id)

    withdraw = sending(withdraw_call)

    def renew_call(self, grant_id: int, extension: int) -> ContractCall:
        """Extend a grant (owner). A Public/Internal grant is extended at once (``GrantRenewed``);
        a Sensitive/Secret grant's renewal waits for :meth:`approve_renewal` (``GrantRenewalRequested``)."""
        return self._prepare("renewGrant", grant_id, extension)

    renew = sending(renew_call)

    def approve_renewal_call(self, grant_id: int, extension: int) -> ContractCall:
        """Approve a Sensitive/Secret grant's pending renewal of ``extension`` seconds (data governance)."""
        return self._prepare("approveRenewal", grant_id, extension)

    approve_renewal = sending(approve_renewal_call)

    def revoke_call(self, grant_id: int) -> ContractCall:
        return self._prepare("revokeGrant", grant_id)

    revoke = sending(revoke_call)

    def freeze_grant_call(self, grant_id: int) -> ContractCall:
        return self._prepare("freezeGrant", grant_id)

    freeze_grant = sending(freeze_grant_call)

    def unfreeze_grant_call(self, grant_id: int) -> ContractCall:
        return self._prepare("unfreezeGrant", grant_id)

    unfreeze_grant = sending(unfreeze_grant_call)

    def freeze_member(self, signer: Signer, member_id: int) -> TxReceipt:
        return self._tx(signer, "freezeMember", member_id)

    def unfreeze_member(self, signer: Signer, member_id: int) -> TxReceipt:
        return self._tx(signer, "unfreezeMember", member_id)

    def set_request_ttl(self, signer: Signer, ttl: int) -> TxReceipt:
        return self._tx(signer, "setRequestTtl", ttl)

    def record_access(self, signer: Signer, grant_id: int, query_hash: bytes, row_count: int) -> tuple[int, TxReceipt]:
        r = self._tx(signer, "recordAccess", grant_id, query_hash, row_count)
        return int(r.event("AccessRecorded").args["seq"]), r

    def record_refusal(
        self,
        signer: Signer,
        dataset_id: int,
        grant_id: int,
        requester_id: int,
        reason: RefusalReason,
        query_hash: bytes,
        attempts: int = 1,
    ) -> tuple[int, TxReceipt]:
        """Record ``attempts`` refused attempts of member ``requester_id`` (the latest one's reason and query)."""
        r = self._tx(signer, "recordRefusal", dataset_id, grant_id, requester_id, int(reason), query_hash, attempts)
        return int(r.event("AccessRefused").args["seq"]), r

    def anchor_batch(
        self, signer: Signer, merkle_root: bytes, count: int, from_time: int, to_time: int
    ) -> tuple[int, TxReceipt]:
        r = self._tx(signer, "anchorAccessBatch", merkle_root, count, from_time, to_time)
        return int(r.event("AccessBatchAnchored").args["batchId"]), r


# ------------------------------------------------------------------ decoding

_ZERO_ADDRESS = "0x" + "00" * 20


def _addr(v: Any) -> str | None:
    s = str(v)
    return None if s.lower() == _ZERO_ADDRESS else to_checksum_address(s)


def dataset_from_view(raw: dict[str, Any]) -> Dataset:
    return record_from_view(Dataset, raw)


def request_from_view(raw: dict[str, Any]) -> AccessRequest:
    return record_from_view(
        AccessRequest, raw,
        owner_approver=_addr(raw["ownerApprover"]), governance_approver=_addr(raw["governanceApprover"]),
    )


def grant_from_view(raw: dict[str, Any]) -> Grant:
    return record_from_view(Grant, raw)


def renewal_from_view(raw: dict[str, Any]) -> Renewal | None:
    if int(raw["extension"]) == 0:
        return None
    return record_from_view(Renewal, raw, requested_by=to_checksum_address(str(raw["requestedBy"])))


def batch_from_view(raw: dict[str, Any]) -> Batch:
    return record_from_view(Batch, raw)
