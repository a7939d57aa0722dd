"""Serving in log mode: the owner's transparency log instead of a transaction per access.

What :class:`~ledger.gateway.Gateway` does for a dataset whose classification is not
served synchronously: refuse at once when the owner's log is overdue for anchoring
(fail closed), append every access and every refusal to the owner's log durably before
answering, and sign the access's receipt with the owner's gateway key. The logs and the
anchorer are ``access_log.py``'s and ``anchorer.py``'s; the receipt is
``ledger.translog.receipt``'s.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

from ledger.client import Ledger
from ledger.data import Dataset
from ledger.data.checkpoints import NAME as CHECKPOINTS
from ledger.data.checkpoints import AccessCheckpoints
from ledger.errors import AccessDenied, AnchoringOverdue
from ledger.gateway.access_log import AccessLogs, Logged, access_logs_for, release
from ledger.gateway.anchorer import Anchorer
from ledger.keys import Signer
from ledger.translog.receipt import sign_receipt
from ledger.translog.store import file_lock

_T = TypeVar("_T")
#: The file in a log's folder held while one process anchors the log, and the note of the size
#: last anchored from this folder (by any process).
ANCHOR_LOCK = "anchor.lock"
ANCHORED = "anchored"
#: Longest an anchorer waits for another process's anchoring (a transaction) of the same log.
ANCHOR_LOCK_WAIT = 300.0
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
        self.checkpoints = AccessCheckpoints(ledger)
        self._directory = directory / "translog"
        self._make_anchorer = lambda: Anchorer(
            self._anchor, self._anchored_size, mmd=mmd, every=anchor_every, grace=grace
        )
        self._logs: AccessLogs | None = None
        self._lock = threading.Lock()

    @property
    def logs(self) -> AccessLogs:
        """The process's logs of this store, taken on first use: a gateway that only uploads holds none
        (and so never keeps another gateway's close from anchoring them)."""
        if self._logs is None:
            with self._lock:
                if self._logs is None:
                    self._logs = access_logs_for(self._directory, self._make_anchorer)
        return self._logs

    def close(self) -> None:
        with self._lock:
            logs, self._logs = self._logs, None
        if logs is not None:
            release(logs)

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

    def access(
        self, owner_id: int, grant_id: int, entry: Callable[[int], bytes], limit: int = 0
    ) -> tuple[Logged, dict[str, Any]]:
        """The access appended (durably) to the owner's log, and its signed receipt; :class:`UsedUp`
        if the log holds ``limit`` (> 0) accesses under the grant already."""
        e = self.logs.append(owner_id, entry, access_grant=grant_id, limit=limit)
        if self.pause_after_append:  # fault injection: the crash test kills the process here
            time.sleep(self.pause_after_append)
        return e, self.as_owner(owner_id, lambda signer: self._receipt(signer, e))

    def _receipt(self, signer: Signer, e: Logged) -> dict[str, Any]:
        assert self.ledger.manifest is not None
        return sign_receipt(
            signer,
            log=e.log_id,
            index=e.index,
            entry=e.entry,
            time=e.time,
            mmd=int(self.mmd),
            chain_id=self.ledger.chain_id,
            checkpoints=self.ledger.manifest.address(CHECKPOINTS),
        ).to_json()

    def _anchor(self, log_id: int, size: int, root: bytes) -> bool:
        # One process anchors a log at a time (the API's workers each run an anchorer), under the
        # log's anchoring lock. A size another process anchored meanwhile (its ANCHORED note, then
        # confirmed on chain: a note never stands for the chain) is not anchored again; with no
        # such note (one process; a note lost to a crash) no chain call is added.
        folder = self._directory / str(log_id)
        with file_lock(folder / ANCHOR_LOCK, wait=ANCHOR_LOCK_WAIT):
            note = folder / ANCHORED
            try:
                noted = int(note.read_text())
            except (OSError, ValueError):
                noted = 0
            if noted >= size and self._anchored_size(log_id) >= size:
                return False
            self._anchor_now(log_id, size, root)
            fresh = note.with_suffix(".tmp")
            fresh.write_text(str(size))
            os.replace(fresh, note)
            return True

    def _anchor_now(self, log_id: int, size: int, root: bytes) -> None:
        # The head's time is the latest block's: never after the anchoring block's, never before the
        # previous head's (both the contract's rules), whatever the gateway's clock says.
        when = self.ledger.rpc_client.latest_time()
        self.as_owner(log_id, lambda signer: self.checkpoints.anchor(signer, size, root, when))

    def _anchored_size(self, log_id: int) -> int:
        return self.checkpoints.latest(log_id).tree_size


def entry_ref(e: Logged) -> dict[str, Any]:
    """Where an entry is, as answers name it."""
    return {"log": e.log_id, "index": e.index, "leaf_hash": "0x" + e.leaf_hash.hex()}
