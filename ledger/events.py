"""One decoded event of one of our contracts, wherever it was read: a receipt, the log
scanner, the event index.

Its ``args`` are Python values as eth_abi gives them, made plain: ``int`` for every
integer, EIP-55 checksummed ``str`` for addresses, ``bytes`` for ``bytes``/``bytesN`` (and
for the topic hash of an indexed ``string``, ``bytes``, array or tuple), ``str``, ``bool``,
lists for arrays, tuples for structs. An event that no ABI of its contract decodes (the
index keeps those) is named :data:`~ledger.abi.UNKNOWN_EVENT`, its args ``{"data": "0x…",
"topics": ["0x…", …]}``. Hashes (block, transaction) are lowercase.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from ledger.abi import ContractSpec, bytes_of, contract_spec, decode_log, events_of, hex_text, quantity
from ledger.logs import LogScanner, Node

if TYPE_CHECKING:
    from ledger.client import Ledger


@dataclass(frozen=True, slots=True)
class Event:
    """One event of one of our contracts, decoded, with where it is on chain."""

    contract: str
    name: str
    args: Mapping[str, Any] = field(hash=False)
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    #: the block's Unix time; None where it was not read (a receipt carries none)
    time: int | None
    address: str  # EIP-55
    tx_index: int

    @property
    def block_time(self) -> int:
        """:attr:`time`, for events that come with it (the scanner's and the index's)."""
        if self.time is None:
            raise ValueError(f"{self.contract}.{self.name} of block {self.block_number} has no block time")
        return self.time

    @property
    def key(self) -> tuple[str, int]:
        """The natural key ``(tx_hash, log_index)``."""
        return (self.tx_hash, self.log_index)


def decode_logs(
    logs: Iterable[Mapping[str, Any]],
    specs: Mapping[str, ContractSpec],
    times: Mapping[int, int] | None = None,
    *,
    keep_unknown: bool = False,
) -> list[Event]:
    """Events of raw JSON-RPC ``logs`` (removed ones skipped), in the order given.

    Args:
        specs: lowercase address -> the contract there; logs of other addresses are skipped.
        times: block number -> Unix time (blocks missing here get ``time`` None).
        keep_unknown: keep a log no ABI decodes as :data:`~ledger.abi.UNKNOWN_EVENT`
            (the index and the auditor do); otherwise it is skipped.
    """
    out: list[Event] = []
    # a window's logs share their contracts, blocks and transactions (thousands of logs each): each
    # one's number, hash and time are read once; a contract's EIP-55 address is its spec's
    blocks: dict[tuple[Any, Any], tuple[int, str, int | None]] = {}
    txs: dict[tuple[Any, Any], tuple[str, int]] = {}
    contracts: dict[Any, ContractSpec | None] = {}
    for lg in logs:
        if lg.get("removed"):
            continue
        address = lg["address"]
        try:
            spec = contracts[address]
        except KeyError:
            spec = contracts[address] = specs.get(str(address).lower())
        if spec is None:
            continue
        topics, data = lg["topics"], lg["data"]
        fast = _decode_hex(spec, topics, data)
        if fast is not None:
            name, args = fast
        else:
            name, canonical, ok = decode_log(spec, [bytes_of(t) for t in topics], bytes_of(data))
            if not ok and not keep_unknown:
                continue
            args = spec.to_python(name, canonical)
        where = (lg["blockNumber"], lg["blockHash"])
        block = blocks.get(where)
        if block is None:
            number = quantity(where[0])
            block = blocks[where] = (number, hex_text(where[1]), times.get(number) if times is not None else None)
        at = (lg["transactionHash"], lg["transactionIndex"])
        tx = txs.get(at)
        if tx is None:
            tx = txs[at] = (hex_text(at[0]), quantity(at[1]))
        out.append(
            Event(
                contract=spec.name,
                name=name,
                args=args,
                block_number=block[0],
                block_hash=block[1],
                tx_hash=tx[0],
                log_index=quantity(lg["logIndex"]),
                time=block[2],
                address=spec.address,
                tx_index=tx[1],
            )
        )
    return out


def _decode_hex(spec: ContractSpec, topics: Sequence[Any], data: Any) -> tuple[str, dict[str, Any]] | None:
    """(event name, Python arguments) of a log given as JSON-RPC hex, straight from the hex
    (:attr:`~ledger.abi.EventSpec.values_decoder`); None where the bytes path must decide
    (bytes given, an event it does not cover, a log it refuses: malformed logs are kept raw there)."""
    if not topics or not isinstance(data, str) or not isinstance(topics[0], str):
        return None
    event = spec.events_by_hex.get(topics[0].lower())
    if event is None or event.values_decoder is None:
        return None
    try:
        return event.name, event.values_decoder(topics, data)
    except (ValueError, UnicodeDecodeError):
        return None


def read_events(
    node: Node,
    contracts: Mapping[str, str],
    from_block: int,
    to_block: int,
    names: Collection[str] | None = None,
    *,
    max_blocks: int = 10_000,
) -> list[Event]:
    """The events of ``contracts`` (name -> address) in ``[from_block, to_block]``, read from the
    chain by the log scanner (no index needed) with their block times, in chain order; only
    those ``names`` when given. Ranges of at most ``max_blocks`` blocks, the first that wide."""
    specs = {address.lower(): contract_spec(name, address) for name, address in contracts.items()}
    scanner = LogScanner(node, list(contracts.values()), first=max_blocks, max_blocks=max_blocks, end_headers=False)
    out: list[Event] = []
    ranges = scanner.ranges(from_block, to_block)
    try:
        for got in ranges:
            out += [e for e in decode_logs(got.logs, specs, got.times()) if names is None or e.name in names]
    finally:
        ranges.close()
    out.sort(key=lambda e: (e.block_number, e.log_index))
    return out


def deployment_events(
    ledger: Ledger, contract: str, names: Collection[str] | None = None, chunk: int = 10_000
) -> list[Event]:
    """The events of the deployment's ``contract`` (only those ``names`` when given), read from the
    chain by the log scanner from its deployment block (no index needed), with their block times;
    ranges of at most ``chunk`` blocks."""
    assert ledger.manifest is not None
    start = ledger.manifest.contracts[contract].block_number
    contracts = {contract: ledger.manifest.address(contract)}
    return read_events(ledger, contracts, start, ledger.block_number(), names, max_blocks=chunk)


class Reducer:
    """A pure fold of one contract's events (a domain's ``model.py``): :meth:`apply` one event at a
    time, in chain order; the subclass's queries answer the state."""

    def apply(self, e: Event) -> None:
        raise NotImplementedError

    @classmethod
    def of(cls, events: Iterable[Event]) -> Self:
        """The fold of ``events`` (in chain order)."""
        model = cls()
        for e in events:
            model.apply(e)
        return model


def canonical_args(event: Event) -> dict[str, Any]:
    """``event``'s arguments in the canonical JSON form the index stores
    (:mod:`ledger.abi.event_codec`): what the auditor compares with index rows and reports."""
    return events_of(event.contract).to_canonical(event.name, event.args)


__all__ = ["Event", "Reducer", "canonical_args", "decode_logs", "deployment_events", "read_events"]
