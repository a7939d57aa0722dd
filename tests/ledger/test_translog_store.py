"""The on-disk transparency log: same roots and proofs as the in-memory tree, durable, crash-safe, locked."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import IntegrityError, LogLocked, NotFound, ValidationFailed
from ledger.translog import merkle
from ledger.translog.store import LogReader, TransparencyLog


def _entries(n: int, start: int = 0) -> list[bytes]:
    return [b'{"i":%d,"pad":"%s"}' % (i, b"x" * (i % 7)) for i in range(start, start + n)]


def _memory(entries: list[bytes]) -> merkle.MemoryNodes:
    return merkle.MemoryNodes(merkle.leaf_hash(e) for e in entries)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[TransparencyLog]:
    lg = TransparencyLog(tmp_path / "log")
    yield lg
    lg.close()


def test_appends_one_by_one_and_in_batches_give_the_rfc_tree(log: TransparencyLog) -> None:
    entries = _entries(70)
    got = [log.append(e) for e in entries[:33]] + log.append_many(entries[33:])
    assert [a.index for a in got] == list(range(70))
    assert [a.leaf_hash for a in got] == [merkle.leaf_hash(e) for e in entries]
    mem = _memory(entries)
    assert log.size == 70
    for n in range(0, 71):
        assert log.root(n) == merkle.root(mem, n)
    for n in (1, 2, 33, 64, 70):
        for i in range(n):
            assert log.inclusion_proof(i, n) == merkle.inclusion_proof(mem, i, n)
        for m in range(0, n + 1):
            assert log.consistency_proof(m, n) == merkle.consistency_proof(mem, m, n)
    assert log.entry(5) == entries[5]
    assert log.entries(30, 40) == entries[30:40]
    assert log.entries(65, 1000) == entries[65:]
    assert log.entries(70, 70) == []


def test_refusals(log: TransparencyLog) -> None:
    log.append_many(_entries(5))
    with pytest.raises(ValidationFailed):
        log.root(6)
    with pytest.raises(ValidationFailed):
        log.inclusion_proof(5, 5)
    with pytest.raises(ValidationFailed):
        log.consistency_proof(3, 6)
    with pytest.raises(NotFound):
        log.entry(5)
    with pytest.raises(ValidationFailed):
        log.entries(4, 2)
    with pytest.raises(ValidationFailed):
        log.append(b"")


def test_reopened_the_log_is_the_same(tmp_path: Path) -> None:
    entries = _entries(100)
    with TransparencyLog(tmp_path / "l") as lg:
        lg.append_many(entries)
        root = lg.root()
    with TransparencyLog(tmp_path / "l") as lg:
        assert (lg.size, lg.root()) == (100, root)
        lg.append(b"next")
        assert lg.root() == merkle.root(_memory([*entries, b"next"]), 101)


def _crash_files(d: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in d.iterdir() if p.name != "lock"}


@pytest.mark.parametrize("torn", ["record", "offset", "leaf", "upper", "uncommitted"])
def test_a_torn_tail_is_truncated_on_open_and_never_served(tmp_path: Path, torn: str) -> None:
    d = tmp_path / "l"
    entries = _entries(12)
    with TransparencyLog(d) as lg:
        lg.append_many(entries)
        root = lg.root()
    committed = _crash_files(d)
    # what a crash in the middle of the 13th append can leave behind
    with open(d / "entries", "ab") as f:
        f.write(b"\x00\x00\x00\x40{\"i\":12" if torn == "record" else b"\x00\x00\x00\x04next")
    if torn in ("offset", "leaf", "upper", "uncommitted"):
        with open(d / "offsets", "ab") as f:
            f.write((committed["entries"]).to_bytes(8, "big")[: 5 if torn == "offset" else 8])
    if torn in ("upper", "uncommitted"):
        with open(d / "level-02", "ab") as f:
            f.write(b"\x07" * (32 if torn == "uncommitted" else 20))
    if torn == "leaf":
        with open(d / "level-00", "ab") as f:
            f.write(merkle.leaf_hash(b"next")[:31])
    with TransparencyLog(d) as lg:
        assert (lg.size, lg.root()) == (12, root)
        assert _crash_files(d) == committed
        assert lg.entries(0, 100) == entries
        lg.append(b"after")
        assert lg.root() == merkle.root(_memory([*entries, b"after"]), 13)


def test_missing_subtree_hashes_are_recomputed_from_the_level_below(tmp_path: Path) -> None:
    d = tmp_path / "l"
    with TransparencyLog(d) as lg:
        lg.append_many(_entries(16))
        root = lg.root()
    os.truncate(d / "level-02", 32)
    os.truncate(d / "level-04", 0)
    with TransparencyLog(d) as lg:
        assert lg.root() == root
        assert lg.node(2, 3) == merkle.MemoryNodes(merkle.leaf_hash(e) for e in _entries(16)).node(2, 3)


def test_a_last_entry_that_no_longer_matches_its_leaf_hash_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "l"
    with TransparencyLog(d) as lg:
        lg.append_many(_entries(3))
    data = bytearray((d / "entries").read_bytes())
    data[-2] ^= 1
    (d / "entries").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="entry 2"):
        TransparencyLog(d)


def test_a_second_process_cannot_open_the_log(log: TransparencyLog) -> None:
    code = "from ledger.translog.store import LogReader, TransparencyLog\nimport sys\nTransparencyLog(sys.argv[1])"
    proc = subprocess.run([sys.executable, "-c", code, str(log.directory)], capture_output=True, text=True)
    assert proc.returncode != 0 and "LogLocked" in proc.stderr
    with pytest.raises(LogLocked):
        TransparencyLog(log.directory)
    log.close()
    with TransparencyLog(log.directory) as again:
        assert again.size == 0


def test_concurrent_appends_from_threads_each_get_their_own_index(log: TransparencyLog) -> None:
    got: list[int] = []

    def worker(k: int) -> None:
        for e in _entries(25, start=k * 100):
            got.append(log.append(e).index)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(100))
    stored = log.entries(0, 100)
    assert sorted(stored) == sorted(e for k in range(4) for e in _entries(25, start=k * 100))
    assert log.root() == merkle.root(_memory(stored), 100)


def test_a_reader_beside_the_writer_sees_only_committed_entries(log: TransparencyLog) -> None:
    with pytest.raises(NotFound):
        LogReader(log.directory.parent / "absent")
    log.append_many(_entries(5))
    with LogReader(log.directory) as reader:
        assert (reader.size, reader.root()) == (5, log.root())
        log.append_many(_entries(20, start=5))  # new levels appear after the reader opened
        assert (reader.size, reader.root(), reader.inclusion_proof(3, 25)) == (25, log.root(), log.inclusion_proof(3))
        assert reader.consistency_proof(5, 25) == log.consistency_proof(5, 25)
        assert reader.entries(20, 30) == _entries(5, start=20)
        with open(log.directory / "entries", "ab") as f:  # an append half done: record written, leaf hash not yet
            f.write(b"\x00\x00\x00\x04next")
        with open(log.directory / "offsets", "ab") as f:
            f.write(os.stat(log.directory / "entries").st_size.to_bytes(8, "big"))
        assert reader.size == 25 and reader.entries(0, 100) == _entries(25)
        with pytest.raises(ValidationFailed):
            reader.inclusion_proof(3, 26)


def test_opening_and_proving_read_o_log_n_hashes_not_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 70_001
    with TransparencyLog(tmp_path / "l") as lg:
        lg.append_many([b"%d" % i for i in range(n)])
    reads: list[int] = []
    real = os.pread

    def counting(fd: int, length: int, offset: int) -> bytes:
        reads.append(length)
        return real(fd, length, offset)

    monkeypatch.setattr(os, "pread", counting)
    with TransparencyLog(tmp_path / "l") as lg:  # reopened: the tail checked, nothing rehashed
        assert len(reads) <= 8 and sum(reads) < 1000
        for proof in (lambda: lg.inclusion_proof(12_345, n), lambda: lg.consistency_proof(33_333, n), lg.root):
            reads.clear()
            proof()
            assert len(reads) <= 2 * n.bit_length(), len(reads)  # hashes of complete subtrees, one read each


_WRITER = """
import sys
from ledger.translog.store import TransparencyLog
log = TransparencyLog(sys.argv[1])
i = log.size
while True:
    log.append(b'{"i":%d}' % i)
    print(i, flush=True)
    i += 1
"""


def test_a_writer_killed_mid_append_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    import signal

    d = tmp_path / "l"
    acknowledged = -1
    for _ in range(3):  # killed three times, reopened each time
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(d)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for _ in range(150):
            acknowledged = int(proc.stdout.readline())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with TransparencyLog(d) as lg:
            assert lg.size > acknowledged
            entries = lg.entries(0, lg.size)
            assert entries == [b'{"i":%d}' % i for i in range(lg.size)]
            assert lg.root() == merkle.root(_memory(entries), lg.size)


def test_readers_in_threads_see_consistent_trees_while_the_writer_appends(log: TransparencyLog) -> None:
    log.append(b"first")
    done = threading.Event()
    problems: list[str] = []

    def read() -> None:
        try:
            check()
        except Exception as exc:  # a short read of a node not written yet, say: the test's failure
            problems.append(repr(exc))

    def check() -> None:
        rng = random.Random(threading.get_ident())
        with LogReader(log.directory) as reader:
            seen = (1, reader.root(1))
            while not done.is_set():
                size = reader.size
                root = reader.root(size)
                i = rng.randrange(size)
                if not merkle.verify_inclusion(merkle.leaf_hash(reader.entry(i)), i, size,
                                               reader.inclusion_proof(i, size), root):
                    problems.append(f"inclusion of {i} in {size}")
                if not merkle.verify_consistency(seen[0], size, seen[1], root, reader.consistency_proof(seen[0], size)):
                    problems.append(f"consistency {seen[0]} -> {size}")
                seen = (size, root)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for k in range(600):
        log.append(b'{"k":%d}' % k)
    done.set()
    for t in readers:
        t.join()
    assert not problems, problems[:5]


# ------------------------------------------------------------- several writer processes (shared)


def test_shared_logs_in_several_processes_append_in_turn(tmp_path: Path) -> None:
    d = tmp_path / "l"
    code = (
        "import sys\nfrom ledger.translog.store import TransparencyLog\n"
        "lg = TransparencyLog(sys.argv[1], shared=True)\n"
        "for i in range(40):\n    print(lg.append(b'{\"p\":%s,\"i\":%d}' % (sys.argv[2].encode(), i)).index)\n"
    )
    with TransparencyLog(d, shared=True) as mine:
        procs = [subprocess.Popen([sys.executable, "-c", code, str(d), str(p)], stdout=subprocess.PIPE, text=True)
                 for p in range(3)]
        here = [mine.append(b'{"p":9,"i":%d}' % i).index for i in range(40)]
        outs = [p.communicate(timeout=120)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs)
        indexes = here + [int(x) for out in outs for x in out.split()]
        assert sorted(indexes) == list(range(160))  # every append its own index, none lost
        assert mine.size == 160 and mine.root() == merkle.root(_memory(mine.entries(0, 160)), 160)
    with TransparencyLog(d) as again:  # recovery finds nothing to repair
        assert again.size == 160


def test_a_shared_append_overwrites_what_a_writer_killed_mid_append_left(tmp_path: Path) -> None:
    d = tmp_path / "l"
    entries = _entries(12)
    with TransparencyLog(d, shared=True) as lg:
        lg.append_many(entries)
        # another process died in its 13th append: a record, an offset, subtree and half a leaf hash
        with open(d / "entries", "ab") as f:
            f.write(b"\x00\x00\x00\x40{\"i\":12,\"torn\"")
        with open(d / "offsets", "ab") as f:
            f.write(os.path.getsize(d / "entries").to_bytes(8, "big"))
        with open(d / "level-02", "ab") as f:
            f.write(b"\x07" * 32)
        with open(d / "level-00", "ab") as f:
            f.write(b"\x07" * 16)
        assert lg.size == 12  # readers never count it
        lg.append_many(_entries(5, start=12))  # this process, still open, appends over it
        assert lg.size == 17 and lg.root() == merkle.root(_memory(_entries(17)), 17)
        assert lg.entries(0, 17) == _entries(17)
    with TransparencyLog(d) as again:
        assert (again.size, again.root()) == (17, merkle.root(_memory(_entries(17)), 17))
