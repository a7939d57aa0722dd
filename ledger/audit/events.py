"""The auditor's own view of the chain: every log of the deployment, decoded, with block times.

Logs come from ``eth_getLogs`` (never from the operator's index) and are decoded
with the committed ABIs into the index's canonical JSON arguments (integers as
decimal strings, bytes as 0x-hex, addresses EIP-55; see :mod:`ledger.index.codec`),
so they can be compared with index rows byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger import artifacts
from ledger.audit.rpc import Rpc
from ledger.index.codec import ContractSpec, canonical_json, decode_log


@dataclass(frozen=True, slots=True)
class Event:
    block: int
    block_hash: str
    time: int
    tx_hash: str
    tx_index: int
    log_index: int
    contract: str
    address: str
    name: str
    args: dict[str, Any] = field(hash=False, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.tx_hash, self.log_index)

    def args_json(self) -> str:
        return canonical_json(self.args)

    def int(self, name: str) -> int:
        return int(self.args[name])


def _int(v: Any) -> int:
    return int(v, 16) if isinstance(v, str) else int(v)


@dataclass
class ChainView:
    events: list[Event]
    from_block: int
    to_block: int
    head_time: int
    times: dict[int, int]


def scan(
    rpc: Rpc,
    contracts: dict[str, str],
    from_block: int,
    to_block: int,
    *,
    step: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> ChainView:
    """Fetch and decode every log of ``contracts`` (name → address) in ``[from_block, to_block]``."""
    specs = {addr.lower(): ContractSpec.from_abi(name, addr, artifacts.abi(name)) for name, addr in contracts.items()}
    raw = rpc.get_logs(sorted({s.address for s in specs.values()}), from_block, to_block, step, progress)
    blocks = sorted({_int(r["blockNumber"]) for r in raw} | {to_block})
    times = {n: _int(h["timestamp"]) for n, h in rpc.headers(blocks).items()}
    events: list[Event] = []
    for r in raw:
        if r.get("removed"):
            continue
        spec = specs[str(r["address"]).lower()]
        topics = [bytes.fromhex(t[2:]) for t in r["topics"]]
        name, args, _ok = decode_log(spec, topics, bytes.fromhex(r["data"][2:]))
        block = _int(r["blockNumber"])
        events.append(
            Event(
                block=block,
                block_hash=str(r["blockHash"]).lower(),
                time=times.get(block, 0),
                tx_hash=str(r["transactionHash"]).lower(),
                tx_index=_int(r["transactionIndex"]),
                log_index=_int(r["logIndex"]),
                contract=spec.name,
                address=spec.address,
                name=name,
                args=args,
            )
        )
    events.sort(key=lambda e: (e.block, e.log_index))
    return ChainView(events, from_block, to_block, times.get(to_block, 0), times)
