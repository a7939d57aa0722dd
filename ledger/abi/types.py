"""ABI types and values shared by every part of the codec: type strings, plain Python values,
EIP-55 addresses, hex."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from eth_hash.auto import keccak

_HEX40 = re.compile(r"^(0x)?[0-9a-fA-F]{40}$")


def abi_type(item: Mapping[str, Any]) -> str:
    """The canonical type string of an ABI input or output (tuples spelled out: ``(uint256,address)[]``)."""
    t = str(item["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in item["components"]) + ")" + t[5:]
    return t


def normalize(value: Any, item: Mapping[str, Any]) -> Any:
    """An eth_abi-decoded value as plain Python: addresses checksummed, tuples to dicts by name,
    arrays to lists."""
    t = str(item["type"])
    if t.endswith("]"):
        inner = dict(item)
        inner["type"] = t[: t.rindex("[")]
        return [normalize(v, inner) for v in value]
    if t == "tuple":
        return {c["name"]: normalize(v, c) for v, c in zip(value, item["components"], strict=True)}
    if t == "address":
        return checksum(value)
    return value


def is_address(text: str) -> bool:
    """True for 40 hex digits, with or without ``0x``."""
    return _HEX40.match(text) is not None


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


def hex_of(value: bytes) -> str:
    """``"0x"`` + lowercase hex."""
    return "0x" + value.hex()


def bytes_of(value: Any) -> bytes:
    """Bytes from bytes or hex text (``0x`` optional)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)


def quantity(value: Any) -> int:
    """A JSON-RPC quantity (hex text), decimal text or an int, as int."""
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text, 16) if text[:2] in ("0x", "0X") else int(text)


def is_dynamic(item: Mapping[str, Any]) -> bool:
    """True when an indexed input of this type is only its keccak hash in the topic
    (``string``, ``bytes``, arrays, tuples)."""
    t = str(item["type"])
    if t.endswith("]") or t.startswith("tuple"):
        return True
    return t in ("string", "bytes")


def hex_text(value: Any) -> str:
    """``"0x"`` + lowercase hex of bytes or of hex text (``0x`` optional): one spelling of a hash."""
    if isinstance(value, str):
        return value.lower() if value[:2] in ("0x", "0X") else "0x" + value.lower()
    return "0x" + bytes(value).hex()
