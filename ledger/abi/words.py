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
#: topics and data as JSON-RPC hex -> the arguments as Python values (input name -> value)
HexValuesDecoder = Callable[[Sequence[str], str], dict[str, Any]]


def hex_word(t: str) -> Callable[[str], Any] | None:
    """Like :func:`word_to_json` (same checks), from 64 hex digits to the Python value eth_abi
    gives (``int``, EIP-55 ``str``, ``bool``, ``bytes``); None: not an elementary static type."""
    if t.endswith("]"):
        return None  # an array: eth_abi decodes it
    if t.startswith("uint"):
        limit = 1 << int(t[4:] or 256)

        def _uint(w: str) -> int:
            v = int(w, 16)
            if v >= limit:
                raise ValueError(f"{t} out of range")
            return v

        return _uint
    if t.startswith("int"):
        bits = int(t[3:] or 256)
        lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)

        def _sint(w: str) -> int:
            v = int(w, 16)
            if v >= 1 << 255:
                v -= 1 << 256
            if not lo <= v < hi:
                raise ValueError(f"{t} out of range")
            return v

        return _sint
    if t == "address":

        def _address(w: str) -> str:
            if int(w[:24], 16):
                raise ValueError("address with dirty high bytes")
            return checksum(w[24:])

        return _address
    if t == "bool":

        def _bool(w: str) -> bool:
            v = int(w, 16)
            if v > 1:
                raise ValueError("bool out of range")
            return v == 1

        return _bool
    if t.startswith("bytes") and t != "bytes":
        size = 2 * int(t[5:])

        def _fixed(w: str) -> bytes:
            if int(w[size:] or "0", 16):
                raise ValueError(f"{t} with dirty padding")
            return bytes.fromhex(w[:size])

        return _fixed
    return None


def hex_word_json(t: str) -> Callable[[str], str] | None:
    """:func:`hex_word` (the same checks), the value as canonical JSON text."""
    word = hex_word(t)
    if word is None:
        return None
    if t == "bool":
        return lambda w: "true" if word(w) else "false"
    if t.startswith("bytes"):
        return lambda w: '"0x' + word(w).hex() + '"'
    return lambda w: f'"{word(w)}"'  # an integer as a decimal string, an address as its EIP-55 text


def topic_hash_json(w: str) -> str:
    return '"0x' + w.lower() + '"'


def _payload_json(payload: str, is_string: bool) -> str:
    if is_string:
        return json.dumps(bytes.fromhex(payload).decode("utf-8"), ensure_ascii=False)
    return '"0x' + payload.lower() + '"'


def _payload_value(payload: str, is_string: bool) -> str | bytes:
    raw = bytes.fromhex(payload)
    return raw.decode("utf-8") if is_string else raw


def _tail(data: str, size: int, at: int) -> str:
    """The hex payload of a ``string``/``bytes`` whose head word starts at ``data[at]`` (``data``
    with its ``0x``; ``size``: its hex digits after it), with eth_abi's bounds checks."""
    offset = 2 * int(data[at : at + 64], 16)
    if offset + 64 > size:
        raise ValueError("offset beyond data")
    end = offset + 64 + 2 * int(data[2 + offset : 2 + offset + 64], 16)
    if end > size:
        raise ValueError("length beyond data")
    return data[2 + offset + 64 : 2 + end]


def _compile_hex(
    inputs: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    word: Callable[[str], Callable[[str], Any] | None],
    topic_hash: Callable[[str], Any],
    payload: Callable[[str, bool], Any],
    result: Callable[[list[str]], tuple[str, dict[str, Any]]],
    *,
    int_text: bool,
) -> Callable[[Sequence[str], str], Any] | None:
    """One event's decoder from its log's hex topics and data, compiled for its layout.

    Every input's place is fixed by the ABI (topic ``i``, or head word ``j`` of the data at
    hex digit ``2 + 64 j``), so the decoder is generated as straight-line code: the checks
    (topic count, hex text, the data's length), then one slice and one converter call per
    input — ``word(type)`` for a static type, ``topic_hash`` for an indexed dynamic input,
    ``payload`` for a ``string``/``bytes`` tail (:func:`_tail` bounds it) — named ``v0``, ``v1``…
    in ABI order; ``result`` gives the expression returned from those names (and what it
    refers to). A ``uintN``, the most common word by far, is converted in line by
    :func:`hex_word`'s rule (as a decimal JSON string when ``int_text``), saving a call a word.
    None when an input needs eth_abi (tuples, arrays) or names repeat.
    """
    if len(set(names)) != len(names):
        return None
    env: dict[str, Any] = {"_hex": _HEX_TEXT.fullmatch, "_tail": _tail, "_payload": payload, "_seen": {}}
    n_topics = 1 + sum(1 for item in inputs if item.get("indexed"))
    n_data = len(inputs) + 1 - n_topics
    env["_topics"] = re.compile(f"(?:0x[0-9a-fA-F]{{64}}){{{n_topics}}}").fullmatch
    head = [
        f"if len(topics) != {n_topics}: raise ValueError('wrong number of topics')",
        "if not _topics(''.join(topics)): raise ValueError('bad topic')",
    ]
    body = [
        "if not _hex(data) or len(data) % 2: raise ValueError('bad data')",
        "size = len(data) - 2",
        f"if size < {64 * n_data}: raise ValueError('data shorter than its head')",
    ]
    if n_data == 0:
        body.append("if size: raise ValueError('unexpected data')")
    indexed: list[str] = []
    topic = at = 0
    for k, item in enumerate(inputs):
        t = str(item["type"])
        into = body
        if item.get("indexed"):
            topic += 1
            src = f"topics[{topic}][2:]"
            conv = topic_hash if is_dynamic(item) else word(t)
            into = head
            indexed.append(f"v{k}")
        elif t in ("string", "bytes"):
            body.append(f"v{k} = _payload(_tail(data, size, {2 + 64 * at}), {t == 'string'})")
            at += 1
            continue
        else:
            src = f"data[{2 + 64 * at}:{66 + 64 * at}]"
            conv = word(t)
            at += 1
        if conv is None:
            return None
        if t.startswith("uint") and not t.endswith("]") and not (item.get("indexed") and is_dynamic(item)):
            # the most common word, in line: hex_word's rule for uintN (and 64 hex digits never exceed uint256)
            into.append(f"v{k} = int({src}, 16)")
            if t != "uint256" and t != "uint":
                into.append(f"if v{k} >= {1 << int(t[4:])}: raise ValueError('{t} out of range')")
            if int_text:
                into.append(f"v{k} = '\"%d\"' % v{k}")
            continue
        env[f"c{k}"] = conv
        into.append(f"v{k} = c{k}({src})")
    if indexed:
        # the topics repeat (an access's grant, dataset and grantee; a case's id): each set is checked
        # and converted once, its values kept (a pure function of the topics; at most 4,096 sets)
        names_ = ", ".join(indexed) + ","
        head = [
            "key = tuple(topics)",
            "seen = _seen.get(key)",
            "if seen is None:",
            *(f"    {line}" for line in head),
            "    if len(_seen) >= 4096: _seen.clear()",
            f"    _seen[key] = ({names_})",
            "else:",
            f"    {names_} = seen",
        ]
    body = head + body
    expression, refers = result([f"v{k}" for k in range(len(inputs))])
    env |= refers
    source = "def decode(topics, data):\n" + "".join(f"    {line}\n" for line in body) + f"    return {expression}\n"
    exec(compile(source, "<ledger.abi.words>", "exec"), env)  # our own text, from the ABI's layout
    decode: Callable[[Sequence[str], str], Any] = env["decode"]
    return decode


def hex_decoder(inputs: Sequence[Mapping[str, Any]], names: Sequence[str]) -> HexDecoder | None:
    """A decoder from a log's hex topics and data straight to the canonical JSON text.

    It gives exactly ``canonical_json(EventSpec.decode(...))`` with the same checks
    (so the same logs fail), without bytes conversions or ``json.dumps`` of the
    whole object; None when an input needs eth_abi (tuples, arrays) or names repeat.
    Callers fall back to :meth:`EventSpec.decode` when it raises.
    """

    def template(values: list[str]) -> tuple[str, dict[str, Any]]:
        # keys in sorted order, each value by its input's position: '{{"a":{1},"b":{0}}}'
        at = {n: i for i, n in enumerate(names)}
        keys = [(json.dumps(n, ensure_ascii=False).replace("{", "{{").replace("}", "}}"), at[n]) for n in sorted(names)]
        text = "{{" + ",".join(f"{key}:{{{i}}}" for key, i in keys) + "}}"
        return f"_template.format({', '.join(values)})", {"_template": text}

    return _compile_hex(inputs, names, hex_word_json, topic_hash_json, _payload_json, template, int_text=True)


def hex_values_decoder(inputs: Sequence[Mapping[str, Any]], names: Sequence[str]) -> HexValuesDecoder | None:
    """A decoder from a log's hex topics and data straight to its arguments as Python values:
    exactly ``EventSpec.to_python(EventSpec.decode(...))`` (the hash of an indexed dynamic
    input as its 32 bytes), with the same checks, without the canonical JSON in between;
    None where :func:`hex_decoder` is None. Callers fall back to the bytes path when it raises."""

    def mapping(values: list[str]) -> tuple[str, dict[str, Any]]:
        return "{" + ", ".join(f"{n!r}: {v}" for n, v in zip(names, values, strict=True)) + "}", {}

    return _compile_hex(inputs, names, hex_word, bytes.fromhex, _payload_value, mapping, int_text=False)
