"""An append-only, durable, crash-safe transparency log on disk (RFC 9162 hashing).

One directory per log::

    entries      records ``u32 length || entry`` back to back
    offsets      u64 start of each record in ``entries`` (fixed width: entry i is at 8*i)
    level-00     the leaf hashes, 32 bytes each
    level-NN     the hash of every complete subtree of 2**NN leaves, in order
    lock         held (``fcntl.flock``) by the one process that may write, or, for a log
                 opened ``shared``, by each append of any process, for that append only

**Commit point.** An append writes the record, the offset, the new complete
subtrees of levels 1 and up, and ``fsync``s them; only then does it write its
leaf hash to ``level-00`` and ``fsync`` that. The log's size is the number of
hashes in ``level-00``, so an entry exists exactly when all it needs is
durable, and :meth:`TransparencyLog.append` returns only after that.

**Recovery.** Opening the log truncates whatever a crash left past the commit
point (a torn record, an offset or subtree hashes of an entry whose leaf hash
never landed, a partial hash) and recomputes any missing subtree from the
level below; it then checks that the last entry's stored bytes still hash to
its leaf hash. Only the tail is read: opening costs O(log n), never a rehash.

**Costs.** Every root and proof reads O(log n) stored subtree hashes
(:mod:`ledger.translog.merkle`). Appends are serialised by a lock; reads use
``pread`` on a size taken under that lock, so a reader never sees a half
appended entry.

**Several writer processes** (the API's workers: ``TransparencyLog(directory, shared=True)``).
Each append takes the file lock (blocking) and, under it, re-reads the committed size from
the files (the number of leaf hashes) before writing at its end: whatever a writer killed
mid-append left past the commit point is overwritten, as recovery would truncate it. Opening
recovers under the same lock. :meth:`TransparencyLog.exclusive` holds the lock across more
than one step (the gateway counts a grant's accesses and appends under one hold).

**Readers.** :class:`LogReader` opens the same files read-only, without the
lock (the API serving proofs while a gateway appends, in this process or
another): its size is the number of leaf hashes on disk, and since a leaf hash
is written after everything its entry needs, whatever it counts is complete.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import IntegrityError, LogLocked, NotFound, ValidationFailed
from ledger.translog import merkle

#: Bytes of a record's length prefix and of an offset.
_LEN = struct.Struct(">I")
_OFF = struct.Struct(">Q")
_H = merkle.HASH_SIZE
#: The largest entry a record can hold.
MAX_ENTRY = 1 << 20
#: Longest a shared log's append waits for the file lock (a process holding the log for its
#: life, opened not shared, would otherwise keep it waiting for ever).
LOCK_WAIT = 30.0


@dataclass(frozen=True)
class Appended:
    """Where an entry went: its index in the log and its leaf hash."""

    index: int
    leaf_hash: bytes


def _flock(fd: int, wait: float, what: Path) -> None:
    """Take the exclusive file lock of ``fd``, waiting at most ``wait`` seconds (else LogLocked)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise LogLocked(str(what)) from None
            time.sleep(0.002)


@contextmanager
def file_lock(path: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the exclusive file lock of ``path`` (created if missing) across processes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _flock(fd, wait, path)
        yield
    finally:
        os.close(fd)  # closing the file releases its lock


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LogView:
    """The reads of a log's files: roots, proofs and entries at the log's current :attr:`size`."""

    directory: Path
    _writable: bool

    def _init_files(self) -> None:
        self._levels_lock = threading.Lock()  # opening a level's file: once, whichever thread asks first
        self._entries = self._open("entries")
        self._offsets = self._open("offsets")
        self._levels: list[int] = []
        while self.directory.joinpath(self._level_name(len(self._levels))).exists() or not self._levels:
            self._levels.append(self._open(self._level_name(len(self._levels))))

    @staticmethod
    def _level_name(level: int) -> str:
        return f"level-{level:02d}"

    def _open(self, name: str) -> int:
        if self._writable:
            return os.open(self.directory / name, os.O_RDWR | os.O_CREAT, 0o644)
        return os.open(self.directory / name, os.O_RDONLY)

    def _level(self, level: int) -> int:
        """The file of ``level``, opened on first use (a writer creates it)."""
        if level >= len(self._levels):
            with self._levels_lock:
                while level >= len(self._levels):
                    self._levels.append(self._open(self._level_name(len(self._levels))))
                    if self._writable:
                        _fsync_dir(self.directory)
        return self._levels[level]

    @staticmethod
    def _read(fd: int, length: int, offset: int) -> bytes:
        data = os.pread(fd, length, offset)
        if len(data) != length:
            raise IntegrityError(f"short read of {length} bytes at {offset}")
        return data

    def _close_files(self) -> None:
        for fd in (self._entries, self._offsets, *self._levels):
            os.close(fd)
        self._levels = []

    @property
    def size(self) -> int:
        """The number of committed entries."""
        raise NotImplementedError

    def _size_on_disk(self) -> int:
        """The committed entries as the files say: leaf hashes (written last) with their offsets."""
        return min(os.fstat(self._levels[0]).st_size // _H, os.fstat(self._offsets).st_size // _OFF.size)

    def node(self, level: int, index: int) -> bytes:
        """The stored hash of complete subtree ``index`` of ``level`` (a :class:`merkle.NodeSource`)."""
        return self._read(self._level(level), _H, index * _H)

    def _checked_size(self, size: int | None) -> int:
        current = self.size
        if size is None:
            return current
        if not 0 <= size <= current:
            raise ValidationFailed("size", f"the log has {current} entries, not {size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first ``size`` entries (default: all)."""
        return merkle.root(self, self._checked_size(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of entry ``index`` in the tree of ``size`` entries."""
        return merkle.inclusion_proof(self, index, self._checked_size(size))

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """The proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
        return merkle.consistency_proof(self, first, self._checked_size(second))

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise NotFound("log entry", index)
        return self.node(0, index)

    def _offset(self, index: int) -> int:
        return int(_OFF.unpack(self._read(self._offsets, _OFF.size, index * _OFF.size))[0])

    def _record_end(self, index: int) -> int:
        start = self._offset(index)
        (length,) = _LEN.unpack(self._read(self._entries, _LEN.size, start))
        return start + _LEN.size + int(length)

    def _entry(self, index: int) -> bytes:
        start = self._offset(index)
        (length,) = _LEN.unpack(self._read(self._entries, _LEN.size, start))
        return self._read(self._entries, length, start + _LEN.size)

    def entry(self, index: int) -> bytes:
        """The bytes of entry ``index``."""
        if not 0 <= index < self.size:
            raise NotFound("log entry", index)
        return self._entry(index)

    def entries(self, start: int, end: int) -> list[bytes]:
        """Entries ``start`` (inclusive) to ``end`` (exclusive), clipped to the log's size."""
        end = min(end, self.size)
        if start < 0 or start > end:
            raise ValidationFailed("start", f"[{start}, {end}) is not a range of the log")
        if start == end:
            return []
        first, last = self._offset(start), self._record_end(end - 1)
        data = self._read(self._entries, last - first, first)
        out: list[bytes] = []
        pos = 0
        while pos < len(data):
            (length,) = _LEN.unpack_from(data, pos)
            out.append(data[pos + _LEN.size : pos + _LEN.size + length])
            pos += _LEN.size + length
        return out


class LogReader(LogView):
    """A log opened read-only, beside its writer (no lock taken).

    Raises:
        NotFound: there is no log in ``directory``.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._writable = False
        if not (self.directory / "level-00").is_file():
            raise NotFound("transparency log", str(self.directory))
        self._init_files()

    @property
    def size(self) -> int:
        return self._size_on_disk()

    def close(self) -> None:
        self._close_files()

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TransparencyLog(LogView):
    """One transparency log, opened for appending by this process alone, or, ``shared``, by any
    number of processes (each append locks the files: see the module).

    Raises:
        LogLocked: another process holds the log open (not shared), or held it past ``LOCK_WAIT``.
        IntegrityError: the last committed entry no longer matches its leaf hash.
    """

    def __init__(self, directory: str | os.PathLike[str], *, shared: bool = False) -> None:
        self.directory = Path(directory)
        self._writable = True
        self.shared = shared
        created = not self.directory.exists()
        self.directory.mkdir(parents=True, exist_ok=True)
        if created:
            _fsync_dir(self.directory.parent)
        self._lock = threading.RLock()
        self._held = 0  # depth of this process's hold of the file lock (shared)
        self._lock_fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._flock(wait=0.0 if not shared else LOCK_WAIT)
        except LogLocked:
            os.close(self._lock_fd)
            raise
        try:
            self._init_files()
            _fsync_dir(self.directory)
            self._state = (0, 0)  # (entries, bytes of records): replaced whole, so readers see a consistent pair
            self._recover()
        finally:
            if shared:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _flock(self, wait: float) -> None:
        _flock(self._lock_fd, wait, self.directory)

    @property
    def size(self) -> int:
        return self._size_on_disk() if self.shared and self._lock_fd >= 0 and not self._held else self._state[0]

    @contextmanager
    def exclusive(self) -> Iterator[int]:
        """Hold the log for appending (re-entrant); yields its committed size. For a shared log
        this takes the file lock and reads the size other processes left."""
        with self._lock:
            if self._lock_fd < 0:
                raise ValidationFailed("log", "the transparency log is closed")
            if self.shared and not self._held:
                self._flock(LOCK_WAIT)
                try:
                    n = self._size_on_disk()
                    if n != self._state[0]:
                        self._state = (n, self._record_end(n - 1) if n else 0)
                except BaseException:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                    raise
            self._held += 1
            try:
                yield self._state[0]
            finally:
                self._held -= 1
                if self.shared and not self._held:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the files and the lock (idempotent)."""
        with self._lock:
            if self._lock_fd < 0:
                return
            self._close_files()
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> TransparencyLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- recovery

    def _recover(self) -> None:
        n = os.fstat(self._levels[0]).st_size // _H
        n = min(n, os.fstat(self._offsets).st_size // _OFF.size)
        entries_size = os.fstat(self._entries).st_size
        end = 0
        while n > 0:
            start = self._offset(n - 1)
            if start + _LEN.size <= entries_size:
                (length,) = _LEN.unpack(self._read(self._entries, _LEN.size, start))
                end = start + _LEN.size + length
                if end <= entries_size:
                    break
            n -= 1  # its record is torn: the leaf hash cannot have been committed after it, but be safe
        if n == 0:
            end = 0
        os.ftruncate(self._entries, end)
        os.ftruncate(self._offsets, n * _OFF.size)
        for level, fd in enumerate(self._levels):  # shrink only: growing would fill with zeros
            os.ftruncate(fd, min(os.fstat(fd).st_size // _H, n >> level) * _H)
        for fd in (self._entries, self._offsets, *self._levels):
            os.fsync(fd)
        self._state = (n, end)
        for level in range(1, n.bit_length()):
            have = os.fstat(self._level(level)).st_size // _H
            for i in range(have, n >> level):
                h = merkle.node_hash(self.node(level - 1, 2 * i), self.node(level - 1, 2 * i + 1))
                os.pwrite(self._level(level), h, i * _H)
            os.fsync(self._level(level))
        if n and merkle.leaf_hash(self._entry(n - 1)) != self.node(0, n - 1):
            raise IntegrityError(
                f"transparency log {self.directory}: entry {n - 1} does not match its leaf hash",
                index=n - 1,
            )

    # ---------------------------------------------------------------- appends

    def append(self, entry: bytes) -> Appended:
        """Append one entry; it is durable (fsynced) when this returns."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[bytes]) -> list[Appended]:
        """Append entries in order with one round of fsyncs; all are durable when this returns."""
        for e in entries:
            if not 0 < len(e) <= MAX_ENTRY:
                raise ValidationFailed("entry", f"must be 1 to {MAX_ENTRY} bytes")
        with self.exclusive():
            return self._append(entries)

    def _append(self, entries: Sequence[bytes]) -> list[Appended]:
        n, end = self._state
        records = bytearray()
        offsets = bytearray()
        leaves: list[bytes] = []
        uppers: dict[int, bytearray] = {}  # the complete subtrees this batch closes, per level
        for e in entries:
            offsets += _OFF.pack(end + len(records))
            records += _LEN.pack(len(e)) + e
            h = merkle.leaf_hash(e)
            leaves.append(h)
            index, level, node = n + len(leaves) - 1, 0, h
            while index & 1:
                left = self._left(level, index - 1, leaves, uppers, n)
                node = merkle.node_hash(left, node)
                index >>= 1
                level += 1
                uppers.setdefault(level, bytearray()).extend(node)
        os.pwrite(self._entries, bytes(records), end)
        os.pwrite(self._offsets, bytes(offsets), n * _OFF.size)
        for level, data in uppers.items():
            fd = self._level(level)
            os.pwrite(fd, bytes(data), (n >> level) * _H)
        for fd in (self._entries, self._offsets, *(self._level(level) for level in uppers)):
            os.fsync(fd)
        os.pwrite(self._levels[0], b"".join(leaves), n * _H)
        os.fsync(self._levels[0])
        self._state = (n + len(leaves), end + len(records))
        return [Appended(n + i, h) for i, h in enumerate(leaves)]

    def _left(self, level: int, index: int, leaves: list[bytes], uppers: dict[int, bytearray], n: int) -> bytes:
        """Node ``(level, index)`` while appending: from this batch's buffers, else from disk."""
        if level == 0:
            return leaves[index - n] if index >= n else self.node(0, index)
        first_new = n >> level  # the first node of this level the batch writes
        buf = uppers.get(level)
        if index >= first_new and buf is not None:
            return bytes(buf[(index - first_new) * _H : (index - first_new + 1) * _H])
        return self.node(level, index)
