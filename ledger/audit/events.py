"""The auditor's own view of the chain: every log of the deployment, decoded, with block times.

Logs come from ``eth_getLogs`` (never from the operator's index) and are decoded
with the committed ABIs into the index's canonical JSON arguments (integers as
decimal strings, bytes as 0x-hex, addresses EIP-55; see :mod:`ledger.index.codec`),
so they can be compared with index rows byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ledger import artifacts
from ledger.audit.rpc import Rpc
from ledger.abi import ContractSpec, canonical_json, decode_log


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
    """Fetch and decode every log of ``contracts`` (name → address) in ``[from_block, to_block]``.

    Logs are read in bounded ranges (:meth:`Rpc.iter_logs`), each with the headers of
    its blocks (one batch); the next range is fetched by a worker thread while this
    one decodes, so the node's work and the auditor's overlap. Cost: linear in logs.
    """
    specs = {addr.lower(): ContractSpec.from_abi(name, addr, artifacts.abi(name)) for name, addr in contracts.items()}
    ranges = rpc.iter_logs(sorted({s.address for s in specs.values()}), from_block, to_block, step)

    def fetch() -> tuple[int, list[dict[str, Any]], dict[int, int]] | None:
        try:
            _start, end, raw = next(ranges)
        except StopIteration:
            return None
        blocks = sorted({_int(r["blockNumber"]) for r in raw} | ({to_block} if end == to_block else set()))
        return end, raw, {n: _int(h["timestamp"]) for n, h in rpc.headers(blocks).items()}

    events: list[Event] = []
    times: dict[int, int] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-logs") as pool:
        pending = pool.submit(fetch)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(fetch)  # the next range, while this one decodes
            end, raw, chunk_times = chunk
            times.update(chunk_times)
            _decode(raw, specs, times, events)
            if progress is not None:
                progress(end - from_block + 1, len(events))
    if to_block not in times:
        times.update({n: _int(h["timestamp"]) for n, h in rpc.headers([to_block]).items()})
    events.sort(key=lambda e: (e.block, e.log_index))
    return ChainView(events, from_block, to_block, times.get(to_block, 0), times)


def _decode(raw: list[dict[str, Any]], specs: dict[str, ContractSpec], times: dict[int, int], out: list[Event]) -> None:
    for r in raw:
        if r.get("removed"):
            continue
        spec = specs[str(r["address"]).lower()]
        topics = [bytes.fromhex(t[2:]) for t in r["topics"]]
        name, args, _ok = decode_log(spec, topics, bytes.fromhex(r["data"][2:]))
        block = _int(r["blockNumber"])
        out.append(
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
