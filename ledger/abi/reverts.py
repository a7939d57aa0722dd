"""Decode revert data into custom errors, by name and arguments.

Every error declared in any committed artifact's ABI is known here, plus
Solidity's built-in ``Error(string)`` and ``Panic(uint256)``.
"""

from __future__ import annotations

import ast
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from ledger import artifacts
from ledger.abi.types import abi_type
from ledger.errors import ContractReverted

_BUILTIN = {
    "0x08c379a0": ("Error", [{"name": "message", "type": "string"}]),
    "0x4e487b71": ("Panic", [{"name": "code", "type": "uint256"}]),
}


@cache
def error_table() -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Selector (0x + 8 hex) -> (error name, ABI inputs) over all artifacts."""
    table: dict[str, tuple[str, list[dict[str, Any]]]] = dict(_BUILTIN)
    for name in artifacts.names():
        for item in artifacts.abi(name):
            if item.get("type") != "error":
                continue
            sig = f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})"
            selector = "0x" + keccak(text=sig)[:4].hex()
            table.setdefault(selector, (item["name"], item["inputs"]))
    return table


def _to_bytes(data: Any) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    text = str(data)
    if text.startswith("0x"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def decode_revert(data: Any, *, tx_hash: str | None = None) -> ContractReverted:
    """A :class:`ContractReverted` for raw revert data (bytes or hex)."""
    raw = _to_bytes(data)
    if len(raw) < 4:
        return ContractReverted("UnknownRevert", {}, tx_hash=tx_hash, raw="0x" + raw.hex())
    selector = "0x" + raw[:4].hex()
    entry = error_table().get(selector)
    if entry is None:
        return ContractReverted(
            "UnknownError", {"selector": selector}, tx_hash=tx_hash, raw="0x" + raw.hex()
        )
    name, inputs = entry
    try:
        values = abi_decode([abi_type(i) for i in inputs], raw[4:])
    except Exception:  # malformed payload for a known selector
        return ContractReverted(name, {}, tx_hash=tx_hash, raw="0x" + raw.hex())
    args = {
        (i["name"] or f"arg{n}"): (to_checksum_address(v) if i["type"] == "address" else v)
        for n, (i, v) in enumerate(zip(inputs, values, strict=True))
    }
    return ContractReverted(name, args, tx_hash=tx_hash, raw="0x" + raw.hex())


def revert_data_from_exception(exc: BaseException) -> Any:
    """Dig the revert data out of whatever web3 or a provider raised, or None."""
    for attr in ("data",):
        data = getattr(exc, attr, None)
        if isinstance(data, str) and data.startswith("0x"):
            return data
        if isinstance(data, bytes):
            return data
        if isinstance(data, dict):
            inner = data.get("data") or data.get("result")
            if isinstance(inner, str) and inner.startswith("0x"):
                return inner
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, dict):
            inner = arg.get("data")
            if isinstance(inner, str) and inner.startswith("0x"):
                return inner
            if isinstance(inner, dict):
                for v in inner.values():
                    if isinstance(v, dict) and isinstance(v.get("return"), str):
                        return v["return"]
                    if isinstance(v, str) and v.startswith("0x"):
                        return v
        if isinstance(arg, bytes) and len(arg) >= 4:
            return arg
        if isinstance(arg, str) and arg.startswith("0x") and len(arg) >= 10:
            return arg
        if isinstance(arg, str) and "execution reverted: b" in arg:
            # eth-tester: "execution reverted: b'\x08...'" (a bytes literal)
            literal = arg.split("execution reverted: ", 1)[1]
            try:
                value = ast.literal_eval(literal)
            except (ValueError, SyntaxError):
                return None
            if isinstance(value, bytes):
                return value
    return None
