"""The refusal recorder's bound: one record per (member, dataset) and window, the rest counted into
the next record; a full queue counts instead of blocking; a passing chain failure counts again."""

from __future__ import annotations

import threading

from ledger.data import RefusalReason
from ledger.errors import ChainUnavailable, ContractReverted
from ledger.gateway import Refusal, RefusalRecorder


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal(member: int = 5, dataset: int = 9, reason: RefusalReason = RefusalReason.NO_GRANT) -> Refusal:
    return Refusal(dataset, 2, 0, member, reason, bytes(32))


def test_one_record_per_member_dataset_and_window_the_rest_counted() -> None:
    sent: list[Refusal] = []
    clock = Clock()
    rec = RefusalRecorder(sent.append, window=60, capacity=100, clock=clock)
    assert [rec.submit(refusal()) for _ in range(50)] == ["queued"] + ["counted"] * 49
    assert rec.submit(refusal(member=6)) == "queued"  # another member: its own pair
    assert rec.submit(refusal(dataset=10)) == "queued"  # another dataset: its own pair
    assert rec.drain(10)
    assert [(r.requester_id, r.dataset_id, r.attempts) for r in sent] == [(5, 9, 1), (6, 9, 1), (5, 10, 1)]
    assert rec.pending() == (0, 49)
    clock.now += 60  # the window has passed: the next refusal carries the count
    assert rec.submit(refusal(reason=RefusalReason.OUT_OF_SCOPE)) == "queued"
    assert rec.drain(10)
    assert (sent[-1].attempts, sent[-1].reason) == (50, RefusalReason.OUT_OF_SCOPE)  # names the latest attempt
    assert rec.submit(refusal()) == "counted"
    rec.close()  # the flush at shutdown sends what was counted, whatever the window
    assert [r.attempts for r in sent] == [1, 1, 1, 50, 1] and rec.pending() == (0, 0)


def test_a_full_queue_counts_and_never_blocks() -> None:
    gate = threading.Event()
    sent: list[Refusal] = []

    def send(r: Refusal) -> None:
        gate.wait(10)
        sent.append(r)

    rec = RefusalRecorder(send, window=60, capacity=2, clock=Clock())
    outcomes = [rec.submit(refusal(member=m)) for m in range(1, 6)]
    # the first is taken by the thread (or still queued), the queue holds two: the rest are counted
    assert outcomes.count("queued") in (2, 3) and outcomes.count("counted") == 5 - outcomes.count("queued")
    gate.set()
    assert rec.drain(10)
    rec.close()
    assert sorted(r.requester_id for r in sent) == [1, 2, 3, 4, 5]  # nothing lost


def test_a_passing_chain_failure_counts_again_and_a_lasting_one_is_dropped() -> None:
    calls: list[int] = []
    errors: list[Exception] = [ChainUnavailable("http://node", "down"), ContractReverted("DataNotDatasetOwner")]

    def send(r: Refusal) -> None:
        calls.append(r.attempts)
        if errors:
            raise errors.pop(0)

    clock = Clock()
    rec = RefusalRecorder(send, window=60, capacity=10, clock=clock)
    rec.submit(refusal())
    assert rec.drain(10) and rec.pending() == (0, 1)  # the node was down: counted for the next record
    clock.now += 60
    rec.submit(refusal())
    assert rec.drain(10) and rec.pending() == (0, 0)  # refused for good: logged, dropped
    clock.now += 60
    rec.submit(refusal())
    assert rec.drain(10)
    rec.close()
    assert calls == [1, 2, 1]
