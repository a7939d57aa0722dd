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
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from eth_abi.abi import default_codec
from eth_abi.decoding import ContextFramesBytesIO
from eth_hash.auto import keccak
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic

#: Event name given to logs that no ABI of their contract decodes.
UNKNOWN_EVENT = "(unknown)"

Converter = Callable[[Any], Any]

_DYNAMIC_BASES = ("string", "bytes")


def canonical_json(value: Mapping[str, Any]) -> str:
    """The canonical JSON text of an argument object."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_HEX40 = re.compile(r"^(0x)?[0-9a-fA-F]{40}$")


@lru_cache(maxsize=65536)
def checksum(address: str | bytes) -> str:
    """EIP-55 form of a 20-byte address given as hex text or bytes (cached: addresses repeat).

    Hand-rolled rather than ``eth_utils.to_checksum_address``, whose validation costs
    more than the hash when 100,000 logs go through here.
    """
    if isinstance(address, bytes | bytearray):
        if len(address) != 20:
            raise ValueError(f"an address has 20 bytes, not {len(address)}")
        lower = bytes(address).hex()
    else:
        if not _HEX40.match(address):
            raise ValueError(f"not an address: {address!r}")
        lower = address[-40:].lower()
    digest = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if d in "89abcdef" else c for c, d in zip(lower, digest[:40], strict=True)
    )


def _stream(data: bytes) -> Any:
    return ContextFramesBytesIO(data)  # type: ignore[no-untyped-call]


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _input_name(item: Mapping[str, Any], i: int) -> str:
    name = item.get("name") or ""
    return str(name) if name else f"_{i}"


def _is_dynamic(item: Mapping[str, Any]) -> bool:
    """True when an indexed input of this type is stored as its hash in the topic."""
    t = str(item["type"])
    if t.endswith("]") or t.startswith("tuple"):
        return True
    return t in _DYNAMIC_BASES


def _to_json(item: Mapping[str, Any]) -> Converter:
    """A function from eth_abi's decoded value of ``item``'s type to canonical JSON."""
    t = str(item["type"])
    if t.endswith("]"):
        inner = _to_json({**item, "type": t[: t.rindex("[")]})
        return lambda v: [inner(x) for x in v]
    if t == "tuple":
        comps = [(_input_name(c, i), _to_json(c)) for i, c in enumerate(item.get("components", []))]
        return lambda v: {n: f(x) for (n, f), x in zip(comps, v, strict=True)}
    if t.startswith(("uint", "int", "fixed", "ufixed")):
        return str
    if t == "address":
        return checksum
    if t.startswith("bytes"):
        return _hex
    return lambda v: v  # bool, string


def _from_json(item: Mapping[str, Any]) -> Converter:
    """Inverse of :func:`_to_json`: canonical JSON back to the decoded Python value."""
    t = str(item["type"])
    if t.endswith("]"):
        inner = _from_json({**item, "type": t[: t.rindex("[")]})
        return lambda v: [inner(x) for x in v]
    if t == "tuple":
        comps = [
            (_input_name(c, i), _from_json(c)) for i, c in enumerate(item.get("components", []))
        ]
        return lambda v: tuple(f(v[n]) for n, f in comps)
    if t.startswith(("uint", "int")):
        return int
    if t.startswith(("fixed", "ufixed")):
        return Decimal
    if t.startswith("bytes"):
        return lambda v: bytes.fromhex(str(v)[2:])
    return lambda v: v  # address (already checksummed), bool, string


def _hash_from_json(value: Any) -> bytes:
    """An indexed dynamic input's stored topic hash back to its 32 bytes."""
    return bytes.fromhex(str(value)[2:])


def _topic_to_json(item: Mapping[str, Any]) -> Callable[[bytes], Any]:
    """A function from a 32-byte topic to the canonical JSON of an indexed input."""
    if _is_dynamic(item):
        return _hex
    fast = _word_to_json(str(item["type"]))
    if fast is not None:
        return fast
    decoder = default_codec._registry.get_tuple_decoder(collapse_if_tuple(dict(item)))
    conv = _to_json(item)
    return lambda b: conv(decoder(_stream(b))[0])


def _word_to_json(t: str) -> Callable[[bytes], Any] | None:
    """Fast decoder of one static head word to canonical JSON (None: not an elementary type)."""
    if t.startswith("uint"):
        bits = int(t[4:] or 256)
        limit = 1 << bits

        def _uint(w: bytes) -> str:
            v = int.from_bytes(w, "big")
            if v >= limit:
                raise ValueError(f"{t} out of range")
            return str(v)

        return _uint
    if t.startswith("int"):
        bits = int(t[3:] or 256)
        lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)

        def _sint(w: bytes) -> str:
            v = int.from_bytes(w, "big", signed=True)
            if not lo <= v < hi:
                raise ValueError(f"{t} out of range")
            return str(v)

        return _sint
    if t == "address":

        def _address(w: bytes) -> str:
            if any(w[:12]):
                raise ValueError("address with dirty high bytes")
            return checksum(w[12:])

        return _address
    if t == "bool":

        def _bool(w: bytes) -> bool:
            v = int.from_bytes(w, "big")
            if v > 1:
                raise ValueError("bool out of range")
            return v == 1

        return _bool
    if t.startswith("bytes") and t != "bytes":
        size = int(t[5:])

        def _fixed(w: bytes) -> str:
            if any(w[size:]):
                raise ValueError(f"{t} with dirty padding")
            return _hex(w[:size])

        return _fixed
    return None


def _fast_data_decoder(types: Sequence[str]) -> Callable[[bytes], list[Any]] | None:
    """A head/tail decoder for data made only of elementary types, straight to canonical
    JSON, about five times faster than eth_abi; None when a type needs eth_abi."""
    plan: list[tuple[Callable[[bytes], Any] | None, bool]] = []  # (static decoder, is string)
    for t in types:
        if t in ("string", "bytes"):
            plan.append((None, t == "string"))
            continue
        conv = _word_to_json(t)
        if conv is None:
            return None
        plan.append((conv, False))
    head = 32 * len(plan)

    def decode(data: bytes) -> list[Any]:
        size = len(data)
        if size < head:
            raise ValueError("data shorter than its head")
        out: list[Any] = []
        for i, (conv, is_string) in enumerate(plan):
            word = data[32 * i : 32 * i + 32]
            if conv is not None:
                out.append(conv(word))
                continue
            offset = int.from_bytes(word, "big")
            if offset + 32 > size:
                raise ValueError("offset beyond data")
            length = int.from_bytes(data[offset : offset + 32], "big")
            end = offset + 32 + length
            if end > size:
                raise ValueError("length beyond data")
            payload = data[offset + 32 : end]
            out.append(payload.decode("utf-8") if is_string else _hex(payload))
        return out

    return decode


_HEX_TEXT = re.compile(r"0x[0-9a-fA-F]*")
HexDecoder = Callable[[Sequence[str], str], str]


def _hex_word_json(t: str) -> Callable[[str], str] | None:
    """Like :func:`_word_to_json` (same checks), from 64 hex digits straight to JSON text."""
    if t.startswith("uint"):
        limit = 1 << int(t[4:] or 256)

        def _uint(w: str) -> str:
            v = int(w, 16)
            if v >= limit:
                raise ValueError(f"{t} out of range")
            return f'"{v}"'

        return _uint
    if t.startswith("int"):
        bits = int(t[3:] or 256)
        lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)

        def _sint(w: str) -> str:
            v = int(w, 16)
            if v >= 1 << 255:
                v -= 1 << 256
            if not lo <= v < hi:
                raise ValueError(f"{t} out of range")
            return f'"{v}"'

        return _sint
    if t == "address":

        def _address(w: str) -> str:
            if int(w[:24], 16):
                raise ValueError("address with dirty high bytes")
            return '"' + checksum(w[24:]) + '"'

        return _address
    if t == "bool":

        def _bool(w: str) -> str:
            v = int(w, 16)
            if v > 1:
                raise ValueError("bool out of range")
            return "true" if v else "false"

        return _bool
    if t.startswith("bytes") and t != "bytes":
        size = 2 * int(t[5:])

        def _fixed(w: str) -> str:
            if int(w[size:] or "0", 16):
                raise ValueError(f"{t} with dirty padding")
            return '"0x' + w[:size].lower() + '"'

        return _fixed
    return None


def _topic_hash_json(w: str) -> str:
    return '"0x' + w.lower() + '"'


def _hex_decoder(
    inputs: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> HexDecoder | None:
    """A decoder from a log's hex topics and data straight to the canonical JSON text.

    It gives exactly ``canonical_json(EventSpec.decode(...))`` with the same checks
    (so the same logs fail), without bytes conversions or ``json.dumps`` of the
    whole object; None when an input needs eth_abi (tuples, arrays) or names repeat.
    Callers fall back to :meth:`EventSpec.decode` when it raises.
    """
    if len(set(names)) != len(names):
        return None
    topic_convs: list[Callable[[str], str]] = []
    data_plan: list[tuple[Callable[[str], str] | None, bool]] = []  # (word decoder, is string)
    source: dict[str, tuple[bool, int]] = {}  # name -> (in a topic?, position)
    for name, item in zip(names, inputs, strict=True):
        t = str(item["type"])
        if item.get("indexed"):
            conv = _topic_hash_json if _is_dynamic(item) else _hex_word_json(t)
            if conv is None:
                return None
            source[name] = (True, len(topic_convs))
            topic_convs.append(conv)
        elif t in ("string", "bytes"):
            source[name] = (False, len(data_plan))
            data_plan.append((None, t == "string"))
        else:
            conv = _hex_word_json(t)
            if conv is None:
                return None
            source[name] = (False, len(data_plan))
            data_plan.append((conv, False))
    n_topics = len(topic_convs) + 1
    head = 64 * len(data_plan)
    # one str.format template, keys in sorted order, each value by its position in
    # topic values + data values: '{{"a":{1},"b":{0}}}'
    n_indexed = len(topic_convs)
    fields = []
    for n in sorted(names):
        in_topic, i = source[n]
        key = json.dumps(n, ensure_ascii=False).replace("{", "{{").replace("}", "}}")
        fields.append(f"{key}:{{{i if in_topic else n_indexed + i}}}")
    template = "{{" + ",".join(fields) + "}}"
    match = _HEX_TEXT.fullmatch

    def decode(topics: Sequence[str], data: str) -> str:
        if len(topics) != n_topics:
            raise ValueError("wrong number of topics")
        for topic in topics:
            if len(topic) != 66 or not match(topic):
                raise ValueError("bad topic")
        if not match(data) or len(data) % 2:
            raise ValueError("bad data")
        d = data[2:]
        if not data_plan and d:
            raise ValueError("unexpected data")
        size = len(d)  # hex digits
        if size < head:
            raise ValueError("data shorter than its head")
        values = [conv(topics[i + 1][2:]) for i, conv in enumerate(topic_convs)]
        for i, (conv, is_string) in enumerate(data_plan):
            word = d[64 * i : 64 * i + 64]
            if conv is not None:
                values.append(conv(word))
                continue
            offset = 2 * int(word, 16)
            if offset + 64 > size:
                raise ValueError("offset beyond data")
            end = offset + 64 + 2 * int(d[offset : offset + 64], 16)
            if end > size:
                raise ValueError("length beyond data")
            payload = d[offset + 64 : end]
            if is_string:
                values.append(json.dumps(bytes.fromhex(payload).decode("utf-8"), ensure_ascii=False))
            else:
                values.append('"0x' + payload.lower() + '"')
        return template.format(*values)

    return decode


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
    if t == "address" or (t is None and isinstance(value, str) and _HEX40.match(value)):
        return checksum(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return _hex(value)
    if isinstance(value, str):
        is_hex = value[:2] in ("0x", "0X")
        if t is None:
            return value.lower() if is_hex else value
        if t.startswith("bytes") or (
            item is not None and item.get("indexed") and _is_dynamic(item)
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
    py_convs: tuple[tuple[str, Converter], ...]  # input name -> canonical JSON to Python

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
            fast_decoder=_fast_data_decoder(types),
            hex_decoder=_hex_decoder(inputs, [n for n, _ in named]),
            py_convs=tuple(
                (n, _hash_from_json if item.get("indexed") and _is_dynamic(item) else _from_json(item))
                for n, item in named
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


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """A contract's name, address and its events by first topic."""

    name: str
    address: str
    events: Mapping[bytes, EventSpec]
    events_by_hex: Mapping[str, EventSpec]  # "0x" + lowercase hex of the first topic

    @classmethod
    def from_abi(cls, name: str, address: str, abi: Iterable[Mapping[str, Any]]) -> ContractSpec:
        events: dict[bytes, EventSpec] = {}
        for item in abi:
            if item.get("type") == "event" and not item.get("anonymous"):
                spec = EventSpec.from_abi(name, item)
                events[spec.topic0] = spec
        by_hex = {_hex(topic): spec for topic, spec in events.items()}
        return cls(name=name, address=checksum(address), events=events, events_by_hex=by_hex)

    def by_name(self, event: str) -> EventSpec | None:
        for spec in self.events.values():
            if spec.name == event:
                return spec
        return None

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
    raw = {"data": _hex(data), "topics": [_hex(t) for t in topics]}
    return UNKNOWN_EVENT, raw, False
