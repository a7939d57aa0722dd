"""Group commit of one account's sends: the writes queued while its previous group was sent go
out together, under one nonce reservation.

Concurrent writers of one account used to pass its nonce lock one at a time, each holding it
over its own signing and its own round trip to the node, every hand-over a wait for the GIL
behind the other threads: on geth with hundreds of writers in flight that serial section was
the wall (30 ms held a write, 12 of 16 s; ``bench/NOTES.md``). Now the first writer to arrive
leads: it takes every write queued for the account and the pipeline reserves their nonces once,
signs and journals each in order and sends them together; writers arriving meanwhile queue for
the next group, led by the first of them. Nonce order, journaling before the bytes leave, and
exactly-once settling stay each write's own (:class:`~ledger.tx.pipeline.TxPipeline`). On
Ganache the next group goes once the last one is mined (``TxPipeline._until_mined``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.keys import Signer
    from ledger.tx.pipeline import ContractCall, Journal, Pending


@dataclass(eq=False)
class QueuedSend:
    """One write waiting in its account's outbox: what to sign, and how it ended."""

    signer: Signer
    call: ContractCall
    gas: int
    journal: Journal | None
    lead: bool = False  # this caller sends the next group
    finished: bool = False
    delivered: bool = False  # a node took its bytes
    pending: Pending | None = None
    error: BaseException | None = None
    ready: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class _Outbox:
    queue: list[QueuedSend] = field(default_factory=list)
    leading: bool = False


class Resync(Exception):
    """Leave a nonce reservation as failed, so that the next one re-reads the node's count."""


class Outboxes:
    """The outboxes of every account, and who leads each one's next group. The pipeline drives
    them: :meth:`join` (lead now, or wait on ``item.ready``), :meth:`take` the group, send it,
    :meth:`hand_over`."""

    def __init__(self) -> None:
        self._boxes: dict[str, _Outbox] = {}
        self._lock = threading.Lock()

    def join(self, item: QueuedSend) -> bool:
        """Queue ``item`` in its account's outbox; True when its caller leads the next group now
        (otherwise ``item.ready`` is set once a leader sent it, or made its caller the next leader)."""
        with self._lock:
            box = self._boxes.setdefault(item.signer.address.lower(), _Outbox())
            box.queue.append(item)
            if not box.leading:
                box.leading = item.lead = True
        return item.lead

    def take(self, sender: str) -> list[QueuedSend]:
        """The leader takes every write queued for ``sender`` (its own among them)."""
        with self._lock:
            box = self._boxes[sender.lower()]
            group, box.queue = box.queue, []
        return group

    def hand_over(self, sender: str) -> None:
        """The leader is done: the first write queued meanwhile leads the next group, if any."""
        with self._lock:
            box = self._boxes[sender.lower()]
            if box.queue:
                box.queue[0].lead = True
                box.queue[0].ready.set()
            else:
                box.leading = False
