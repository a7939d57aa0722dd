"""Datasets, requests and grants made on a live DataSharing for the ledger's tests."""

from __future__ import annotations

import secrets

from eth_utils import keccak

from ledger.data import Classification, DataSharing, Terms
from ledger.keys import Signer


def new_dataset(ds: DataSharing, owner: Signer, classification: Classification = Classification.INTERNAL) -> int:
    """A dataset of ``owner`` with a fresh title, metadata and content (a schema of 4 fields)."""
    tag = secrets.token_hex(4)
    did, _ = ds.register(
        owner, f"dataset {tag}", classification, keccak(text=tag), keccak(text="s"), keccak(text=f"content {tag}"), 4
    )
    return did


def new_request(
    ds: DataSharing, requester: Signer, dataset_id: int, duration: int, mask: int = 0b1, max_accesses: int = 0
) -> int:
    """A pending request of ``requester`` (purpose code 1, the fields of ``mask``)."""
    terms = Terms(1, keccak(text="p"), mask, duration, max_accesses=max_accesses)
    rid, _ = ds.request_access(requester, dataset_id, terms)
    return rid


def new_grant(
    ds: DataSharing,
    requester: Signer,
    owner: Signer,
    dataset_id: int,
    duration: int,
    mask: int = 0b1,
    max_accesses: int = 0,
) -> int:
    """A grant to ``requester``, approved by the dataset's ``owner`` (Public or Internal datasets)."""
    r = ds.approve_as_owner(owner, new_request(ds, requester, dataset_id, duration, mask, max_accesses))
    return int(r.event("GrantCreated").args["grantId"])
