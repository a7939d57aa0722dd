"""Reads shared in waves (``ledger.gateway.waves``): a caller gets only an answer read after it arrived."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from ledger.gateway.waves import Waves


def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_a_caller_arriving_while_a_read_runs_gets_the_next_read_shared_with_later_arrivals() -> None:
    waves: Waves[str] = Waves()
    release = threading.Event()
    calls: list[str] = []
    answers: dict[str, str] = {}

    def reader(name: str, block: bool = False) -> Callable[[], str]:
        def read() -> str:
            calls.append(name)
            if block:
                release.wait(10)
            return f"read by {name}"

        return read

    def caller(name: str, block: bool = False) -> threading.Thread:
        t = threading.Thread(target=lambda: answers.__setitem__(name, waves.read("k", reader(name, block))))
        t.start()
        return t

    a = caller("a", block=True)
    _until(lambda: calls == ["a"])  # a's read has begun
    b = caller("b")
    _until(lambda: "k" in waves._open)  # b opened the next wave and waits for a's read to end
    c = caller("c")
    _until(lambda: waves._open["k"].members == 2)  # c joined b's wave
    assert calls == ["a"] and not answers  # neither b nor c got a's answer, read before they arrived
    release.set()
    for t in (a, b, c):
        t.join(10)
    assert calls == ["a", "b"]  # one read for b and c, begun after both arrived
    assert answers == {"a": "read by a", "b": "read by b", "c": "read by b"}
    assert waves._open == {} and waves._running == {}
    assert waves.read("k", lambda: "alone") == "alone"  # no wave left behind: the next caller reads at once


def test_other_keys_are_not_held_and_an_error_is_every_members() -> None:
    waves: Waves[str] = Waves()
    release = threading.Event()
    started = threading.Event()
    errors: list[BaseException] = []

    def failing() -> str:
        started.set()
        release.wait(10)
        raise ValueError("node gone")

    def member() -> None:
        try:
            waves.read("k", failing)
        except ValueError as exc:
            errors.append(exc)

    first = threading.Thread(target=member)
    first.start()
    started.wait(10)
    assert waves.read("other", lambda: "free") == "free"  # a read of another key does not wait
    rest = [threading.Thread(target=member) for _ in range(2)]
    for t in rest:
        t.start()
    _until(lambda: "k" in waves._open and waves._open["k"].members == 2)
    started.clear()
    release.set()
    for t in (first, *rest):
        t.join(10)
    assert len(errors) == 3 and all(str(e) == "node gone" for e in errors)
    with pytest.raises(ValueError):  # and nothing is kept: the next caller reads again
        waves.read("k", failing)
