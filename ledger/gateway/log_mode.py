"""Serving in log mode: the owner's transparency log instead of a transaction per access.

What :class:`~ledger.gateway.Gateway` does for a dataset whose classification is not
served synchronously: refuse at once when the owner's log is overdue for anchoring
(fail closed), append every access and every refusal to the owner's log durably before
answering, and sign the access's receipt with the owner's gateway key. The logs and the
anchorer are ``access_log.py``'s and ``anchorer.py``'s; the receipt is
``ledger.translog.receipt``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

from ledger.client import Ledger
from ledger.data import Dataset
from ledger.errors import AccessDenied, AnchoringOverdue
from ledger.gateway.access_log import AccessLogs, Logged, access_logs_for, release
from ledger.gateway.anchorer import Anchorer
from ledger.keys import Signer

_T = TypeVar("_T")
CHECKPOINTS = "AccessCheckpoints"
#: ``as_owner(member id, write)``: ``write(signer)`` with a signer of that member (``Gateway._as_owner``)
AsOwner = Callable[[int, Callable[[Signer], _T]], _T]


class LogMode:
    """Args:
    ledger: the chain connection.
    directory: the gateway store's folder (the logs go to its ``translog/``).
    as_owner: signs as a member (the gateway's signer choice).
    sync_classifications: classification names served synchronously (not by this).
    mmd, anchor_every, grace: the anchorer's (``anchorer.py``).
    pause_after_append: fault injection for the crash tests: seconds slept once an access is durable.
    """

    def __init__(
        self,
        ledger: Ledger,
        directory: Path,
        as_owner: AsOwner[Any],
        *,
        sync_classifications: Collection[str] = ("secret",),
        mmd: float = 60.0,
        anchor_every: int = 1000,
        grace: float = 30.0,
        pause_after_append: float = 0.0,
    ) -> None:
        self.ledger = ledger
        self.as_owner = as_owner
        self.sync_classifications = frozenset(c.lower() for c in sync_classifications)
        self.mmd = mmd
        self.pause_after_append = pause_after_append
        self.logs: AccessLogs = access_logs_for(
            directory / "translog",
            lambda: Anchorer(self._anchor, self._anchored_size, mmd=mmd, every=anchor_every, grace=grace),
        )

    def close(self) -> None:
        release(self.logs)

    def applies(self, ds: Dataset) -> bool:
        """Whether accesses to ``ds`` go to its owner's log (else on chain at once)."""
        return ds.classification.name.lower() not in self.sync_classifications

    def check_anchoring(self, owner_id: int) -> None:
        """Fail closed: nothing of ``owner_id``'s is served while its log is overdue for anchoring."""
        late = self.logs.anchorer.overdue(owner_id)
        if late is not None:
            raise AnchoringOverdue(owner_id, late.overdue or 0.0, self.mmd, late.last_error)

    def used(self, owner_id: int, grant_id: int) -> int:
        """Accesses under ``grant_id`` in its owner's log."""
        return self.logs.used(owner_id, grant_id)

    def refusal(self, owner_id: int, entry: Callable[[int], bytes], reason: str, detail: str) -> AccessDenied:
        """The refusal, once appended to the owner's log (the answer names its entry)."""
        e = self.logs.append(owner_id, entry)
        return AccessDenied(
            f"{reason}: {detail} (entry {e.index} of member {e.log_id}'s access log)",
            refusal_reason=reason,
            refusal_record="logged",
            log_entry=entry_ref(e),
        )

    def access(self, owner_id: int, grant_id: int, entry: Callable[[int], bytes]) -> tuple[Logged, dict[str, Any]]:
        """The access appended (durably) to the owner's log, and its signed receipt."""
        e = self.logs.append(owner_id, entry, access_grant=grant_id)
        if self.pause_after_append:  # fault injection: the crash test kills the process here
            time.sleep(self.pause_after_append)
        return e, self.as_owner(owner_id, lambda signer: self._receipt(signer, e))

    def _receipt(self, signer: Signer, e: Logged) -> dict[str, Any]:
        # INTERIM until k17-ctcore's ledger.translog.receipt.sign_receipt: the design's fields, EIP-712 signed
        from eth_account.messages import encode_typed_data

        assert self.ledger.manifest is not None
        body: dict[str, Any] = {
            "log": e.log_id,
            "index": e.index,
            "leaf_hash": "0x" + e.leaf_hash.hex(),
            "entry": e.entry.decode("utf-8"),
            "time": e.time,
            "mmd": int(self.mmd),
            "chain_id": self.ledger.chain_id,
            "checkpoints": self.ledger.manifest.address(CHECKPOINTS),
            "signer": signer.address,
        }
        typed = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "AccessReceipt": [
                    {"name": "log", "type": "uint64"},
                    {"name": "index", "type": "uint64"},
                    {"name": "leafHash", "type": "bytes32"},
                    {"name": "time", "type": "uint64"},
                    {"name": "mmd", "type": "uint32"},
                ],
            },
            "primaryType": "AccessReceipt",
            "domain": {
                "name": "CoGov access log",
                "version": "1",
                "chainId": body["chain_id"],
                "verifyingContract": body["checkpoints"],
            },
            "message": {"log": e.log_id, "index": e.index, "leafHash": e.leaf_hash, "time": e.time, "mmd": body["mmd"]},
        }
        signed = signer.account.sign_message(encode_typed_data(full_message=typed))
        return {**body, "signature": "0x" + bytes(signed.signature).hex()}

    def _anchor(self, log_id: int, size: int, root: bytes) -> None:
        # INTERIM until k17-ctcore's wrapper (ledger/data/checkpoints.py). The head's time is the latest
        # block's: never after the anchoring block's, never before the previous head's.
        when = int(self.ledger.w3.eth.get_block("latest")["timestamp"])
        call = self.ledger.prepare(CHECKPOINTS, "anchorCheckpoint", size, root, when)
        self.as_owner(log_id, lambda signer: self.ledger.transact(signer, call))

    def _anchored_size(self, log_id: int) -> int:
        return int(self.ledger.call(CHECKPOINTS, "latestCheckpoint", log_id)["treeSize"])


def entry_ref(e: Logged) -> dict[str, Any]:
    """Where an entry is, as answers name it."""
    return {"log": e.log_id, "index": e.index, "leaf_hash": "0x" + e.leaf_hash.hex()}
