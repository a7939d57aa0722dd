"""Compare code on chain with the committed artifacts (source verification)."""

from __future__ import annotations

from typing import Any

from ledger.abi import bytes_of


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
    onchain = bytes_of(chain_code)
    expected = bytes_of(artifact["deployedBytecode"])
    if len(onchain) != len(expected):
        return False
    return mask_immutables(onchain, artifact) == mask_immutables(expected, artifact)
