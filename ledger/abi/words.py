"""Fast decoders of ABI words straight to the index's canonical JSON (see
:mod:`ledger.abi.event_codec`): one static head word at a time, from bytes or from the
JSON-RPC hex text, with the same range checks as eth_abi."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ledger.abi.types import checksum, hex_of, is_dynamic


def word_to_json(t: str) -> Callable[[bytes], Any] | None:
    """Fast decoder of one static head word to canonical JSON (None: not an elementary type)."""
    if t.endswith("]"):
        return None  # an array (``uint64[]``, ``bytes32[2]``): eth_abi decodes it
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
            return hex_of(w[:size])

        return _fixed
    return None


def fast_data_decoder(types: Sequence[str]) -> Callable[[bytes], list[Any]] | None:
    """A head/tail decoder for data made only of elementary types, straight to canonical
    JSON, about five times faster than eth_abi; None when a type needs eth_abi."""
    plan: list[tuple[Callable[[bytes], Any] | None, bool]] = []  # (static decoder, is string)
    for t in types:
        if t in ("string", "bytes"):
            plan.append((None, t == "string"))
            continue
        conv = word_to_json(t)
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
            out.append(payload.decode("utf-8") if is_string else hex_of(payload))
        return out

    return decode


_HEX_TEXT = re.compile(r"0x[0-9a-fA-F]*")
#: topics and data as JSON-RPC hex -> the canonical JSON text of the arguments
HexDecoder = Callable[[Sequence[str], str], str]


def hex_word_json(t: str) -> Callable[[str], str] | None:
    """Like :func:`word_to_json` (same checks), from 64 hex digits straight to JSON text."""
    if t.endswith("]"):
        return None  # an array: eth_abi decodes it
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


def topic_hash_json(w: str) -> str:
    return '"0x' + w.lower() + '"'


def hex_decoder(
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
            conv = topic_hash_json if is_dynamic(item) else hex_word_json(t)
            if conv is None:
                return None
            source[name] = (True, len(topic_convs))
            topic_convs.append(conv)
        elif t in ("string", "bytes"):
            source[name] = (False, len(data_plan))
            data_plan.append((None, t == "string"))
        else:
            conv = hex_word_json(t)
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
