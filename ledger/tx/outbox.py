"""Group commit of one account's sends: the writes queued while its previous group was sent go
out together, under one nonce reservation.

Concurrent writers of one account used to pass its nonce lock one at a time, each holding it
over its own signing and its own round trip to the node, every hand-over a wait for the GIL
behind the other threads: on geth with hundreds of writers in flight that serial section was
the wall (30 ms held a write, 12 of 16 s; ``bench/NOTES.md``). Now the first writer to arrive
leads: it takes every write queued for the account and the pipeline reserves their nonces once,
signs and journals each in order and sends them together; writers arriving meanwhile queue for
the next group, led by the first of them. Nonce order, journaling before the bytes leave, and
exactly-once settling stay each write's own (:class:`~ledger.tx.pipeline.TxPipeline`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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
    """The outboxes of every account, and who leads each one's next group."""

    def __init__(self) -> None:
        self._boxes: dict[str, _Outbox] = {}
        self._lock = threading.Lock()

    def send(self, item: QueuedSend, send_group: Callable[[str, list[QueuedSend]], None]) -> Pending:
        """Queue ``item``; lead its group (``send_group(sender, group)`` sets every item's Pending or
        error) or wait for the leader; return its Pending or raise its error."""
        sender = item.signer.address
        with self._lock:
            box = self._boxes.setdefault(sender.lower(), _Outbox())
            box.queue.append(item)
            if not box.leading:
                box.leading = item.lead = True
        if not item.lead:
            item.ready.wait()  # set when a leader sent it, or made this caller the next leader
        if item.lead and not item.finished:
            with self._lock:
                group, box.queue = box.queue, []
            try:
                send_group(sender, group)
            finally:
                with self._lock:
                    if box.queue:  # arrived meanwhile: the first of them leads the next group
                        box.queue[0].lead = True
                        box.queue[0].ready.set()
                    else:
                        box.leading = False
        if item.error is not None:
            raise item.error
        assert item.pending is not None
        return item.pending
