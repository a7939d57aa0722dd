"""ledger.lazy.cached_property: computed once per instance, and never one instance waiting for
another's (Python 3.11's functools.cached_property holds a lock per class while it computes)."""

from __future__ import annotations

import threading

from ledger.lazy import cached_property


def test_instances_compute_their_properties_at_the_same_time_and_keep_them() -> None:
    together = threading.Barrier(2, timeout=10)  # both computations must be running at once
    calls: list[int] = []

    class Service:
        def __init__(self, n: int) -> None:
            self.n = n

        @cached_property
        def slow(self) -> int:
            """A property asking something slow (the chain's head time, say)."""
            calls.append(self.n)
            together.wait()  # functools' class-wide lock in 3.11: BrokenBarrierError
            return self.n * 10

    services = [Service(1), Service(2)]
    got: dict[int, int] = {}
    threads = [threading.Thread(target=lambda s=s: got.__setitem__(s.n, s.slow)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {1: 10, 2: 20}
    assert [s.slow for s in services] == [10, 20] and sorted(calls) == [1, 2]  # kept: not computed again
    assert Service.slow.__doc__ == "A property asking something slow (the chain's head time, say)."
