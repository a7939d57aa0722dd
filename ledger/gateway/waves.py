"""Reads shared by the requests that want the same one, in waves: each read begins after every
request it answers arrived.

Concurrent gateway fetches of one dataset under one grant by one caller ask the chain the same
views. The first to arrive leads a wave; those that arrive while it is still waiting for the
previous wave's read to end join it; its read begins when the previous one ends, and its answer
is every member's. A request never gets an answer read before it arrived, so it sees no older
chain than a read of its own would have, and the node answers one read per wave instead of one
per request (the fetch asked for the head's number alone, then for the views at that block).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class _Wave(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    answer: T | None = None
    error: BaseException | None = None
    members: int = 1


class Waves(Generic[T]):
    """``read(key, fn)``: ``fn()``'s answer, shared with the concurrent callers of the same key
    whose calls arrived before it began (an error is each member's too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Hashable, _Wave[T]] = {}  # not begun: new callers join it
        self._running: dict[Hashable, _Wave[T]] = {}  # begun: new callers wait for the next one

    def read(self, key: Hashable, fn: Callable[[], T]) -> T:
        with self._lock:
            wave = self._open.get(key)
            lead = wave is None
            if wave is None:
                wave = self._open[key] = _Wave()
            else:
                wave.members += 1
        if not lead:
            wave.done.wait()
            return self._answer(wave)
        while True:  # the leader: wait for the running wave of this key, then begin
            with self._lock:
                before = self._running.get(key)
                if before is None:
                    del self._open[key]  # closed: later callers open the next wave
                    self._running[key] = wave
                    break
            before.done.wait()
        try:
            wave.answer = fn()
        except BaseException as exc:
            wave.error = exc
        finally:
            with self._lock:
                del self._running[key]
            wave.done.set()
        return self._answer(wave)

    @staticmethod
    def _answer(wave: _Wave[T]) -> T:
        if wave.error is not None:
            raise wave.error
        return wave.answer  # type: ignore[return-value]
