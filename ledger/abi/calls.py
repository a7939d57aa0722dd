"""Contract calls: function specs from the committed ABIs, calldata, and decoded return values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_hash.auto import keccak
from web3.contract import Contract

from ledger import artifacts
from ledger.abi.types import abi_type, normalize


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One (not overloaded) function of a contract: its selector, input types and outputs."""

    selector: str  # "0x" + 8 hex digits
    inputs: tuple[str, ...]
    outputs: tuple[Mapping[str, Any], ...]

    def encode(self, args: Sequence[Any]) -> str:
        """Calldata of a call with ``args`` (eth_abi's errors for values it does not take)."""
        return self.selector + encode(list(self.inputs), list(args)).hex()


_functions: dict[tuple[str, str], FunctionSpec | None] = {}


def function(contract: str, fn: str) -> FunctionSpec | None:
    """The spec of ``contract.fn`` from its committed ABI; None when overloaded or unknown."""
    key = (contract, fn)
    if key not in _functions:
        items = [i for i in artifacts.abi(contract) if i.get("type") == "function" and i.get("name") == fn]
        spec = None
        if len(items) == 1:
            types = tuple(abi_type(i) for i in items[0]["inputs"])
            selector = "0x" + keccak(f"{fn}({','.join(types)})".encode()).hex()[:8]
            spec = FunctionSpec(selector, types, tuple(items[0]["outputs"]))
        _functions[key] = spec
    return _functions[key]


def encode_call(
    contract: Contract, name: str, fn: str, args: Sequence[Any]
) -> tuple[str, Sequence[Mapping[str, Any]]]:
    """Calldata and output ABI of ``fn(*args)`` on ``contract`` (contract ``name``).

    Straight through eth_abi (web3's function lookup and encoding cost ~5 ms a call under
    load); web3's path for whatever eth_abi does not take as given (overloads, hex strings
    for bytes, structs as dicts).
    """
    spec = function(name, fn)
    if spec is not None:
        try:
            return spec.encode(args), spec.outputs
        except Exception:  # any value eth_abi refuses: web3 normalises it below
            pass
    func = contract.get_function_by_name(fn)(*args)
    return str(contract.encode_abi(fn, args=list(args))), list(func.abi["outputs"])


def decode_output(raw: str, outputs: Sequence[Mapping[str, Any]]) -> Any:
    """The value a call returned (hex ``raw``), as plain Python (:func:`~ledger.abi.types.normalize`):
    one output as itself, several as a tuple. Raises on data that does not decode."""
    values = decode([abi_type(o) for o in outputs], bytes.fromhex(raw[2:]))
    values = tuple(normalize(v, o) for v, o in zip(values, outputs, strict=True))
    return values[0] if len(values) == 1 else values
