"""What every replayer shares: value normalisation and the state comparison."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ledger.audit.collect import Collector
from ledger.audit.reads import Call
from ledger.errors import LedgerError


def norm(v: Any) -> Any:
    """Compare-ready form: bytes as 0x-hex, enums as ints, addresses lower-case, tuples as lists."""
    if isinstance(v, bytes | bytearray):
        return "0x" + bytes(v).hex()
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, str):
        return v.lower() if v.startswith("0x") else v
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [norm(x) for x in v]
    return v


ZERO_ADDRESS = "0x" + "00" * 20
ZERO32 = "0x" + "00" * 32


class Checks:
    """Pairs of (view call, expected value); compared after one batched round of calls."""

    def __init__(self, contract: str) -> None:
        self.contract = contract
        self.items: list[tuple[Call, Any, str, Callable[[Any], Any] | None]] = []

    def expect(
        self, fn: str, args: Sequence[Any], expected: Any, record: str, pick: Callable[[Any], Any] | None = None
    ) -> None:
        self.items.append((Call(self.contract, fn, tuple(args)), expected, record, pick))

    def calls(self) -> list[Call]:
        return [c for c, *_ in self.items]

    def compare(self, answers: Sequence[Any], out: Collector, block: int) -> None:
        for (call, expected, record, pick), got in zip(self.items, answers, strict=True):
            out.check("state.mismatch")
            found = self._mismatch(call, expected, record, pick, got)
            if found is not None:
                message, details = found
                out.add(
                    "state.mismatch",
                    message,
                    contract=self.contract,
                    block=block,
                    view=call.fn,
                    args=list(call.args),
                    **details,
                )

    def _mismatch(
        self, call: Call, expected: Any, record: str, pick: Callable[[Any], Any] | None, got: Any
    ) -> tuple[str, dict[str, Any]] | None:
        """How the view's answer ``got`` differs from the replay's ``expected``: (message, details),
        or None when they agree."""
        if isinstance(got, LedgerError):
            if expected is None:
                return None  # the replay says the record does not exist, and the view refuses: equal
            return (
                f"{self.contract}.{call.fn}{call.args} failed; the replay has {record}",
                {"error": got.message, "replayed": norm(expected)},
            )
        if pick is not None:
            got = pick(got)
        a, b = norm(got), norm(expected)
        if isinstance(b, dict) and isinstance(a, dict):
            diff = {k: {"chain": a.get(k), "replay": v} for k, v in b.items() if a.get(k) != v}
            if not diff:
                return None
            return f"{self.contract} {record}: {', '.join(sorted(diff))} differ from the replay", {"fields": diff}
        if a != b:
            return f"{self.contract} {record}: the view says {a!r}, the replay {b!r}", {"chain": a, "replay": b}
        return None
