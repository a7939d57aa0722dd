"""Compare code on chain with the committed artifacts (source verification)."""

from __future__ import annotations

from typing import Any


def _strip(code: str) -> bytes:
    return bytes.fromhex(code[2:] if code.startswith("0x") else code)


def mask_immutables(code: bytes, artifact: dict[str, Any]) -> bytes:
    """Zero the immutable slots (filled by the constructor) so code compares with the artifact."""
    out = bytearray(code)
    for refs in artifact.get("immutableReferences", {}).values():
        for ref in refs:
            start, length = int(ref["start"]), int(ref["length"])
            out[start : start + length] = b"\x00" * length
    return bytes(out)


def code_matches(chain_code: str, artifact: dict[str, Any]) -> bool:
    """True if the runtime code on chain is the artifact's deployed bytecode.

    Immutables are masked on both sides; the CBOR metadata (which carries the
    source hashes) is compared too, so a different source never matches.
    """
    onchain = _strip(chain_code)
    expected = _strip(artifact["deployedBytecode"])
    if len(onchain) != len(expected):
        return False
    return mask_immutables(onchain, artifact) == mask_immutables(expected, artifact)
