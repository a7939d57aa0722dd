"""Decoding of raw logs into canonical JSON arguments, and back.

Canonical argument JSON (what the ``events.args`` column holds), chosen so that
the text is lossless, stable byte for byte, and safe for every JSON reader
(JavaScript included):

* an object with the event's input names as keys, sorted, no whitespace
  (``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``);
  an unnamed input ``i`` is called ``_i``;
* every integer (``uintN`` and ``intN`` of any width) is a **decimal string**,
  e.g. ``"42"``, ``"-1"``: one rule for all widths, never a float;
* ``address``: the EIP-55 checksummed string;
* ``bytes`` and ``bytesN``: ``"0x"`` + lowercase hex;
* ``bool``: JSON ``true`` / ``false``; ``string``: the string;
* arrays: JSON arrays; tuples: objects keyed by component name;
* an *indexed* input of a dynamic type (``string``, ``bytes``, arrays, tuples)
  is only its keccak hash in the topic, stored as ``"0x"`` + 64 hex digits.

With the event's ABI, :func:`EventSpec.to_python` turns the JSON back into the
values eth_abi would give (``int``, ``bytes``, ``str``, ``bool``, lists, tuples).

A log whose first topic matches no event of its contract (or whose data does
not decode) is kept, not dropped: its event name is :data:`UNKNOWN_EVENT` and its
arguments are ``{"data": "0x…", "topics": ["0x…", …]}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from eth_abi.abi import default_codec
from eth_abi.decoding import ContextFramesBytesIO
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic

from ledger import artifacts
from ledger.abi.types import checksum, hex_of, hex_text, is_address, is_dynamic
from ledger.abi.words import (
    HexDecoder,
    HexValuesDecoder,
    fast_data_decoder,
    hex_decoder,
    hex_values_decoder,
    word_to_json,
)

#: Event name given to logs that no ABI of their contract decodes.
UNKNOWN_EVENT = "(unknown)"

Converter = Callable[[Any], Any]

def canonical_json(value: Mapping[str, Any]) -> str:
    """The canonical JSON text of an argument object."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _stream(data: bytes) -> Any:
    return ContextFramesBytesIO(data)  # type: ignore[no-untyped-call]


def _input_name(item: Mapping[str, Any], i: int) -> str:
    name = item.get("name") or ""
    return str(name) if name else f"_{i}"


def _converter(item: Mapping[str, Any], leaf: Callable[[str], Converter], to_json: bool) -> Converter:
    """Walk ``item``'s type (arrays, tuples) down to its leaves, converted by ``leaf``."""
    t = str(item["type"])
    if t.endswith("]"):
        inner = _converter({**item, "type": t[: t.rindex("[")]}, leaf, to_json)
        return lambda v: [inner(x) for x in v]
    if t == "tuple":
        comps = [(_input_name(c, i), _converter(c, leaf, to_json)) for i, c in enumerate(item.get("components", []))]
        if to_json:
            return lambda v: {n: f(x) for (n, f), x in zip(comps, v, strict=True)}
        return lambda v: tuple(f(v[n]) for n, f in comps)
    return leaf(t)


def _json_leaf(t: str) -> Converter:
    if t.startswith(("uint", "int", "fixed", "ufixed")):
        return str
    if t == "address":
        return checksum
    if t.startswith("bytes"):
        return hex_text  # bytes, or hex text already
    return lambda v: v  # bool, string


def _value_leaf(t: str) -> Converter:
    if t.startswith(("uint", "int")):
        return int
    if t.startswith(("fixed", "ufixed")):
        return Decimal
    if t.startswith("bytes"):
        return lambda v: bytes.fromhex(str(v)[2:])
    return lambda v: v  # address (already checksummed), bool, string


def _to_json(item: Mapping[str, Any]) -> Converter:
    """A function from eth_abi's decoded value of ``item``'s type to canonical JSON."""
    return _converter(item, _json_leaf, to_json=True)


def _from_json(item: Mapping[str, Any]) -> Converter:
    """Inverse of :func:`_to_json`: canonical JSON back to the decoded Python value."""
    return _converter(item, _value_leaf, to_json=False)


def _hash_from_json(value: Any) -> bytes:
    """An indexed dynamic input's stored topic hash back to its 32 bytes."""
    return bytes.fromhex(str(value)[2:])


def _topic_to_json(item: Mapping[str, Any]) -> Callable[[bytes], Any]:
    """A function from a 32-byte topic to the canonical JSON of an indexed input."""
    if is_dynamic(item):
        return hex_of
    fast = word_to_json(str(item["type"]))
    if fast is not None:
        return fast
    decoder = default_codec._registry.get_tuple_decoder(collapse_if_tuple(dict(item)))
    conv = _to_json(item)
    return lambda b: conv(decoder(_stream(b))[0])


def normalize_value(item: Mapping[str, Any] | None, value: Any) -> Any:
    """The canonical JSON form of a filter value, for comparing with stored arguments.

    With the input's ABI ``item`` the value is converted exactly as stored; without it
    (no event named in the query) a best guess is made from the Python type.

    Raises:
        TypeError, ValueError: a value that cannot be one of the input's type.
    """
    t = str(item["type"]) if item is not None else None
    if isinstance(value, bool):
        return value
    if isinstance(value, bytearray):
        value = bytes(value)
    if t == "address" or (t is None and isinstance(value, str) and is_address(value)):
        return checksum(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return hex_of(value)
    if isinstance(value, str):
        is_hex = value[:2] in ("0x", "0X")
        if t is None:
            return value.lower() if is_hex else value
        if t.startswith("bytes") or (
            item is not None and item.get("indexed") and is_dynamic(item)
        ):
            if not is_hex:
                raise ValueError(f"expected 0x-hex for {t}")
            return value.lower()
        if t.startswith(("uint", "int")):
            return str(int(value, 0))
        return value
    raise TypeError(f"cannot filter on a value of type {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event of one contract, prepared for fast decoding."""

    contract: str
    name: str
    signature: str
    topic0: bytes
    inputs: tuple[Mapping[str, Any], ...]
    indexed: tuple[tuple[str, Callable[[bytes], Any]], ...]
    data_names: tuple[str, ...]
    data_convs: tuple[Converter, ...]
    data_decoder: Callable[[Any], Any] | None
    fast_decoder: Callable[[bytes], list[Any]] | None
    hex_decoder: HexDecoder | None
    #: from JSON-RPC hex straight to :meth:`to_python`'s values (the auditor's and the receipts' path)
    values_decoder: HexValuesDecoder | None
    py_convs: tuple[tuple[str, Converter], ...]  # input name -> canonical JSON to Python
    json_convs: tuple[tuple[str, Converter], ...]  # input name -> Python to canonical JSON

    @classmethod
    def from_abi(cls, contract: str, abi: Mapping[str, Any]) -> EventSpec:
        inputs = tuple(abi.get("inputs", []))
        named = [(_input_name(item, i), item) for i, item in enumerate(inputs)]
        indexed = tuple((n, _topic_to_json(item)) for n, item in named if item.get("indexed"))
        data = [(n, item) for n, item in named if not item.get("indexed")]
        types = [collapse_if_tuple(dict(item)) for _, item in data]
        decoder = default_codec._registry.get_tuple_decoder(*types, strict=True) if types else None
        signature = f"{abi['name']}({','.join(collapse_if_tuple(dict(i)) for i in inputs)})"
        return cls(
            contract=contract,
            name=str(abi["name"]),
            signature=signature,
            topic0=bytes(event_abi_to_log_topic(dict(abi))),  # type: ignore[arg-type]
            inputs=inputs,
            indexed=indexed,
            data_names=tuple(n for n, _ in data),
            data_convs=tuple(_to_json(item) for _, item in data),
            data_decoder=decoder,
            fast_decoder=fast_data_decoder(types),
            hex_decoder=hex_decoder(inputs, [n for n, _ in named]),
            values_decoder=hex_values_decoder(inputs, [n for n, _ in named]),
            py_convs=tuple(
                (n, _hash_from_json if item.get("indexed") and is_dynamic(item) else _from_json(item))
                for n, item in named
            ),
            json_convs=tuple(
                (n, hex_text if item.get("indexed") and is_dynamic(item) else _to_json(item)) for n, item in named
            ),
        )

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        """Canonical JSON arguments of one log (raises on malformed topics or data)."""
        if len(topics) != len(self.indexed) + 1:
            raise ValueError(f"{self.name}: expected {len(self.indexed) + 1} topics")
        args: dict[str, Any] = {
            name: conv(topic) for (name, conv), topic in zip(self.indexed, topics[1:], strict=True)
        }
        if self.fast_decoder is not None and self.data_names:
            args.update(zip(self.data_names, self.fast_decoder(data), strict=True))
        elif self.data_decoder is not None:
            values = self.data_decoder(_stream(data))
            for name, conv, value in zip(self.data_names, self.data_convs, values, strict=True):
                args[name] = conv(value)
        elif data:
            raise ValueError(f"{self.name}: unexpected data")
        return args

    def input(self, name: str) -> Mapping[str, Any] | None:
        """The ABI item of the input called ``name`` (``_i`` for unnamed ones)."""
        for i, item in enumerate(self.inputs):
            if _input_name(item, i) == name:
                return item
        return None

    def to_python(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical JSON arguments back to Python values (hashes of indexed dynamics as bytes)."""
        return {name: conv(args[name]) for name, conv in self.py_convs if name in args}

    def to_canonical(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Python values (as :meth:`to_python` gives them) to the canonical JSON arguments."""
        return {name: conv(args[name]) for name, conv in self.json_convs if name in args}


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """A contract's name, address and its events by first topic."""

    name: str
    address: str
    events: Mapping[bytes, EventSpec]
    events_by_hex: Mapping[str, EventSpec]  # "0x" + lowercase hex of the first topic
    events_by_name: Mapping[str, EventSpec]

    @classmethod
    def from_abi(cls, name: str, address: str, abi: Iterable[Mapping[str, Any]]) -> ContractSpec:
        events: dict[bytes, EventSpec] = {}
        for item in abi:
            if item.get("type") == "event" and not item.get("anonymous"):
                spec = EventSpec.from_abi(name, item)
                events[spec.topic0] = spec
        by_hex = {hex_of(topic): spec for topic, spec in events.items()}
        by_name: dict[str, EventSpec] = {}
        for spec in events.values():
            by_name.setdefault(spec.name, spec)
        return cls(
            name=name, address=checksum(address), events=events, events_by_hex=by_hex, events_by_name=by_name
        )

    def by_name(self, event: str) -> EventSpec | None:
        return self.events_by_name.get(event)

    def to_python(self, event: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical JSON arguments of ``event`` as Python values (an event no ABI of this
        contract knows, :data:`UNKNOWN_EVENT` say, keeps its arguments as they are)."""
        spec = self.events_by_name.get(event)
        return dict(args) if spec is None else spec.to_python(args)

    def to_canonical(self, event: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Inverse of :meth:`to_python`."""
        spec = self.events_by_name.get(event)
        return dict(args) if spec is None else spec.to_canonical(args)

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this contract's part of the index (stored in ``meta``)."""
        return {
            "address": self.address,
            "events": sorted(s.signature for s in self.events.values()),
        }


def decode_log_hex(spec: ContractSpec, topics: Sequence[str], data: str) -> tuple[str, str, bool]:
    """``(event name, canonical args JSON text, decoded?)`` of one log given as JSON-RPC hex.

    The same answer as ``decode_log`` on the bytes followed by :func:`canonical_json`,
    by the fast hex path where the event has one and it accepts the log.
    """
    event = spec.events_by_hex.get(topics[0].lower()) if topics else None
    if event is not None and event.hex_decoder is not None:
        try:
            return event.name, event.hex_decoder(topics, data), True
        except (ValueError, UnicodeDecodeError):
            pass  # the slow path decides (and keeps a malformed log raw)
    name, args, ok = decode_log(spec, [_from_hex(t) for t in topics], _from_hex(data))
    return name, canonical_json(args), ok


def _from_hex(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value)


def decode_log(
    spec: ContractSpec, topics: Sequence[bytes], data: bytes
) -> tuple[str, dict[str, Any], bool]:
    """``(event name, canonical args, decoded?)`` of one log of ``spec``'s contract."""
    event = spec.events.get(topics[0]) if topics else None
    if event is not None:
        try:
            return event.name, event.decode(topics, data), True
        except Exception:  # malformed log: keep it raw rather than lose it
            pass
    raw = {"data": hex_of(data), "topics": [hex_of(t) for t in topics]}
    return UNKNOWN_EVENT, raw, False


@lru_cache(maxsize=256)
def contract_spec(name: str, address: str) -> ContractSpec:
    """The events of contract ``name`` (its committed ABI) at ``address``, prepared once."""
    return ContractSpec.from_abi(name, address, artifacts.abi(name))


def events_of(name: str) -> ContractSpec:
    """The events of contract ``name`` at no address in particular: for converting arguments
    between Python values and canonical JSON."""
    return contract_spec(name, "0x" + "00" * 20)
