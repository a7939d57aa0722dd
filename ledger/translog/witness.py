"""A witness of the access logs: cosign an anchored checkpoint only once it is shown to extend the last one.

The contract keeps each log's anchored heads but cannot tell whether a head is an extension
of the previous one: a gateway could rewrite its log and anchor the new root. A witness (a
data governance member other than the log's) walks the log's checkpoints in order, asks the
log's API for the RFC 9162 consistency proof between each pair of consecutive sizes, checks
it against the two roots **the chain** anchored, and cosigns each head it has checked
(``cosignCheckpoint``). At the first head that is not an extension it stops: that head and
every later one stay uncosigned, and the answer names the sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.data.checkpoints import AccessCheckpoints, Checkpoint
from ledger.keys import Signer
from ledger.membership import Registry
from ledger.translog import merkle

#: Fetches the consistency proof of ``(log, first, second)`` (the CLI: from the log's API).
ConsistencyFetcher = Callable[[int, int, int], list[bytes]]


@dataclass(frozen=True)
class Witnessed:
    """What one run did: the sizes cosigned now, those cosigned before, and where it stopped (if it did)."""

    log: int
    cosigned: tuple[int, ...]
    already: tuple[int, ...]
    inconsistent: tuple[int, int] | None  # (first, second): second's root does not extend first's

    @property
    def ok(self) -> bool:
        return self.inconsistent is None


def checkpoints_in_order(checkpoints: AccessCheckpoints, log_id: int, after: int = 0) -> list[Checkpoint]:
    """The log's checkpoints whose size is above ``after``, in anchoring order."""
    out: list[Checkpoint] = []
    size = after
    while True:
        nxt = checkpoints.covering(log_id, size)  # the first checkpoint whose size is above ``size``
        if not nxt.exists:
            return out
        out.append(nxt)
        size = nxt.tree_size


def witness(
    checkpoints: AccessCheckpoints, signer: Signer, log_id: int, fetch: ConsistencyFetcher, *, after: int = 0
) -> Witnessed:
    """Check and cosign, as ``signer``'s member, every checkpoint of ``log_id`` above size ``after``.

    The head at ``after`` (when not 0) is taken as checked already: the first proof runs from it.
    """
    me = Registry(checkpoints.ledger).account_info(signer.address).member_id
    previous = checkpoints.at(log_id, after) if after else None
    cosigned: list[int] = []
    already: list[int] = []
    for cp in checkpoints_in_order(checkpoints, log_id, after):
        if previous is not None:
            proof = fetch(log_id, previous.tree_size, cp.tree_size)
            if not merkle.verify_consistency(previous.tree_size, cp.tree_size, previous.root_hash, cp.root_hash,
                                             proof):
                return Witnessed(log_id, tuple(cosigned), tuple(already), (previous.tree_size, cp.tree_size))
        if me in checkpoints.cosigners(log_id, cp.tree_size):
            already.append(cp.tree_size)
        else:
            checkpoints.cosign(signer, log_id, cp.tree_size, cp.root_hash)
            cosigned.append(cp.tree_size)
        previous = cp
    return Witnessed(log_id, tuple(cosigned), tuple(already), None)
