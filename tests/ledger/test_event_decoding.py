"""The auditor's decoder (every log straight from the node's hex to the event's Python values)
against the bytes path through canonical JSON and against web3 (eth_abi), for every event of
every committed ABI: random values of each input's type, and logs spoiled in each way a check
refuses. The demo chain's own logs: ``tests/ledger/test_audit_demo.py``."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from ledger import artifacts
from ledger.abi import (
    UNKNOWN_EVENT,
    ContractSpec,
    EventSpec,
    canonical_json,
    checksum,
    contract_spec,
    decode_log,
    decode_log_hex,
)
from tests.ledger.decoding import agree, fast, through_json

TEXT = 'aZ0 社区共治基金é"\\{}\n'


def value(rng: random.Random, t: str) -> Any:
    """A random value of ABI type ``t``, its extremes often."""
    if t.endswith("]"):
        return [value(rng, t[: t.rindex("[")]) for _ in range(rng.randrange(4))]
    if t.startswith("uint"):
        bits = int(t[4:] or 256)
        return rng.choice([0, 1, (1 << bits) - 1, rng.randrange(1 << bits)])
    if t.startswith("int"):
        bits = int(t[3:] or 256)
        return rng.choice([-(1 << (bits - 1)), -1, 0, (1 << (bits - 1)) - 1, rng.randrange(-(1 << (bits - 1)), 0)])
    if t == "address":
        return checksum(rng.randbytes(20))
    if t == "bool":
        return rng.random() < 0.5
    if t == "string":
        return "".join(rng.choice(TEXT) for _ in range(rng.randrange(40)))
    if t == "bytes":
        return rng.randbytes(rng.randrange(70))
    assert t.startswith("bytes"), t
    return rng.randbytes(int(t[5:]))


def hex_log(spec: ContractSpec, event: EventSpec, rng: random.Random) -> dict[str, Any]:
    """A log of ``event`` with random arguments, as a node's JSON-RPC answer gives it."""
    topics = [event.topic0]
    types, values = [], []
    for item in event.inputs:
        t = str(item["type"])
        v = value(rng, t)
        if not item.get("indexed"):
            types.append(t)
            values.append(v)
        elif t in ("string", "bytes") or t.endswith("]"):
            topics.append(keccak(rng.randbytes(8)))  # only the value's hash is in the topic
        else:
            topics.append(encode([t], [v]))
    return {
        "address": spec.address.lower(), "topics": ["0x" + t.hex() for t in topics],
        "data": "0x" + encode(types, values).hex(), "blockNumber": "0x7", "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + rng.randbytes(32).hex(), "logIndex": hex(rng.randrange(9)),
        "transactionIndex": "0x0", "removed": False,
    }  # fmt: skip


def spoiled(log: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """``log`` spoiled each way the decoder checks: a word of all ones (out of range for a small
    integer, a bool or a dirty address), the data cut short or made odd or not hex, a topic
    missing or one too many, a topic not hex."""
    data, topics = log["data"], log["topics"]
    out = []
    if len(data) > 2:
        words = (len(data) - 2) // 64
        at = 2 + 64 * rng.randrange(max(1, words))
        cut = data[: rng.randrange(2, len(data))]
        out += [data[:at] + "f" * 64 + data[at + 64 :], cut, data + "0", data[:-1] + "g"]
    else:
        out.append("0x" + "00" * 32)
    spoilt = [{**log, "data": d} for d in out]
    spoilt += [{**log, "topics": topics[:-1]}, {**log, "topics": [*topics, "0x" + "00" * 32]}]
    if len(topics) > 1:
        spoilt.append({**log, "topics": [*topics[:-1], topics[-1][:-1] + "z"]})
    return spoilt


def every_event() -> list[tuple[ContractSpec, EventSpec]]:
    specs = [contract_spec(name, "0x" + "11" * 20) for name in artifacts.names()]
    return [(spec, event) for spec in specs for event in spec.events.values()]


def test_every_event_of_every_abi_decodes_as_eth_abi_and_the_json_path_do() -> None:
    rng = random.Random(18)
    events = every_event()
    assert len(events) > 100
    straight = sum(1 for _, e in events if e.values_decoder is not None)
    assert straight >= len(events) - 6  # only events with arrays (CaseRaised, CaseDispatched) go through eth_abi
    for spec, event in events:
        for _ in range(12):
            log = hex_log(spec, event, rng)
            assert agree(spec, log) == event.name
            # the index's text is the same decoding: equal to the canonical JSON of the bytes path
            name, args, ok = decode_log_hex(spec, log["topics"], log["data"])
            assert (name, ok) == (event.name, True) and args == canonical_json(
                decode_log(spec, [bytes.fromhex(t[2:]) for t in log["topics"]], bytes.fromhex(log["data"][2:]))[1]
            )


def test_a_spoiled_log_is_kept_raw_or_decoded_as_the_bytes_path_does() -> None:
    rng = random.Random(6)
    raw = 0
    for spec, event in every_event():
        for bad in spoiled(hex_log(spec, event, rng), rng):
            try:
                expected = through_json(spec, bad)
            except ValueError:  # not hex at all: bytes.fromhex refuses it, and so does the auditor
                with pytest.raises(ValueError):
                    fast(spec, bad)
                continue
            assert agree(spec, bad, well_formed=False) == expected[0]
            raw += expected[0] == UNKNOWN_EVENT
    assert raw > 300  # most spoilings are refused, and kept raw
