"""The gateway's side of the access transparency log: one log per dataset-owner member.

Each member whose datasets this gateway serves has one log (``ledger.translog``) in
``<store dir>/translog/<member id>/``; its log id is the member's id. Every access to one of
its datasets served in log mode, and every refused attempt on them (by anyone, members or
not), is one entry, appended durably (``fsync``) before the answer leaves:

    {"v":1,"kind":"access"|"refusal","time":<unix s>,"dataset":id,"version":n,"grant":id|0,
     "member":<caller's member id or 0>,"account":"0x…","fields":"0x<mask hex>",
     "filter":"0x…"|null,"query":"0x<queryHash>","rows":n,"reason":null|"<RefusalReason name>"}

in canonical JSON (UTF-8, sorted keys, no spaces). The accesses made under each grant are
counted in memory, rebuilt from the log when it is opened: with the grant's on-chain
accesses they are the ``used`` the contract's access rule is asked about.

Several processes (the API's workers) append to one store's logs: each log is opened
``shared`` (``TransparencyLog`` locks its files per append), and an append first counts, under
that lock, the entries other processes appended since this one last looked, so a grant's
``maxAccesses`` holds across processes. The gateways of one process (the API's test client and
a live server over the same store, say) share one :class:`AccessLogs` per folder
(:func:`access_logs_for`), and with it one anchorer.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ledger.gateway.anchorer import Anchorer
from ledger.translog import TransparencyLog

ENTRY_VERSION = 1
#: entries read at once when a log is opened and its counts rebuilt
_CHUNK = 10_000


def log_entry(
    when: int,
    *,
    kind: Literal["access", "refusal"],
    dataset: int,
    version: int,
    grant: int,
    member: int,
    account: str,
    fields: int,
    row_filter: bytes | None,
    query: bytes,
    rows: int,
    reason: str | None,
) -> bytes:
    """One entry's bytes: the canonical JSON of its fields."""
    doc: dict[str, Any] = {
        "v": ENTRY_VERSION,
        "kind": kind,
        "time": when,
        "dataset": dataset,
        "version": version,
        "grant": grant,
        "member": member,
        "account": account.lower(),
        "fields": hex(fields),
        "filter": None if row_filter is None else "0x" + row_filter.hex(),
        "query": "0x" + query.hex(),
        "rows": rows,
        "reason": reason,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Logged:
    """An entry made durable: where it is and what it says."""

    log_id: int
    index: int
    leaf_hash: bytes
    entry: bytes
    time: int


class OwnerLog:
    """One member's log and the accesses counted per grant in it."""

    def __init__(self, log_id: int, tlog: TransparencyLog) -> None:
        self.log_id = log_id
        self.tlog = tlog
        self.lock = threading.Lock()
        self.used: Counter[int] = Counter()  # grant -> accesses in this log
        self.counted = 0  # entries counted into ``used``
        self.count_to(tlog.size)

    def count_to(self, size: int) -> None:
        """Count the entries up to ``size`` (those appended by other processes since the last count)."""
        for start in range(self.counted, size, _CHUNK):
            for raw in self.tlog.entries(start, min(size, start + _CHUNK)):
                doc = json.loads(raw)
                if doc["kind"] == "access":
                    self.used[int(doc["grant"])] += 1
        self.counted = max(self.counted, size)


class AccessLogs:
    """Every owner's log under ``directory`` (opened on first use; all those on disk by :meth:`open_existing`),
    and the anchorer that anchors them.

    Args:
        directory: ``<store dir>/translog``.
        anchorer: anchors the logs (:mod:`ledger.gateway.anchorer`).
    """

    def __init__(self, directory: Path, anchorer: Anchorer) -> None:
        self.directory = directory
        self.anchorer = anchorer
        self._lock = threading.Lock()
        self._logs: dict[int, OwnerLog] = {}
        self.users = 0

    def open_existing(self) -> None:
        """Open every log a previous run left here: counted again, its pending entries anchored.
        (The service, at start-up; a process that only uploads opens none.)"""
        if self.directory.is_dir():
            for d in sorted(self.directory.iterdir()):
                if d.is_dir() and d.name.isdigit():
                    self.log(int(d.name))

    def log(self, log_id: int) -> OwnerLog:
        got = self._logs.get(log_id)
        if got is not None:
            return got
        with self._lock:
            got = self._logs.get(log_id)
            if got is None:
                got = OwnerLog(log_id, TransparencyLog(self.directory / str(log_id), shared=True))
                self._logs[log_id] = got
                self.anchorer.track(log_id, got.tlog)
        return got

    def used(self, log_id: int, grant_id: int) -> int:
        """Accesses under ``grant_id`` in the log of member ``log_id`` (by every process)."""
        owner = self.log(log_id)
        with owner.lock:
            owner.count_to(owner.tlog.size)
            return owner.used[grant_id]

    def append(self, log_id: int, entry: Callable[[int], bytes], access_grant: int = 0, limit: int = 0) -> Logged:
        """Append ``entry(now)`` to member ``log_id``'s log, durably; counted for ``access_grant``
        when it is an access. Returns once the entry is on disk. With ``limit`` (> 0), an access
        that would be the grant's ``limit + 1``-th in this log raises :class:`UsedUp` instead,
        checked and counted under the log's lock, in every process (two fetches never both take the last one)."""
        owner = self.log(log_id)
        with owner.lock, owner.tlog.exclusive() as size:  # every process's appends counted, then ours
            owner.count_to(size)
            if access_grant and limit and owner.used[access_grant] >= limit:
                raise UsedUp(access_grant)
            now = int(time.time())
            raw = entry(now)
            appended = owner.tlog.append(raw)
            owner.count_to(appended.index + 1)
        self.anchorer.appended(log_id, appended.index, now)
        return Logged(log_id, appended.index, appended.leaf_hash, raw, now)

    def close(self) -> None:
        """Anchor what is pending (best effort), stop the anchorer, close the logs."""
        self.anchorer.close()
        with self._lock:
            for owner in self._logs.values():
                owner.tlog.close()
            self._logs.clear()


class UsedUp(Exception):
    """The grant's accesses are used (:meth:`AccessLogs.append`'s ``limit``)."""


_shared: dict[Path, AccessLogs] = {}
_shared_lock = threading.Lock()


def access_logs_for(directory: Path, make_anchorer: Callable[[], Anchorer]) -> AccessLogs:
    """The process's :class:`AccessLogs` over ``directory`` (made with ``make_anchorer()`` on first use);
    :func:`release` it when done."""
    key = directory.resolve()
    with _shared_lock:
        logs = _shared.get(key)
        if logs is None:
            logs = AccessLogs(key, make_anchorer())
            _shared[key] = logs
        logs.users += 1
        return logs


def release(logs: AccessLogs) -> None:
    """One user fewer; the last one closes the logs (anchoring what is pending first)."""
    with _shared_lock:
        logs.users -= 1
        if logs.users > 0:
            return
        _shared.pop(logs.directory, None)
    logs.close()
