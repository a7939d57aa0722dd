"""Collects findings and counts how many times each rule was checked."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ledger.audit.findings import RULES, Finding, Severity
from ledger.events import Event, canonical_args


class Collector:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.checked: Counter[str] = Counter()

    def check(self, rule: str, n: int = 1) -> None:
        assert rule in RULES, rule
        self.checked[rule] += n

    def add(
        self,
        rule: str,
        message: str,
        *,
        severity: Severity = Severity.ERROR,
        event: Event | None = None,
        contract: str | None = None,
        block: int | None = None,
        tx_hash: str | None = None,
        **records: Any,
    ) -> None:
        assert rule in RULES, rule
        if event is not None:
            contract = contract or event.contract
            block = event.block_number if block is None else block
            tx_hash = tx_hash or event.tx_hash
            records.setdefault(
                "event", {"name": event.name, "log_index": event.log_index, "args": canonical_args(event)}
            )
        self.findings.append(
            Finding(
                rule=rule, severity=severity, message=message, contract=contract, block=block, tx_hash=tx_hash,
                records=_jsonable(records),
            )
        )

    def expect(self, rule: str, ok: bool, message: str, **kw: Any) -> bool:
        """Count one check of ``rule``; record a finding unless ``ok``."""
        self.check(rule)
        if not ok:
            self.add(rule, message, **kw)
        return ok


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes | bytearray):
        return "0x" + bytes(v).hex()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [_jsonable(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**53:
        return str(v)
    return v
