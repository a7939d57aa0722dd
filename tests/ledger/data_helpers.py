"""Datasets, requests and grants made on a live DataSharing for the ledger's tests."""

from __future__ import annotations

import secrets

from eth_utils import keccak

from ledger.data import Classification, DataSharing
from ledger.keys import Signer


def new_dataset(ds: DataSharing, owner: Signer, classification: Classification = Classification.INTERNAL) -> int:
    """A dataset of ``owner`` with a fresh title, metadata and content."""
    tag = secrets.token_hex(4)
    did, _ = ds.register(
        owner, f"dataset {tag}", classification, keccak(text=tag), keccak(text="s"), keccak(text=f"content {tag}")
    )
    return did


def new_request(ds: DataSharing, requester: Signer, dataset_id: int, duration: int) -> int:
    """A pending request of ``requester`` (purpose code 1, scope ``age``)."""
    rid, _ = ds.request_access(requester, dataset_id, 1, keccak(text="p"), keccak(text="age"), duration)
    return rid


def new_grant(ds: DataSharing, requester: Signer, owner: Signer, dataset_id: int, duration: int) -> int:
    """A grant to ``requester``, approved by the dataset's ``owner`` (Public or Internal datasets)."""
    r = ds.approve_as_owner(owner, new_request(ds, requester, dataset_id, duration))
    return int(r.event("GrantCreated").args["grantId"])
